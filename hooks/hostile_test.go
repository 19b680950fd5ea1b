package hooks_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// roundThreeChildren are the children observed in tenant-sync-round3: a
// hostile template must never cost one of them.
var roundThreeChildren = []string{"ConfigMap/acme/acme-web-config", "Deployment/acme/acme-web", "Service/acme/acme-web"}

func resourceStatus(t testing.TB, ans map[string]any, id string) map[string]any {
	t.Helper()
	for _, r := range object.NestedSlice(ans, "status", "resources") {
		if m := r.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("no resource %q in status %v", id, ans["status"])
	return nil
}

// Hostile templates through the real tenant sync hook. Each is answered
// with a 200 in which the resource is Failed with a message naming the
// function or limit, every observed child is kept, and the request ends
// well within the hook deadline.
func TestHostileTemplates(t *testing.T) {
	const deadline = 5 * time.Second
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{HookDeadline: deadline})
	bigLiteral := strings.Repeat("x", 50)
	cases := []struct {
		name string
		edit func(spec map[string]any)
		want []string // all of these
		any  []string // at least one of these
	}{
		{"huge until", setConfigLeaf("HOSTILE", `{{ range until 100000000 }}x{{ end }}`), []string{"until", "100000000", "10000 (MaxListLen)"}, nil},
		{"huge untilStep", setConfigLeaf("HOSTILE", `{{ range untilStep 0 1000000000 1 }}{{ end }}`), []string{"untilStep", "MaxListLen"}, nil},
		{"range over a huge int", setConfigLeaf("HOSTILE", `{{ range 1000000000000 }}{{ end }}`), []string{"range loops ran more than 100000 iterations"}, nil},
		{"nested ranges", setConfigLeaf("HOSTILE", `{{ range until 10000 }}{{ range until 10000 }}{{ range until 10000 }}{{ end }}{{ end }}{{ end }}`), []string{"range loops ran more than 100000 iterations"}, nil},
		{"nested ranges with output", setConfigLeaf("HOSTILE", `{{ range until 10000 }}{{ range until 10000 }}xxxxxxxxxx{{ end }}{{ end }}`), nil, []string{"MaxOutputBytes", "iterations"}},
		{"huge output", setConfigLeaf("HOSTILE", `{{ range until 9000 }}`+bigLiteral+`{{ end }}`), []string{"output is larger than 262144 bytes (MaxOutputBytes)"}, nil},
		{"huge repeat", setConfigLeaf("HOSTILE", `{{ repeat 100000000 "x" }}`), []string{"repeat"}, nil},
		{"doubling string", setConfigLeaf("HOSTILE", `{{ $s := "xx" }}{{ range until 64 }}{{ $s = print $s $s }}{{ end }}{{ $s }}`), []string{"MaxOutputBytes"}, nil},
		{"doubling list", setConfigLeaf("HOSTILE", `{{ $a := list 1 }}{{ range until 64 }}{{ $a = concat $a $a }}{{ end }}{{ len $a }}`), nil, []string{"MaxListLen", "MaxOutputBytes"}},
		{"huge printf width", setConfigLeaf("HOSTILE", `{{ range until 100 }}{{ printf "%999999d" 1 }}{{ end }}`), nil, []string{"MaxOutputBytes"}},
		{"env", setConfigLeaf("HOSTILE", `{{ env "HOME" }}`), []string{`function "env" is not available`, "environment"}, nil},
		{"expandenv", setConfigLeaf("HOSTILE", `{{ expandenv "$HOME" }}`), []string{`function "expandenv" is not available`, "environment"}, nil},
		{"getHostByName", setConfigLeaf("HOSTILE", `{{ getHostByName "localhost" }}`), []string{`function "getHostByName" is not available`, "network"}, nil},
		{"now", setConfigLeaf("HOSTILE", `{{ now | date "2006" }}`), []string{`function "now" is refused`}, nil},
		{"randAlpha", setConfigLeaf("HOSTILE", `{{ randAlpha 8 }}`), []string{`function "randAlpha" is refused`, "random"}, nil},
		{"uuidv4", setConfigLeaf("HOSTILE", `{{ uuidv4 }}`), []string{`function "uuidv4" is refused`, "random"}, nil},
		{"refused in a dead branch", setConfigLeaf("HOSTILE", `{{ if false }}{{ uuidv4 }}{{ end }}ok`), []string{`function "uuidv4" is refused`}, nil},
		{"readFile", setConfigLeaf("HOSTILE", `{{ readFile "/etc/passwd" }}`), []string{`function "readFile" is not defined`, "no files"}, nil},
		{"include", setConfigLeaf("HOSTILE", `{{ include "secret" . }}`), []string{`function "include" is not defined`}, nil},
		{"tpl", setConfigLeaf("HOSTILE", `{{ tpl "{{ .uid }}" . }}`), []string{`function "tpl" is not defined`}, nil},
		{".Files", setConfigLeaf("HOSTILE", `{{ .Files.Get "/etc/passwd" }}`), []string{`missing variable "Files"`}, nil},
		{"$.Files", setConfigLeaf("HOSTILE", `{{ $.Files.Glob "*" }}`), []string{`"Files"`}, nil},
		{"template call", setConfigLeaf("HOSTILE", `{{ template "x" }}`), []string{"not allowed"}, nil},
		{"define", setConfigLeaf("HOSTILE", `{{ define "x" }}{{ template "x" }}{{ end }}`), []string{"not allowed"}, nil},
		// Issue 12: values kept in a loop (≈ 1.5 GB each before the budget).
		{"dict of large strings", setConfigLeaf("HOSTILE", dictAttack), []string{"templates of this request produced more than 8388608 bytes", "--template-memory"}, nil},
		{"list of large strings", setConfigLeaf("HOSTILE", `{{ $l := list }}{{ range $i := until 6000 }}{{ $l = append $l (printf "%s%d" (repeat 10000 "abcdefghijklmnopqrstuvwxy") $i) }}{{ end }}{{ len $l }}`), []string{"template memory budget", "--template-memory"}, nil},
		// Issue 12: uniq over 300 lists of 1,001 numbers (13 s of CPU in one call).
		{"uniq of 300 large lists", setConfigLeaf("HOSTILE", `{{ $base := until 1000 }}{{ $ls := list }}{{ range $i := until 300 }}{{ $ls = append $ls (append $base $i) }}{{ end }}{{ uniq $ls | len }}`), []string{"uniq: argument is too large"}, nil},
		{"regex work", setConfigLeaf("HOSTILE", `{{ regexMatch (repeat 5000 "a?") (repeat 10000 "a") }}`), []string{"regexMatch: pattern of 10002 instructions on 10000 bytes"}, nil},
		{"bad name", func(spec map[string]any) {
			spec["configMaps"].([]any)[0].(map[string]any)["nameTemplate"] = "Bad_Name!!"
		}, []string{"name: ConfigMap name \"Bad_Name!!\" is invalid", "upper-case"}, nil},
		{"name too long", func(spec map[string]any) {
			spec["configMaps"].([]any)[0].(map[string]any)["nameTemplate"] = "{{ repeat 300 \"a\" }}"
		}, []string{"name"}, nil},
	}
	for _, c := range cases {
		for _, labelled := range []bool{true, false} {
			name := c.name + "/children without our labels"
			if labelled {
				name = c.name
			}
			t.Run(name, func(t *testing.T) { hostileCase(t, ts, deadline, c.edit, c.want, c.any, labelled) })
		}
	}
	resp, err := ts.Client().Get(ts.URL + "/healthz")
	require.NoError(t, err)
	readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, metricsText(t, ts), fmt.Sprintf(`tenant_hooks_render_errors_total{controller="tenant"} %d`, 2*len(cases)))
}

