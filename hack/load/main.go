// Command load load-tests the tenant sync hook over HTTP with wrk
// (docs/performance.md):
//
//	make load                               # 1, 8 and 64 connections, 10 s each
//	go run ./hack/load -conns 8 -duration 5s
//
// It builds bin/tenant-hooks, starts `tenant-hooks serve` as a subprocess on
// a free 127.0.0.1 port, and runs wrk (Debian package "wrk"; installed with
// apt-get when missing and running as root) with a Lua script that POSTs the
// basic example's steady-state tenant sync request: the Tenant of
// examples/basic-webapp with all six children observed and ready, as
// Metacontroller sends it on every resync. For each connection count it
// reports requests/s, p50/p99 latency, the server's peak RSS during the run
// (VmRSS sampled every 100 ms) and the server's CPU time per request, from
// which the per-core throughput follows. -etag adds a run whose requests
// carry the previous answer's ETag (the 304 path of an unchanged resync).
//
// Only loopback is contacted, for a bounded time per run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
)

const script = `-- POST the steady-state tenant sync request; print a JSON summary.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local etag = os.getenv("LOAD_ETAG")
if etag ~= nil and etag ~= "" then wrk.headers["If-None-Match"] = etag end
local f = assert(io.open(os.getenv("LOAD_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  io.write(string.format(
    "LOADJSON {\"requests\":%d,\"durationUs\":%d,\"bytes\":%d,\"non2xx3xx\":%d,\"connectErrors\":%d,\"readErrors\":%d,\"writeErrors\":%d,\"timeouts\":%d,\"p50Us\":%d,\"p90Us\":%d,\"p99Us\":%d,\"maxUs\":%d}\n",
    summary.requests, summary.duration, summary.bytes, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`

type wrkSummary struct {
	Requests      int64 `json:"requests"`
	DurationUs    int64 `json:"durationUs"`
	Bytes         int64 `json:"bytes"`
	Non2xx3xx     int64 `json:"non2xx3xx"`
	ConnectErrors int64 `json:"connectErrors"`
	ReadErrors    int64 `json:"readErrors"`
	WriteErrors   int64 `json:"writeErrors"`
	Timeouts      int64 `json:"timeouts"`
	P50Us         int64 `json:"p50Us"`
	P90Us         int64 `json:"p90Us"`
	P99Us         int64 `json:"p99Us"`
	MaxUs         int64 `json:"maxUs"`
}

type run struct {
	label  string
	conns  int
	sum    wrkSummary
	maxRSS int64
	cpu    time.Duration
}

