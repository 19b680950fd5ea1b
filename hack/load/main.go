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
// Then the fixed cost of one request: the small first sync of the README
// (steady.SmallTenantRequest, 4.6 KB in, 3 KB out) at 8 connections, on the
// service and on an encoding/json floor server — this same program started
// again as a subprocess, a plain net/http server that decodes each request
// into map[string]any and encodes the service's answer from its generic form
// — alternating, -small-rounds times each. It prints both servers'
// requests/s and CPU per request and their ratios (docs/performance.md,
// section 3).
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
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	smallRounds := flag.Int("small-rounds", 3, "rounds of the small request against the service and the encoding/json floor (0: none, at most 10)")
	if floorMode() {
		serveFloor()
		return
	}
	flag.Parse()
	if *smallRounds < 0 || *smallRounds > 10 {
		fail("-small-rounds must be in [0, 10]")
	}
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
	if *smallRounds > 0 {
		smallRequest(wrk, svc, dir, scriptPath, *smallRounds, *duration)
	}
}

// smallRequest measures the small request on the service and on the
// encoding/json floor, alternating so that background load hits both alike.
func smallRequest(wrk string, svc *steady.Service, dir, scriptPath string, rounds int, d time.Duration) {
	body, err := steady.SmallTenantRequest()
	check(err)
	url := svc.URL() + "/hooks/tenants/sync"
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	check(err)
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail("small request answered %d: %.300s", resp.StatusCode, answer)
	}
	bodyPath, answerPath := filepath.Join(dir, "small.json"), filepath.Join(dir, "small-answer.json")
	check(os.WriteFile(bodyPath, body, 0o644))
	check(os.WriteFile(answerPath, answer, 0o644))
	self, err := os.Executable()
	check(err)
	floor, err := steady.StartServiceEnv(self, []string{floorEnv + "=" + answerPath})
	check(err)
	defer floor.Stop()
	// The floor must answer the same bytes' worth: its answer is the
	// service's, re-encoded by encoding/json from the generic form.
	fresp, err := http.Post(floor.URL()+"/hooks/tenants/sync", "application/json", bytes.NewReader(body))
	check(err)
	fanswer, _ := io.ReadAll(fresp.Body)
	fresp.Body.Close()
	if fresp.StatusCode != http.StatusOK {
		fail("floor server answered %d: %.300s", fresp.StatusCode, fanswer)
	}

	type pair struct{ svc, floor run }
	var pairs []pair
	for i := 0; i < rounds; i++ {
		var pr pair
		for _, side := range []string{"service", "floor"} {
			target, u := svc, url
			if side == "floor" {
				target, u = floor, floor.URL()+"/hooks/tenants/sync"
			}
			fmt.Fprintf(os.Stderr, "== small request, %s, round %d/%d, 8 connections, %s\n", side, i+1, rounds, d)
			r := loadRun(wrk, target, u, bodyPath, scriptPath, "", run{label: side, conns: 8}, d)
			if side == "service" {
				pr.svc = r
			} else {
				pr.floor = r
			}
		}
		pairs = append(pairs, pr)
	}

	fmt.Printf("\nSmall request: %s, %d bytes; answer %d bytes (the floor's: %d). 8 connections, wrk 2 threads, %s per run, service and floor alternating.\n",
		steady.SmallTenantRequestFile, len(body), len(answer), len(fanswer), d)
	fmt.Println("Floor: a plain net/http server (default settings) that decodes the request into map[string]any with encoding/json and encodes the answer's generic form.")
	fmt.Println()
	fmt.Println("| Round | Service requests/s | Floor requests/s | Time ratio (floor req/s ÷ service req/s) | Service CPU per request | Floor CPU per request | CPU ratio | Errors |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|")
	var timeRatios, cpuRatios []float64
	for i, p := range pairs {
		srps, frps := rps(p.svc), rps(p.floor)
		scpu, fcpu := cpuPerReq(p.svc), cpuPerReq(p.floor)
		tr, cr := frps/srps, float64(scpu)/float64(fcpu)
		timeRatios, cpuRatios = append(timeRatios, tr), append(cpuRatios, cr)
		fmt.Printf("| %d | %.0f | %.0f | %.2f | %s | %s | %.2f | %d |\n", i+1, srps, frps, tr,
			scpu.Round(time.Microsecond), fcpu.Round(time.Microsecond), cr, errCount(p.svc)+errCount(p.floor))
	}
	fmt.Printf("\nSmall request, service over encoding/json floor (median of %d rounds): time %.2fx, CPU %.2fx.\n",
		len(pairs), median(timeRatios), median(cpuRatios))
}

func rps(r run) float64 { return float64(r.sum.Requests) / (float64(r.sum.DurationUs) / 1e6) }

func errCount(r run) int64 {
	return r.sum.Non2xx3xx + r.sum.ConnectErrors + r.sum.ReadErrors + r.sum.WriteErrors + r.sum.Timeouts
}

func cpuPerReq(r run) time.Duration {
	if r.sum.Requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.sum.Requests)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// floorEnv names the answer file of the floor server mode.
const floorEnv = "TENANT_HOOKS_LOAD_FLOOR_ANSWER"

// floorMode: this program was started again as the floor server
// (steady.StartServiceEnv runs "<binary> serve --addr <addr> …").
func floorMode() bool {
	return os.Getenv(floorEnv) != "" && len(os.Args) > 1 && os.Args[1] == "serve"
}

// serveFloor is the encoding/json floor: a plain net/http server with
// default settings that reads the body, decodes it into map[string]any and
// encodes the answer's generic form. It serves until SIGTERM (the parent's
// Stop) and listens on loopback only.
func serveFloor() {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "")
	fs.String("log-level", "", "")
	fs.String("drain-delay", "", "")
	if err := fs.Parse(os.Args[2:]); err != nil || !strings.HasPrefix(*addr, "127.0.0.1:") {
		fmt.Fprintln(os.Stderr, "floor: need --addr 127.0.0.1:<port>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Getenv(floorEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := json.Marshal(generic)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	srv := &http.Server{Addr: *addr, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
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
