package hooks_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// fuzzRoutes is the route list of FuzzHookHTTP, fixed so that a corpus
// entry keeps meaning the same route.
var fuzzRoutes = []string{
	"/hooks/tenants/customize", "/hooks/tenants/sync", "/hooks/tenants/finalize",
	"/hooks/registries/customize", "/hooks/registries/sync",
	"/hooks/namespaces/customize", "/hooks/namespaces/sync",
	"/hooks/adoption/customize", "/hooks/adoption/sync",
}

// seedRoute picks the route index a fixture is meant for.
func seedRoute(name string, body []byte) uint8 {
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(body, &probe)
	idx := func(p string) uint8 {
		for i, r := range fuzzRoutes {
			if r == p {
				return uint8(i)
			}
		}
		return 0
	}
	switch {
	case strings.HasPrefix(name, "registry-customize"):
		return idx("/hooks/registries/customize")
	case strings.HasPrefix(name, "registry-"):
		return idx("/hooks/registries/sync")
	case strings.HasPrefix(name, "tenant-customize"):
		return idx("/hooks/tenants/customize")
	case strings.HasPrefix(name, "tenant-finalize"):
		return idx("/hooks/tenants/finalize")
	case strings.HasPrefix(name, "decorator-namespace"):
		return idx("/hooks/namespaces/sync")
	case strings.HasPrefix(name, "retain-decorator"):
		return idx("/hooks/adoption/sync")
	case probe["object"] != nil:
		return idx("/hooks/namespaces/sync")
	}
	return idx("/hooks/tenants/sync")
}

// fuzzServer is the server FuzzHookHTTP drives in-process.
type fuzzServer struct {
	h     http.Handler
	logs  *lockedWriter
	pools *mysql.Pools
	n     int
}

const fuzzBodyLimit = 32 << 10

func newFuzzServer() *fuzzServer {
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	engine := render.New(render.Options{Templates: tmpl.Options{MaxOutputBytes: 32 << 10, MaxListLen: 1000, CacheSize: 256}, TemplateCacheSize: 64, Now: testClock})
	// Every MySQL connection is refused at once; pools close when idle.
	pools := mysql.NewPools(mysql.PoolOptions{Dial: mysqltest.Closed(), IdleTimeout: 50 * time.Millisecond})
	srv := hooks.New(hooks.Config{BodyLimit: fuzzBodyLimit, HookDeadline: 2 * time.Second}, log, engine, pools, prometheus.NewRegistry())
	return &fuzzServer{h: srv.Handler(), logs: logs, pools: pools}
}

// FuzzHookHTTP sends arbitrary bodies to every hook route of the real
// router. Whatever the body, the answer is 200, 400, 413, 500 or 503 with a
// JSON body; a 200 carries the route's list ("children", "attachments" or
// "relatedResources") as a JSON array, never null or missing; an error
// carries only {"error": ...}; and no handler panics (a panic would be a
// 500 too, but it is a bug).
func FuzzHookHTTP(f *testing.F) {
	for _, p := range fuzzRoutes {
		if !strings.HasPrefix(p, "/hooks/") {
			f.Fatalf("bad route %s", p)
		}
	}
	fixtures.Seeds(f, func(name string, b []byte) {
		if len(b) <= fuzzBodyLimit {
			f.Add(seedRoute(name, b), b)
		}
	})
	f.Add(uint8(4), staticRegistry([]any{map[string]any{"id": "a", "on": "1"}, map[string]any{"id": "b", "on": true}}, []string{"web", "worker"}, []string{"a-web", "c-web"}))
	f.Add(uint8(4), staticRegistry(nil, []string{"web"}, []string{"a-web", "b-web"}))
	f.Add(uint8(1), tenantRequest(f, setConfigLeaf("LOOP", "{{ range until 100000000 }}x{{ end }}")))
	f.Add(uint8(1), tenantRequest(f, setConfigLeaf("ENV", "{{ env \"HOME\" }}")))
	f.Add(uint8(1), tenantRequest(f, func(spec map[string]any) {
		spec["configMaps"].([]any)[0].(map[string]any)["nameTemplate"] = "Bad_Name!!"
	}))

	var s *fuzzServer
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		if s == nil || s.n >= 20000 {
			// A fresh server now and then: per-registry metric series and
			// pools do not pile up over a long run.
			if s != nil {
				_ = s.pools.Close()
			}
			s = newFuzzServer()
		}
		s.n++
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)

		s.logs.mu.Lock()
		logs := s.logs.w.String()
		s.logs.w.Reset()
		s.logs.mu.Unlock()
		if strings.Contains(logs, "panic in hook") {
			t.Fatalf("%s panicked:\n%s", path, logs)
		}
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusInternalServerError, http.StatusServiceUnavailable:
		default:
			t.Fatalf("%s answered %d: %s", path, rec.Code, rec.Body.Bytes())
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s answered %d with Content-Type %q", path, rec.Code, ct)
		}
		var ans map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			t.Fatalf("%s answered %d with a body that is not a JSON object: %v\n%s", path, rec.Code, err, rec.Body.Bytes())
		}
		if rec.Code != http.StatusOK {
			if len(ans) != 1 || ans["error"] == nil {
				t.Fatalf("%s answered %d with more than an error: %s", path, rec.Code, rec.Body.Bytes())
			}
			return
		}
		key := listKey(path)
		raw := ans[key]
		var list []json.RawMessage
		if raw == nil || string(raw) == "null" || json.Unmarshal(raw, &list) != nil {
			t.Fatalf("%s answered 200 without a %q list: %s", path, key, rec.Body.Bytes())
		}
	})
}
