package hooks_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A Tenant named as v1.0 named it can be longer than a label value: the
// related-object rules select its orphans by the shortened label and find
// it by the full name that its children carry in an annotation.
func TestLongTenantNameRelatedRules(t *testing.T) {
	long := "550e8400-e29b-41d4-a716-446655440000-customer-web-application-frontend"
	label := names.TenantLabel(long)
	require.NotEqual(t, long, label)

	parent := object.Obj{"apiVersion": render.APIVersion, "kind": "Tenant",
		"metadata": map[string]any{"name": long, "namespace": "saas"}, "spec": map[string]any{"templateRef": "web"}}
	rules := hooks.TenantRelated(parent, []wire.ResourceRef{{APIVersion: "v1", Resource: "configmaps"}})
	var selectors int
	for _, r := range rules {
		if r.LabelSelector != nil && r.LabelSelector.MatchLabels[render.LabelOrphaned] == "true" {
			require.Equal(t, label, r.LabelSelector.MatchLabels[render.LabelTenant])
			selectors++
		}
	}
	require.Equal(t, 1, selectors)

	child := object.Obj{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name":        "customer-acme",
		"labels":      map[string]any{render.LabelTenant: label, render.LabelTenantNamespace: "saas"},
		"annotations": map[string]any{render.AnnotationTenant: long},
	}}
	require.Equal(t, []string{long}, hooks.NamespaceRelated(child)[0].Names)
	object.SetNested(child, "saas", "metadata", "namespace")
	require.Equal(t, []string{long}, hooks.AdoptionRelated(child)[0].Names)
}

// Issue 15 item 3, through the hook: a DATETIME and a DOUBLE column reach
// the Tenant's values exactly as v1.0 wrote them unless the registry opts
// into spec.source.mysql.valueFormat: plain.
func TestRegistryValueFormat(t *testing.T) {
	mysqltest.Exec(t,
		"CREATE DATABASE IF NOT EXISTS saas CHARACTER SET utf8mb4",
		"DROP TABLE IF EXISTS saas.customers",
		"CREATE TABLE saas.customers (customer_id VARCHAR(64) NULL, domain VARCHAR(255) NULL, is_active VARCHAR(8) NULL, plan DATETIME NULL, quota DOUBLE NULL)",
		"INSERT INTO saas.customers VALUES ('acme.corp', 'https://acme.example', '1', '2024-01-02 03:04:05', 1500000)")
	seedCustomersUser(t)
	ts := mysqlServer(t)
	for _, c := range []struct {
		format      any
		plan, quota string
	}{
		{nil, "2024-01-02T03:04:05Z", "1.5e+06"},
		{"v1", "2024-01-02T03:04:05Z", "1.5e+06"},
		{"plain", "2024-01-02 03:04:05", "1500000"},
	} {
		body := editJSON(t, fixture(t, "registry-sync-first.json"), func(req map[string]any) {
			mysql := object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql")
			if c.format != nil {
				mysql["valueFormat"] = c.format
			}
			object.SetNested(req["parent"].(map[string]any), "quota", "spec", "extraValueMappings", "quota")
		})
		code, ans, _ := post(t, ts, "/hooks/registries/sync", body)
		require.Equal(t, http.StatusOK, code, ans)
		require.Equal(t, []string{"acme.corp-web", "acme.corp-worker"}, tenantNames(t, ans), "v1.0's names")
		values := object.NestedMap(child(t, ans, "Tenant", "acme.corp-web"), "spec", "values")
		require.Equal(t, c.plan, values["planId"], "format %v", c.format)
		require.Equal(t, c.quota, values["quota"], "format %v", c.format)
	}

	body := editJSON(t, fixture(t, "registry-sync-first.json"), func(req map[string]any) {
		object.SetNested(req["parent"].(map[string]any), "iso", "spec", "source", "mysql", "valueFormat")
	})
	code, ans, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	require.Contains(t, conditionOf(t, ans["status"].(map[string]any), "Ready")["message"], `valueFormat "iso" must be v1 or plain`)
}
