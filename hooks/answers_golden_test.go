package hooks_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/golden"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The answers of every captured request, recorded before the performance
// work (decoding, rendering and encoding changes) and compared byte for byte
// since: an optimisation must never change an answer. Regenerate on purpose
// with `make golden-update` (go test -update) and review the diff of
// hooks/testdata/fixture-answers.golden.json.
const answersGolden = "testdata/fixture-answers.golden.json"

// goldenHooks are the routes of the tenant, registry and namespace hooks.
var goldenHooks = []string{
	"/hooks/tenants/customize", "/hooks/tenants/sync", "/hooks/tenants/finalize",
	"/hooks/registries/customize", "/hooks/registries/sync",
	"/hooks/namespaces/customize", "/hooks/namespaces/sync",
}

// goldenSeeds is the table content each registry fixture was recorded
// against (see registry_test.go).
var goldenSeeds = map[string][]string{
	"registry-sync-first.json":               {rowAcme, rowGlobex, rowInitech},
	"registry-sync-with-tenants.json":        {rowAcme, rowGlobex, rowInitech},
	"registry-sync-row-removed.json":         {rowAcme, "('globex', 'https://app.globex.example', '0', 'basic')", rowInitech},
	"registry-sync-tenants-terminating.json": {rowAcme, "('globex', 'https://app.globex.example', '0', 'basic')", rowInitech},
	"registry-sync-tenants-ready.json":       {rowAcme, "('globex', 'https://app.globex.example', '0', 'basic')", rowInitech},
}

// goldenAnswer is one accepted request's answer.
type goldenAnswer struct {
	Body    json.RawMessage `json:"body"`
	HasETag bool            `json:"etag"`
	ETag    string          `json:"-"`
}

// goldenFixtures lists the captured request bodies (not the responses).
func goldenFixtures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".response.json") {
			out = append(out, filepath.Base(f))
		}
	}
	sort.Strings(out)
	require.GreaterOrEqual(t, len(out), 20)
	return out
}

// goldenPost posts body and returns the status, the exact answer bytes and the ETag.
func goldenPost(t testing.TB, url string, client *http.Client, path string, body []byte) (int, []byte, string) {
	t.Helper()
	resp, err := client.Post(url+path, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b, resp.Header.Get("ETag")
}

// goldenAnswers posts every fixture to every hook of goldenHooks on each
// server (seeding the database before each registry fixture) and returns,
// per server, the accepted (200) answers keyed "fixture -> path".
func goldenAnswers(t *testing.T, servers ...*testServer) []map[string]goldenAnswer {
	t.Helper()
	out := make([]map[string]goldenAnswer, len(servers))
	for i := range out {
		out[i] = map[string]goldenAnswer{}
	}
	for _, name := range goldenFixtures(t) {
		body := fixture(t, name)
		for _, path := range goldenHooks {
			if path == "/hooks/registries/sync" {
				rows, ok := goldenSeeds[name]
				if !ok {
					continue
				}
				seedCustomers(t, rows...)
			}
			for i, ts := range servers {
				code, ans, etag := goldenPost(t, ts.URL, ts.Client(), path, body)
				if code != http.StatusOK {
					continue
				}
				out[i][name+" -> "+path] = goldenAnswer{Body: bytes.TrimRight(ans, "\n"), HasETag: etag != "", ETag: etag}
			}
		}
	}
	return out
}

func TestFixtureAnswersGolden(t *testing.T) {
	mysqltest.Admin(t)
	ts := newServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)}, hooks.Config{})
	got := goldenAnswers(t, ts)[0]
	require.NotEmpty(t, got)
	requireSharedTemplatesUnchanged(t)
	if golden.Update() {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // keep the answers' bytes as they are
		enc.SetIndent("", "  ")
		require.NoError(t, enc.Encode(got))
		golden.Write(t, answersGolden, b.Bytes())
		return
	}
	raw := golden.Read(t, answersGolden)
	var want map[string]goldenAnswer
	require.NoError(t, json.Unmarshal(raw, &want))
	for k := range want {
		_, ok := got[k]
		require.True(t, ok, "%s was answered with 200 before and is not any more", k)
	}
	for k, g := range got {
		w, ok := want[k]
		require.True(t, ok, "%s is newly answered with 200; if intended, `make golden-update`", k)
		require.Equal(t, w.HasETag, g.HasETag, "%s: ETag presence changed", k)
		// Compact both: the golden file is indented for review.
		var wc, gc bytes.Buffer
		require.NoError(t, json.Compact(&wc, w.Body))
		require.NoError(t, json.Compact(&gc, g.Body))
		require.Equal(t, wc.String(), gc.String(), "%s: the answer changed; if intended, `make golden-update`", k)
	}
}

var sharedTemplateType = object.TypeKey(render.APIVersion, "TenantTemplate")

// requireSharedTemplatesUnchanged checks, after every fixture went through
// every hook, that no hook modified a TenantTemplate the decoder shares
// between requests (hooks/wire/shared.go): decoding each fixture again
// returns the shared values, which must still equal encoding/json's.
func requireSharedTemplatesUnchanged(t *testing.T) {
	t.Helper()
	var bodies [][]byte
	for _, name := range goldenFixtures(t) {
		bodies = append(bodies, fixture(t, name))
	}
	requireTemplatesUnchanged(t, bodies...)
}

// requireTemplatesUnchanged checks that the TenantTemplates of requests
// already answered, decoded again (and so shared), still equal
// encoding/json's decoding of the same bytes.
func requireTemplatesUnchanged(t *testing.T, bodies ...[]byte) {
	t.Helper()
	n := 0
	for i, body := range bodies {
		var r wire.CompositeRequest
		if wire.DecodeBytes(body, &r) != nil {
			continue
		}
		var ref struct {
			Related map[string]map[string]any `json:"related"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&ref), "request %d", i)
		for key, o := range r.Related[sharedTemplateType] {
			require.Equal(t, ref.Related[sharedTemplateType][key], any(o), "request %d: shared template %s was modified", i, key)
			n++
		}
	}
	require.Positive(t, n, "no request carries a TenantTemplate")
}
