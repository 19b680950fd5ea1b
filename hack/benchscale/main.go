// Command benchscale prints the scalability table of docs/performance.md:
//
//	make bench-scale                       # 100, 1,000 and 10,000 tenants, basic example
//	go run ./hack/benchscale -tenants 100,1000 -templates multi
//
// Every tenant is converged from nothing to its fixpoint through all
// dependency rounds: an in-memory cluster (render/sim) plays the API server
// and Metacontroller (it applies the answer's children, makes them ready,
// writes the status back), and each round is a real hook request — the
// request body Metacontroller would send (observed children with their
// managedFields and last-applied annotation) through the service's HTTP
// handler in process (body read, strict decode, render, encode), exactly
// the code `tenant-hooks serve` runs, minus the TCP socket.
//
// Reconciliation time is the summed handler time of all those requests
// (hook-side work, one core); the wall time of the run, which also includes
// building requests and simulating the cluster, is shown beside it. Memory
// is the peak RSS (VmHWM) of the process doing the work, measured in a
// fresh child process per size. The service is stateless, so tenants are
// converged one after another (-workers in parallel) and nothing per tenant
// stays in memory.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// result is one size's measurement (the child prints it as JSON).
type result struct {
	Tenants      int           `json:"tenants"`
	Templates    int           `json:"templates"`
	Resources    int           `json:"resourcesPerTenant"`
	Calls        int           `json:"calls"`
	HookTime     time.Duration `json:"hookTime"`
	Wall         time.Duration `json:"wall"`
	PeakRSS      int64         `json:"peakRSS"`
	MaxReqBytes  int           `json:"maxRequestBytes"`
	TemplateSet  string        `json:"templateSet"`
	WorkersUsed  int           `json:"workers"`
	RoundsPerTen float64       `json:"roundsPerTenant"`
}

func main() {
	tenantsFlag := flag.String("tenants", "100,1000,10000", "comma-separated tenant counts")
	set := flag.String("templates", "basic", "template set: basic (1 template, 6 resources), multi (examples/multi-template: 2 templates), basic30")
	workers := flag.Int("workers", 1, "tenants converged in parallel")
	child := flag.Int("child", 0, "internal: measure this many tenants in this process")
	flag.Parse()

	if *child > 0 {
		r, err := run(*child, *set, *workers)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchscale:", err)
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(r)
		return
	}

	self, err := os.Executable()
	check(err)
	var results []result
	for _, f := range strings.Split(*tenantsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		fmt.Fprintf(os.Stderr, "== %d tenants (%s)\n", n, *set)
		cmd := exec.Command(self, "-child", strconv.Itoa(n), "-templates", *set, "-workers", strconv.Itoa(*workers))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		check(err)
		var r result
		check(json.Unmarshal(out, &r))
		results = append(results, r)
	}

	fmt.Printf("Machine: %d CPUs (%s), %s; template set %q; hook-side work through the HTTP handler in process\n\n",
		runtime.NumCPU(), steady.CPUModel(), runtime.Version(), *set)
	fmt.Println("| Tenants | Templates | Resources/Tenant | Total Resources | Reconciliation Time | Memory Usage | Hook calls | Mean per call | Wall time of run |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		fmt.Printf("| %s | %d | %d | %s | %s | %s | %s | %s | %s |\n",
			commas(r.Tenants), r.Templates, r.Resources, commas(r.Tenants*r.Resources), r.HookTime.Round(time.Millisecond),
			steady.MiB(r.PeakRSS), commas(r.Calls), (r.HookTime / time.Duration(max(r.Calls, 1))).Round(time.Microsecond),
			r.Wall.Round(time.Millisecond))
	}
}

// run converges n tenants and measures.
func run(n int, set string, workers int) (result, error) {
	templates, err := steady.Templates(set)
	if err != nil {
		return result{}, err
	}
	ctx := context.Background()
	e := render.New(render.Options{Now: steady.Now})
	srv := hooks.New(hooks.Config{}, slog.New(slog.DiscardHandler), e, mysql.NewPools(mysql.PoolOptions{}), prometheus.NewRegistry())
	hook := steady.HandlerHook(srv.Handler())

	rows := n / len(templates)
	if rows*len(templates) != n {
		return result{}, fmt.Errorf("%d tenants is not a multiple of %d templates", n, len(templates))
	}
	resources := 0
	for _, t := range templates {
		pt, err := render.ParseTemplate(t)
		if err != nil {
			return result{}, err
		}
		resources += len(pt.Resources)
	}
	res := result{Tenants: n, Templates: len(templates), Resources: resources / len(templates), TemplateSet: set, WorkersUsed: workers}

	start := time.Now()
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				// One row's Tenants (one per template), made as the registry
				// hook would, converged and dropped.
				states, err := steady.TenantStates(ctx, e, templates, []steady.Row{steady.RowN(i + 1)})
				var calls, maxReq int
				var d time.Duration
				for _, s := range states {
					if err != nil {
						break
					}
					var c int
					var t time.Duration
					c, t, err = s.Converge(measured(hook, &maxReq), 30)
					calls, d = calls+c, d+t
					if err == nil && object.NestedSlice(s.Tenant, "status", "conditions") == nil {
						err = fmt.Errorf("tenant %s converged without status", object.Name(s.Tenant))
					}
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				res.Calls += calls
				res.HookTime += d
				res.MaxReqBytes = max(res.MaxReqBytes, maxReq)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < rows; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	res.Wall = time.Since(start)
	res.RoundsPerTen = float64(res.Calls) / float64(n)
	hwm, _, err := steady.ProcStatus(os.Getpid())
	if err != nil {
		return result{}, err
	}
	res.PeakRSS = hwm
	return res, nil
}

// measured records the largest request.
func measured(h steady.Hook, maxReq *int) steady.Hook {
	return func(path string, body []byte) (int, []byte, time.Duration) {
		*maxReq = max(*maxReq, len(body))
		return h(path, body)
	}
}

func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchscale:", err)
		os.Exit(1)
	}
}
