package hooks_test

// Helpers shared by the reliability and security tests (input_test.go,
// hostile_test.go, faults_test.go, secrets_test.go, load_test.go and the
// fuzz targets).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Request shapes of the hook routes.
const (
	shapeComposite = "composite" // CompositeRequest: parent required
	shapeDecorator = "decorator" // DecoratorRequest: object required
	shapeCustomize = "customize" // CustomizeRequest: parent required
)

// hookRoute is one POST route of the router.
type hookRoute struct {
	Path  string
	Shape string
	// Fixture is a captured request this route accepts with a 200 (no
	// database needed).
	Fixture string
}

// decoratorControllers are the path segments of DecoratorController hooks;
// every other controller is a CompositeController. A new route whose
// controller is in neither list fails hookRoutes, so the tests keep
// covering every route.
var (
	decoratorControllers = map[string]bool{"namespaces": true, "adoption": true, "orphans": true, "handover": true}
	compositeControllers = map[string]bool{"tenants": true, "registries": true, "shards": true}
)

// fixtureFor names an accepted request for each route (static or no data
// source, so no database is needed).
func fixtureFor(path string) string {
	switch path {
	case "/hooks/tenants/customize":
		return "tenant-customize.json"
	case "/hooks/tenants/sync":
		return "tenant-sync-round3-all-observed.json"
	case "/hooks/tenants/finalize":
		return "tenant-finalize-1.json"
	case "/hooks/registries/customize":
		return "registry-customize.json"
	case "/hooks/registries/sync":
		return "" // needs a database: built by staticRegistry
	case "/hooks/shards/sync":
		return "" // built by shardSyncBody
	}
	switch {
	case strings.HasSuffix(path, "/customize"):
		return "registry-customize.json" // any object will do
	case strings.HasPrefix(path, "/hooks/namespaces/"):
		return "decorator-namespace-sync.json"
	default:
		return "retain-decorator-sync.json"
	}
}

// hookRoutes lists every POST route of the real router (chi.Walk), so a
// route added later is covered without editing the tests.
func hookRoutes(t testing.TB) []hookRoute {
	t.Helper()
	srv := hooks.New(hooks.Config{}, slog.New(slog.DiscardHandler), render.New(render.Options{}), mysql.NewPools(mysql.PoolOptions{}), prometheus.NewRegistry())
	routes, ok := srv.Handler().(chi.Routes)
	require.True(t, ok, "the router is not a chi router any more; update hookRoutes")
	var out []hookRoute
	require.NoError(t, chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodPost || !strings.HasPrefix(route, "/hooks/") {
			return nil
		}
		parts := strings.Split(strings.Trim(route, "/"), "/")
		require.Len(t, parts, 3, "unexpected route %s", route)
		r := hookRoute{Path: route, Fixture: fixtureFor(route)}
		switch {
		case parts[2] == "customize":
			r.Shape = shapeCustomize
		case decoratorControllers[parts[1]]:
			r.Shape = shapeDecorator
		case compositeControllers[parts[1]]:
			r.Shape = shapeComposite
		default:
			t.Fatalf("route %s: unknown controller %q; add it to decoratorControllers or compositeControllers", route, parts[1])
		}
		out = append(out, r)
		return nil
	}))
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	require.GreaterOrEqual(t, len(out), 9, "every hook is a POST route")
	return out
}

// validBody returns a request the route answers with 200.
func validBody(t testing.TB, r hookRoute) []byte {
	t.Helper()
	if r.Path == "/hooks/shards/sync" {
		return shardSyncBody()
	}
	if r.Fixture == "" {
		return staticRegistry([]any{map[string]any{"id": "a", "on": "1"}}, []string{"web"}, []string{"a-web"})
	}
	return fixture(t, r.Fixture)
}

// harness is a hook server whose hooks.Server is reachable (SetReady,
// PanickingHook) and whose logs are captured.
type harness struct {
	*testServer
	srv *hooks.Server
}

