package render_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

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
	out, err := e.SyncShardedRegistry(context.Background(), in)
	require.NoError(t, err)
	shards := out.ChildList()
	require.Len(t, shards, 2)
	got := 0
	for i, s := range shards {
		require.Equal(t, "ClusterTenantShard", object.Kind(s))
		require.Equal(t, "", object.Namespace(s))
		require.Equal(t, render.ShardName("customers", i), object.Name(s))
		require.Equal(t, "saas", object.String(s, "spec", "templateNamespace"))
		res := e.SyncShard(context.Background(), render.ShardInput{Shard: roundTripObj(t, s), Templates: []object.Obj{tpl}})
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

// A shard keeps a Tenant it no longer wants until the registry approves
// exactly that set; a spec it cannot read keeps everything.
func TestSyncShardDeletionHandshake(t *testing.T) {
	e, _ := newEngine()
	shard := map[string]any{"apiVersion": render.APIVersion, "kind": "TenantShard",
		"metadata": map[string]any{"name": "customers-shard-0", "namespace": "saas"},
		"spec": map[string]any{"registry": "customers", "index": 0, "shards": 1, "tenants": []any{
			map[string]any{"name": "acme-web", "uid": "acme", "template": "web"}}}}
	obs := []render.ObservedTenant{render.ObserveTenant(observedTenant(t, "acme-web", true)), render.ObserveTenant(observedTenant(t, "gone-web", true))}
	out := e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Observed: obs})
	require.Equal(t, 2, out.NumChildren, "kept until approved")
	pd := out.Status["pendingDeletion"].(map[string]any)
	require.Equal(t, 1, pd["count"])
	token := pd["token"].(string)

	object.SetNested(shard, "not-the-token", "spec", "allowDeletion")
	require.Equal(t, 2, e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Observed: obs}).NumChildren)
	object.SetNested(shard, token, "spec", "allowDeletion")
	out = e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Observed: obs})
	require.Equal(t, 1, out.NumChildren)
	require.Equal(t, "acme-web", object.Name(out.ChildList()[0]))

	object.SetNested(shard, []any{map[string]any{"uid": "x"}}, "spec", "tenants")
	out = e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Observed: obs})
	require.Equal(t, 2, out.NumChildren, "an unreadable spec keeps every Tenant")
}
