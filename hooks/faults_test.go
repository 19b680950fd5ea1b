package hooks_test

// Database faults against the real MariaDB, through the registry sync hook.
// The rule for every one of them: never a 200 with fewer Tenants. A source
// that fails is a 200 that keeps every observed Tenant as observed and says
// what failed in status (DatabaseReachable=False); bad rows are a 200 that
// reports them and keeps every observed Tenant; only the hook's own deadline
// is a non-200 (Metacontroller keeps every Tenant and retries). Faults
// covered elsewhere: connection refused through the dialer, a missing or
// unreadable Secret or ConfigMap (outage_test.go), query timeout
// (TestRegistrySlowQueryKeepsTenants), hook deadline
// (TestHookDeadlineEndsSlowRegistrySync), empty table
// (TestRegistryEmptyTableTriggersGuard).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// observedTenants are the Tenants observed in registry-sync-with-tenants.
var observedTenants = []string{"acme-web", "acme-worker", "globex-web", "globex-worker"}

// registryBody is registry-sync-with-tenants with spec.source.mysql (and
// the rest of the request) changed by edit.
func registryBody(t *testing.T, edit func(req, mysql map[string]any)) []byte {
	t.Helper()
	return editJSON(t, secFixture(t, "registry-sync-with-tenants.json"), func(req map[string]any) {
		edit(req, object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql"))
	})
}

// requireNoTenantLost checks the rule. It returns the answer's status when
// the answer was a 200, nil otherwise.
func requireNoTenantLost(t *testing.T, code int, hdr http.Header, raw []byte, wantError ...string) map[string]any {
	t.Helper()
	if code != http.StatusOK {
		msg := requireJSONError(t, code, hdr, raw, http.StatusServiceUnavailable, wantError...)
		require.NotEmpty(t, hdr.Get("Retry-After"))
		require.Contains(t, msg, "acme/customers", "the error names the registry")
		require.NotContains(t, msg, fixturePassword)
		return nil
	}
	var ans map[string]any
	require.NoError(t, json.Unmarshal(raw, &ans))
	names := map[string]bool{}
	for _, n := range childNames(t, ans) {
		names[strings.TrimPrefix(n, "Tenant/acme/")] = true
	}
	for _, n := range observedTenants {
		require.True(t, names[n], "Tenant %s was dropped by a 200: %s", n, raw)
	}
	return ans["status"].(map[string]any)
}

// mustFail asserts an outage answer (outage_test.go) whose DatabaseReachable
// message holds want, and returns the message.
func mustFail(t *testing.T, ts *testServer, body []byte, want ...string) string {
	t.Helper()
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", body)
	msg := requireOutageAnswer(t, body, code, raw, "", 0)
	require.Contains(t, msg, "acme/customers", "the message names the registry")
	for _, w := range want {
		require.Contains(t, msg, w)
	}
	return msg
}

func TestFaultUnreachableHost(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{HookDeadline: 2 * time.Second})
	// Tests only ever contact loopback: a host that accepts connections and
	// never answers stands in for an unroutable one.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	silentPort := silent.Addr().(*net.TCPAddr).Port
	for name, c := range map[string]struct {
		host string
		port int
	}{
		"refused":           {"127.0.0.1", 1},
		"silent (no reply)": {"127.0.0.1", silentPort},
		"not a MySQL port":  {"127.0.0.1", 22},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			msg := mustFail(t, ts, registryBody(t, func(_, m map[string]any) {
				m["host"], m["port"] = c.host, c.port
				m["queryTimeoutSeconds"] = 1
			}))
			require.Contains(t, msg, c.host)
			require.Less(t, time.Since(start), 3*time.Second, "bounded by the query timeout and the hook deadline")
		})
	}
}

func TestFaultWrongPassword(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	ts := mysqlServer(t)
	body := editJSON(t, secFixture(t, "registry-sync-with-tenants.json"), func(req map[string]any) {
		secret := object.NestedMap(req, "related", "Secret.v1", "acme/db-cred")
		object.SetNested(secret, base64.StdEncoding.EncodeToString([]byte("wrong-"+fixturePassword)), "data", "password")
	})
	msg := mustFail(t, ts, body, "auth", "Access denied for user '"+secUser+"'")
	require.NotContains(t, msg, "wrong-"+fixturePassword)
	require.NotContains(t, ts.logs.String(), fixturePassword)
}

