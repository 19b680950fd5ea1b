// Command regscale measures the registry sync hook at scale against a real
// MySQL/MariaDB server on loopback (docs/performance.md):
//
//	go run ./hack/regscale                      # 1k, 10k and 100k rows × 2 templates
//	go run ./hack/regscale -rows 1000,10000 -runs 5
//	go run ./hack/regscale -rows 10000,100000 -shard-size 2000   # sharded registries and their shards
//	go run ./hack/regscale -rows 1000000 -shard-size 2000 -snapshot-rows 1100000 -snapshot-memory 512Mi
//
// For each size it seeds a table with that many active rows, builds
// bin/tenant-hooks and runs `tenant-hooks serve` as a subprocess on a free
// loopback port, and posts the steady-state registry sync: every Tenant the
// registry wants is observed (Metacontroller's metadata, managedFields, the
// last-applied annotation, a Ready status), as Metacontroller sends it every
// syncInterval. It prints the median latency of several runs and the
// service's peak RSS (VmHWM of the subprocess, read from /proc). With
// -shard-size the registry is sharded and the registry's and every shard's
// steady syncs are measured on one service (sharded.go).
//
// Only 127.0.0.1 is contacted: the database (MYSQL_TEST_DSN, default
// root@127.0.0.1:3306) and the service.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

const database, table = "tenant_hooks_regscale", "customers"

var (
	memLimit     string
	snapshotRows string
	snapshotMem  string
	shardWorkers int
	shardSample  int
	serviceLog   string
)

type result struct {
	rows, templates, tenants int
	reqBytes, ansBytes       int
	latencies                []time.Duration
	hwm, rssAfter            int64
}

func main() {
	rowsFlag := flag.String("rows", "1000,10000,100000", "comma-separated row counts")
	runs := flag.Int("runs", 5, "requests per size (the median is reported); sizes of 50,000 rows or more use min(runs, 3)")
	set := flag.String("templates", "multi", "template set: multi (examples/multi-template, 2 templates) or basic (1)")
	bin := flag.String("bin", "", "tenant-hooks binary (default: build bin/tenant-hooks)")
	shardSize := flag.Int("shard-size", 0, "measure sharded registries instead (docs/sharding.md): spec.sharding with this maxTenantsPerShard and ceil(Tenants / size) shards")
	flag.StringVar(&snapshotRows, "snapshot-rows", "", "--snapshot-rows of the measured service (sharded runs); empty: the service's default")
	flag.StringVar(&snapshotMem, "snapshot-memory", "", "--snapshot-memory of the measured service (sharded runs); empty: the service's default")
	flag.IntVar(&shardWorkers, "shard-workers", 4, "shard syncs sent at once in the all-shards pass (Metacontroller's workers)")
	flag.IntVar(&shardSample, "shard-sample", 0, "serve only the first this many shards in the all-shards pass; 0: all")
	flag.StringVar(&serviceLog, "service-log", "", "write the measured service's output there (sharded runs; GODEBUG=gctrace=1 adds its collections)")
	flag.StringVar(&memLimit, "gomemlimit", "", "GOMEMLIMIT of the service (deploy/service sets it to the container's memory limit, 512MiB); empty: unset")
	flag.Parse()

	dsn := os.Getenv("MYSQL_TEST_DSN")
	if dsn == "" {
		dsn = "root:@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := gomysql.ParseDSN(dsn)
	check(err)
	host, portStr, _ := strings.Cut(cfg.Addr, ":")
	if host != "127.0.0.1" && host != "localhost" && host != "::1" {
		fail("regscale only talks to a loopback database, not %s", cfg.Addr)
	}
	port, _ := strconv.Atoi(portStr)
	if port == 0 {
		port = 3306
	}
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	check(err)
	defer db.Close()

	path := *bin
	if path == "" {
		fmt.Fprintln(os.Stderr, "building bin/tenant-hooks")
		path, err = steady.BuildBinary()
		check(err)
	}
	templates, err := steady.Templates(*set)
	check(err)

	// The steady status of a Tenant of each template, converged in process.
	ctx := context.Background()
	e := render.New(render.Options{Now: steady.Now})
	h := hooks.New(hooks.Config{}, slog.New(slog.DiscardHandler), e, mysql.NewPools(mysql.PoolOptions{}), prometheus.NewRegistry()).Handler()
	statuses, err := steady.TenantStatusByTemplate(ctx, e, steady.HandlerHook(h), templates)
	check(err)

	if *shardSize > 0 {
		var rs []shardedResult
		for _, f := range strings.Split(*rowsFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			check(err)
			rs = append(rs, measureSharded(db, cfg, port, path, templates, statuses, n, *runs, *shardSize))
		}
		printSharded(rs, *shardSize)
		return
	}
	var results []result
	for _, f := range strings.Split(*rowsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		check(err)
		r := measure(db, cfg, port, path, templates, statuses, n, *runs)
		results = append(results, r)
	}
	printTable(results)
}

// serviceLimits lift the service's request, answer and source-read bounds
// and its deadline out of the way of the largest registries measured here (the write
// timeout must exceed the deadline by 2 s, or serve refuses to start).
var serviceLimits = []string{"--registry-body-limit", "8Gi", "--registry-answer-limit", "8Gi", "--max-source-bytes", "8Gi", "--hook-deadline", "300s", "--read-timeout", "300s", "--write-timeout", "305s"}

func measure(db *sql.DB, cfg *gomysql.Config, port int, bin string, templates []object.Obj, statuses map[string]map[string]any, n, runs int) result {
	fmt.Fprintf(os.Stderr, "== %d rows: seeding %s.%s\n", n, database, table)
	seed(db, n)
	registry := steady.Registry(steady.Namespace, "customers", "127.0.0.1", port, cfg.User, database, table, nil)
	// The registry spec carries no password: MYSQL_TEST_DSN's user must not
	// need one (root on this project's machines and CI).

	limits := serviceLimits

	// First sync (nothing observed yet) on a throwaway service: the Tenants
	// the registry wants.
	boot := start(bin, limits...)
	first := steady.RegistryRequest(registry, templates, 0, nil)
	code, body, _ := post(boot.URL(), first)
	boot.Stop()
	if code != http.StatusOK {
		fail("first sync answered %d: %.300s", code, body)
	}
	desired, err := steady.DesiredFromAnswer(body)
	check(err)
	if len(desired) != n*len(templates) {
		fail("first sync wants %d Tenants, expected %d", len(desired), n*len(templates))
	}

	fmt.Fprintf(os.Stderr, "   building the steady-state request (%d observed Tenants)\n", len(desired))
	req := steady.SteadyRegistryRequest(registry, templates, desired, statuses)
	desired = nil

	svc := start(bin, limits...)
	defer svc.Stop()
	if n >= 50000 {
		runs = min(runs, 3)
	}
	res := result{rows: n, templates: len(templates), tenants: n * len(templates), reqBytes: len(req)}
	for i := 0; i < runs; i++ {
		code, ans, d := post(svc.URL(), req)
		if code != http.StatusOK {
			fail("steady sync answered %d: %.300s\n%s", code, ans, svc.Logs())
		}
		if i == 0 {
			kids, err := steady.DesiredFromAnswer(ans)
			check(err)
			if len(kids) != res.tenants {
				fail("steady sync answered %d Tenants, want %d", len(kids), res.tenants)
			}
		}
		res.ansBytes = len(ans)
		res.latencies = append(res.latencies, d)
		fmt.Fprintf(os.Stderr, "   run %d: %s\n", i+1, d.Round(time.Millisecond))
	}
	res.hwm, res.rssAfter, err = steady.ProcStatus(svc.Pid())
	check(err)
	return res
}

// seed recreates the table with n active rows (the basic example's schema).
func seed(db *sql.DB, n int) {
	exec(db, "CREATE DATABASE IF NOT EXISTS "+database+" CHARACTER SET utf8mb4",
		"DROP TABLE IF EXISTS "+database+"."+table,
		"CREATE TABLE "+database+"."+table+" (customer_id VARCHAR(63) NOT NULL PRIMARY KEY, domain VARCHAR(255) NULL, "+
			"is_active TINYINT(1) NOT NULL DEFAULT 0, plan VARCHAR(32) NULL, replicas INT NOT NULL DEFAULT 1)")
	const batch = 2000
	for start := 0; start < n; start += batch {
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + database + "." + table + " VALUES ")
		for i := start; i < min(start+batch, n); i++ {
			r := steady.RowN(i + 1)
			if i > start {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "('%s','%s',1,'%s',%d)", r.UID, r.Domain, r.Plan, r.Replicas)
		}
		exec(db, sb.String())
	}
}

