package hooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

func shardedRegistryRequest(t *testing.T, rows int, sharding any, children map[string]any) []byte {
	var list []any
	for i := range rows {
		u := fmt.Sprintf("c%04d", i)
		list = append(list, map[string]any{"id": u, "url": "https://" + u + ".example", "active": "1"})
	}
	spec := map[string]any{
		"source":        map[string]any{"type": "static", "static": map[string]any{"rows": list}},
		"valueMappings": map[string]any{"uid": "id", "hostOrUrl": "url", "activate": "active"},
	}
	if sharding != nil {
		spec["sharding"] = sharding
	}
	req := map[string]any{
		"parent": map[string]any{"apiVersion": render.APIVersion, "kind": "TenantRegistry",
			"metadata": map[string]any{"name": "customers", "namespace": "saas", "uid": "r1"}, "spec": spec},
		"children": children,
		"related": map[string]any{"TenantTemplate." + render.APIVersion: map[string]any{"saas/web": map[string]any{
			"apiVersion": render.APIVersion, "kind": "TenantTemplate", "metadata": map[string]any{"name": "web", "namespace": "saas"},
			"spec": map[string]any{"registryId": "customers", "configMaps": []any{map[string]any{
				"id": "cfg", "nameTemplate": "{{ .uid }}-cfg", "spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}}}}}},
	}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	return b
}

// A sharded registry answers its shards over HTTP; each shard's answer is
// its Tenants; together they are exactly the unsharded registry's Tenants.
func TestShardedRegistryOverHTTP(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, plain, _ := post(t, ts, "/hooks/registries/sync", shardedRegistryRequest(t, 50, nil, nil))
	require.Equal(t, http.StatusOK, code, plain)

	code, ans, _ := post(t, ts, "/hooks/registries/sync", shardedRegistryRequest(t, 50, map[string]any{"shards": 3}, nil))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"TenantShard/saas/customers-shard-0", "TenantShard/saas/customers-shard-1", "TenantShard/saas/customers-shard-2"}, childNames(t, ans))
	require.EqualValues(t, render.DefaultSyncInterval.Seconds(), ans["resyncAfterSeconds"])
	st := ans["status"].(map[string]any)
	require.EqualValues(t, 50, st["desired"])
	require.EqualValues(t, 3, st["sharding"].(map[string]any)["shards"])

	var req map[string]any
	require.NoError(t, json.Unmarshal(shardedRegistryRequest(t, 1, nil, nil), &req))
	var got []any
	for _, c := range ans["children"].([]any) {
		shard := c.(map[string]any)
		object.SetNested(shard, "s-"+object.Name(shard), "metadata", "uid")
		code, cust, _ := post(t, ts, "/hooks/shards/customize", mustJSON(t, map[string]any{"parent": shard}))
		require.Equal(t, http.StatusOK, code, cust)
		require.Equal(t, []any{map[string]any{"apiVersion": render.APIVersion, "resource": "tenanttemplates", "namespace": "saas"}}, cust["relatedResources"])
		body, err := json.Marshal(map[string]any{"parent": shard, "children": map[string]any{}, "related": req["related"]})
		require.NoError(t, err)
		code, sa, _ := post(t, ts, "/hooks/shards/sync", body)
		require.Equal(t, http.StatusOK, code, sa)
		for _, tn := range sa["children"].([]any) {
			tm := tn.(map[string]any)
			idx, _ := object.Int64(shard, "spec", "index")
			require.Equal(t, int(idx), render.ShardIndex(object.Name(tm), 3))
			require.Equal(t, fmt.Sprint(idx), object.String(tm, "metadata", "labels", render.LabelShard))
			// the same Tenant as the unsharded answer, plus the shard's marks
			want := child(t, plain, "Tenant", object.Name(tm))
			require.Equal(t, want["spec"], tm["spec"])
			labels := object.NestedMap(tm, "metadata", "labels")
			delete(labels, render.LabelShard)
			require.Equal(t, object.NestedMap(want, "metadata", "labels"), labels)
			got = append(got, tm)
		}
		require.Contains(t, metricsText(t, ts), fmt.Sprintf(`tenant_hooks_shard_tenants{namespace="saas",registry="customers",shard="%s",state="desired"}`, object.Name(shard)))
	}
	require.Len(t, got, 50)
}

// A registry with shards but without spec.sharding is refused, never
// answered with Tenants only (which would delete the shards and their
// Tenants with them).
func TestRegistryWithShardsButNoShardingRefused(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	children := map[string]any{"TenantShard." + render.APIVersion: map[string]any{"saas/customers-shard-0": map[string]any{
		"apiVersion": render.APIVersion, "kind": "TenantShard",
		"metadata": map[string]any{"name": "customers-shard-0", "namespace": "saas", "uid": "s0"},
		"spec":     map[string]any{"registry": "customers", "index": 0, "shards": 1, "registrySpec": map[string]any{}}}}}
	code, ans, _ := post(t, ts, "/hooks/registries/sync", shardedRegistryRequest(t, 5, nil, children))
	require.Equal(t, http.StatusServiceUnavailable, code, ans)

	// With spec.sharding, the observed shard's status feeds the registry.
	sh := children["TenantShard."+render.APIVersion].(map[string]any)["saas/customers-shard-0"].(map[string]any)
	sh["status"] = map[string]any{"observed": 4, "ready": 4, "pendingDeletion": map[string]any{"count": 0}}
	code, ans, _ = post(t, ts, "/hooks/registries/sync", shardedRegistryRequest(t, 5, map[string]any{"shards": 1}, children))
	require.Equal(t, http.StatusOK, code, ans)
	require.EqualValues(t, 4, ans["status"].(map[string]any)["ready"])

	// A shard outside the layout is never dropped.
	code, ans, _ = post(t, ts, "/hooks/registries/sync", shardedRegistryRequest(t, 5, map[string]any{"shards": 2}, map[string]any{"TenantShard." + render.APIVersion: map[string]any{"saas/x": map[string]any{
		"apiVersion": render.APIVersion, "kind": "TenantShard", "metadata": map[string]any{"name": "x", "namespace": "saas", "uid": "s9"},
		"spec": map[string]any{"registry": "customers", "index": 7, "shards": 2}}}}))
	require.Equal(t, http.StatusServiceUnavailable, code, ans)
}

func TestHandoverDecorator(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	tenant := map[string]any{"apiVersion": render.APIVersion, "kind": "Tenant", "metadata": map[string]any{
		"name": "acme-web", "namespace": "saas",
		"labels":      map[string]any{render.LabelHandover: "true", render.LabelControllerUID: "registry-uid"},
		"annotations": map[string]any{render.AnnotationHandoverTo: "shard-uid"}}}
	body, _ := json.Marshal(map[string]any{"object": tenant})
	code, ans, _ := post(t, ts, "/hooks/handover/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, map[string]any{render.LabelControllerUID: "shard-uid"}, ans["labels"])
	require.Equal(t, []any{}, ans["attachments"])

	object.SetNested(tenant, "shard-uid", "metadata", "labels", render.LabelControllerUID)
	body, _ = json.Marshal(map[string]any{"object": tenant})
	code, ans, _ = post(t, ts, "/hooks/handover/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	require.Nil(t, ans["labels"], "already handed over: nothing to change")
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// shardSyncBody is a TenantShard sync request the hook answers with 200
// (for the tests that cover every route).
func shardSyncBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"controller": map[string]any{},
		"parent": map[string]any{"apiVersion": render.APIVersion, "kind": "TenantShard",
			"metadata": map[string]any{"name": "customers-shard-0", "namespace": "saas", "uid": "s0"},
			"spec": map[string]any{"registry": "customers", "index": 0, "shards": 1, "templateNamespace": "saas",
				"registrySpec": map[string]any{"source": map[string]any{"type": "static", "static": map[string]any{"rows": []any{
					map[string]any{"id": "a", "url": "https://a.example", "active": "1"}}}},
					"valueMappings": map[string]any{"uid": "id", "hostOrUrl": "url", "activate": "active"}}}},
		"children": map[string]any{},
	})
	return b
}