func TestFaultUnknownDatabaseAndRevokedGrant(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	ts := mysqlServer(t)
	mustFail(t, ts, registryBody(t, func(_, m map[string]any) { m["database"] = "saas_gone" }), "saas_gone")

	// A grant revoked while the pool holds a connection: MariaDB applies a
	// database-level revoke to new connections, so the pooled one may still
	// read; a new connection is refused.
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
	require.Equal(t, http.StatusOK, code, "%s", raw)
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		mysqltest.Exec(t, "REVOKE SELECT ON "+secDB+".* FROM '"+secUser+"'@'"+host+"'")
	}
	code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
	requireNoTenantLost(t, code, hdr, raw)
	mustFail(t, mysqlServer(t), secFixture(t, "registry-sync-with-tenants.json"), "customers")
}

func TestFaultTableDroppedAndColumnRenamed(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	ts := mysqlServer(t)
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
	require.Equal(t, http.StatusOK, code, "%s", raw)

	mysqltest.Exec(t, "ALTER TABLE "+secDB+".customers CHANGE plan plan_id VARCHAR(32) NULL")
	mustFail(t, ts, secFixture(t, "registry-sync-with-tenants.json"), "query", "Unknown column", "plan")

	mysqltest.Exec(t, "ALTER TABLE "+secDB+".customers CHANGE customer_id id VARCHAR(64) NULL")
	mustFail(t, ts, secFixture(t, "registry-sync-with-tenants.json"), "Unknown column")

	mysqltest.Exec(t, "DROP TABLE "+secDB+".customers")
	mustFail(t, ts, secFixture(t, "registry-sync-with-tenants.json"), "query", "customers", "doesn't exist")

	// A table of the same name but another shape.
	mysqltest.Exec(t, "CREATE TABLE "+secDB+".customers (x INT)", "INSERT INTO "+secDB+".customers VALUES (1)")
	mustFail(t, ts, secFixture(t, "registry-sync-with-tenants.json"), "Unknown column")
}

// processID waits for the secUser query on table and returns its
// connection id.
func processID(t *testing.T, table string) int64 {
	t.Helper()
	db, _ := mysqltest.Admin(t)
	var id int64
	require.Eventually(t, func() bool {
		err := db.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE ?", secUser, "%"+table+"%").Scan(&id)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "the query on %s never showed up", table)
	return id
}

// The connection is killed (KILL CONNECTION) or the query is killed (KILL
// QUERY) while the registry's query runs.
func TestFaultKilledMidQuery(t *testing.T) {
	for _, kill := range []string{"KILL CONNECTION", "KILL QUERY"} {
		t.Run(kill, func(t *testing.T) {
			seedSec(t, rowAcme, rowGlobex, rowInitech)
			slowView(t, "1")
			ts := mysqlServer(t)
			body := registryBody(t, func(_, m map[string]any) {
				m["table"] = "slow_customers"
				m["queryTimeoutSeconds"] = 30
			})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := processID(t, "slow_customers")
				time.Sleep(300 * time.Millisecond) // mid-query: some rows are already through
				mysqltest.Exec(t, fmt.Sprintf("%s %d", kill, id))
			}()
			start := time.Now()
			code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", body)
			wg.Wait()
			require.Less(t, time.Since(start), 2500*time.Millisecond, "the kill ended the query")
			status := requireNoTenantLost(t, code, hdr, raw)
			if kill == "KILL CONNECTION" {
				msg := requireOutageAnswer(t, body, code, raw, "ConnectionLost", 5)
				require.Contains(t, msg, "connection lost", "a broken connection is never a result")
			}
			t.Logf("%s answered %d: %v", kill, code, status["conditions"])

			// The pool recovers: the next sync reads the table normally.
			code, _, raw = secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
			require.Equal(t, http.StatusOK, code, "%s", raw)
		})
	}
}

// Every pooled connection is killed between two syncs (a database restart
// or failover): the next sync reconnects or fails, never loses a Tenant.
func TestFaultPooledConnectionsKilled(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	ts := mysqlServer(t)
	body := secFixture(t, "registry-sync-with-tenants.json")
	code, _, raw := secPost(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, "%s", raw)
	db, _ := mysqltest.Admin(t)
	rows, err := db.Query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", secUser)
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Close())
	require.NotEmpty(t, ids, "the pool keeps a connection")
	for _, id := range ids {
		mysqltest.Exec(t, fmt.Sprintf("KILL CONNECTION %d", id))
	}
	for i := 0; i < 3; i++ {
		code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", body)
		requireNoTenantLost(t, code, hdr, raw)
	}
	code, _, raw = secPost(t, ts, "/hooks/registries/sync", body)
	require.Equal(t, http.StatusOK, code, "the pool recovered: %s", raw)
}

