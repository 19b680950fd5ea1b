package hooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A sharded registry reading MySQL (docs/sharding.md §1): the registry's
// sync and its shards' syncs share one query per freshness window on a
// replica; a shard whose registry read newer rows reads again; an outage
// is a 200 everywhere that keeps every shard and every Tenant.

// shardClock is a settable clock for the row snapshots.
type shardClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *shardClock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *shardClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func shardedMySQLServer(t *testing.T, opts mysql.PoolOptions) (*testServer, *shardClock) {
	ts := newServer(t, opts, hooks.Config{})
	clk := &shardClock{t: time.Unix(1_800_000_000, 0)}
	ts.srv.SetSnapshotClock(clk.now)
	return ts, clk
}

// mysqlQueries is how many queries the server sent to MySQL.
func mysqlQueries(t *testing.T, ts *testServer) int {
	t.Helper()
	m := regexp.MustCompile(`tenant_hooks_datasource_query_duration_seconds_count\{type="mysql"\} (\d+)`).FindStringSubmatch(metricsText(t, ts))
	if m == nil {
		return 0
	}
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// shardedFixture is the captured first registry sync with spec.sharding.
func shardedFixture(t *testing.T, shards int, children map[string]any) (body []byte, req map[string]any) {
	require.NoError(t, json.Unmarshal(fixture(t, "registry-sync-first.json"), &req))
	object.SetNested(req, map[string]any{"shards": shards}, "parent", "spec", "sharding")
	if children != nil {
		req["children"] = children
	}
	return mustJSON(t, req), req
}

// syncShards calls every shard of a registry answer like Metacontroller
// (customize, then sync with what customize asked for) and returns the
// Tenants by name and each shard's answer.
func syncShards(t *testing.T, ts *testServer, regAns map[string]any, related any, observed map[string]map[string]any) (map[string]map[string]any, []map[string]any) {
	t.Helper()
	tenants := map[string]map[string]any{}
	var answers []map[string]any
	for _, c := range regAns["children"].([]any) {
		shard := c.(map[string]any)
		if object.Kind(shard) != "TenantShard" {
			continue
		}
		object.SetNested(shard, "uid-"+object.Name(shard), "metadata", "uid")
		code, cust, _ := post(t, ts, "/hooks/shards/customize", mustJSON(t, map[string]any{"parent": shard}))
		require.Equal(t, http.StatusOK, code, cust)
		require.Contains(t, cust["relatedResources"], map[string]any{"apiVersion": "v1", "resource": "secrets", "namespace": "acme", "names": []any{"db-cred"}},
			"a shard asks for its registry's password Secret")
		children := map[string]any{}
		if obs := observed[object.Name(shard)]; obs != nil {
			children[object.TypeKey(render.APIVersion, "Tenant")] = obs
		}
		req := mustJSON(t, map[string]any{"parent": shard, "children": children, "related": related})
		code, ans, _ := post(t, ts, "/hooks/shards/sync", req)
		require.Equal(t, http.StatusOK, code, ans)
		// The shard hook shares the decoded templates too, and must not
		// modify them.
		requireTemplatesUnchanged(t, req)
		for _, tn := range ans["children"].([]any) {
			tm := tn.(map[string]any)
			tenants[object.Name(tm)] = tm
		}
		answers = append(answers, ans)
	}
	return tenants, answers
}

// customerRows are n active rows c00, c01, … for seedCustomers.
func customerRows(n int) []string {
	var rows []string
	for i := range n {
		rows = append(rows, fmt.Sprintf("('c%04d', 'https://c%04d.example', '1', 'pro')", i, i))
	}
	return rows
}

func TestShardedRegistryFromMySQL(t *testing.T) {
	seedCustomers(t, customerRows(40)...)
	ts, clk := shardedMySQLServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)})

	// The unsharded answer, for comparison (a second server: its own query).
	plainTS, _ := shardedMySQLServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)})
	code, plain, _ := post(t, plainTS, "/hooks/registries/sync", fixture(t, "registry-sync-first.json"))
	require.Equal(t, http.StatusOK, code, plain)

	body, req := shardedFixture(t, 3, nil)
	code, regAns, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, regAns)
	require.Len(t, regAns["children"], 3)
	require.EqualValues(t, 80, regAns["status"].(map[string]any)["desired"])
	require.Equal(t, 1, mysqlQueries(t, ts))
	for _, c := range regAns["children"].([]any) {
		spec := c.(map[string]any)["spec"].(map[string]any)
		require.NotContains(t, spec, "tenants", "a shard's spec holds no Tenants")
		require.Equal(t, "mysql", object.String(spec, "registrySpec", "source", "type"))
		require.NotEmpty(t, spec["rowsRevision"])
		raw, _ := json.Marshal(c)
		require.Less(t, len(raw), 2048, "a shard object is small whatever the row count")
	}

	tenants, answers := syncShards(t, ts, regAns, req["related"], nil)
	require.Equal(t, 1, mysqlQueries(t, ts), "the shards reused the registry's read")
	require.Contains(t, metricsText(t, ts), `tenant_hooks_row_snapshot_requests_total{outcome="hit"} 3`)
	var want, got []string
	for _, c := range plain["children"].([]any) {
		want = append(want, object.Name(c.(map[string]any)))
	}
	for n, tm := range tenants {
		got = append(got, n)
		p := child(t, plain, "Tenant", n)
		require.Equal(t, p["spec"], tm["spec"], "%s: the unsharded registry's spec, claims included", n)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got, "together the shards answer exactly the unsharded registry's Tenants")
	for i, a := range answers {
		shard := regAns["children"].([]any)[i].(map[string]any)
		require.Equal(t, object.String(shard, "spec", "rowsRevision"), object.String(a, "status", "rowsRevision"), "the shard answered the rows its registry read")
	}

	// A new row: the registry sees it at its next periodic sync and moves
	// the revision of the shards the row's Tenants fall into.
	mysqltest.Exec(t, "INSERT INTO saas.customers VALUES ('zz', 'https://zz.example', '1', 'pro')")
	clk.advance(30 * time.Second)
	code, early, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 1, mysqlQueries(t, ts), "within 0.9 × syncInterval the registry reuses its read")
	require.EqualValues(t, 80, early["status"].(map[string]any)["desired"], "and does not see the row yet")
	clk.advance(30 * time.Second)
	code, again, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 2, mysqlQueries(t, ts), "its periodic sync reads")
	require.EqualValues(t, 82, again["status"].(map[string]any)["desired"])
	moved := 0
	for i, c := range again["children"].([]any) {
		if object.String(c.(map[string]any), "spec", "rowsRevision") != object.String(regAns["children"].([]any)[i].(map[string]any), "spec", "rowsRevision") {
			moved++
		}
	}
	require.GreaterOrEqual(t, moved, 1)
	require.LessOrEqual(t, moved, 2, "only the shards of the new row's two Tenants")
	tenants, _ = syncShards(t, ts, again, req["related"], nil)
	require.Contains(t, tenants, "zz-web")
	require.Contains(t, tenants, "zz-worker")
	require.Len(t, tenants, 82)
	require.Equal(t, 2, mysqlQueries(t, ts))

	// Another replica read newer rows (its registry sync wrote new
	// revisions): a shard sync here with such a spec reads again — but not
	// more often than every 5 s.
	mysqltest.Exec(t, "INSERT INTO saas.customers VALUES ('zy', 'https://zy.example', '1', 'pro')")
	other, _ := shardedMySQLServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)})
	code, newer, _ := post(t, other, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code)
	var shardOfZY map[string]any
	for _, c := range newer["children"].([]any) {
		s := c.(map[string]any)
		idx, _ := object.Int64(s, "spec", "index")
		if int(idx) == render.ShardIndex("zy-web", 3) {
			shardOfZY = s
		}
	}
	require.NotNil(t, shardOfZY)
	one := map[string]any{"children": []any{shardOfZY}}
	tenants, _ = syncShards(t, ts, one, req["related"], nil)
	require.Equal(t, 2, mysqlQueries(t, ts), "rows read less than 5 s ago are used even when the revision differs")
	require.NotContains(t, tenants, "zy-web")
	clk.advance(6 * time.Second)
	tenants, answers = syncShards(t, ts, one, req["related"], nil)
	require.Equal(t, 3, mysqlQueries(t, ts), "older ones are read again")
	require.Contains(t, tenants, "zy-web")
	require.Equal(t, object.String(shardOfZY, "spec", "rowsRevision"), object.String(answers[0], "status", "rowsRevision"))
}

