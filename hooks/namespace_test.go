package hooks_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The captured decorator request is for a Namespace without our label: the
// hook leaves it alone (no labels, no annotations) and keeps attachments.
func TestNamespaceDecoratorFixture(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, ans, _ := post(t, ts, "/hooks/namespaces/sync", fixture(t, "decorator-namespace-sync.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []any{}, ans["attachments"])
	require.NotContains(t, ans, "annotations")
	require.NotContains(t, ans, "labels")
}

func clusterStackRequest(t *testing.T) map[string]any {
	// The shape of the captured cluster-parent request (a Namespace keyed
	// "<name>", a ConfigMap keyed "<ns>/<name>"), with our ClusterTenant as
	// the parent and its template as a related object.
	var req map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "cluster-parent-namespace-and-configmap.json"), &req))
	req["parent"] = map[string]any{
		"apiVersion": render.APIVersion, "kind": "ClusterTenant",
		"metadata": map[string]any{"name": "cw1", "uid": "892b78a7-6fa1-421b-b7f4-6996c2ccfb49"},
		"spec": map[string]any{"uid": "cw1", "templateRef": "stack", "registryId": "r", "templateNamespace": "tenant-system",
			"values": map[string]any{"uid": "cw1"}},
	}
	req["related"] = map[string]any{"TenantTemplate." + render.APIVersion: map[string]any{"tenant-system/stack": map[string]any{
		"apiVersion": render.APIVersion, "kind": "TenantTemplate",
		"metadata": map[string]any{"name": "stack", "namespace": "tenant-system"},
		"spec": map[string]any{"registryId": "r",
			"namespaces": []any{map[string]any{"id": "ns", "nameTemplate": "cw-{{ .uid }}", "spec": map[string]any{"apiVersion": "v1", "kind": "Namespace"}}},
			"configMaps": []any{map[string]any{"id": "cm", "nameTemplate": "cw-cm", "targetNamespace": "cw-{{ .uid }}",
				"spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"owner": "{{ .uid }}"}}}},
		}}}}
	return req
}

func TestClusterTenantSyncWithCapturedKeys(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	body, _ := json.Marshal(clusterStackRequest(t))
	code, ans, _ := post(t, ts, "/hooks/tenants/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"ConfigMap/cw-cw1/cw-cm", "Namespace/cw-cw1"}, childNames(t, ans))
	ns := child(t, ans, "Namespace", "cw-cw1")
	require.NotContains(t, object.Map(ns, "metadata"), "namespace", "a Namespace is cluster-scoped")
	cm := child(t, ans, "ConfigMap", "cw-cm")
	require.Equal(t, "cw-cw1", object.Namespace(cm), "a cluster parent's namespaced child names its namespace")
	st, _ := resourceState(t, ans, "ns")
	require.Equal(t, render.StateReady, st, "phase Active")
	st, _ = resourceState(t, ans, "cm")
	require.Equal(t, render.StateReady, st)

	// Customize for a ClusterTenant: template from its templateNamespace, no Namespace rule.
	req := clusterStackRequest(t)
	cbody, _ := json.Marshal(map[string]any{"controller": req["controller"], "parent": req["parent"]})
	code, cans, _ := post(t, ts, "/hooks/tenants/customize", cbody)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"apiVersion": render.APIVersion, "resource": "tenanttemplates", "namespace": "tenant-system", "names": []any{"stack"}},
		cans["relatedResources"].([]any)[0])
}

func TestNamespaceDecoratorRendersDefaults(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	req := clusterStackRequest(t)
	tpl := req["related"].(map[string]any)["TenantTemplate."+render.APIVersion].(map[string]any)["tenant-system/stack"].(map[string]any)
	object.NestedMap(tpl, "spec")["namespaceDefaults"] = []any{map[string]any{"id": "limits", "nameTemplate": "limits",
		"spec": map[string]any{"apiVersion": "v1", "kind": "LimitRange", "spec": map[string]any{"limits": []any{map[string]any{"type": "Container"}}}}}}
	tenant := req["parent"].(map[string]any)
	tenant["status"] = map[string]any{"readyResources": 1, "desiredResources": 2,
		"conditions": []any{map[string]any{"type": "Ready", "status": "False", "reason": "ResourcesNotReady"}}}
	nsObj := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "cw-cw1",
		"labels":      map[string]any{render.LabelTenant: "cw1", render.LabelTenantNamespace: ""},
		"annotations": map[string]any{render.AnnotationTemplateSource: "tenant-system/stack"}}}

	cbody, _ := json.Marshal(map[string]any{"controller": map[string]any{}, "parent": nsObj})
	code, cans, _ := post(t, ts, "/hooks/namespaces/customize", cbody)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []any{
		map[string]any{"apiVersion": render.APIVersion, "resource": "clustertenants", "names": []any{"cw1"}},
		map[string]any{"apiVersion": render.APIVersion, "resource": "tenanttemplates", "namespace": "tenant-system", "names": []any{"stack"}},
	}, cans["relatedResources"])

	body, _ := json.Marshal(map[string]any{"controller": map[string]any{}, "object": nsObj,
		"attachments": map[string]any{"LimitRange.v1": map[string]any{}, "ResourceQuota.v1": map[string]any{}},
		"related": map[string]any{
			"ClusterTenant." + render.APIVersion:  map[string]any{"cw1": tenant},
			"TenantTemplate." + render.APIVersion: map[string]any{"tenant-system/stack": tpl},
		}, "finalizing": false})
	code, ans, _ := post(t, ts, "/hooks/namespaces/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	atts := ans["attachments"].([]any)
	require.Len(t, atts, 1)
	require.Equal(t, "cw-cw1", object.Namespace(atts[0].(map[string]any)))
	require.Equal(t, "NotReady (ResourcesNotReady): 1/2 resources ready", object.NestedMap(ans, "annotations")[render.AnnotationTenantStatus])
}