func main() {
	connsFlag := flag.String("conns", "1,8,64", "comma-separated connection counts")
	duration := flag.Duration("duration", 10*time.Second, "length of each run (at most 60s)")
	etag := flag.Bool("etag", true, "add a run at 8 connections with If-None-Match (the 304 path)")
	bin := flag.String("bin", "", "tenant-hooks binary (default: build bin/tenant-hooks)")
	flag.Parse()
	if *duration <= 0 || *duration > time.Minute {
		fail("-duration must be in (0, 60s]")
	}

	wrk := ensureWrk()
	path := *bin
	var err error
	if path == "" {
		fmt.Fprintln(os.Stderr, "building bin/tenant-hooks")
		path, err = steady.BuildBinary()
		check(err)
	}

	// The steady-state request, converged in process.
	e := render.New(render.Options{Now: steady.Now})
	h := hooks.New(hooks.Config{}, slog.New(slog.DiscardHandler), e, mysql.NewPools(mysql.PoolOptions{}), prometheus.NewRegistry()).Handler()
	body, err := steady.SteadyTenantRequest(context.Background(), e, steady.HandlerHook(h), "basic")
	check(err)
	dir, err := os.MkdirTemp("", "tenant-hooks-load-")
	check(err)
	defer os.RemoveAll(dir)
	bodyPath, scriptPath := filepath.Join(dir, "body.json"), filepath.Join(dir, "post.lua")
	check(os.WriteFile(bodyPath, body, 0o644))
	check(os.WriteFile(scriptPath, []byte(script), 0o644))

	svc, err := steady.StartService(path)
	check(err)
	stopOnFail = svc.Stop
	defer svc.Stop()
	url := svc.URL() + "/hooks/tenants/sync"

	// One request by hand: the answer must be a 200 with an ETag.
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	check(err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		fail("steady request answered %d (ETag %q): %.300s", resp.StatusCode, resp.Header.Get("ETag"), answer)
	}
	tag := resp.Header.Get("ETag")
	_, idleRSS, _ := steady.ProcStatus(svc.Pid())

	var runs []run
	var plan []run
	for _, f := range strings.Split(*connsFlag, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		plan = append(plan, run{label: "full sync", conns: c})
	}
	if *etag {
		plan = append(plan, run{label: "resync with If-None-Match (304)", conns: 8})
	}
	for _, p := range plan {
		et := ""
		if strings.Contains(p.label, "304") {
			et = tag
		}
		fmt.Fprintf(os.Stderr, "== %s, %d connections, %s\n", p.label, p.conns, *duration)
		r := loadRun(wrk, svc, url, bodyPath, scriptPath, et, p, *duration)
		runs = append(runs, r)
	}

	fmt.Printf("Machine: %d CPUs (%s), %s. Server: bin/tenant-hooks serve on 127.0.0.1 (GOMAXPROCS=%d); load: wrk on the same machine.\n",
		runtime.NumCPU(), steady.CPUModel(), runtime.Version(), runtime.NumCPU())
	fmt.Printf("Request: basic example steady state, %d bytes; answer %d bytes. Server RSS idle after one request: %s.\n\n",
		len(body), len(answer), steady.MiB(idleRSS))
	fmt.Println("| Requests | Connections | Requests/s | p50 | p90 | p99 | max | Errors | Server RSS under load (max) | Server CPU per request | Per-core throughput |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range runs {
		secs := float64(r.sum.DurationUs) / 1e6
		rps := float64(r.sum.Requests) / secs
		errs := r.sum.Non2xx3xx + r.sum.ConnectErrors + r.sum.ReadErrors + r.sum.WriteErrors + r.sum.Timeouts
		perReq := time.Duration(0)
		perCore := 0.0
		if r.sum.Requests > 0 && r.cpu > 0 {
			perReq = r.cpu / time.Duration(r.sum.Requests)
			perCore = float64(r.sum.Requests) / r.cpu.Seconds()
		}
		fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %s | %d | %s | %s | %.0f req/s |\n",
			r.label, r.conns, rps, us(r.sum.P50Us), us(r.sum.P90Us), us(r.sum.P99Us), us(r.sum.MaxUs), errs,
			steady.MiB(r.maxRSS), perReq.Round(time.Microsecond), perCore)
	}
	hwm, _, _ := steady.ProcStatus(svc.Pid())
	fmt.Printf("\nServer peak RSS over all runs (VmHWM): %s.\n", steady.MiB(hwm))
}

// loadRun runs wrk once while sampling the server's RSS and CPU time.
func loadRun(wrk string, svc *steady.Service, url, bodyPath, scriptPath, etag string, p run, d time.Duration) run {
	threads := min(p.conns, runtime.NumCPU())
	cpu0 := cpuTime(svc.Pid())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var maxRSS int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, rss, err := steady.ProcStatus(svc.Pid()); err == nil && rss > maxRSS {
					maxRSS = rss
				}
			}
		}
	}()
	cmd := exec.Command(wrk, "-t", strconv.Itoa(threads), "-c", strconv.Itoa(p.conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"--timeout", "10s", "--latency", "-s", scriptPath, url)
	cmd.Env = append(os.Environ(), "LOAD_BODY="+bodyPath, "LOAD_ETAG="+etag)
	out, err := cmd.CombinedOutput()
	close(stop)
	wg.Wait()
	if err != nil {
		fail("wrk: %v\n%s", err, out)
	}
	p.cpu = cpuTime(svc.Pid()) - cpu0
	p.maxRSS = maxRSS
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "LOADJSON "); ok {
			check(json.Unmarshal([]byte(rest), &p.sum))
		}
	}
	if p.sum.Requests == 0 {
		fail("wrk reported no requests:\n%s", out)
	}
	return p
}

// cpuTime is the user+system CPU time of a process (/proc/<pid>/stat).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	// Fields after the command: state(0) … utime(11) stime(12), in clock
	// ticks of 1/100 s (USER_HZ on Linux).
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// ensureWrk finds wrk, installing Debian's package when it is missing and
// this runs as root (the project's machines and CI); otherwise it says how.
func ensureWrk() string {
	if p, err := exec.LookPath("wrk"); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		fail("wrk is not installed: apt-get install wrk")
	}
	fmt.Fprintln(os.Stderr, "wrk missing: apt-get install -y wrk")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "wrk"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			fail("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	p, err := exec.LookPath("wrk")
	check(err)
	return p
}

func us(v int64) string {
	d := time.Duration(v) * time.Microsecond
	if d >= 10*time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

var stopOnFail func()

func fail(format string, args ...any) {
	if stopOnFail != nil {
		stopOnFail()
	}
	fmt.Fprintf(os.Stderr, "load: "+format+"\n", args...)
	os.Exit(1)
}
