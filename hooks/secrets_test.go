package hooks_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// canary is a recognisable secret in extra keys of the database Secret.
const canary = "tenant-hooks-canary-7c1e3a9f52"

// secretForms are the texts whose presence anywhere means a leak: the
// password and the canary as they are, and in every base64 form a Secret
// or a careless encoder could produce.
func secretForms() map[string]string {
	forms := map[string]string{}
	for name, v := range map[string]string{"password": fixturePassword, "canary": canary} {
		forms[name] = v
		for enc, e := range map[string]*base64.Encoding{"std": base64.StdEncoding, "raw": base64.RawStdEncoding, "url": base64.URLEncoding, "rawurl": base64.RawURLEncoding} {
			forms[name+" base64 "+enc] = e.EncodeToString([]byte(v))
		}
	}
	return forms
}

func requireNoSecret(t *testing.T, where string, text string) {
	t.Helper()
	for name, f := range secretForms() {
		require.NotContains(t, text, f, "%s leaks the %s", where, name)
	}
}

// driverLog captures go-sql-driver/mysql's own log for the test.
type driverLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (d *driverLog) Print(v ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintln(&d.buf, v...)
}

func (d *driverLog) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.buf.String()
}

// withSecret is registry-sync-with-tenants whose Secret db-cred also holds
// the canary in extra keys (base64 and stringData), then edit.
func withSecret(t *testing.T, edit func(req, secret, mysql map[string]any)) []byte {
	t.Helper()
	return editJSON(t, secFixture(t, "registry-sync-with-tenants.json"), func(req map[string]any) {
		secret := object.NestedMap(req, "related", "Secret.v1", "acme/db-cred")
		data := object.NestedMap(secret, "data")
		data["apiKey"] = base64.StdEncoding.EncodeToString([]byte(canary))
		data["token"] = base64.StdEncoding.EncodeToString([]byte(canary + "-token"))
		data["notBase64"] = "%%%" + canary
		object.SetNested(secret, canary, "stringData", "plain")
		if edit != nil {
			edit(req, secret, object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql"))
		}
	})
}

// Every error path of every hook, with the database password and a canary
// secret in the request: neither appears, in any encoding, in a response
// body, the service log, the driver log, the metrics or the panic report.
func TestSecretsNeverLeak(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex, rowInitech)
	slowView(t, "1")
	drv := &driverLog{}
	require.NoError(t, gomysql.SetLogger(drv))
	t.Cleanup(func() { _ = gomysql.SetLogger(log.New(os.Stderr, "[mysql] ", log.Ldate|log.Ltime|log.Lshortfile)) })

	redirect := mysqltest.Redirect(t)
	servers := map[string]*harness{
		"mysql":  newHarness(t, mysql.PoolOptions{Dial: redirect}, hooks.Config{BodyLimit: 256 << 10, HookDeadline: 2 * time.Second}, render.Options{}, fmt.Errorf("boom")),
		"closed": newHarness(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{}, render.Options{}, nil),
		"direct": newHarness(t, mysql.PoolOptions{}, hooks.Config{BodyLimit: 32 << 10, RegistryBodyLimit: 32 << 10}, render.Options{}, nil),
	}
	type call struct {
		name, server, path string
		body               []byte
		wantCode           int // 0: any
	}
	secretBody := withSecret(t, nil)
	calls := []call{
		{"sync succeeds", "mysql", "/hooks/registries/sync", secretBody, http.StatusOK},
		{"customize", "mysql", "/hooks/registries/customize", fixture(t, "registry-customize.json"), http.StatusOK},
		{"customize with a sync body", "mysql", "/hooks/registries/customize", secretBody, http.StatusBadRequest},
		{"wrong password: the canary", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			object.SetNested(m, "apiKey", "passwordRef", "key")
		}), http.StatusOK},
		{"wrong password: stringData", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			object.SetNested(m, "plain", "passwordRef", "key")
		}), http.StatusOK},
		{"wrong user, right password", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["username"] = "nobody"
		}), http.StatusOK},
		{"key missing", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			object.SetNested(m, "nope", "passwordRef", "key")
		}), http.StatusOK},
		{"key not base64", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			object.SetNested(m, "notBase64", "passwordRef", "key")
		}), http.StatusOK},
		{"secret not delivered", "mysql", "/hooks/registries/sync", withSecret(t, func(req, _, _ map[string]any) {
			object.SetNested(req["related"].(map[string]any), map[string]any{}, "Secret.v1")
		}), http.StatusOK},
		{"password in host", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["host"] = "tenant_reader:@mysql.acme.svc.cluster.local"
		}), 0},
		{"table missing", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["table"] = "no_such_table"
		}), http.StatusOK},
		{"unknown database", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["database"] = "no_such_db"
		}), http.StatusOK},
		{"deadline", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["table"], m["queryTimeoutSeconds"] = "slow_customers", 30
		}), http.StatusServiceUnavailable},
		{"query timeout", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["table"], m["queryTimeoutSeconds"] = "slow_customers", 1
		}), http.StatusOK},
		{"invalid spec", "mysql", "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
			m["port"] = "three thousand"
			m["tls"] = "maybe"
		}), 0},
		{"guard", "mysql", "/hooks/registries/sync", withSecret(t, func(req, _, _ map[string]any) {
			object.SetNested(req["parent"].(map[string]any), 0, "spec", "deletionGuard", "maxDeletePercent")
			object.SetNested(req["parent"].(map[string]any), map[string]any{"valueMappings": nil}, "metadata", "annotations")
		}), http.StatusOK},
		{"unreachable", "closed", "/hooks/registries/sync", secretBody, http.StatusOK},
		{"panic", "mysql", "/test/panic", secretBody, http.StatusInternalServerError},
		{"too large", "direct", "/hooks/registries/sync", append(append([]byte{}, secretBody...), bytes.Repeat([]byte(" "), 32<<10)...), http.StatusRequestEntityTooLarge},
		// Secrets are values: keys and paths the caller writes are echoed to
		// it in errors (they name what is wrong), values never are.
		{"unknown key", "direct", "/hooks/registries/sync", []byte(`{"parent": {}, "surprise": "` + fixturePassword + `", "more": {"` + "x" + `": "` + canary + `"}}`), http.StatusBadRequest},
		{"wrong type", "direct", "/hooks/registries/sync", []byte(`{"parent": {}, "finalizing": "` + fixturePassword + `"}`), http.StatusBadRequest},
		{"wrong type in a map", "direct", "/hooks/registries/sync", []byte(`{"parent": {}, "related": {"Secret.v1": {"acme/db-cred": "` + fixturePassword + `"}}}`), http.StatusBadRequest},
		{"null object", "direct", "/hooks/registries/sync", editJSON(t, secretBody, func(req map[string]any) {
			object.SetNested(req["children"].(map[string]any), map[string]any{"acme/x": nil}, "Tenant."+render.APIVersion)
		}), http.StatusBadRequest},
		{"wrong type deep inside", "direct", "/hooks/registries/sync", editJSON(t, secretBody, func(req map[string]any) {
			req["finalizing"] = object.NestedMap(req, "related", "Secret.v1", "acme/db-cred")
		}), http.StatusBadRequest},
		{"trailing data", "direct", "/hooks/registries/sync", append(append([]byte{}, secretBody...), []byte(` "`+fixturePassword+`"`)...), http.StatusBadRequest},
		{"syntax error", "direct", "/hooks/registries/sync", []byte(`{"parent": ` + fixturePassword + `}`), http.StatusBadRequest},
		{"not found", "direct", "/hooks/secrets/sync", secretBody, http.StatusNotFound},
		{"empty body", "direct", "/hooks/registries/sync", nil, http.StatusBadRequest},
		// The Secret handed to the other hooks as a related object, or as
		// the decorated object itself.
		{"tenant sync with the Secret related", "direct", "/hooks/tenants/sync", editJSON(t, fixture(t, "tenant-sync-round3-all-observed.json"), func(req map[string]any) {
			object.SetNested(req["related"].(map[string]any), map[string]any{"acme/db-cred": object.NestedMap(editJSONMap(t, secretBody), "related", "Secret.v1", "acme/db-cred")}, "Secret.v1")
		}), http.StatusOK},
		{"tenant template reaching for the Secret", "direct", "/hooks/tenants/sync", tenantRequest(t, setConfigLeaf("STEAL", `{{ .related }}{{ .password }}{{ $.Secret }}`)), http.StatusOK},
		{"namespace sync with the Secret related", "direct", "/hooks/namespaces/sync", editJSON(t, fixture(t, "decorator-namespace-sync.json"), func(req map[string]any) {
			req["related"] = map[string]any{"Secret.v1": map[string]any{"acme/db-cred": object.NestedMap(editJSONMap(t, secretBody), "related", "Secret.v1", "acme/db-cred")}}
		}), 0},
		{"adoption sync of the Secret", "direct", "/hooks/adoption/sync", editJSON(t, fixture(t, "retain-decorator-sync.json"), func(req map[string]any) {
			sec := object.NestedMap(editJSONMap(t, secretBody), "related", "Secret.v1", "acme/db-cred")
			object.SetNested(sec, map[string]any{render.LabelTenant: "acme-web", render.LabelOrphaned: "true"}, "metadata", "labels")
			req["object"] = sec
		}), 0},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			h := servers[c.server]
			code, hdr, raw := secPost(t, h.testServer, c.path, c.body)
			if c.wantCode != 0 {
				require.Equal(t, c.wantCode, code, "%s", raw)
			}
			requireNoSecret(t, "the response body", string(raw))
			for k, v := range hdr {
				requireNoSecret(t, "response header "+k, strings.Join(v, " "))
			}
		})
	}
	// A connection killed mid-query (the driver logs this one itself).
	go func() {
		id := processID(t, "slow_customers")
		mysqltest.Exec(t, fmt.Sprintf("KILL CONNECTION %d", id))
	}()
	code, _, raw := secPost(t, servers["mysql"].testServer, "/hooks/registries/sync", withSecret(t, func(_, _, m map[string]any) {
		m["table"], m["queryTimeoutSeconds"] = "slow_customers", 30
	}))
	// Whichever comes first, the kill (an outage answer, 200) or the hook
	// deadline (503): neither leaks.
	require.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, code, "%s", raw)
	requireNoSecret(t, "the response body", string(raw))

	for name, h := range servers {
		requireNoSecret(t, name+" server's log", h.logs.String())
		requireNoSecret(t, name+" server's metrics", metricsText(t, h.testServer))
		require.NotEmpty(t, h.logs.String())
	}
	require.Contains(t, servers["mysql"].logs.String(), "panic in hook", "the panic was reported")
	require.Contains(t, servers["mysql"].logs.String(), "Access denied", "the auth failure was logged")
	requireNoSecret(t, "the MySQL driver's log", drv.String())
	t.Logf("driver log: %q", drv.String())
}

func editJSONMap(t *testing.T, body []byte) map[string]any {
	var m map[string]any
	editJSON(t, body, func(req map[string]any) { m = req })
	return m
}
