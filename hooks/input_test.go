package hooks_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

// requireJSONError checks a non-200 answer: the status, a JSON content type
// and a JSON body {"error": "..."} containing every want, and nothing a
// Metacontroller could mistake for an answer.
func requireJSONError(t *testing.T, code int, hdr http.Header, body []byte, wantCode int, want ...string) string {
	t.Helper()
	require.Equal(t, wantCode, code, "%s", body)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	var ans map[string]any
	require.NoError(t, json.Unmarshal(body, &ans), "error body is not JSON: %s", body)
	require.Len(t, ans, 1, "an error body carries only the error: %s", body)
	msg, _ := ans["error"].(string)
	require.NotEmpty(t, msg)
	for _, w := range want {
		require.Contains(t, msg, w)
	}
	return msg
}

// Every hook route decodes its envelope strictly and answers a malformed one
// with a 400 that says what is wrong. (TestMalformedRequests covers the
// tenant sync route in depth; this covers every route.)
func TestEveryRouteRejectsMalformedEnvelopes(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{BodyLimit: 256 << 10})
	for _, r := range hookRoutes(t) {
		t.Run(strings.TrimPrefix(r.Path, "/hooks/"), func(t *testing.T) {
			// The route accepts its valid request: the 400s below are about
			// the envelope only.
			code, _, body := secPost(t, ts, r.Path, validBody(t, r))
			require.Equal(t, http.StatusOK, code, "%s", body)

			required := "parent"
			if r.Shape == shapeDecorator {
				required = "object"
			}
			cases := []struct {
				name string
				body string
				want []string
			}{
				{"empty body", ``, []string{"malformed hook request", "EOF"}},
				{"not JSON", `{"` + required + `": `, []string{"malformed hook request"}},
				{"not an object", `[1, 2]`, []string{"malformed hook request", "cannot unmarshal array"}},
				{"unknown top-level key", `{"` + required + `": {"kind": "X"}, "surprise": 1}`, []string{`unknown field "surprise"`}},
				{"misspelled key", `{"` + strings.ToUpper(required[:1]) + required[1:] + `x": {"kind": "X"}}`, []string{"unknown field"}},
				{"wrong type of " + required, `{"` + required + `": "acme"}`, []string{"cannot unmarshal string", required}},
				{"wrong type of controller", `{"` + required + `": {"kind": "X"}, "controller": 42}`, nil},
				{"trailing data", `{"` + required + `": {"kind": "X"}} {}`, []string{"trailing data after the JSON document"}},
				{"trailing garbage", `{"` + required + `": {"kind": "X"}}x`, []string{"malformed hook request"}},
				{"null", `null`, []string{"the request has no \"" + required + "\""}},
				{"missing " + required, `{"controller": {}}`, []string{"the request has no \"" + required + "\""}},
				{"null " + required, `{"` + required + `": null}`, []string{"the request has no \"" + required + "\""}},
			}
			if r.Shape != shapeCustomize {
				cases = append(cases, struct {
					name string
					body string
					want []string
				}{"wrong type of finalizing", `{"` + required + `": {"kind": "X"}, "finalizing": "yes"}`, []string{"cannot unmarshal string", "finalizing"}})
				mapKey := "children"
				if r.Shape == shapeDecorator {
					mapKey = "attachments"
				}
				cases = append(cases, struct {
					name string
					body string
					want []string
				}{"wrong type of " + mapKey, `{"` + required + `": {"kind": "X"}, "` + mapKey + `": {"ConfigMap.v1": []}}`, []string{"cannot unmarshal array", mapKey}})
				cases = append(cases, struct {
					name string
					body string
					want []string
				}{"null in " + mapKey, `{"` + required + `": {"kind": "X"}, "` + mapKey + `": {"ConfigMap.v1": {"acme/x": null}}}`, []string{mapKey + `["ConfigMap.v1"]["acme/x"] is null, not an object`}})
				cases = append(cases, struct {
					name string
					body string
					want []string
				}{"null in related", `{"` + required + `": {"kind": "X"}, "related": {"Secret.v1": {"acme/x": null}}}`, []string{`related["Secret.v1"]["acme/x"] is null`}})
			}
			for _, c := range cases {
				if c.name == "wrong type of controller" {
					// The controller object is informational and kept raw:
					// any JSON value is accepted there.
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					code, hdr, body := secPost(t, ts, r.Path, []byte(c.body))
					requireJSONError(t, code, hdr, body, http.StatusBadRequest, c.want...)
				})
			}
		})
	}
}