// A database outage: the registry answers 200 with every shard as observed
// and DatabaseReachable=False; every shard answers 200 keeping every Tenant.
func TestShardedRegistryOutage(t *testing.T) {
	seedCustomers(t, customerRows(12)...)
	ts, _ := shardedMySQLServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)})
	body, req := shardedFixture(t, 2, nil)
	code, regAns, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, regAns)
	tenants, _ := syncShards(t, ts, regAns, req["related"], nil)
	require.Len(t, tenants, 24)

	// What Metacontroller observes: the shards and their Tenants.
	observedShards := map[string]any{}
	byShard := map[string]map[string]any{}
	for _, c := range regAns["children"].([]any) {
		s := c.(map[string]any)
		object.SetNested(s, "uid-"+object.Name(s), "metadata", "uid")
		s["status"] = map[string]any{"observed": 12, "ready": 12, "desired": 12, "pendingDeletion": map[string]any{"count": 0}}
		observedShards["acme/"+object.Name(s)] = s
		byShard[object.Name(s)] = map[string]any{}
	}
	for n, tm := range tenants {
		shard := object.String(tm, "metadata", "annotations", render.AnnotationShardName)
		object.SetNested(tm, "uid-"+n, "metadata", "uid")
		byShard[shard]["acme/"+n] = tm
	}

	down, _ := shardedMySQLServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()})
	obsBody, _ := shardedFixture(t, 2, map[string]any{object.TypeKey(render.APIVersion, "TenantShard"): observedShards})
	code, out, _ := post(t, down, "/hooks/registries/sync", obsBody)
	require.Equal(t, http.StatusOK, code, out)
	requireNoSecret(t, "the sharded outage answer", string(mustJSON(t, out)))
	st := out["status"].(map[string]any)
	require.Equal(t, "False", conditionOf(t, st, "DatabaseReachable")["status"])
	require.Equal(t, "ConnectFailed", conditionOf(t, st, "DatabaseReachable")["reason"])
	require.EqualValues(t, 5, out["resyncAfterSeconds"], "the outage backoff")
	require.Len(t, out["children"], 2, "every shard")
	for i, c := range out["children"].([]any) {
		require.Equal(t, object.String(regAns["children"].([]any)[i].(map[string]any), "spec", "rowsRevision"), object.String(c.(map[string]any), "spec", "rowsRevision"),
			"each shard keeps its revision")
	}
	kept, answers := syncShards(t, down, out, req["related"], byShard)
	require.Len(t, kept, 24, "every Tenant kept")
	for n, tm := range kept {
		require.Equal(t, tenants[n]["spec"], tm["spec"], "%s unchanged", n)
	}
	for _, a := range answers {
		require.Equal(t, "False", conditionOf(t, a["status"].(map[string]any), "DatabaseReachable")["status"])
		require.EqualValues(t, 5, a["resyncAfterSeconds"])
	}
}