// newHarness builds a server like newServer, plus a /test/panic route
// wired to PanickingHook(panicValue) when panicValue is not nil.
func newHarness(t testing.TB, opts mysql.PoolOptions, cfg hooks.Config, ropts render.Options, panicValue any) *harness {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	if ropts.Now == nil {
		ropts.Now = testClock
	}
	engine := render.New(ropts)
	pools := mysql.NewPools(opts)
	t.Cleanup(func() { _ = pools.Close() })
	srv := hooks.New(cfg, log, engine, pools, reg)
	var h http.Handler = srv.Handler()
	if panicValue != nil {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.Handle("POST /test/panic", srv.PanickingHook(panicValue))
		h = mux
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &harness{testServer: &testServer{Server: ts, reg: reg, logs: logs}, srv: srv}
}

// secPost posts body and returns the status, headers and raw answer.
func secPost(t testing.TB, ts *testServer, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	resp, err := ts.Client().Post(ts.URL+path, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, readAll(t, resp)
}

// editJSON decodes a JSON request, applies f and encodes it again.
func editJSON(t testing.TB, body []byte, f func(req map[string]any)) []byte {
	t.Helper()
	var req map[string]any
	require.NoError(t, json.Unmarshal(body, &req))
	f(req)
	b, err := json.Marshal(req)
	require.NoError(t, err)
	return b
}

// listKey is the key of the list a 200 answer of path must carry.
func listKey(path string) string {
	switch {
	case strings.HasSuffix(path, "/customize"):
		return "relatedResources"
	case strings.HasPrefix(path, "/hooks/namespaces/"), strings.HasPrefix(path, "/hooks/adoption/"), strings.HasPrefix(path, "/hooks/orphans/"):
		return "attachments"
	}
	return "children"
}

// tenantRequest is the tenant sync request of acme-web in round 3
// (ConfigMap web-config, Deployment web and Service web-svc observed) with
// its TenantTemplate's spec changed by edit.
func tenantRequest(t testing.TB, edit func(spec map[string]any)) []byte {
	t.Helper()
	return editJSON(t, fixture(t, "tenant-sync-round3-all-observed.json"), func(req map[string]any) {
		tpl := object.NestedMap(req, "related", object.TypeKey(render.APIVersion, "TenantTemplate"), "acme/web")
		require.NotNil(t, tpl)
		spec := object.Map(tpl, "spec")
		edit(spec)
		// The parse cache is keyed by uid and resourceVersion: give every
		// variant its own version.
		b, _ := json.Marshal(spec)
		sum := sha256.Sum256(b)
		object.SetNested(tpl, "t-"+hex.EncodeToString(sum[:8]), "metadata", "resourceVersion")
	})
}

// setConfigLeaf is a tenantRequest edit that adds a data key to the
// ConfigMap resource web-config.
func setConfigLeaf(key, leaf string) func(spec map[string]any) {
	return func(spec map[string]any) {
		cm := spec["configMaps"].([]any)[0].(map[string]any)
		object.SetNested(cm, leaf, "spec", "data", key)
	}
}

// configMapResource is a ConfigMap resource with one templated data leaf.
func configMapResource(id, name, leaf string) map[string]any {
	return map[string]any{
		"id": id, "nameTemplate": name,
		"spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"value": leaf}},
	}
}

// The security tests have their own database and user on the shared test
// server, so they neither disturb nor are disturbed by other tests (and
// test runs) that use the fixtures' saas.customers and tenant_reader. The
// password is the fixtures' (the Secret in the captured requests).
const (
	secDB   = "th_security"
	secUser = "th_security_reader"
)

// seedSec is seedCustomers for secDB and secUser.
func seedSec(t *testing.T, rows ...string) {
	t.Helper()
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + secDB + " CHARACTER SET utf8mb4",
		"DROP TABLE IF EXISTS " + secDB + ".customers",
		"CREATE TABLE " + secDB + ".customers (customer_id VARCHAR(64) NULL, domain VARCHAR(255) NULL, is_active VARCHAR(8) NULL, plan VARCHAR(32) NULL)",
	}
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		stmts = append(stmts,
			"CREATE USER IF NOT EXISTS '"+secUser+"'@'"+host+"' IDENTIFIED BY '"+fixturePassword+"'",
			"ALTER USER '"+secUser+"'@'"+host+"' IDENTIFIED BY '"+fixturePassword+"'",
			"GRANT SELECT ON "+secDB+".* TO '"+secUser+"'@'"+host+"'")
	}
	if len(rows) > 0 {
		stmts = append(stmts, "INSERT INTO "+secDB+".customers VALUES "+strings.Join(rows, ", "))
	}
	mysqltest.Exec(t, stmts...)
}

// slowView makes secDB.slow_customers, which sleeps perRow seconds per row.
func slowView(t *testing.T, perRow string) {
	t.Helper()
	mysqltest.Exec(t, "CREATE OR REPLACE VIEW "+secDB+".slow_customers AS SELECT customer_id, domain, is_active, plan FROM "+secDB+".customers WHERE SLEEP("+perRow+") = 0")
}

// retarget points a registry request's MySQL source at secDB as secUser.
func retarget(t testing.TB, body []byte) []byte {
	t.Helper()
	return editJSON(t, body, func(req map[string]any) {
		parent, _ := req["parent"].(map[string]any)
		if m := object.NestedMap(parent, "spec", "source", "mysql"); m != nil {
			m["database"], m["username"] = secDB, secUser
		}
	})
}

// secFixture is a captured request, retargeted when it is a registry's.
func secFixture(t testing.TB, name string) []byte {
	t.Helper()
	b := fixture(t, name)
	if strings.HasPrefix(name, "registry-") {
		b = retarget(t, b)
	}
	return b
}
