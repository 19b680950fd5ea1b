package hooks_test

// A registry whose rows cannot be read — database down or refusing, password
// Secret or rows ConfigMap missing or unreadable, rows malformed — answers a
// 200 that keeps every observed Tenant exactly as observed and says what
// failed in status (issue 12), instead of a 503 that left the old status
// (DatabaseReachable=True) in place for the whole outage.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// registryFixtures are the captured registry sync requests, copied from
// shared/fixtures/metacontroller into testdata/registry.
func registryFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/registry/registry-sync-*.json")
	require.NoError(t, err)
	require.Len(t, files, 5, "every captured registry sync request")
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		out[filepath.Base(f)] = b
	}
	return out
}

func decodeNumbers(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	return m
}

// requireOutageAnswer checks an answer to req during an outage of the
// registry's source: a 200 holding every observed Tenant of req with its
// apiVersion, kind, name, namespace, spec, labels and annotations exactly as
// observed (only Metacontroller's last-applied copy left out) and nothing
// the API server owns; DatabaseReachable=False with reason, Ready=False; the
// backoff; no secret anywhere. It returns the DatabaseReachable message.
// An empty reason or a zero resync is not checked.
func requireOutageAnswer(t *testing.T, req []byte, code int, raw []byte, reason string, resync float64) string {
	t.Helper()
	require.Equal(t, http.StatusOK, code, "%s", raw)
	requireNoSecret(t, "the outage answer", string(raw))
	in, ans := decodeNumbers(t, req), decodeNumbers(t, raw)
	observed := object.NestedMap(in, "children", object.TypeKey(render.APIVersion, "Tenant"))
	children, ok := ans["children"].([]any)
	require.True(t, ok, "children must be a list: %s", raw)
	require.Len(t, children, len(observed), "every observed Tenant, no other")
	for _, c := range children {
		got := c.(map[string]any)
		key := object.ObjKey(object.Namespace(got), object.Name(got))
		want, _ := observed[key].(map[string]any)
		require.NotNil(t, want, "answer holds %s, which was not observed", key)
		require.Equal(t, object.APIVersion(want), object.APIVersion(got))
		require.Equal(t, object.Kind(want), object.Kind(got))
		require.Equal(t, object.Nested(want, "spec"), object.Nested(got, "spec"), "%s: spec unchanged", key)
		require.Equal(t, object.Nested(want, "metadata", "labels"), object.Nested(got, "metadata", "labels"), "%s: labels unchanged", key)
		wantAnn := object.StringMap(want, "metadata", "annotations")
		delete(wantAnn, object.LastAppliedAnnotation)
		gotAnn := object.StringMap(got, "metadata", "annotations")
		if len(wantAnn) == 0 {
			require.Empty(t, gotAnn, key)
		} else {
			require.Equal(t, wantAnn, gotAnn, "%s: annotations unchanged", key)
		}
		require.NotContains(t, got, "status")
		for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "managedFields", "ownerReferences", "finalizers"} {
			require.NotContains(t, object.NestedMap(got, "metadata"), f, "%s: metadata.%s is the API server's", key, f)
		}
	}
	status := ans["status"].(map[string]any)
	db := conditionOf(t, status, "DatabaseReachable")
	require.Equal(t, "False", db["status"], status)
	if reason != "" {
		require.Equal(t, reason, db["reason"], status)
	}
	require.Contains(t, db["message"], object.ObjKey(object.Namespace(in["parent"].(map[string]any)), object.Name(in["parent"].(map[string]any))), "the message names the registry")
	ready := conditionOf(t, status, "Ready")
	require.Equal(t, "False", ready["status"])
	require.Equal(t, "SourceUnavailable", ready["reason"])
	require.Equal(t, json.Number(jsonInt(len(observed))), status["keptTenants"])
	if resync != 0 {
		require.Equal(t, json.Number(jsonFloat(resync)), ans["resyncAfterSeconds"], "the backoff")
	}
	return db["message"].(string)
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func jsonFloat(f float64) string { b, _ := json.Marshal(f); return string(b) }

// toStaticSource turns a captured MySQL registry request into one reading
// its rows from key rows.yaml of ConfigMap acme/rows, which holds data
// (no ConfigMap at all when data is nil).
func toStaticSource(t *testing.T, body []byte, data *string) []byte {
	return editJSON(t, body, func(req map[string]any) {
		parent := req["parent"].(map[string]any)
		object.SetNested(parent, map[string]any{
			"type": "static", "syncInterval": "1m",
			"static": map[string]any{"configMapRef": map[string]any{"name": "rows", "key": "rows.yaml"}},
		}, "spec", "source")
		related := req["related"].(map[string]any)
		delete(related, "Secret.v1")
		if data != nil {
			related["ConfigMap.v1"] = map[string]any{"acme/rows": map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "rows", "namespace": "acme"},
				"data": map[string]any{"rows.yaml": *data},
			}}
		}
	})
}

