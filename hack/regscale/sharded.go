package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A sharded registry (-shard-size, docs/sharding.md) is measured twice:
// its own steady sync (the registry, its rows from MariaDB, and every shard
// observed with its spec and a Ready status — what Metacontroller sends
// every syncInterval) and the steady sync of its largest shard (the shard
// and its Tenants observed with Metacontroller's bookkeeping and a Ready
// status — what Metacontroller sends whenever one of them changes).

type shardedResult struct {
	rows, templates, tenants, shards, largest int
	regReq, regAns, shardReq, shardAns        int
	regLat, shardLat                          []time.Duration
	hwm                                       int64
}

func measureSharded(db *sql.DB, cfg *mysql.Config, port int, bin string, templates []object.Obj, statuses map[string]map[string]any, n, runs, size int) shardedResult {
	fmt.Fprintf(os.Stderr, "== %d rows, sharded (≤ %d Tenants per shard): seeding %s.%s\n", n, size, database, table)
	seed(db, n)
	tenants := n * len(templates)
	shards := (tenants + size - 1) / size
	registry := steady.Registry(steady.Namespace, "customers", "127.0.0.1", port, cfg.User, database, table, nil)
	object.SetNested(registry, map[string]any{"shards": shards, "maxTenantsPerShard": size}, "spec", "sharding")
	limits := serviceLimits

	boot := start(bin, limits...)
	code, body, _ := postTo(boot.URL()+"/hooks/registries/sync", shardedRequest(registry, templates, nil))
	boot.Stop()
	if code != http.StatusOK {
		fail("first sharded sync answered %d: %.300s", code, body)
	}
	desired, err := steady.DesiredFromAnswer(body)
	check(err)
	body = nil
	if len(desired) != shards {
		fail("first sync answered %d shards, expected %d", len(desired), shards)
	}
	res := shardedResult{rows: n, templates: len(templates), tenants: tenants, shards: shards}
	var observed []object.Obj
	largest := 0
	total := 0
	for i, s := range desired {
		k := len(object.NestedSlice(s, "spec", "tenants"))
		total += k
		if k > len(object.NestedSlice(desired[largest], "spec", "tenants")) {
			largest = i
		}
		observed = append(observed, steady.Observe(s, registry, i, map[string]any{
			"observedGeneration": 1, "desired": k, "tenants": k, "observed": k, "ready": k, "failed": 0,
			"pendingDeletion": map[string]any{"count": 0},
			"conditions":      []any{map[string]any{"type": "Ready", "status": "True", "reason": "AllTenantsReady"}},
		}))
	}
	if total != tenants {
		fail("the shards hold %d Tenants, expected %d", total, tenants)
	}
	shard := observed[largest]
	res.largest = len(object.NestedSlice(shard, "spec", "tenants"))
	regReq := shardedRequest(registry, templates, observed)
	observed, desired = nil, nil

	// The largest shard's steady request: its Tenants as the shard answers
	// them, observed Ready.
	out := render.New(render.Options{Now: steady.Now}).SyncShard(context.Background(), render.ShardInput{Shard: shard, Templates: templates})
	var ts []object.Obj
	for i, t := range out.ChildList() {
		st := steady.TenantStatusFor(statuses[object.String(t, "spec", "templateRef")], object.String(t, "spec", "uid"))
		ts = append(ts, steady.ObservedTenant(t, shard, i, st))
	}
	shardReq := childrenRequest(shard, "Tenant."+render.APIVersion, ts, templates)
	ts = nil

	svc := start(bin, limits...)
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
		res.regAns, res.regLat = len(ans), append(res.regLat, d)
		code, ans, d = postTo(svc.URL()+"/hooks/shards/sync", shardReq)
		if code != http.StatusOK {
			fail("shard sync answered %d: %.300s\n%s", code, ans, svc.Logs())
		}
		if i == 0 {
			kids, err := steady.DesiredFromAnswer(ans)
			check(err)
			if len(kids) != res.largest {
				fail("shard answered %d Tenants, want %d", len(kids), res.largest)
			}
		}
		res.shardAns, res.shardLat = len(ans), append(res.shardLat, d)
		fmt.Fprintf(os.Stderr, "   run %d: registry %s, shard %s\n", i+1, res.regLat[i].Round(time.Millisecond), d.Round(time.Millisecond))
	}
	res.hwm, _, err = steady.ProcStatus(svc.Pid())
	check(err)
	return res
}

// shardedRequest is a registry sync request whose children are shards.
func shardedRequest(registry object.Obj, templates, shards []object.Obj) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"controller":`)
	buf.Write(steady.RegistryController())
	buf.WriteString(`,"parent":`)
	buf.Write(steady.Marshal(registry))
	buf.WriteString(`,"children":{"TenantShard.` + render.APIVersion + `":{`)
	writeObjects(&buf, shards)
	buf.WriteString(`}},"related":{"TenantTemplate.` + render.APIVersion + `":{`)
	writeObjects(&buf, templates)
	buf.WriteString(`}},"finalizing":false}`)
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

// childrenRequest is a sync request of parent with children of one type.
func childrenRequest(parent object.Obj, typ string, children, templates []object.Obj) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"parent":`)
	buf.Write(steady.Marshal(parent))
	buf.WriteString(`,"children":{` + string(steady.Marshal(typ)) + `:{`)
	writeObjects(&buf, children)
	buf.WriteString(`}},"related":{"TenantTemplate.` + render.APIVersion + `":{`)
	writeObjects(&buf, templates)
	buf.WriteString(`}},"finalizing":false}`)
	return buf.Bytes()
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

func printSharded(rs []shardedResult, size int) {
	fmt.Printf("\nSharded registries (spec.sharding, ≤ %d Tenants per shard). Registry: its steady sync with every shard observed; shard: the largest shard's steady sync.\n\n", size)
	fmt.Println("| Active rows | Tenants | Shards | Largest shard | Registry request | Registry answer | Registry latency | Shard request | Shard answer | Shard latency | Service peak RSS (VmHWM) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", r.rows, r.tenants, r.shards, r.largest,
			steady.MiB(int64(r.regReq)), steady.MiB(int64(r.regAns)), med(r.regLat),
			steady.MiB(int64(r.shardReq)), steady.MiB(int64(r.shardAns)), med(r.shardLat), steady.MiB(r.hwm))
	}
}

func med(ds []time.Duration) string {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2].Round(time.Millisecond).String()
}
