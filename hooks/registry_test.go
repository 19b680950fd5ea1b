package hooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The registry fixtures name database saas, table customers, user
// tenant_reader with the Secret's password, on host
// mysql.acme.svc.cluster.local. The tests create exactly that on the real
// test server and redirect the host name to it.
const fixturePassword = "not-a-real-password"

func seedCustomers(t *testing.T, rows ...string) {
	t.Helper()
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS saas CHARACTER SET utf8mb4",
		"DROP TABLE IF EXISTS saas.customers",
		"CREATE TABLE saas.customers (customer_id VARCHAR(64) NULL, domain VARCHAR(255) NULL, is_active VARCHAR(8) NULL, plan VARCHAR(32) NULL)",
	}
	if len(rows) > 0 {
		stmts = append(stmts, "INSERT INTO saas.customers VALUES "+strings.Join(rows, ", "))
	}
	mysqltest.Exec(t, stmts...)
	seedCustomersUser(t)
}

// seedCustomersUser creates the fixtures' database user.
func seedCustomersUser(t *testing.T) {
	t.Helper()
	var stmts []string
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		stmts = append(stmts,
			"CREATE USER IF NOT EXISTS 'tenant_reader'@'"+host+"' IDENTIFIED BY '"+fixturePassword+"'",
			"ALTER USER 'tenant_reader'@'"+host+"' IDENTIFIED BY '"+fixturePassword+"'",
			"GRANT SELECT ON saas.* TO 'tenant_reader'@'"+host+"'")
	}
	mysqltest.Exec(t, stmts...)
}

const (
	rowAcme    = "('acme', 'https://shop.acme.example', '1', 'pro')"
	rowGlobex  = "('globex', 'https://app.globex.example', '1', 'basic')"
	rowInitech = "('initech', 'https://initech.example', '0', 'basic')"
)

func mysqlServer(t *testing.T) *testServer {
	return newServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)}, hooks.Config{})
}

func TestRegistryCustomize(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, ans, _ := post(t, ts, "/hooks/registries/customize", fixture(t, "registry-customize.json"))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []any{
		map[string]any{"apiVersion": render.APIVersion, "resource": "tenanttemplates", "namespace": "acme"},
		map[string]any{"apiVersion": "v1", "resource": "secrets", "namespace": "acme", "names": []any{"db-cred"}},
	}, ans["relatedResources"])
}

func tenantNames(t *testing.T, ans map[string]any) []string {
	var out []string
	for _, n := range childNames(t, ans) {
		out = append(out, strings.TrimPrefix(n, "Tenant/acme/"))
	}
	return out
}

func TestRegistrySyncFromMySQL(t *testing.T) {
	seedCustomers(t, rowAcme, rowGlobex, rowInitech)
	ts := mysqlServer(t)
	code, ans, _ := post(t, ts, "/hooks/registries/sync", fixture(t, "registry-sync-first.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"acme-web", "acme-worker", "globex-web", "globex-worker"}, tenantNames(t, ans))
	tenant := child(t, ans, "Tenant", "globex-worker")
	require.Equal(t, map[string]any{"uid": "globex", "templateRef": "worker", "registryId": "customers",
		"values": map[string]any{"uid": "globex", "hostOrUrl": "https://app.globex.example", "activate": "1", "planId": "basic"},
		"claims": []any{
			map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "globex-worker-config"},
			map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "globex-worker"},
			map[string]any{"apiVersion": "v1", "kind": "Secret", "name": "globex-worker-token"},
		}}, tenant["spec"])
	require.Equal(t, map[string]any{render.LabelRegistry: "customers", render.LabelUID: "globex", render.LabelTemplate: "worker"},
		object.NestedMap(tenant, "metadata", "labels"))
	require.NotContains(t, tenant["spec"], "configMaps", "a Tenant carries row data, never a copy of the template")
	require.Equal(t, float64(60), ans["resyncAfterSeconds"])
	status := ans["status"].(map[string]any)
	require.Equal(t, float64(4), status["desired"])
	require.Equal(t, float64(2), status["referencingTemplates"])
	require.Equal(t, map[string]any{"total": float64(3), "active": float64(2), "inactive": float64(1), "skipped": float64(0), "duplicates": float64(0)}, status["rows"])
	require.Equal(t, "True", conditionOf(t, status, "DatabaseReachable")["status"])

	// Observed Tenants, not ready yet: same desired set, byte-identical.
	code, again, _ := post(t, ts, "/hooks/registries/sync", fixture(t, "registry-sync-with-tenants.json"))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, childNames(t, ans), childNames(t, again))
	a, _ := json.Marshal(ans["children"])
	b, _ := json.Marshal(again["children"])
	require.Equal(t, string(a), string(b))
}