func exec(db *sql.DB, stmts ...string) {
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			fail("mysql: %.120s: %v", s, err)
		}
	}
}

var client = &http.Client{Timeout: 10 * time.Minute}

// post sends a registry sync and times it until the whole answer is read.
func post(base string, body []byte) (int, []byte, time.Duration) {
	start := time.Now()
	resp, err := client.Post(base+"/hooks/registries/sync", "application/json", bytes.NewReader(body))
	check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(err)
	return resp.StatusCode, b, time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func printTable(rs []result) {
	limit := memLimit
	if limit == "" {
		limit = "unset"
	}
	fmt.Printf("Service: bin/tenant-hooks serve on 127.0.0.1, GOMEMLIMIT %s; MariaDB on 127.0.0.1:3306; %d CPUs.\n\n", limit, runtime.NumCPU())
	fmt.Println("| Active rows | Templates | Tenants | Request size | Bytes / Tenant | Answer size | Hook latency (median of runs) | min – max | Service peak RSS (VmHWM) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		s := append([]time.Duration(nil), r.latencies...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		fmt.Printf("| %d | %d | %d | %s | %d | %s | %s (%d runs) | %s – %s | %s |\n",
			r.rows, r.templates, r.tenants, steady.MiB(int64(r.reqBytes)), r.reqBytes/max(r.tenants, 1), steady.MiB(int64(r.ansBytes)),
			median(r.latencies).Round(time.Millisecond), len(r.latencies), s[0].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), steady.MiB(r.hwm))
	}
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

// running services are stopped before a failure exits.
var running []*steady.Service

func start(bin string, args ...string) *steady.Service {
	var env []string
	if memLimit != "" {
		env = append(env, "GOMEMLIMIT="+memLimit)
	}
	s, err := steady.StartServiceEnv(bin, env, args...)
	check(err)
	running = append(running, s)
	return s
}

func fail(format string, args ...any) {
	for _, s := range running {
		s.Stop()
	}
	fmt.Fprintf(os.Stderr, "regscale: "+format+"\n", args...)
	os.Exit(1)
}