func TestFaultNullsEverywhere(t *testing.T) {
	ts := mysqlServer(t)
	t.Run("every column NULL", func(t *testing.T) {
		seedSec(t, "(NULL, NULL, NULL, NULL)", "(NULL, NULL, NULL, NULL)", "(NULL, NULL, NULL, NULL)")
		code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
		require.Equal(t, http.StatusOK, code, "%s", raw)
		status := requireNoTenantLost(t, code, hdr, raw)
		// A NULL activate makes a row inactive before its uid is looked at.
		require.Equal(t, map[string]any{"total": float64(3), "active": float64(0), "inactive": float64(3), "skipped": float64(0), "duplicates": float64(0)}, status["rows"])
		require.Equal(t, "True", conditionOf(t, status, "DeletionBlocked")["status"])
		require.Contains(t, conditionOf(t, status, "DeletionBlocked")["message"], "no active rows")
	})
	t.Run("activate NULL everywhere", func(t *testing.T) {
		seedSec(t, "('acme', 'https://shop.acme.example', NULL, 'pro')", "('globex', 'https://app.globex.example', NULL, 'basic')")
		code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
		require.Equal(t, http.StatusOK, code, "%s", raw)
		status := requireNoTenantLost(t, code, hdr, raw)
		require.Equal(t, float64(0), object.NestedMap(status, "rows")["active"])
		blocked := conditionOf(t, status, "DeletionBlocked")
		require.Equal(t, "True", blocked["status"])
		require.Contains(t, blocked["message"], "no active rows")
	})
	t.Run("uid NULL in one row, values NULL in another", func(t *testing.T) {
		seedSec(t, "(NULL, 'https://shop.acme.example', '1', 'pro')", "('globex', 'https://app.globex.example', '1', NULL)")
		code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
		status := requireNoTenantLost(t, code, hdr, raw)
		require.NotNil(t, status)
		require.Equal(t, float64(1), object.NestedMap(status, "rows")["skipped"])
		// acme's row lost its uid: its 2 Tenants (50%, within the default
		// guard) would go, but an active row without a uid may be exactly
		// theirs, so the guard keeps them and says why.
		require.Equal(t, "True", conditionOf(t, status, "RowsSkipped")["status"])
		require.NotEmpty(t, status["skippedRows"])
		blocked := conditionOf(t, status, "DeletionBlocked")
		require.Equal(t, "True", blocked["status"])
		require.Contains(t, blocked["message"], "1 active rows have a NULL or empty uid")
		require.Contains(t, blocked["message"], "kubectl annotate tenantregistry customers -n acme "+render.AnnotationAllowDeletion+"=")
	})
	t.Run("few active rows under a strict guard", func(t *testing.T) {
		seedSec(t, rowAcme, "('globex', 'https://app.globex.example', NULL, 'basic')")
		body := registryBody(t, func(req, _ map[string]any) {
			object.SetNested(req["parent"].(map[string]any), 25, "spec", "deletionGuard", "maxDeletePercent")
		})
		code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", body)
		require.Equal(t, http.StatusOK, code, "%s", raw)
		status := requireNoTenantLost(t, code, hdr, raw)
		require.Equal(t, "True", conditionOf(t, status, "DeletionBlocked")["status"])
		require.Contains(t, conditionOf(t, status, "DeletionBlocked")["message"], "2 of 4 Tenants (50%)")
	})
}

// Rows the service cannot use are reported, never silently turned into a
// deletion: a uid that names no valid Tenant is skipped with its reason.
func TestFaultWeirdValues(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex,
		"('', 'https://empty.example', '1', 'x')",
		"('   ', 'https://blank.example', '1', 'x')",
		"('acme', 'https://dup.example', '1', 'x')",
		"('日本', 'https://jp.example', '1', 'x')",
		"('a/b', 'https://slash.example', 'yes', 'x')")
	ts := mysqlServer(t)
	code, hdr, raw := secPost(t, ts, "/hooks/registries/sync", secFixture(t, "registry-sync-with-tenants.json"))
	require.Equal(t, http.StatusOK, code, "%s", raw)
	status := requireNoTenantLost(t, code, hdr, raw)
	require.Equal(t, float64(1), object.NestedMap(status, "rows")["duplicates"])
	for _, c := range object.NestedSlice(status, "conditions") {
		require.NotContains(t, fmt.Sprint(c), fixturePassword)
	}
}
