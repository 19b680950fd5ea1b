package hooks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// fixtureSeeds adds every captured request (and a few broken variants) as
// seeds.
func fixtureSeeds(f *testing.F, add func(name string, body []byte)) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, p := range files {
		if strings.HasSuffix(p, ".response.json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(filepath.Base(p), b)
	}
	for _, s := range []string{``, `null`, `{}`, `[]`, `{"parent": {}}`, `{"object": {}}`, `{"parent": {}, "children": {"ConfigMap.v1": {"a/b": null}}}`,
		`{"parent": {"kind": "Tenant"}, "finalizing": true} {}`, `{"parent": 1e400}`, `{"object": {"a": -0.0e-7}, "attachments": {}, "related": {}}`,
		`{"controller": null, "parent": {"\u0000": "\ud800"}}`, `{"parent":{"metadata":{"name":"x"}},"surprise":1}`} {
		add("inline", []byte(s))
	}
}

// roundTrip checks that a decoded request encodes, that the encoding
// decodes strictly again, and that encoding is then stable.
func roundTrip[T any](t *testing.T, v *T) {
	var first bytes.Buffer
	if err := hooks.Encode(&first, v); err != nil {
		t.Fatalf("a decoded request does not encode: %v", err)
	}
	var again T
	if err := hooks.DecodeBytes(first.Bytes(), &again); err != nil {
		t.Fatalf("the encoding of a decoded request does not decode: %v\n%s", err, first.Bytes())
	}
	var second bytes.Buffer
	if err := hooks.Encode(&second, &again); err != nil {
		t.Fatalf("re-encoding failed: %v", err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("encoding is not stable:\n%s\n%s", first.Bytes(), second.Bytes())
	}
}

func checkDecodeError(t *testing.T, err error) {
	var de *hooks.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("decode error %T is not a *hooks.DecodeError: %v", err, err)
	}
	if !strings.HasPrefix(err.Error(), "malformed hook request: ") {
		t.Fatalf("unclear decode error: %v", err)
	}
}

// FuzzDecodeComposite decodes arbitrary bytes as a CompositeController (and
// customize) request: it never panics, every failure is a *DecodeError, and
// whatever decodes re-encodes to a stable document that decodes again.
func FuzzDecodeComposite(f *testing.F) {
	fixtureSeeds(f, func(_ string, b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var r hooks.CompositeRequest
		if err := hooks.DecodeBytes(data, &r); err != nil {
			checkDecodeError(t, err)
		} else {
			roundTrip(t, &r)
		}
		var c hooks.CustomizeRequest
		if err := hooks.DecodeBytes(data, &c); err != nil {
			checkDecodeError(t, err)
		} else {
			roundTrip(t, &c)
		}
	})
}

// FuzzDecodeDecorator is FuzzDecodeComposite for DecoratorController
// requests.
func FuzzDecodeDecorator(f *testing.F) {
	fixtureSeeds(f, func(_ string, b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var r hooks.DecoratorRequest
		if err := hooks.DecodeBytes(data, &r); err != nil {
			checkDecodeError(t, err)
			return
		}
		roundTrip(t, &r)
	})
}

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
	pools *datasource.Pools
	n     int
}

const fuzzBodyLimit = 32 << 10

func newFuzzServer() *fuzzServer {
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	engine := render.New(render.Options{Templates: tmpl.Options{MaxOutputBytes: 32 << 10, MaxListLen: 1000, CacheSize: 256}, TemplateCacheSize: 64, Now: testClock})
	// Every MySQL connection is refused at once; pools close when idle.
	pools := datasource.NewPools(datasource.PoolOptions{Dial: mysqltest.Closed(), IdleTimeout: 50 * time.Millisecond})
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
	fixtureSeeds(f, func(name string, b []byte) {
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
