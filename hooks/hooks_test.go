package hooks_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

var fixtureDir = fixtures.Dir()

// testClock pins the render clock: the fixtures were recorded on this day.
var testClock = func() time.Time { return time.Date(2026, 11, 25, 20, 40, 0, 0, time.UTC) }

type testServer struct {
	*httptest.Server
	srv  *hooks.Server
	reg  *prometheus.Registry
	logs *bytes.Buffer
}

func newServer(t testing.TB, opts mysql.PoolOptions, cfg hooks.Config) *testServer {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	engine := render.New(render.Options{Templates: tmpl.Options{}, Now: testClock})
	pools := mysql.NewPools(opts)
	t.Cleanup(func() { _ = pools.Close() })
	srv := hooks.New(cfg, log, engine, pools, reg)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, srv: srv, reg: reg, logs: logs}
}

// lockedWriter lets the server log from many goroutines into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	return b
}

// post sends body to path and returns the status code and decoded answer.
func post(t testing.TB, ts *testServer, path string, body []byte, header ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "answer is not JSON: %s", raw)
	}
	return resp.StatusCode, out, resp.Header
}

// children lists the answer's children as "Kind/namespace/name".
func childNames(t testing.TB, ans map[string]any) []string {
	t.Helper()
	list, ok := ans["children"].([]any)
	require.True(t, ok, "children must be a list: %v", ans["children"])
	var out []string
	for _, c := range list {
		m := c.(map[string]any)
		out = append(out, object.Kind(m)+"/"+object.ObjKey(object.Namespace(m), object.Name(m)))
	}
	sort.Strings(out)
	return out
}

func child(t testing.TB, ans map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, c := range ans["children"].([]any) {
		m := c.(map[string]any)
		if object.Kind(m) == kind && object.Name(m) == name {
			return m
		}
	}
	t.Fatalf("no child %s %s in %v", kind, name, childNames(t, ans))
	return nil
}

func resourceState(t testing.TB, ans map[string]any, id string) (state, reason string) {
	t.Helper()
	for _, r := range object.NestedSlice(ans, "status", "resources") {
		m := r.(map[string]any)
		if m["id"] == id {
			return object.String(m, "state"), object.String(m, "reason")
		}
	}
	t.Fatalf("no resource %q in status %v", id, ans["status"])
	return "", ""
}

func conditionOf(t testing.TB, status map[string]any, typ string) map[string]any {
	t.Helper()
	for _, c := range object.NestedSlice(status, "conditions") {
		m := c.(map[string]any)
		if m["type"] == typ {
			return m
		}
	}
	t.Fatalf("no condition %s in %v", typ, status["conditions"])
	return nil
}

func TestMalformedRequests(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{BodyLimit: 1 << 10})
	for name, body := range map[string]string{
		"not json":      `{"parent": `,
		"unknown key":   `{"parent": {}, "children": {}, "surprise": 1}`,
		"wrong type":    `{"parent": [], "children": {}}`,
		"no parent":     `{"children": {}}`,
		"trailing data": `{"parent": {"kind": "Tenant"}, "children": {}} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			code, ans, _ := post(t, ts, "/hooks/tenants/sync", []byte(body))
			require.Equal(t, http.StatusBadRequest, code)
			require.NotEmpty(t, ans["error"])
			require.NotContains(t, ans, "children")
		})
	}
	code, ans, _ := post(t, ts, "/hooks/tenants/sync", bytes.Repeat([]byte(" "), 2<<10))
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.Contains(t, ans["error"], "larger than")

	resp, err := ts.Client().Get(ts.URL + "/hooks/tenants/sync")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := ts.Client().Get(ts.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
	code, _, _ := post(t, ts, "/hooks/tenants/customize", fixture(t, "tenant-customize.json"))
	require.Equal(t, http.StatusOK, code)
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `tenant_hooks_hook_requests_total{code="200",controller="tenant",hook="customize"} 1`)
	require.Contains(t, string(body), "tenant_hooks_build_info")
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "tenant_hooks_") {
			require.NotContains(t, line, "acme-web", "metrics must never carry tenant names")
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// Per-code request counters and the 304 counter count every request (their
// label children are resolved once per hook), and an answer goes out with a
// Content-Length, not chunked.
func TestRequestCountersAndFraming(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	body, err := os.ReadFile(filepath.Join("..", "examples", "requests", "tenant-sync.json"))
	require.NoError(t, err)
	var etag string
	for i := 0; i < 2; i++ {
		resp, err := ts.Client().Post(ts.URL+"/hooks/tenants/sync", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		answer := readAll(t, resp)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, int64(len(answer)), resp.ContentLength, "Content-Length")
		require.Empty(t, resp.TransferEncoding, "not chunked")
		etag = resp.Header.Get("ETag")
	}
	require.NotEmpty(t, etag)
	code, _, _ := post(t, ts, "/hooks/tenants/sync", body, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, code)
	code, _, _ = post(t, ts, "/hooks/tenants/sync", []byte(`{"parent":`))
	require.Equal(t, http.StatusBadRequest, code)

	resp, err := ts.Client().Get(ts.URL + "/metrics")
	require.NoError(t, err)
	metrics := string(readAll(t, resp))
	for _, want := range []string{
		`tenant_hooks_hook_requests_total{code="200",controller="tenant",hook="sync"} 2`,
		`tenant_hooks_hook_requests_total{code="304",controller="tenant",hook="sync"} 1`,
		`tenant_hooks_hook_requests_total{code="400",controller="tenant",hook="sync"} 1`,
		`tenant_hooks_etag_not_modified_total{controller="tenant",hook="sync"} 1`,
		`tenant_hooks_hook_duration_seconds_count{controller="tenant",hook="sync"} 4`,
	} {
		require.Contains(t, metrics, want)
	}
	require.NotContains(t, metrics, `code="500"`, "no series for a code never answered")
}
