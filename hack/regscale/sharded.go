package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A sharded registry (-shard-size, docs/sharding.md) is measured as
// Metacontroller drives it in steady state. Its shards carry no Tenants
// (spec.registrySpec and spec.rowsRevision): the registry's sync and every
// shard's sync read the registry's rows through the service's shared row
// snapshot (one query per freshness window). Measured on one service:
//
//   - the registry's steady sync: the registry and every shard observed as
//     the registry answered it, with Metacontroller's bookkeeping and a
//     Ready status (the first of these reads the rows from MariaDB);
//   - the largest shard's steady sync: the shard, its Tenants observed (as
//     the shard hook answers them, with a Ready status) and the templates;
//   - every shard's steady sync, -shard-workers at a time, as
//     Metacontroller's workers send them after a resync of all of them.
//
// The service's peak RSS covers all of it; its /metrics tell how many
// queries MariaDB saw and how the snapshot answered the others.

type shardedResult struct {
	rows, templates, tenants, shards, largest, smallest int
	regReq, regAns, shardReq, shardAns, maxShardReq     int
	regFirst                                            time.Duration
	regLat, shardLat, allLat                            []time.Duration
	served                                              int // shard syncs of the all-shards pass
	allWall                                             time.Duration
	hwm                                                 int64
	queries                                             int
	snapshots                                           map[string]int // row_snapshot_requests_total by outcome
	snapshotRows                                        string
}

// secretName is the Secret regscale delivers when MYSQL_TEST_DSN has a
// password (the registry's passwordRef names it).
const secretName = "regscale-mysql"