// For every captured registry sync request, and every way its source can
// fail, the answer keeps every observed Tenant as observed (including the
// terminating ones of registry-sync-tenants-terminating, which
// Metacontroller then leaves alone) and reports the failure.
func TestOutageKeepsEveryObservedTenant(t *testing.T) {
	refused := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{})
	str := func(s string) *string { return &s }
	variants := []struct {
		name, reason string
		edit         func(t *testing.T, body []byte) []byte
		want         string
	}{
		{"database refuses connections", "ConnectFailed", func(_ *testing.T, b []byte) []byte { return b }, "connect"},
		{"password Secret not delivered", "SecretMissing", func(t *testing.T, b []byte) []byte {
			return editJSON(t, b, func(req map[string]any) { delete(req["related"].(map[string]any), "Secret.v1") })
		}, "Secret acme/db-cred (spec.source.mysql.passwordRef) was not delivered"},
		{"password Secret without the key", "SecretUnreadable", func(t *testing.T, b []byte) []byte {
			return editJSON(t, b, func(req map[string]any) {
				object.SetNested(req["parent"].(map[string]any), "nope", "spec", "source", "mysql", "passwordRef", "key")
			})
		}, `key "nope": key not found`},
		{"password not base64", "SecretUnreadable", func(t *testing.T, b []byte) []byte {
			return editJSON(t, b, func(req map[string]any) {
				object.SetNested(object.NestedMap(req, "related", "Secret.v1", "acme/db-cred"), "%%%"+fixturePassword, "data", "password")
			})
		}, `key "password" is not valid base64`},
		{"rows ConfigMap not delivered", "ConfigMapMissing", func(t *testing.T, b []byte) []byte { return toStaticSource(t, b, nil) },
			"ConfigMap acme/rows (spec.source.static.configMapRef) was not delivered"},
		{"rows ConfigMap without the key", "ConfigMapUnreadable", func(t *testing.T, b []byte) []byte {
			return editJSON(t, toStaticSource(t, b, str("x")), func(req map[string]any) {
				object.SetNested(req, map[string]any{"other": "x"}, "related", "ConfigMap.v1", "acme/rows", "data")
			})
		}, `has no key "rows.yaml"`},
		{"rows ConfigMap with a second YAML document", "InvalidRows", func(t *testing.T, b []byte) []byte {
			return toStaticSource(t, b, str("- {customer_id: acme, is_active: 1}\n---\n- {customer_id: globex, is_active: 1}\n"))
		}, "more than one YAML document"},
		{"rows ConfigMap with JSON and trailing text", "InvalidRows", func(t *testing.T, b []byte) []byte {
			return toStaticSource(t, b, str(`[{"customer_id":"acme","is_active":1}] [{"customer_id":"globex","is_active":1}]`))
		}, "unexpected text after the list of rows"},
	}
	for name, body := range registryFixtures(t) {
		for _, v := range variants {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				req := v.edit(t, body)
				code, _, raw := secPost(t, refused, "/hooks/registries/sync", req)
				msg := requireOutageAnswer(t, req, code, raw, v.reason, 5)
				require.Contains(t, msg, v.want)
			})
		}
	}
	requireNoSecret(t, "the log", refused.logs.String())
	m := metricsText(t, refused)
	require.NotContains(t, m, "tenant_hooks_registry_last_success_timestamp_seconds{", "an outage is not a successful sync")
	require.Contains(t, m, `tenant_hooks_datasource_errors_total{type="mysql"} 20`, "every failure counted once")
	require.Contains(t, m, `tenant_hooks_datasource_errors_total{type="static"} 20`)
	require.Contains(t, m, `tenant_hooks_hook_requests_total{code="200",controller="registry",hook="sync"} 40`)
}

// The backoff doubles with every failed sync in a row (the count lives in
// the registry's status, the hook's only memory) up to the registry
// controller's 60 s resync period; a successful sync clears it.
func TestOutageBackoff(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{})
	body := registryFixtures(t)["registry-sync-with-tenants.json"]
	for prev, want := range map[any]float64{nil: 5, 1: 10, 2: 20, 3: 40, 4: 60, 9: 60, 1 << 40: 5, "x": 5} {
		req := editJSON(t, body, func(req map[string]any) {
			object.SetNested(req["parent"].(map[string]any), prev, "status", render.StatusConsecutiveFailures)
		})
		code, _, raw := secPost(t, ts, "/hooks/registries/sync", req)
		requireOutageAnswer(t, req, code, raw, "ConnectFailed", want)
		n := 1
		if p, ok := prev.(int); ok && p < 1<<20 {
			n = p + 1
		}
		require.Equal(t, json.Number(jsonInt(n)), decodeNumbers(t, raw)["status"].(map[string]any)[render.StatusConsecutiveFailures], "prev %v", prev)
	}
	for n, want := range []float64{0, 5, 10, 20, 40, 60, 60} {
		if n > 0 {
			require.Equal(t, want, render.OutageBackoff(n).Seconds())
		}
	}

	// A successful sync has no failure count.
	static := staticRegistry([]any{map[string]any{"id": "a", "on": "1"}}, []string{"web"}, []string{"a-web"})
	req := editJSON(t, static, func(req map[string]any) {
		object.SetNested(req["parent"].(map[string]any), 4, "status", render.StatusConsecutiveFailures)
	})
	code, ans, _ := post(t, ts, "/hooks/registries/sync", req)
	require.Equal(t, http.StatusOK, code, ans)
	require.NotContains(t, ans["status"], render.StatusConsecutiveFailures)
	require.Equal(t, "True", conditionOf(t, ans["status"].(map[string]any), "DatabaseReachable")["status"])
	require.Equal(t, float64(30), ans["resyncAfterSeconds"], "back to syncInterval")
}

// A table larger than the service may hold (--max-source-bytes) is an
// outage like any other: every observed Tenant kept, the reason and the
// limit in status.
func TestOutageResultTooLarge(t *testing.T) {
	seedCustomers(t, append(customerRows(400), rowAcme, rowGlobex)...)
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t), MaxResultBytes: 16 << 10}, hooks.Config{})
	for name, body := range registryFixtures(t) {
		code, _, raw := secPost(t, ts, "/hooks/registries/sync", body)
		msg := requireOutageAnswer(t, body, code, raw, "ResultTooLarge", 5)
		require.Contains(t, msg, "more than the 16 KiB of rows the service may hold", name)
		require.Contains(t, msg, "--max-source-bytes", name)
	}
}