// A body over --body-limit is a 413 with a JSON error on every route, and
// nothing of it is decoded; a body of exactly the limit is read.
func TestEveryRouteBodyLimit(t *testing.T) {
	const limit = 64 << 10
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{BodyLimit: limit, RegistryBodyLimit: limit})
	for _, r := range hookRoutes(t) {
		t.Run(strings.TrimPrefix(r.Path, "/hooks/"), func(t *testing.T) {
			flag := "--body-limit"
			if r.Path == "/hooks/registries/sync" || r.Path == "/hooks/shards/sync" {
				flag = "--registry-body-limit" // streamed, with a limit of its own
			}
			valid := validBody(t, r)
			require.Less(t, len(valid), limit)
			over := append(append([]byte{}, valid...), bytes.Repeat([]byte(" "), limit-len(valid)+1)...)
			code, hdr, body := secPost(t, ts, r.Path, over)
			requireJSONError(t, code, hdr, body, http.StatusRequestEntityTooLarge, "larger than 65536 bytes")

			// Far over the limit: the server stops reading at the limit.
			code, hdr, body = secPost(t, ts, r.Path, bytes.Repeat([]byte("["), 4*limit))
			requireJSONError(t, code, hdr, body, http.StatusRequestEntityTooLarge, flag)

			exact := append(append([]byte{}, valid...), bytes.Repeat([]byte(" "), limit-len(valid))...)
			code, _, body = secPost(t, ts, r.Path, exact)
			require.Equal(t, http.StatusOK, code, "a body of exactly the limit is accepted: %s", body)
		})
	}
}

// A registry sync is read as it streams in: a body without a
// Content-Length that grows past --registry-body-limit is a 413 too.
func TestRegistryBodyLimitWhileStreaming(t *testing.T) {
	const limit = 64 << 10
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{RegistryBodyLimit: limit})
	child := `{"metadata":{"name":"a"},"spec":{"v":"` + strings.Repeat("x", 1000) + `"}}`
	var body bytes.Buffer
	body.WriteString(`{"parent":{"kind":"TenantRegistry"},"children":{"Tenant.x/v1":{`)
	for i := 0; body.Len() < 2*limit; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `"ns/t%d":%s`, i, child)
	}
	body.WriteString(`}}}`)
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/hooks/registries/sync", io.MultiReader(&body))
	require.NoError(t, err)
	req.ContentLength = -1 // chunked: the limit is found while decoding
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	requireJSONError(t, resp.StatusCode, resp.Header, msg, http.StatusRequestEntityTooLarge, "--registry-body-limit")
}

// A registry sync of many tiny children is a 413 too, though its bytes fit:
// its summaries would hold far more memory than the limit allows.
func TestRegistryBodyLimitCountsWhatIsHeld(t *testing.T) {
	const limit = 64 << 10
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Closed()}, hooks.Config{RegistryBodyLimit: limit})
	var body bytes.Buffer
	body.WriteString(`{"parent":{"kind":"TenantRegistry"},"children":{"Tenant.x/v1":{`)
	for i := 0; body.Len() < limit-100; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `"%d":{}`, i)
	}
	body.WriteString(`}}}`)
	code, hdr, msg := secPost(t, ts, "/hooks/registries/sync", body.Bytes())
	requireJSONError(t, code, hdr, msg, http.StatusRequestEntityTooLarge, "--registry-body-limit", "observed children")
}

