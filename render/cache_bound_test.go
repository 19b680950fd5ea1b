package render

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

func boundTemplate(i int, stamped bool) object.Obj {
	md := map[string]any{"name": fmt.Sprintf("t%d", i), "namespace": "acme"}
	if stamped {
		md["uid"], md["resourceVersion"] = fmt.Sprintf("uid-%d", i), "1"
	}
	return object.Obj{"apiVersion": APIVersion, "kind": "TenantTemplate", "metadata": md, "spec": map[string]any{
		"registryId": "customers",
		"configMaps": []any{map[string]any{"id": "c", "nameTemplate": fmt.Sprintf("{{ .uid }}-%d", i),
			"spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": fmt.Sprintf("{{ .v }}-%d", i)}}}},
	}}
}

func (e *Engine) templateCacheLen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.templates)
}

// Both caches stay within their configured sizes under concurrent use with
// far more distinct templates than fit: the parsed-TenantTemplate cache
// (Options.TemplateCacheSize) and the template-string cache
// (tmpl.Options.CacheSize). Answers stay correct while entries are evicted.
func TestCachesStayBounded(t *testing.T) {
	const tplCache, strCache = 8, 64
	e := New(Options{TemplateCacheSize: tplCache, Templates: tmpl.Options{CacheSize: strCache}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	maxSeen := 0
	errs := make(chan error, 16)
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				n := (g*300 + i) % 500 // 500 templates, each seen a few times
				tpl := boundTemplate(n, i%2 == 0)
				in := TenantInput{
					Tenant: object.Obj{"apiVersion": APIVersion, "kind": "Tenant",
						"metadata": map[string]any{"name": "acme-web", "namespace": "acme", "uid": "u"},
						"spec":     map[string]any{"uid": "acme", "values": map[string]any{"v": fmt.Sprint(g)}}},
					Template: tpl,
				}
				out, err := e.SyncTenant(t.Context(), in)
				if err != nil {
					errs <- err
					return
				}
				if len(out.Children) != 1 || object.Name(out.Children[0]) != fmt.Sprintf("acme-%d", n) ||
					object.NestedMap(out.Children[0], "data")["k"] != fmt.Sprintf("%d-%d", g, n) {
					errs <- fmt.Errorf("wrong answer for template %d: %v", n, out.Children)
					return
				}
				l := e.templateCacheLen()
				mu.Lock()
				maxSeen = max(maxSeen, l)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	require.LessOrEqual(t, maxSeen, tplCache, "parsed-TenantTemplate cache")
	require.Positive(t, maxSeen)
	st := e.T.Stats()
	require.LessOrEqual(t, st.Size, strCache, "template-string cache")
	require.Positive(t, st.Misses)
}

// The default sizes are bounded too.
func TestCacheDefaultsAreBounded(t *testing.T) {
	e := New(Options{})
	require.Equal(t, 1024, e.maxTpl)
	for i := range 1100 {
		_, err := e.Template(boundTemplate(i, true))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, e.templateCacheLen(), 1024)
	require.Equal(t, tmpl.DefaultCacheSize, 4096)
}