func TestRegistrySyncRowDeactivated(t *testing.T) {
	// globex switched off: exactly its two Tenants go (2 of 4 = 50%, within the guard).
	seedCustomers(t, rowAcme, "('globex', 'https://app.globex.example', '0', 'basic')", rowInitech)
	ts := mysqlServer(t)
	code, ans, _ := post(t, ts, "/hooks/registries/sync", fixture(t, "registry-sync-row-removed.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"acme-web", "acme-worker"}, tenantNames(t, ans))
	require.Equal(t, "False", conditionOf(t, ans["status"].(map[string]any), "DeletionBlocked")["status"])

	// Terminating Tenants are not counted as deletions again.
	code, ans, _ = post(t, ts, "/hooks/registries/sync", fixture(t, "registry-sync-tenants-terminating.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"acme-web", "acme-worker"}, tenantNames(t, ans))

	code, ans, _ = post(t, ts, "/hooks/registries/sync", fixture(t, "registry-sync-tenants-ready.json"))
	require.Equal(t, http.StatusOK, code, ans)
	status := ans["status"].(map[string]any)
	require.Equal(t, float64(2), status["ready"])
	require.Equal(t, "True", conditionOf(t, status, "Ready")["status"], status)
}

func TestRegistryDatabaseDownKeepsTenants(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{})
	body := fixture(t, "registry-sync-with-tenants.json")
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", body)
	msg := requireOutageAnswer(t, body, code, raw, "ConnectFailed", 5)
	require.Contains(t, msg, "acme/customers")
	require.NotContains(t, ts.logs.String(), fixturePassword)
}

func TestRegistryMissingSecret(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{})
	var req map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "registry-sync-with-tenants.json"), &req))
	delete(req["related"].(map[string]any), "Secret.v1")
	body, _ := json.Marshal(req)
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", body)
	msg := requireOutageAnswer(t, body, code, raw, "SecretMissing", 5)
	require.Contains(t, msg, "Secret acme/db-cred")
}

func TestRegistryEmptyTableTriggersGuard(t *testing.T) {
	seedCustomers(t)
	ts := mysqlServer(t)
	code, ans, _ := post(t, ts, "/hooks/registries/sync", fixture(t, "registry-sync-with-tenants.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"acme-web", "acme-worker", "globex-web", "globex-worker"}, tenantNames(t, ans), "every Tenant is kept")
	blocked := conditionOf(t, ans["status"].(map[string]any), "DeletionBlocked")
	require.Equal(t, "True", blocked["status"])
	require.Contains(t, blocked["message"], "kubectl annotate tenantregistry customers -n acme "+render.AnnotationAllowDeletion+"=")
	for _, c := range ans["children"].([]any) {
		md := object.Map(c.(map[string]any), "metadata")
		require.NotContains(t, md, "resourceVersion")
		require.NotContains(t, md, "ownerReferences")
		require.NotEmpty(t, object.String(c.(map[string]any), "spec", "uid"), "a kept Tenant is returned whole, not as the summary the hook decodes first")
		require.NotEmpty(t, object.NestedMap(c.(map[string]any), "spec", "values"))
	}
	require.Contains(t, metricsText(t, ts), `tenant_hooks_deletion_guard_activations_total{namespace="acme",registry="customers"} 1`)

	// The exact token printed allows exactly this deletion once.
	msg := blocked["message"].(string)
	token := msg[strings.LastIndex(msg, "=")+1 : strings.LastIndex(msg, " --overwrite")]
	var req map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "registry-sync-with-tenants.json"), &req))
	object.SetNested(req["parent"].(map[string]any), map[string]any{render.AnnotationAllowDeletion: token}, "metadata", "annotations")
	body, _ := json.Marshal(req)
	code, ans, _ = post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, childNames(t, ans))
}

func metricsText(t *testing.T, ts *testServer) string {
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	require.NoError(t, err)
	return string(readAll(t, resp))
}

