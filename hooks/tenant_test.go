package hooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

func TestTenantCustomize(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, ans, _ := post(t, ts, "/hooks/tenants/customize", fixture(t, "tenant-customize.json"))
	require.Equal(t, http.StatusOK, code)
	rules := ans["relatedResources"].([]any)
	require.Equal(t, map[string]any{"apiVersion": render.APIVersion, "resource": "tenanttemplates", "namespace": "acme", "names": []any{"web"}}, rules[0])
	require.Equal(t, map[string]any{"apiVersion": "v1", "resource": "namespaces", "names": []any{"acme"}}, rules[1])
	for _, r := range rules[2:] {
		m := r.(map[string]any)
		require.NotContains(t, m, "names", "names must never be combined with a selector")
		require.Equal(t, "acme", m["namespace"])
		require.Equal(t, map[string]any{render.LabelTenant: "acme-web", render.LabelOrphaned: "true"}, object.NestedMap(m, "labelSelector", "matchLabels"))
	}
	require.Len(t, rules, 2+4, "one orphan rule per declared child type")

	// customize is still called for a Tenant being deleted; same answer shape.
	code, _, _ = post(t, ts, "/hooks/tenants/customize", fixture(t, "tenant-customize-deleting.json"))
	require.Equal(t, http.StatusOK, code)
}

// The captured rounds of acme-web: the ConfigMap first, the Deployment and
// Service once the ConfigMap is observed (a ConfigMap is ready on sight), all
// Ready once the Deployment is Available.
func TestTenantSyncRounds(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})

	code, ans, _ := post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round1-empty.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"ConfigMap/acme/acme-web-config"}, childNames(t, ans))
	cm := child(t, ans, "ConfigMap", "acme-web-config")
	require.Equal(t, map[string]any{"LOG_LEVEL": "info", "PLAN_ID": "pro", "PUBLIC_HOST": "https://shop.acme.example"}, cm["data"])
	labels := object.StringMap(cm, "metadata", "labels")
	require.Equal(t, "acme-web", labels[render.LabelTenant])
	require.Equal(t, "customers", labels[render.LabelRegistry])
	require.Equal(t, "web", labels[render.LabelTemplate])
	require.Equal(t, "web-config", labels[render.LabelResourceID])
	require.NotContains(t, object.Map(cm, "metadata"), "ownerReferences")
	require.NotContains(t, cm, "status")
	st, reason := resourceState(t, ans, "web")
	require.Equal(t, render.StatePending, st)
	require.Equal(t, "WaitingForDependencies", reason)
	require.Equal(t, "False", conditionOf(t, ans["status"].(map[string]any), "Ready")["status"])

	code, ans, _ = post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round2-configmap-observed.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"ConfigMap/acme/acme-web-config", "Deployment/acme/acme-web", "Service/acme/acme-web"}, childNames(t, ans))
	dep := child(t, ans, "Deployment", "acme-web")
	require.Equal(t, float64(1), object.Nested(dep, "spec", "replicas"))

	code, ans, _ = post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round3-all-observed.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Len(t, childNames(t, ans), 3)
	st, _ = resourceState(t, ans, "web")
	require.Equal(t, render.StateWaiting, st, "no pods yet: the Deployment is not Available")
	st, _ = resourceState(t, ans, "web-svc")
	require.Equal(t, render.StateReady, st)

	code, ans, _ = post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-deployment-available.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Len(t, childNames(t, ans), 3)
	status := ans["status"].(map[string]any)
	require.Equal(t, "True", conditionOf(t, status, "Ready")["status"], status)
	require.Equal(t, float64(3), status["readyResources"])
	require.Equal(t, "False", conditionOf(t, status, "Degraded")["status"])
}

func TestTenantSyncTemplateChanged(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	body := fixture(t, "tenant-sync-template-changed.json")
	var req wire.CompositeRequest
	require.NoError(t, wire.DecodeBytes(body, &req))
	tpl := req.Related["TenantTemplate.operator.kubernetes-tenants.org/v1"]["acme/web"]
	wantData := object.NestedMap(tpl, "spec")["configMaps"].([]any)[0].(map[string]any)["spec"].(map[string]any)["data"].(map[string]any)
	observed := req.Children["ConfigMap.v1"]["acme/acme-web-config"]
	require.NotEqual(t, object.Map(observed, "data"), wantData, "fixture: the observed ConfigMap still has the old data")

	code, ans, _ := post(t, ts, "/hooks/tenants/sync", body)
	require.Equal(t, http.StatusOK, code)
	got := child(t, ans, "ConfigMap", "acme-web-config")["data"].(map[string]any)
	for k, v := range wantData {
		if s, ok := v.(string); ok && !containsTemplate(s) {
			require.Equal(t, s, got[k], "key %s follows the edited template", k)
		}
	}
}