// labelChildren gives the observed children of a round-3 request the
// resource-id label tenant-hooks writes (the fixture's children were made by
// a stand-in hook that put the id in an annotation).
func labelChildren(t testing.TB, body []byte) []byte {
	return editJSON(t, body, func(req map[string]any) {
		for _, objs := range req["children"].(map[string]any) {
			for _, o := range objs.(map[string]any) {
				m := o.(map[string]any)
				id := object.String(m, "metadata", "annotations", "operator.kubernetes-tenants.org/resource-id")
				require.NotEmpty(t, id)
				object.SetNested(m, id, "metadata", "labels", render.LabelResourceID)
			}
		}
	})
}

func hostileCase(t *testing.T, ts *testServer, deadline time.Duration, edit func(map[string]any), want, anyOf []string, labelled bool) {
	{
		{
			body := tenantRequest(t, edit)
			if labelled {
				body = labelChildren(t, body)
			}
			start := time.Now()
			code, ans, _ := post(t, ts, "/hooks/tenants/sync", body)
			took := time.Since(start)
			require.Equal(t, http.StatusOK, code, ans)
			require.Less(t, took, deadline, "a hostile template costs one bounded request")
			require.Equal(t, roundThreeChildren, childNames(t, ans), "every observed child is kept")
			st := resourceStatus(t, ans, "web-config")
			require.Equal(t, render.StateFailed, st["state"])
			require.Equal(t, "RenderError", st["reason"])
			msg := st["message"].(string)
			require.Contains(t, msg, "resource \"web-config\"")
			if labelled {
				require.Contains(t, msg, "keeping the existing object unchanged")
			}
			for _, w := range want {
				require.Contains(t, msg, w)
			}
			if len(anyOf) > 0 {
				found := false
				for _, w := range anyOf {
					found = found || strings.Contains(msg, w)
				}
				require.True(t, found, "message %q names none of %v", msg, anyOf)
			}
			// The failed ConfigMap is the observed one, unchanged.
			cm := child(t, ans, "ConfigMap", "acme-web-config")
			require.NotContains(t, cm["data"], "HOSTILE")
			require.Equal(t, "False", conditionOf(t, ans["status"].(map[string]any), "Ready")["status"])
		}
	}
}

