package render_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A ClusterTenantRegistry shards into ClusterTenantShards, whose
// ClusterTenants are exactly the unsharded registry's.
func TestShardedClusterRegistry(t *testing.T) {
	e, _ := newEngine()
	reg := fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: ClusterTenantRegistry
metadata: {name: customers}
spec:
  templateNamespace: saas
  source: {type: static}
  valueMappings: {uid: id, hostOrUrl: url, activate: active}
`)
	tpl := fromYAML(t, webTemplateYAML)
	in := render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rowsOf(t, "acme", "globex", "initech", "umbrella")}
	plain := map[string]object.Obj{}
	for _, c := range e.SyncRegistry(context.Background(), in).ChildList() {
		plain[object.Name(c)] = c
	}
	require.Len(t, plain, 4)

	object.SetNested(reg, map[string]any{"shards": 2}, "spec", "sharding")
	out, err := e.SyncShardedRegistry(context.Background(), in, nil)
	require.NoError(t, err)
	shards := out.ChildList()
	require.Len(t, shards, 2)
	got := 0
	for i, s := range shards {
		require.Equal(t, "ClusterTenantShard", object.Kind(s))
		require.Equal(t, "", object.Namespace(s))
		require.Equal(t, render.ShardName("customers", i), object.Name(s))
		require.Equal(t, "saas", object.String(s, "spec", "templateNamespace"))
		res := e.SyncShard(context.Background(), render.ShardInput{Shard: roundTripObj(t, s), Templates: []object.Obj{tpl}, Rows: in.Rows})
		for _, c := range res.ChildList() {
			got++
			want := plain[object.Name(c)]
			require.NotNil(t, want, object.Name(c))
			require.Equal(t, "ClusterTenant", object.Kind(c))
			require.Equal(t, "", object.Namespace(c))
			require.Equal(t, i, render.ShardIndex(object.Name(c), 2))
			require.Equal(t, roundTripObj(t, want)["spec"], roundTripObj(t, c)["spec"], "same spec, claims included")
			labels := object.NestedMap(c, "metadata", "labels")
			require.Equal(t, fmt.Sprint(i), labels[render.LabelShard])
			delete(labels, render.LabelShard)
			require.Equal(t, object.NestedMap(want, "metadata", "labels"), labels)
		}
	}
	require.Equal(t, 4, got)
}

// The handover decorator copies only what the Tenant's owner wrote.
func TestHandover(t *testing.T) {
	tenant := map[string]any{"metadata": map[string]any{"name": "acme-web",
		"labels":      map[string]any{render.LabelHandover: "true", render.LabelControllerUID: "r"},
		"annotations": map[string]any{render.AnnotationHandoverTo: "s"}}}
	l := render.Handover(tenant)
	require.Equal(t, "s", *l[render.LabelControllerUID])
	object.SetNested(tenant, "s", "metadata", "labels", render.LabelControllerUID)
	require.Nil(t, render.Handover(tenant), "already moved")
	object.SetNested(tenant, "r", "metadata", "labels", render.LabelControllerUID)
	object.SetNested(tenant, "false", "metadata", "labels", render.LabelHandover)
	require.Nil(t, render.Handover(tenant), "not marked")
	object.SetNested(tenant, "true", "metadata", "labels", render.LabelHandover)
	object.SetNested(tenant, "2026-01-01T00:00:00Z", "metadata", "deletionTimestamp")
	require.Nil(t, render.Handover(tenant), "terminating")
}

// shardOf builds shard index of a registry of n shards as the registry's
// sync writes it.
func shardOf(t *testing.T, e *render.Engine, reg object.Obj, tpl object.Obj, rows datasource.Result, index int) object.Obj {
	t.Helper()
	out, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rows}, nil)
	require.NoError(t, err)
	return roundTripObj(t, out.ChildList()[index])
}

func shardedRegistry(t *testing.T, shards int) object.Obj {
	reg := fromYAML(t, registryYAML)
	object.SetNested(reg, map[string]any{"shards": shards}, "spec", "sharding")
	return reg
}

// A shard keeps a Tenant it no longer wants until the registry approves
// exactly that set; a spec it cannot read, or rows it cannot read, keep
// everything.
func TestSyncShardDeletionHandshake(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, webTemplateYAML)
	rows := rowsOf(t, "acme")
	shard := shardOf(t, e, shardedRegistry(t, 1), tpl, rows, 0)
	require.Equal(t, "customers", object.String(shard, "spec", "registry"))
	require.Equal(t, "static", object.String(shard, "spec", "registrySpec", "source", "type"), "the registry's spec is copied")
	require.Nil(t, object.NestedMap(shard, "spec", "registrySpec", "sharding"))
	tpls := []object.Obj{tpl}
	obs := []render.ObservedTenant{render.ObserveTenant(observedTenant(t, "acme-web", true)), render.ObserveTenant(observedTenant(t, "gone-web", true))}
	sync := func() render.RegistryOutput {
		return e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Templates: tpls, Observed: obs, Rows: rows})
	}
	out := sync()
	require.Equal(t, 2, out.NumChildren, "kept until approved")
	pd := out.Status["pendingDeletion"].(map[string]any)
	require.Equal(t, 1, pd["count"])
	token := pd["token"].(string)

	object.SetNested(shard, "not-the-token", "spec", "allowDeletion")
	require.Equal(t, 2, sync().NumChildren)
	object.SetNested(shard, token, "spec", "allowDeletion")
	out = sync()
	require.Equal(t, 1, out.NumChildren)
	require.Equal(t, "acme-web", object.Name(out.ChildList()[0]))

	out = e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Templates: tpls, Observed: obs,
		Outage: &render.SourceOutage{Reason: "ConnectFailed", Message: "dial tcp: connection refused"}})
	require.Equal(t, 2, out.NumChildren, "rows that cannot be read keep every Tenant")
	require.Equal(t, "ConnectFailed", conditionIn(out.Status, "DatabaseReachable")["reason"])
	require.Equal(t, 5*time.Second, out.ResyncAfter, "and retry with the outage backoff")

	delete(shard["spec"].(map[string]any), "registrySpec")
	out = sync()
	require.Equal(t, 2, out.NumChildren, "an unreadable spec keeps every Tenant")
	require.Equal(t, "InvalidSpec", conditionIn(out.Status, "Ready")["reason"])
}

func conditionIn(status object.Obj, typ string) map[string]any {
	for _, c := range object.NestedSlice(status, "conditions") {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

// A shard's rows revision is the one its registry computed for it from the
// same rows, and changes only when a row of that shard changes.
func TestShardRowsRevision(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, webTemplateYAML)
	var uids []string
	for i := range 200 {
		uids = append(uids, fmt.Sprintf("c%04d", i))
	}
	rows := rowsOf(t, uids...)
	reg := shardedRegistry(t, 4)
	out, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rows}, nil)
	require.NoError(t, err)
	revs := map[int]string{}
	total := 0
	for i, s := range out.ChildList() {
		sub, rev := render.ShardRows(rows, []string{"web"}, i, 4)
		require.Equal(t, rev, object.String(s, "spec", "rowsRevision"), "shard %d", i)
		require.Greater(t, len(sub.Active), 20)
		for _, r := range sub.Active {
			require.Equal(t, i, render.ShardIndex(r.UID+"-web", 4))
		}
		revs[i] = rev
		total += len(sub.Active)
	}
	require.Equal(t, 200, total)

	// Change one row: only its shard's revision changes.
	changed := rowsOf(t, uids...)
	changed.Active[7].Values = datasource.ValuesOf(map[string]string{"uid": uids[7], "activate": "1", "hostOrUrl": "https://moved.example"})
	moved := render.ShardIndex(uids[7]+"-web", 4)
	for i := range 4 {
		_, rev := render.ShardRows(changed, []string{"web"}, i, 4)
		require.Equal(t, i != moved, rev == revs[i], "shard %d", i)
	}
}

// Colliding names ("a-b"+"c" and "a"+"b-c") share a shard, and the shard
// lets the observed Tenant keep its plain name, as an unsharded registry
// does (docs/sharding.md §7).
func TestShardCollidingNamesKeepTheirHolder(t *testing.T) {
	e, _ := newEngine()
	web := fromYAML(t, webTemplateYAML)
	bweb := fromYAML(t, strings.ReplaceAll(webTemplateYAML, "name: web,", "name: b-web,"))
	tpls := []object.Obj{web, bweb}
	rows := rowsOf(t, "a-b", "a", "z")
	// "a-b"+"web" and "a"+"b-web" are both "a-b-web".
	holder := observedTenant(t, "a-b-web", true)
	object.SetNested(holder, "a", "spec", "uid")
	object.SetNested(holder, "b-web", "spec", "templateRef")
	plain := e.SyncRegistry(context.Background(), render.RegistryInput{Registry: fromYAML(t, registryYAML), Templates: tpls, Rows: rows,
		Observed: []render.ObservedTenant{render.ObserveTenant(holder)}})
	want := map[string]string{}
	for _, c := range plain.ChildList() {
		want[object.Name(c)] = object.String(c, "spec", "uid") + "/" + object.String(c, "spec", "templateRef")
	}
	require.Equal(t, "a/b-web", want["a-b-web"], "the unsharded registry lets the holder keep the name")

	const n = 3
	reg := shardedRegistry(t, n)
	got := map[string]string{}
	for i := range n {
		s := shardOf(t, e, reg, web, rows, i)
		var obs []render.ObservedTenant
		if i == render.ShardIndex("a-b-web", n) {
			obs = append(obs, render.ObserveTenant(holder))
		}
		for _, c := range e.SyncShard(context.Background(), render.ShardInput{Shard: s, Templates: tpls, Observed: obs, Rows: rows}).ChildList() {
			got[object.Name(c)] = object.String(c, "spec", "uid") + "/" + object.String(c, "spec", "templateRef")
		}
	}
	require.Equal(t, want, got, "the shards answer the unsharded registry's names")
}

// The registry approves a shard's pending deletions only when the shard's
// last answer used the rows (and templates) the registry read: a shard on
// other rows — another time's snapshot, a template not yet delivered to it —
// keeps its Tenants until the two agree.
func TestRegistryApprovesOnlyShardsOnItsRows(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, webTemplateYAML)
	var uids []string
	for i := range 40 {
		uids = append(uids, fmt.Sprintf("c%04d", i))
	}
	rows := rowsOf(t, uids...)
	reg := shardedRegistry(t, 2)
	first, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rows}, nil)
	require.NoError(t, err)
	revs := []string{}
	for _, s := range first.ChildList() {
		revs = append(revs, object.String(s, "spec", "rowsRevision"))
	}
	observe := func(reported string) []render.ObservedTenant {
		var obs []render.ObservedTenant
		for i := range 2 {
			rev := revs[i]
			if i == 1 {
				rev = reported
			}
			obs = append(obs, render.ObserveShard(map[string]any{
				"metadata": map[string]any{"name": render.ShardName("customers", i), "uid": fmt.Sprint("s", i)},
				"spec":     map[string]any{"index": i, "shards": 2, "rowsRevision": revs[i]},
				"status": map[string]any{"observed": 20, "desired": 19, "ready": 19, "rowsRevision": rev,
					"pendingDeletion": map[string]any{"count": 1, "token": fmt.Sprint("tok", i)}}}))
		}
		return obs
	}
	allowed := func(obs []render.ObservedTenant) []string {
		out, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rows, Observed: obs}, nil)
		require.NoError(t, err)
		var got []string
		for _, s := range out.ChildList() {
			got = append(got, object.String(s, "spec", "allowDeletion"))
		}
		return got
	}
	require.Equal(t, []string{"tok0", "tok1"}, allowed(observe(revs[1])), "both shards answered the registry's rows: 2 of 40 within the guard")
	require.Equal(t, []string{"tok0", ""}, allowed(observe("another-read")), "shard 1 read other rows: not approved")
	out, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rows, Observed: observe("another-read")}, nil)
	require.NoError(t, err)
	require.Equal(t, 1, out.Status["sharding"].(map[string]any)["shardsOnOtherRows"])
}

// A partition answers every shard exactly as ShardRows does, rows and
// revision, for one and for several templates.
func TestShardPartitionMatchesShardRows(t *testing.T) {
	var uids []string
	for i := range 300 {
		uids = append(uids, fmt.Sprintf("c%04d", i))
	}
	rows := rowsOf(t, uids...)
	for _, templates := range [][]string{{"web"}, {"b-web", "web", "worker"}} {
		for _, n := range []int{1, 3, 7} {
			p := render.PartitionShards(rows.Active, templates, n)
			plan := render.PlanShards(rows.Active, templates, n)
			require.Equal(t, plan, p.ShardPlan)
			for i := range n {
				want, wantRev := render.ShardRows(rows, templates, i, n)
				got, rev := p.Rows(i)
				require.Equal(t, wantRev, rev, "%v / %d shards: shard %d", templates, n, i)
				require.Equal(t, want, got, "%v / %d shards: shard %d", templates, n, i)
			}
		}
	}
}
