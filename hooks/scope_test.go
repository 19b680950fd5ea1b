package hooks_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A namespaced TenantRegistry can only use a Secret (or ConfigMap) of its
// own namespace, whatever CRD schema is installed: the customize hook never
// asks Metacontroller for another namespace's Secret, and a sync that is
// handed one anyway does not use it (an author could otherwise point the
// service at a server of theirs and capture another team's password).
func TestNamespacedRegistryCannotReachOtherNamespaces(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)}, hooks.Config{})

	foreign := func(body []byte) []byte {
		return editJSON(t, body, func(req map[string]any) {
			m := object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql")
			object.SetNested(m, "kube-system", "passwordRef", "namespace")
		})
	}
	code, ans, _ := post(t, ts, "/hooks/registries/customize", foreign(fixture(t, "registry-customize.json")))
	require.Equal(t, http.StatusOK, code)
	for _, r := range ans["relatedResources"].([]any) {
		require.NotEqual(t, "kube-system", r.(map[string]any)["namespace"], "asked for another namespace: %v", r)
	}

	// Handed the foreign Secret anyway (by a forged request): not used, the
	// Tenants are kept and the status says why.
	body := editJSON(t, foreign(secFixture(t, "registry-sync-with-tenants.json")), func(req map[string]any) {
		sec := object.DeepCopyMap(object.NestedMap(req, "related", "Secret.v1", "acme/db-cred"))
		object.SetNested(sec, "kube-system", "metadata", "namespace")
		object.SetNested(sec, base64.StdEncoding.EncodeToString([]byte(fixturePassword)), "data", "password")
		object.SetNested(req["related"].(map[string]any), map[string]any{"kube-system/db-cred": sec}, "Secret.v1")
	})
	code, ans, _ = post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, observedTenants, tenantNames(t, ans))
	ready := conditionOf(t, ans["status"].(map[string]any), "Ready")
	require.Equal(t, "InvalidSpec", ready["reason"])
	require.Contains(t, ready["message"], `passwordRef.namespace "kube-system": a TenantRegistry can only use a Secret in its own namespace "acme"`)
	require.NotContains(t, metricsText(t, ts), `tenant_hooks_datasource_rows_total{type="mysql"}`, "no query ran")

	// The same for a static registry's ConfigMap.
	static := editJSON(t, staticRegistry(nil, []string{"web"}, []string{"a-web"}), func(req map[string]any) {
		object.SetNested(req["parent"].(map[string]any), map[string]any{"name": "rows", "key": "rows.yaml", "namespace": "kube-system"}, "spec", "source", "static", "configMapRef")
		object.SetNested(req["parent"].(map[string]any), nil, "spec", "source", "static", "rows")
	})
	customize := editJSON(t, static, func(req map[string]any) {
		delete(req, "children")
		delete(req, "related")
		delete(req, "finalizing")
	})
	code, ans, _ = post(t, ts, "/hooks/registries/customize", customize)
	require.Equal(t, http.StatusOK, code)
	for _, r := range ans["relatedResources"].([]any) {
		require.NotEqual(t, "kube-system", r.(map[string]any)["namespace"], "asked for another namespace: %v", r)
	}
	code, ans, _ = post(t, ts, "/hooks/registries/sync", static)
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"a-web"}, tenantNames(t, ans))
	require.Contains(t, conditionOf(t, ans["status"].(map[string]any), "Ready")["message"], "can only use a ConfigMap in its own namespace")
}