// The per-request deadline ends a registry sync against a database that
// answers too slowly with a 503 well before Metacontroller's hook timeout,
// even when the registry's own query timeout is longer.
func TestHookDeadlineEndsSlowRegistrySync(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex)
	slowView(t, "3")
	const deadline = 700 * time.Millisecond
	h := newHarness(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)}, hooks.Config{HookDeadline: deadline}, render.Options{}, nil)
	body := editJSON(t, secFixture(t, "registry-sync-with-tenants.json"), func(req map[string]any) {
		mysql := object.NestedMap(req["parent"].(map[string]any), "spec", "source", "mysql")
		mysql["table"] = "slow_customers"
		mysql["queryTimeoutSeconds"] = 30 // longer than the hook deadline
	})
	start := time.Now()
	code, hdr, raw := secPost(t, h.testServer, "/hooks/registries/sync", body)
	took := time.Since(start)
	msg := requireJSONError(t, code, hdr, raw, http.StatusServiceUnavailable, "acme/customers")
	require.Contains(t, strings.ToLower(msg), "deadline", msg)
	require.NotEmpty(t, hdr.Get("Retry-After"))
	require.Less(t, took, deadline+time.Second, "the hook deadline, not the query timeout, ends the request")
	require.Less(t, took, 10*time.Second, "Metacontroller's hook timeout")
	require.GreaterOrEqual(t, took, deadline-50*time.Millisecond)
	require.Contains(t, metricsText(t, h.testServer), `tenant_hooks_hook_requests_total{code="503",controller="registry",hook="sync"} 1`)

	// The default deadline stays below Metacontroller's 10 s hook timeout.
	var c hooks.Config
	c.Defaults()
	require.Less(t, c.HookDeadline, 10*time.Second)
}

// A panic in a hook is a 500 with a JSON error, never a 200; the request
// body is not logged (it may carry a Secret), the metrics count the 500 and
// the server keeps answering.
func TestPanicIsA500(t *testing.T) {
	h := newHarness(t, mysql.PoolOptions{}, hooks.Config{}, render.Options{}, "boom: something impossible happened")
	body := secFixture(t, "registry-sync-with-tenants.json") // carries the Secret
	for i := 0; i < 3; i++ {
		code, hdr, raw := secPost(t, h.testServer, "/test/panic", body)
		requireJSONError(t, code, hdr, raw, http.StatusInternalServerError, "internal error")
		require.NotContains(t, string(raw), "boom", "the panic value stays in the log")
	}
	logs := h.logs.String()
	require.Contains(t, logs, `"msg":"panic in hook"`)
	require.Contains(t, logs, "boom: something impossible happened")
	require.Contains(t, logs, "export_test.go", "the stack is logged")
	require.NotContains(t, logs, "bm90LWEtcmVhbC1wYXNzd29yZA", "the request body (with the Secret) is never logged")
	require.NotContains(t, logs, "db-cred")
	require.Contains(t, metricsText(t, h.testServer), `tenant_hooks_hook_requests_total{code="500",controller="test",hook="panic"} 3`)
	require.Contains(t, metricsText(t, h.testServer), `tenant_hooks_hook_in_flight{controller="test",hook="panic"} 0`)

	// Still healthy, still answering real hooks.
	resp, err := h.Client().Get(h.URL + "/healthz")
	require.NoError(t, err)
	readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	code, _, _ := post(t, h.testServer, "/hooks/tenants/sync", fixture(t, "tenant-sync-round3-all-observed.json"))
	require.Equal(t, http.StatusOK, code)

	// A panic with an error value, or with nil-pointer dereference style
	// runtime errors, is handled the same way.
	h2 := newHarness(t, mysql.PoolOptions{}, hooks.Config{}, render.Options{}, error(&json.UnsupportedValueError{Str: "x"}))
	code, hdr, raw := secPost(t, h2.testServer, "/test/panic", []byte(`{}`))
	requireJSONError(t, code, hdr, raw, http.StatusInternalServerError, "internal error")
}

// /readyz follows SetReady; /healthz does not.
func TestReadinessFollowsSetReady(t *testing.T) {
	h := newHarness(t, mysql.PoolOptions{}, hooks.Config{}, render.Options{}, nil)
	get := func(p string) int {
		resp, err := h.Client().Get(h.URL + p)
		require.NoError(t, err)
		readAll(t, resp)
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("/readyz"))
	h.srv.SetReady(false)
	require.Equal(t, http.StatusServiceUnavailable, get("/readyz"))
	require.Equal(t, http.StatusOK, get("/healthz"))
	// Hooks still answer while draining: in-flight and late requests finish.
	code, _, _ := post(t, h.testServer, "/hooks/tenants/sync", fixture(t, "tenant-sync-round1-empty.json"))
	require.Equal(t, http.StatusOK, code)
	h.srv.SetReady(true)
	require.Equal(t, http.StatusOK, get("/readyz"))
}