func measureSharded(db *sql.DB, cfg *mysql.Config, port int, bin string, templates []object.Obj, statuses map[string]map[string]any, n, runs, size int) shardedResult {
	fmt.Fprintf(os.Stderr, "== %d rows, sharded (≤ %d Tenants per shard): seeding %s.%s\n", n, size, database, table)
	seed(db, n)
	tenants := n * len(templates)
	shards := (tenants + size - 1) / size
	registry := steady.Registry(steady.Namespace, "customers", "127.0.0.1", port, cfg.User, database, table, nil)
	object.SetNested(registry, map[string]any{"shards": shards, "maxTenantsPerShard": size}, "spec", "sharding")
	related := templates
	if cfg.Passwd != "" {
		// The shards read the rows too: they get the Secret their registry
		// names (shardCustomize asks for it).
		object.SetNested(registry, map[string]any{"name": secretName, "key": "password"}, "spec", "source", "mysql", "passwordRef")
		related = append(append([]object.Obj{}, templates...), map[string]any{
			"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": secretName, "namespace": steady.Namespace},
			"data":     map[string]any{"password": base64.StdEncoding.EncodeToString([]byte(cfg.Passwd))},
		})
	}

	// Each shard's size, as the registry places the rows: by the base name
	// of each Tenant (render.ShardIndex of names.TenantName).
	counts := make([]int, shards)
	for i := 1; i <= n; i++ {
		uid := steady.RowN(i).UID
		for _, t := range templates {
			counts[render.ShardIndex(names.TenantName(uid, object.Name(t)), shards)]++
		}
	}
	largest, smallest := 0, 0
	for i, c := range counts {
		if c > counts[largest] {
			largest = i
		}
		if c < counts[smallest] {
			smallest = i
		}
	}
	res := shardedResult{rows: n, templates: len(templates), tenants: tenants, shards: shards,
		largest: counts[largest], smallest: counts[smallest], snapshotRows: snapshotRows}
	if res.snapshotRows == "" {
		res.snapshotRows = "default"
	}
	if snapshotMem != "" {
		res.snapshotRows += ", " + snapshotMem
	}

	// A throwaway service builds what Metacontroller would observe: the
	// shards the registry answers, and each shard's Tenants. It holds every
	// row in its snapshot whatever the measured service's bound.
	boot := start(bin, append(append([]string{}, serviceLimits...), "--snapshot-rows", strconv.Itoa(2*n+1000), "--snapshot-memory", "8Gi")...)
	code, body, _ := postTo(boot.URL()+"/hooks/registries/sync", parentRequest(registry, registryType, nil, related, true))
	if code != http.StatusOK {
		fail("first sharded sync answered %d: %.300s\n%s", code, body, boot.Logs())
	}
	desired, err := steady.DesiredFromAnswer(body)
	check(err)
	if len(desired) != shards {
		fail("first sync answered %d shards, expected %d", len(desired), shards)
	}
	var first struct {
		Status struct {
			Desired  int `json:"desired"`
			Sharding struct {
				LargestShard int `json:"largestShard"`
			} `json:"sharding"`
		} `json:"status"`
	}
	check(json.Unmarshal(body, &first))
	if first.Status.Desired != tenants || first.Status.Sharding.LargestShard != counts[largest] {
		fail("the registry wants %d Tenants, largest shard %d; regscale placed %d, largest %d", first.Status.Desired, first.Status.Sharding.LargestShard, tenants, counts[largest])
	}
	observed := make([]object.Obj, shards)
	for _, s := range desired {
		i64, _ := object.Int64(s, "spec", "index")
		i := int(i64)
		if object.String(s, "spec", "rowsRevision") == "" || object.NestedMap(s, "spec", "registrySpec") == nil {
			fail("shard %d has no rowsRevision or registrySpec: %.300s", i, steady.Marshal(s))
		}
		if _, ok := object.NestedMap(s, "spec")["tenants"]; ok {
			fail("shard %d still carries spec.tenants", i)
		}
		k := counts[i]
		observed[i] = steady.Observe(s, registry, i, map[string]any{
			"observedGeneration": 1, "desired": k, "tenants": k, "observed": k, "ready": k, "failed": 0,
			"pendingDeletion": map[string]any{"count": 0}, "rowsRevision": object.String(s, "spec", "rowsRevision"),
			"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "AllTenantsReady"}},
		})
	}
	regReq := parentRequest(registry, registryType, observed, related, true)
	body, desired = nil, nil

	// shardRequest is shard i's steady request: the Tenants the real
	// service answers for it (first sync, none observed), observed Ready.
	shardRequest := func(i int) []byte {
		code, body, _ := postTo(boot.URL()+"/hooks/shards/sync", parentRequest(observed[i], tenantType, nil, related, false))
		if code != http.StatusOK {
			fail("first sync of shard %d answered %d: %.300s\n%s", i, code, body, boot.Logs())
		}
		kids, err := steady.DesiredFromAnswer(body)
		check(err)
		if len(kids) != counts[i] {
			fail("shard %d answered %d Tenants, expected %d", i, len(kids), counts[i])
		}
		ts := make([]object.Obj, len(kids))
		for j, t := range kids {
			st := steady.TenantStatusFor(statuses[object.String(t, "spec", "templateRef")], object.String(t, "spec", "uid"))
			ts[j] = steady.ObservedTenant(t, observed[i], j, st)
		}
		return parentRequest(observed[i], tenantType, ts, related, false)
	}
	shardReq := shardRequest(largest)

	svc := start(bin, measuredArgs()...)
	defer svc.Stop()
	if n >= 50000 {
		runs = min(runs, 3)
	}
	res.regReq, res.shardReq = len(regReq), len(shardReq)
	for i := 0; i < runs; i++ {
		code, ans, d := postTo(svc.URL()+"/hooks/registries/sync", regReq)
		if code != http.StatusOK {
			fail("sharded registry sync answered %d: %.300s\n%s", code, ans, svc.Logs())
		}
		kids, err := steady.DesiredFromAnswer(ans)
		check(err)
		if len(kids) != shards {
			fail("steady registry sync answered %d shards, want %d", len(kids), shards)
		}
		res.regAns = len(ans)
		if i == 0 {
			res.regFirst = d
		}
		res.regLat = append(res.regLat, d)
		fmt.Fprintf(os.Stderr, "   registry run %d: %s\n", i+1, d.Round(time.Millisecond))
	}
	for i := 0; i < runs; i++ {
		code, ans, d := postTo(svc.URL()+"/hooks/shards/sync", shardReq)
		if code != http.StatusOK {
			fail("shard sync answered %d: %.300s\n%s", code, ans, svc.Logs())
		}
		kids, err := steady.DesiredFromAnswer(ans)
		check(err)
		if len(kids) != res.largest {
			fail("shard answered %d Tenants, want %d", len(kids), res.largest)
		}
		res.shardAns, res.shardLat = len(ans), append(res.shardLat, d)
		fmt.Fprintf(os.Stderr, "   largest shard run %d: %s\n", i+1, d.Round(time.Millisecond))
	}
	shardReq = nil

	// Every shard's steady sync: the requests are built (on the boot
	// service) while the measured service answers earlier ones.
	todo := shards
	if shardSample > 0 && shardSample < shards {
		todo = shardSample
	}
	reqs := make(chan struct {
		i   int
		req []byte
	}, shardWorkers)
	go func() {
		for i := 0; i < todo; i++ {
			reqs <- struct {
				i   int
				req []byte
			}{i, shardRequest(i)}
		}
		close(reqs)
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	begin := time.Now()
	for w := 0; w < shardWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range reqs {
				code, ans, d := postTo(svc.URL()+"/hooks/shards/sync", r.req)
				if code != http.StatusOK {
					fail("sync of shard %d answered %d: %.300s\n%s", r.i, code, ans, svc.Logs())
				}
				kids, err := steady.DesiredFromAnswer(ans)
				check(err)
				if len(kids) != counts[r.i] {
					fail("shard %d answered %d Tenants, want %d", r.i, len(kids), counts[r.i])
				}
				mu.Lock()
				res.allLat = append(res.allLat, d)
				res.maxShardReq = max(res.maxShardReq, len(r.req))
				res.served++
				if res.served%10 == 0 || res.served == todo {
					fmt.Fprintf(os.Stderr, "   shards served: %d/%d\n", res.served, todo)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.allWall = time.Since(begin)
	boot.Stop()
	res.hwm, _, err = steady.ProcStatus(svc.Pid())
	check(err)
	res.queries, res.snapshots = scrape(svc.URL())
	if serviceLog != "" {
		// With GODEBUG=gctrace=1 in regscale's environment, the service's
		// Go heap at every collection.
		check(os.WriteFile(serviceLog, []byte(svc.Logs()), 0o644))
	}
	return res
}

const (
	registryType = "TenantShard." + render.APIVersion
	tenantType   = "Tenant." + render.APIVersion
)

// measuredArgs are the measured service's flags.
func measuredArgs() []string {
	args := append([]string{}, serviceLimits...)
	if snapshotRows != "" {
		args = append(args, "--snapshot-rows", snapshotRows)
	}
	if snapshotMem != "" {
		args = append(args, "--snapshot-memory", snapshotMem)
	}
	return args
}

// parentRequest is a sync request of parent with children of one type and
// the related objects (templates, and the Secret when there is one).
func parentRequest(parent object.Obj, typ string, children, related []object.Obj, withController bool) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{`)
	if withController {
		buf.WriteString(`"controller":`)
		buf.Write(steady.RegistryController())
		buf.WriteString(`,`)
	}
	buf.WriteString(`"parent":`)
	buf.Write(steady.Marshal(parent))
	buf.WriteString(`,"children":{` + string(steady.Marshal(typ)) + `:{`)
	writeObjects(&buf, children)
	buf.WriteString(`}},"related":{`)
	for i, typ := range []string{"TenantTemplate." + render.APIVersion, "Secret.v1"} {
		var of []object.Obj
		for _, o := range related {
			if object.Kind(o)+"."+object.APIVersion(o) == typ {
				of = append(of, o)
			}
		}
		if i > 0 {
			if len(of) == 0 {
				continue
			}
			buf.WriteByte(',')
		}
		buf.WriteString(string(steady.Marshal(typ)) + `:{`)
		writeObjects(&buf, of)
		buf.WriteString(`}`)
	}
	buf.WriteString(`},"finalizing":false}`)
	return buf.Bytes()
}

// writeObjects writes the members of a hook request's object map
// ("namespace/name": object), in the order given.
func writeObjects(buf *bytes.Buffer, objs []object.Obj) {
	for i, o := range objs {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(steady.Marshal(object.ObjKey(object.Namespace(o), object.Name(o))))
		buf.WriteByte(':')
		buf.Write(steady.Marshal(o))
	}
}

func postTo(url string, body []byte) (int, []byte, time.Duration) {
	start := time.Now()
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(err)
	return resp.StatusCode, b, time.Since(start)
}

var (
	queryCount   = regexp.MustCompile(`^tenant_hooks_datasource_query_duration_seconds_count\{type="mysql"\} (\d+)`)
	snapshotUses = regexp.MustCompile(`^tenant_hooks_row_snapshot_requests_total\{outcome="(\w+)"\} (\d+)`)
)

// scrape reads the service's MySQL query count and its row snapshot
// outcomes from /metrics.
func scrape(base string) (queries int, snapshots map[string]int) {
	resp, err := client.Get(base + "/metrics")
	check(err)
	defer resp.Body.Close()
	snapshots = map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := queryCount.FindStringSubmatch(sc.Text()); m != nil {
			queries, _ = strconv.Atoi(m[1])
		}
		if m := snapshotUses.FindStringSubmatch(sc.Text()); m != nil {
			snapshots[m[1]], _ = strconv.Atoi(m[2])
		}
	}
	check(sc.Err())
	return queries, snapshots
}

func printSharded(rs []shardedResult, size int) {
	limit := memLimit
	if limit == "" {
		limit = "unset"
	}
	fmt.Printf("\nSharded registries (spec.sharding, ≤ %d Tenants per shard), GOMEMLIMIT %s, %d shard workers. Registry: its steady sync with every shard observed (first: the call that read the rows); shard: the largest shard's steady sync; all shards: every shard's steady sync on the same service.\n\n", size, limit, shardWorkers)
	fmt.Println("| Active rows | Tenants | Shards | Shard sizes | --snapshot-rows, -memory | Registry request | Registry answer | Registry latency (first / median) | Largest shard request | Shard answer | Shard latency (median) | All shards: served, wall time, median, largest request | MySQL queries | Snapshot hit / read / shared | Service peak RSS (VmHWM) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %d | %d | %d | %d–%d | %s | %s | %s | %s / %s | %s | %s | %s | %d, %s, %s, %s | %d | %d / %d / %d | %s |\n",
			r.rows, r.tenants, r.shards, r.smallest, r.largest, r.snapshotRows,
			kib(r.regReq), kib(r.regAns), r.regFirst.Round(time.Millisecond), med(r.regLat),
			steady.MiB(int64(r.shardReq)), steady.MiB(int64(r.shardAns)), med(r.shardLat),
			r.served, r.allWall.Round(time.Second), med(r.allLat), steady.MiB(int64(r.maxShardReq)),
			r.queries, r.snapshots["hit"], r.snapshots["read"], r.snapshots["shared"], steady.MiB(r.hwm))
	}
}

func kib(b int) string {
	if b >= 1<<20 {
		return steady.MiB(int64(b))
	}
	return fmt.Sprintf("%.1f KiB", float64(b)/1024)
}

func med(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(time.Millisecond).String()
}