// staticRegistry builds a registry sync request with inline rows.
func staticRegistry(rows []any, templates []string, observed []string) []byte {
	tpls := map[string]any{}
	for _, n := range templates {
		tpls["acme/"+n] = map[string]any{"apiVersion": render.APIVersion, "kind": "TenantTemplate",
			"metadata": map[string]any{"name": n, "namespace": "acme"}, "spec": map[string]any{"registryId": "customers"}}
	}
	tenants := map[string]any{}
	for _, n := range observed {
		tenants["acme/"+n] = map[string]any{"apiVersion": render.APIVersion, "kind": "Tenant",
			"metadata": map[string]any{"name": n, "namespace": "acme", "uid": "u-" + n, "resourceVersion": "1"}}
	}
	req := map[string]any{
		"controller": map[string]any{},
		"parent": map[string]any{"apiVersion": render.APIVersion, "kind": "TenantRegistry",
			"metadata": map[string]any{"name": "customers", "namespace": "acme", "uid": "r1"},
			"spec": map[string]any{
				"source":        map[string]any{"type": "static", "syncInterval": "30s", "static": map[string]any{"rows": rows}},
				"valueMappings": map[string]any{"uid": "id", "activate": "on"},
			}},
		"children":   map[string]any{"Tenant." + render.APIVersion: tenants},
		"related":    map[string]any{"TenantTemplate." + render.APIVersion: tpls},
		"finalizing": false,
	}
	b, _ := json.Marshal(req)
	return b
}

func TestRegistryStaticTwoTemplatesThreeRows(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	rows := []any{
		map[string]any{"id": "a", "on": true}, map[string]any{"id": "b", "on": 1}, map[string]any{"id": "c", "on": "yes"},
		map[string]any{"id": "d", "on": "on"}, map[string]any{"id": nil, "on": "1"},
	}
	code, ans, _ := post(t, ts, "/hooks/registries/sync", staticRegistry(rows, []string{"web", "worker"}, nil))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"a-web", "a-worker", "b-web", "b-worker", "c-web", "c-worker"}, tenantNames(t, ans))
	require.Equal(t, float64(30), ans["resyncAfterSeconds"])
	status := ans["status"].(map[string]any)
	require.Equal(t, float64(1), object.NestedMap(status, "rows")["skipped"])
	require.Equal(t, "True", conditionOf(t, status, "RowsSkipped")["status"])

	// Row b deactivated: exactly its two Tenants go (2 of 6, within the guard).
	// (The active row without an id is fixed too: while one exists no Tenant
	// is deleted, see TestFaultNullsEverywhere.)
	rows[1] = map[string]any{"id": "b", "on": "0"}
	rows = rows[:4]
	code, ans, _ = post(t, ts, "/hooks/registries/sync", staticRegistry(rows, []string{"web", "worker"},
		[]string{"a-web", "a-worker", "b-web", "b-worker", "c-web", "c-worker"}))
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"a-web", "a-worker", "c-web", "c-worker"}, tenantNames(t, ans))
}

func TestRegistryInvalidSpecKeepsTenants(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	var req map[string]any
	require.NoError(t, json.Unmarshal(staticRegistry(nil, []string{"web"}, []string{"a-web"}), &req))
	object.SetNested(req["parent"].(map[string]any), "customers`; DROP TABLE x", "spec", "valueMappings", "uid")
	body, _ := json.Marshal(req)
	code, ans, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"a-web"}, tenantNames(t, ans))
	require.Equal(t, "InvalidSpec", conditionOf(t, ans["status"].(map[string]any), "Ready")["reason"])
}

func TestRegistrySlowQueryKeepsTenants(t *testing.T) {
	seedCustomers(t, rowAcme)
	mysqltest.Exec(t, "CREATE OR REPLACE VIEW saas.slow_customers AS SELECT customer_id, domain, is_active, plan FROM saas.customers WHERE SLEEP(3) = 0",
		"GRANT SELECT ON saas.slow_customers TO 'tenant_reader'@'%'")
	ts := mysqlServer(t)
	var req map[string]any
	require.NoError(t, json.Unmarshal(fixture(t, "registry-sync-with-tenants.json"), &req))
	mysql := object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql")
	mysql["table"] = "slow_customers"
	mysql["queryTimeoutSeconds"] = 1
	body, _ := json.Marshal(req)
	start := time.Now()
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", body)
	msg := requireOutageAnswer(t, body, code, raw, "QueryTimeout", 5)
	require.Contains(t, msg, "timeout")
	require.Less(t, time.Since(start), 8*time.Second, "the query deadline, not the database, ends the request")
}
