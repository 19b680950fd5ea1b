package hooks_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// loadCase is one request of the load test and the answer it got alone.
type loadCase struct {
	name, path string
	body       []byte
	code       int
	answer     string
}

// Every hook, every fixture, good and bad requests, from many goroutines at
// once against one server (one render engine with small caches, one pool
// set, the real MariaDB): each answer is byte-identical to the answer the
// same request got alone. Run with -race.
func TestParallelLoadAllHooks(t *testing.T) {
	seedSec(t, rowAcme, rowGlobex, rowInitech)
	// Small caches, so that eviction runs concurrently with lookups.
	h := newHarness(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t), MaxOpenPerTarget: 2}, hooks.Config{},
		render.Options{TemplateCacheSize: 4, Templates: tmpl.Options{CacheSize: 16}}, nil)

	var cases []*loadCase
	add := func(name, path string, body []byte) {
		cases = append(cases, &loadCase{name: name, path: path, body: body})
	}
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, ".response.json") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		name := filepath.Base(f)
		if strings.HasPrefix(name, "registry-") {
			b = retarget(t, b)
		}
		add(name, fuzzRoutes[seedRoute(name, b)], b)
	}
	for _, r := range hookRoutes(t) {
		add("valid "+r.Path, r.Path, validBody(t, r))
		add("malformed "+r.Path, r.Path, []byte(`{"surprise": 1}`))
	}
	add("static registry", "/hooks/registries/sync", staticRegistry([]any{map[string]any{"id": "a", "on": "1"}, map[string]any{"id": "b", "on": true}}, []string{"web", "worker"}, []string{"a-web", "z-web"}))
	add("guard", "/hooks/registries/sync", staticRegistry(nil, []string{"web"}, []string{"a-web", "b-web"}))
	for i, leaf := range []string{`{{ range until 100000000 }}x{{ end }}`, `{{ env "HOME" }}`, `{{ .planId | upper }}`, `{{ .missing }}`, `{{ printf "%s-%d" .uid 3 }}`} {
		add(fmt.Sprintf("template %d", i), "/hooks/tenants/sync", tenantRequest(t, setConfigLeaf("X", leaf)))
	}
	for i := range 12 {
		// More distinct TenantTemplates than the parse cache holds.
		add(fmt.Sprintf("template variant %d", i), "/hooks/tenants/sync", labelChildren(t, tenantRequest(t, setConfigLeaf(fmt.Sprintf("K%d", i), fmt.Sprintf("{{ .uid }}-%d", i)))))
	}

	// Alone, one at a time.
	for _, c := range cases {
		code, _, raw := secPost(t, h.testServer, c.path, c.body)
		c.code, c.answer = code, string(raw)
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, code, "%s: %s", c.name, raw)
	}

	// All at once.
	const workers, rounds = 16, 3
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*len(cases))
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				for i := range cases {
					c := cases[(i*7+w*13+r)%len(cases)]
					resp, err := h.Client().Post(h.URL+c.path, "application/json", bytesReader(c.body))
					if err != nil {
						errs <- fmt.Sprintf("%s: %v", c.name, err)
						continue
					}
					raw := readAll(t, resp)
					if resp.StatusCode != c.code || string(raw) != c.answer {
						errs <- fmt.Sprintf("%s: %d %s\nalone: %d %s", c.name, resp.StatusCode, raw, c.code, c.answer)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 5 {
			t.Error(e)
		}
	}
	require.Zero(t, n, "%d answers differed under load", n)

	m := metricsText(t, h.testServer)
	for _, line := range strings.Split(m, "\n") {
		if strings.HasPrefix(line, "tenant_hooks_hook_in_flight{") {
			require.True(t, strings.HasSuffix(line, " 0"), "nothing left in flight: %s", line)
		}
	}
	require.NotContains(t, m, `code="500"`)
	require.NotContains(t, h.logs.String(), "panic")
}
