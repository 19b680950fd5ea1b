package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A sharded answer (shards with a copy of the registry's spec, legacy
// Tenants) encodes byte for byte as encoding/json writes it.
func TestEncodeShardedAnswerMatchesEncodingJSON(t *testing.T) {
	var rows []map[string]any
	for i := range 40 {
		rows = append(rows, map[string]any{"id": fmt.Sprintf("c<%d>&", i), "url": "https://x.example/?a=1&b=2", "active": "1"})
	}
	m := datasource.Mapping{UID: "id", HostOrURL: "url", Activate: "active"}
	raw, err := datasource.NewStatic(rows).Rows(context.Background(), m.Columns())
	require.NoError(t, err)
	in := render.RegistryInput{
		Registry: map[string]any{"apiVersion": render.APIVersion, "kind": "TenantRegistry",
			"metadata": map[string]any{"name": "customers", "namespace": "saas"},
			"spec": map[string]any{"source": map[string]any{"type": "static"}, "sharding": map[string]any{"shards": json.Number("3")},
				"valueMappings": map[string]any{"uid": "id", "hostOrUrl": "url", "activate": "active"}}},
		Templates: []object.Obj{{"apiVersion": render.APIVersion, "kind": "TenantTemplate", "metadata": map[string]any{"name": "web", "namespace": "saas"},
			"spec": map[string]any{"registryId": "customers", "configMaps": []any{map[string]any{"id": "cfg", "nameTemplate": "{{ .uid | lower | replace \"<\" \"\" | replace \">\" \"\" | replace \"&\" \"\" }}-cfg", "spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}}}}},
		Rows: datasource.Evaluate(m, raw),
		Observed: []render.ObservedTenant{render.ObserveTenant(map[string]any{"apiVersion": render.APIVersion, "kind": "Tenant",
			"metadata": map[string]any{"name": "legacy", "namespace": "saas", "labels": map[string]any{"a": "<b>"}}, "spec": map[string]any{"uid": "legacy"}})},
	}
	e := render.New(render.Options{})
	out, err := e.SyncShardedRegistry(context.Background(), in, nil)
	require.NoError(t, err)
	got, err := EncodeRegistryAnswer(out)
	require.NoError(t, err)

	out2, err := e.SyncShardedRegistry(context.Background(), in, nil)
	require.NoError(t, err)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(map[string]any{"status": out2.Status, "children": out2.ChildList(), "resyncAfterSeconds": out2.ResyncAfter.Seconds()}))
	// encoding/json sorts the envelope's keys; ours are status, children, resyncAfterSeconds.
	var want map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(buf.Bytes(), &want))
	exp := []byte(`{"status":` + string(want["status"]) + `,"children":` + string(want["children"]) + `,"resyncAfterSeconds":` + string(want["resyncAfterSeconds"]) + "}\n")
	require.Equal(t, string(exp), string(bytes.Join(got, nil)))
}

// An observed shard is summarised alike streamed and in memory.
func TestObserveShardStreamedAsInMemory(t *testing.T) {
	body := []byte(`{"parent":{"metadata":{"name":"customers","namespace":"saas"}},"children":{"TenantShard.operator.kubernetes-tenants.org/v1":{"saas/customers-shard-1":{
		"apiVersion":"operator.kubernetes-tenants.org/v1","kind":"TenantShard",
		"metadata":{"name":"customers-shard-1","namespace":"saas","uid":"u1","generation":3,"managedFields":[{"x":1}]},
		"spec":{"registry":"customers","index":1,"shards":4,"rowsRevision":"r1","registrySpec":{"source":{"type":"mysql","mysql":{"host":"db"}}}},
		"status":{"observedGeneration":2,"rowsRevision":"r0","desired":1,"tenants":2,"observed":2,"ready":1,"failed":1,"pendingDeletion":{"count":1,"token":"abc"}}}}}}`)
	streamed, err := DecodeRegistryStream(bytes.NewReader(body), 0)
	require.NoError(t, err)
	whole, err := decodeRegistryWhole(body)
	require.NoError(t, err)
	require.Len(t, streamed.Observed, 1)
	require.Len(t, whole.Observed, 1)
	require.Equal(t, whole.Observed[0].Shard, streamed.Observed[0].Shard)
	require.Equal(t, &render.ObservedShard{Name: "customers-shard-1", UID: "u1", Index: 1, Shards: 4, Revision: "r1", ReportedRevision: "r0", Generation: 3, ObservedGeneration: 2,
		Reported: true, Desired: 1, Tenants: 2, Observed: 2, Ready: 1, Failed: 1, Pending: 1, PendingToken: "abc"}, streamed.Observed[0].Shard)
}