func containsTemplate(s string) bool { return strings.Contains(s, "{{") }

func TestTenantSyncWorker(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, ans, _ := post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-worker-all-observed.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"ConfigMap/acme/acme-worker-config", "Deployment/acme/acme-worker", "Secret/acme/acme-worker-token"}, childNames(t, ans))
}

// Same input, byte-identical output: otherwise every resync rewrites the cluster.
func TestTenantSyncDeterministic(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	for _, f := range []string{"tenant-sync-round1-empty.json", "tenant-sync-round3-all-observed.json", "tenant-sync-deployment-available.json", "tenant-finalize-1.json"} {
		var first string
		for i := 0; i < 20; i++ {
			resp, err := ts.Client().Post(ts.URL+"/hooks/tenants/sync", "application/json", bytesReader(fixture(t, f)))
			require.NoError(t, err)
			b := readAll(t, resp)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
			if i == 0 {
				first = string(b)
				continue
			}
			require.Equal(t, first, string(b), f)
		}
	}
}

func TestTenantFinalize(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, ans, _ := post(t, ts, "/hooks/tenants/finalize", fixture(t, "tenant-finalize-1.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.NotEqual(t, true, ans["finalized"], "children still exist")
	// The stand-in hook that created these children wrote no dependency
	// levels; the template's graph orders the teardown: the Deployment (a
	// dependant) goes first, its ConfigMap and Secret stay for now.
	require.Equal(t, []string{"ConfigMap/acme/acme-worker-config", "Secret/acme/acme-worker-token"}, childNames(t, ans))

	code, ans, _ = post(t, ts, "/hooks/tenants/finalize", fixture(t, "tenant-finalize-2.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, true, ans["finalized"])
	require.Empty(t, childNames(t, ans))

	for _, f := range []string{"tenant-finalize-row-removed-1.json", "tenant-finalize-row-removed-2.json", "tenant-finalize-retain-release-1.json", "tenant-finalize-retain-release-2.json"} {
		code, ans, _ := post(t, ts, "/hooks/tenants/finalize", fixture(t, f))
		require.Equal(t, http.StatusOK, code, "%s: %v", f, ans)
		require.NotNil(t, ans["status"], f)
	}
}

// A template that cannot be used never deletes anything.
func TestTenantSyncMissingTemplateKeepsChildren(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	var req map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "tenant-sync-round3-all-observed.json"), &req))
	req["related"] = map[string]any{"TenantTemplate.operator.kubernetes-tenants.org/v1": map[string]any{}}
	body, _ := json.Marshal(req)
	code, ans, _ := post(t, ts, "/hooks/tenants/sync", body)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"ConfigMap/acme/acme-web-config", "Deployment/acme/acme-web", "Service/acme/acme-web"}, childNames(t, ans))
	ready := conditionOf(t, ans["status"].(map[string]any), "Ready")
	require.Equal(t, "TemplateNotFound", ready["reason"])
	for _, c := range ans["children"].([]any) {
		md := object.Map(c.(map[string]any), "metadata")
		require.NotContains(t, md, "resourceVersion")
		require.NotContains(t, md, "managedFields")
		require.NotContains(t, c.(map[string]any), "status")
	}
}

// A Tenant with spec.claims asks only for its template, its Namespace and
// the names it claims (no label-selector rule on any child kind); a
// converged one (spec.claims empty) asks for no rule on any child kind. The
// body goes through the real decoder, so an empty list is read as present.
func TestTenantCustomizeWithClaims(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	var req map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "tenant-customize.json"), &req))
	for _, tc := range []struct {
		name   string
		claims any
		rules  int
	}{
		{"converged", []any{}, 2},
		{"converging", []any{
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "acme-web-config"},
			map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "acme-web"},
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "acme-web-extra"},
		}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			object.SetNested(req["parent"].(map[string]any), tc.claims, "spec", "claims")
			body, err := json.Marshal(req)
			require.NoError(t, err)
			code, ans, _ := post(t, ts, "/hooks/tenants/customize", body)
			require.Equal(t, http.StatusOK, code, ans)
			rules := ans["relatedResources"].([]any)
			require.Len(t, rules, tc.rules, rules)
			require.Equal(t, "tenanttemplates", rules[0].(map[string]any)["resource"])
			require.Equal(t, "namespaces", rules[1].(map[string]any)["resource"])
			for _, r := range rules[2:] {
				m := r.(map[string]any)
				require.NotContains(t, m, "labelSelector")
				require.NotEmpty(t, m["names"])
			}
			if tc.rules == 4 {
				require.Equal(t, []any{"acme-web-config", "acme-web-extra"}, rules[3].(map[string]any)["names"], "one name rule per kind")
			}
		})
	}
}