// A template that no limit stops (each call is expensive, the loop is
// short enough for the iteration budget) is stopped by the hook deadline:
// one bounded 503 (Metacontroller keeps every child), no work left running,
// and the next request is answered normally.
func TestRunawayTemplateCostsOneBoundedRequest(t *testing.T) {
	const deadline = 1 * time.Second
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{HookDeadline: deadline})
	// Each call runs for about a millisecond, within every limit, and builds
	// nothing (so the template memory budget does not stop it first): 9,000
	// of them take far longer than the deadline. (One function call cannot
	// be interrupted, so the render stops at most one call after it.)
	body := tenantRequest(t, setConfigLeaf("SLOW", `{{ $s := repeat 9000 "ab" }}{{ range until 9000 }}{{ if regexMatch "a*b$" $s }}{{ end }}{{ end }}`))
	// Warm up the keep-alive connection, so its goroutines are counted.
	code, _, _ := post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round1-empty.json"))
	require.Equal(t, http.StatusOK, code)
	before := runtime.NumGoroutine()
	start := time.Now()
	code, hdr, raw := secPost(t, ts, "/hooks/tenants/sync", body)
	took := time.Since(start)
	requireJSONError(t, code, hdr, raw, http.StatusServiceUnavailable, "deadline")
	require.GreaterOrEqual(t, took, deadline-50*time.Millisecond)
	require.Less(t, took, deadline+2*time.Second, "the render stops at the deadline")
	require.NotContains(t, string(raw), "children")

	// Nothing keeps running after the answer.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 5*time.Second, 20*time.Millisecond)
	start = time.Now()
	code, ans, _ := post(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round3-all-observed.json"))
	require.Equal(t, http.StatusOK, code, ans)
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, roundThreeChildren, childNames(t, ans))
}

// No template can read the service's environment: a variable set in the
// process never reaches an answer or the log, whatever the template tries.
func TestTemplatesCannotReadTheEnvironment(t *testing.T) {
	const secret = "env-secret-6f1c2b9e8d7a"
	t.Setenv("TENANT_HOOKS_TEST_SECRET", secret)
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	attempts := []string{
		`{{ env "TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ "TENANT_HOOKS_TEST_SECRET" | env }}`,
		`{{ expandenv "$TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ "${TENANT_HOOKS_TEST_SECRET}" | expandenv }}`,
		`{{ call env "TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ .TENANT_HOOKS_TEST_SECRET }}`,
		`{{ $.Env.TENANT_HOOKS_TEST_SECRET }}`,
		`{{ .Env }}`,
		`{{ index . "TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ get . "TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ toJson . }}`,
		`{{ printf "%#v" . }}`,
		`{{ . }}`,
		`{{ readFile "/proc/self/environ" }}`,
		`{{ include "/proc/self/environ" . }}`,
		`{{ tpl "{{ env \"TENANT_HOOKS_TEST_SECRET\" }}" . }}`,
		`{{ getHostByName "TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ osBase "/proc/self/environ" }}`,
		`{{ fromJson "{\"a\": 1}" | toJson }}`,
		`{{ semver "1.2.3" }}`,
	}
	resources := []any{}
	for i, a := range attempts {
		resources = append(resources, configMapResource(fmt.Sprintf("try-%d", i), fmt.Sprintf("{{ .uid }}-try-%d", i), a))
	}
	body := tenantRequest(t, func(spec map[string]any) {
		spec["configMaps"] = append(spec["configMaps"].([]any), resources...)
	})
	resp, err := ts.Client().Post(ts.URL+"/hooks/tenants/sync", "application/json", bytesReader(body))
	require.NoError(t, err)
	raw := readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	require.NotContains(t, string(raw), secret)
	require.NotContains(t, ts.logs.String(), secret)
	require.NotContains(t, metricsText(t, ts), secret)
	// The environment functions fail loudly, not silently empty.
	require.Contains(t, string(raw), `function \"env\" is not available`)
	require.Contains(t, string(raw), `function \"expandenv\" is not available`)
}
