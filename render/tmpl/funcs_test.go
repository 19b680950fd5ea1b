package tmpl

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testVars() map[string]any {
	return map[string]any{
		"uid":        "acme",
		"hostOrUrl":  "https://Acme.Example.com:8443/app",
		"host":       "Acme.Example.com",
		"activate":   "true",
		"replicas":   "3",
		"planId":     "",
		"settings":   `{"tier":"gold","size":3}`,
		"registryId": "reg",
		"tenant":     "acme-web",
		"namespace":  "tenants",
	}
}

func render(t *testing.T, e *Engine, src string) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return e.Render(ctx, src, testVars())
}

func mustRender(t *testing.T, e *Engine, src string) any {
	t.Helper()
	v, err := render(t, e, src)
	require.NoError(t, err, src)
	return v
}

// renderErr renders src and requires an *Error whose message contains want.
func renderErr(t *testing.T, e *Engine, src string, want ...string) *Error {
	t.Helper()
	v, err := render(t, e, src)
	require.Error(t, err, "%s rendered %#v", src, v)
	var te *Error
	require.True(t, errors.As(err, &te), "%T is not *Error", err)
	for _, w := range want {
		assert.Contains(t, err.Error(), w, src)
	}
	assert.NotContains(t, err.Error(), "\n", "one-line message")
	return te
}

func TestToHost(t *testing.T) {
	e := New(Options{})
	for in, want := range map[string]string{
		// Tenant Operator v1.0 §4.3
		"https://a.b.com:8080/x": "a.b.com",
		"a.b.com:8080":           "a.b.com",
		"a.b.com":                "a.b.com",
		// edge cases, with upstream's semantics
		"":                            "",
		"HTTPS://Acme.Example.COM/p":  "Acme.Example.COM", // case preserved
		"http://user:pw@h.example:80": "h.example",
		"https://[::1]:8443/x":        "::1", // brackets removed
		"//cdn.example.com/lib":       "cdn.example.com",
		"10.0.0.1:80":                 "10.0.0.1", // parse error: cut at ':'
		"localhost:8080":              "localhost",
		"mailto:ops@example.com":      "mailto", // no host: cut at ':'
		"acme":                        "acme",
		"a.b.com/path":                "a.b.com/path", // no host, no colon: unchanged
		"http://":                     "http",
		"https://a.b.com?q=1:2":       "a.b.com",
		"[::1]:80":                    "[", // upstream: cut at the first ':'
		"ünï.example:1":               "ünï.example",
	} {
		assert.Equal(t, want, toHost(in), "toHost(%q)", in)
		got, err := e.RenderString(t.Context(), `{{ toHost .h }}`, map[string]any{"h": in})
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	assert.Equal(t, toHost("x:1"), ToHost("x:1"))
}

func TestTrunc63(t *testing.T) {
	ascii := strings.Repeat("a", 100)
	assert.Equal(t, ascii[:63], trunc63(ascii))
	assert.Equal(t, "short", trunc63("short"))
	assert.Equal(t, ascii[:63], trunc63(ascii[:63]))

	// "é" is 2 bytes: 62 ASCII + é would end at byte 64, so it is dropped.
	s := strings.Repeat("a", 62) + "é" + "zz"
	got := trunc63(s)
	assert.Equal(t, strings.Repeat("a", 62), got)
	// 61 ASCII + é ends exactly at 63: kept.
	s = strings.Repeat("a", 61) + "é" + "zz"
	assert.Equal(t, strings.Repeat("a", 61)+"é", trunc63(s))
	// 4-byte runes (emoji) at every offset: always valid UTF-8, ≤ 63 bytes.
	for pad := range 4 {
		s := strings.Repeat("a", pad) + strings.Repeat("😀", 20)
		got := trunc63(s)
		assert.True(t, len(got) <= 63 && len(got) >= 60, "len %d", len(got))
		assert.True(t, strings.HasPrefix(s, got))
		assert.True(t, isValidUTF8(got), "pad %d: %q", pad, got)
	}
	// Invalid UTF-8 stays a plain byte cut.
	bad := strings.Repeat("\x80", 70)
	assert.Equal(t, bad[:63], trunc63(bad))
	// A trailing '-' is kept, as upstream.
	assert.Equal(t, strings.Repeat("a", 62)+"-", trunc63(strings.Repeat("a", 62)+"-bc"))

	e := New(Options{})
	assert.Equal(t, strings.Repeat("x", 63), mustRender(t, e, `{{ repeat 70 "x" | trunc63 }}`))
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func TestSha1sum(t *testing.T) {
	e := New(Options{})
	assert.Equal(t, "a9993e364706816aba3e25717850c26c9cd0d89d", mustRender(t, e, `{{ sha1sum "abc" }}`))
	assert.Equal(t, "da39a3ee5e6b4b0d3255bfef95601890afd80709", sha1sum(""))
}

func TestFromJSON(t *testing.T) {
	e := New(Options{})
	assert.Equal(t, "gold", mustRender(t, e, `{{ (fromJson .settings).tier }}`))
	assert.Equal(t, "3", mustRender(t, e, `{{ (fromJson .settings).size }}`)) // float64 3 prints as 3
	assert.Equal(t, "[1 2]", mustRender(t, e, `{{ fromJson "[1,2]" }}`))
	assert.Equal(t, "x", mustRender(t, e, `{{ fromJson "\"x\"" }}`))

	te := renderErr(t, e, `{{ (fromJson "{\"a\":") }}`, `line 1: fromJson: invalid JSON`)
	assert.Equal(t, "fromJson", te.Func)
	renderErr(t, e, `{{ fromJson "nope" }}`, "invalid JSON", "invalid character")
	renderErr(t, e, `{{ fromJson .planId }}`, "empty input", `default "{}"`)
	// The documented idiom for a NULL column.
	assert.Equal(t, "free", mustRender(t, e, `{{ get (fromJson (.planId | default "{}")) "tier" | default "free" }}`))
	// A missing key in the decoded map is an error, not "<no value>".
	te = renderErr(t, e, `{{ (fromJson .settings).nope }}`, `missing key "nope"`)
	assert.Equal(t, "nope", te.Key)
}

// Every removed or refused function fails with its name and reason: at
// Check, at Render (even in a branch that never runs), and in the stub.
func TestRemovedAndRefusedFunctions(t *testing.T) {
	e := New(Options{})
	names := map[string]string{}
	for n := range removedFuncs {
		names[n] = "is not available"
	}
	for n := range refusedFuncs {
		names[n] = "is refused"
	}
	require.Len(t, names, 23)
	for name, verb := range names {
		want := `function "` + name + `" ` + verb
		for _, src := range []string{
			"{{ " + name + " }}",
			"ok\n{{ if false }}{{ " + name + " 1 2 3 }}{{ end }}",
			`{{ "x" | ` + name + ` }}`,
		} {
			te := renderErr(t, e, src, want)
			assert.Equal(t, name, te.Func)
			assert.Equal(t, strings.Count(src, "\n")+1, te.Line)
			err := e.Check(src)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
		}
		// The stub itself (defence in depth).
		fn, ok := e.fs.plain[name].(func(...any) (string, error))
		require.True(t, ok, name)
		_, err := fn("x")
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
	}
	// The messages from the brief.
	assert.Equal(t, `line 1: function "env" is not available: templates may not read the service's environment`,
		e.Check(`{{ env "HOME" }}`).Error())
	assert.Equal(t, `line 1: function "now" is refused: its output changes on every call and would rewrite the cluster on every resync`,
		e.Check(`{{ now }}`).Error())
}

// Templates cannot read the environment, files or the network.
func TestNoEnvironmentFilesOrNetwork(t *testing.T) {
	t.Setenv("TENANT_HOOKS_TEST_SECRET", "s3cr3t")
	e := New(Options{})
	for _, src := range []string{
		`{{ env "TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ expandenv "$TENANT_HOOKS_TEST_SECRET" }}`,
		`{{ "TENANT_HOOKS_TEST_SECRET" | env }}`,
	} {
		v, err := render(t, e, src)
		require.Error(t, err)
		assert.Nil(t, v)
		assert.NotContains(t, err.Error(), "s3cr3t")
		assert.Contains(t, err.Error(), "environment")
	}
	renderErr(t, e, `{{ getHostByName "localhost" }}`, `"getHostByName" is not available`, "network")

	// Sprig has no file access; the usual names from Helm are not defined.
	for _, name := range []string{"readFile", "include", "tpl", "lookup", "required", "toYaml", "files"} {
		te := renderErr(t, e, `{{ `+name+` "/etc/passwd" }}`, `function "`+name+`" is not defined`, "Helm")
		assert.Equal(t, name, te.Func)
	}
	for _, name := range []string{"exec", "readDir", "glob", "os"} {
		renderErr(t, e, `{{ `+name+` "/" }}`, `function "`+name+`" is not defined`)
	}
	// os* path functions are pure string operations.
	assert.Equal(t, "passwd", mustRender(t, e, `{{ osBase "/etc/passwd" }}`))
}

func TestDateFunctionsAreDeterministic(t *testing.T) {
	e := New(Options{})
	for src, want := range map[string]string{
		`{{ date "2006-01-02 15:04" 0 }}`:                                          "1970-01-01 00:00",
		`{{ htmlDate 86400 }}`:                                                     "1970-01-02",
		`{{ dateInZone "15:04 MST" 0 "Local" }}`:                                   "00:00 UTC",
		`{{ dateInZone "15:04" 0 "Asia/Tokyo" }}`:                                  "09:00",
		`{{ htmlDateInZone 0 "America/New_York" }}`:                                "1969-12-31",
		`{{ toDate "2006-01-02" "2024-03-01" | unixEpoch }}`:                       "1709251200",
		`{{ toDate "2006-01-02" "2024-03-01" | date "Jan 2 MST" }}`:                "Mar 1 UTC",
		`{{ mustToDate "2006-01-02" "2024-03-01" | dateModify "24h" | htmlDate }}`: "2024-03-02",
		`{{ durationRound "2h10m" }}`:                                              "2h",
		`{{ duration "90" }}`:                                                      "1m30s",
	} {
		assert.Equal(t, want, mustRender(t, e, src), src)
	}
	// Sprig would format time.Now() for these.
	renderErr(t, e, `{{ date "2006" "2024-01-01" }}`, "date: needs a time", `"2024-01-01"`)
	renderErr(t, e, `{{ htmlDate .uid }}`, "htmlDate: needs a time")
	renderErr(t, e, `{{ dateInZone "2006" 0 "Mars/Olympus" }}`, `unknown time zone "Mars/Olympus"`)
	renderErr(t, e, `{{ toDate "2006" "2024" | durationRound }}`, "durationRound", "reads the clock")
}

// Every function returns a value whose size is bounded: a string or list
// result is either checked by a wrapper (which adds an error result) or is
// on this list of functions whose result cannot outgrow their input.
func TestEveryResultIsBounded(t *testing.T) {
	fixed := map[string]bool{ // plain string result, bounded by construction
		"hello": true, "derivePassword": true, "unixEpoch": true,
	}
	shrinking := map[string]bool{ // list results no longer than an input list
		"compact": true, "initial": true, "rest": true, "reverse": true, "uniq": true,
		"without": true, "chunk": true,
	}
	e := New(Options{})
	for name, fn := range e.fs.plain {
		ft := reflect.TypeOf(fn)
		if ft.NumOut() != 1 {
			continue // (value, error): wrapped or bounded by construction
		}
		switch ft.Out(0).Kind() {
		case reflect.String:
			assert.True(t, fixed[name], "%s returns a plain string: wrap it (boundResult) or list it here", name)
		case reflect.Slice, reflect.Map:
			if ft.Out(0).Kind() == reflect.Map && ft.Out(0).Elem().Kind() == reflect.Interface {
				continue // dict-like: built from its arguments
			}
			assert.True(t, shrinking[name], "%s returns a plain %s: wrap it or list it here", name, ft.Out(0))
		}
	}
}

func TestBoundedFunctions(t *testing.T) {
	e := New(Options{MaxOutputBytes: 1 << 10, MaxListLen: 100})
	for src, want := range map[string]string{
		`{{ repeat 2000 "x" }}`:                                                                 "repeat: count 2000 is more than 100 (MaxListLen)",
		`{{ repeat 50 "xxxxxxxxxxxxxxxxxxxxxxx" }}`:                                             "repeat: result would be 1150 bytes",
		`{{ repeat -1 "x" }}`:                                                                   "repeat: negative count",
		`{{ indent 100000000000 "x" }}`:                                                         "indent: result would be",
		`{{ nindent -3 "x" }}`:                                                                  "nindent: negative width",
		`{{ replace "" "0123456789" (repeat 100 "x") }}`:                                        "replace: result would be",
		`{{ regexReplaceAll "" (repeat 100 "x") "0123456789" }}`:                                "regexReplaceAll: result would be",
		`{{ regexReplaceAllLiteral "x" (repeat 55 "xx") "0123456789" }}`:                        "regexReplaceAllLiteral: result would be",
		`{{ mustRegexReplaceAll "(x)" (repeat 55 "xx") "$1$1$1$1$1$1$1$1$1$1" }}`:               "mustRegexReplaceAll: result would be",
		`{{ regexReplaceAll "(" "x" "y" }}`:                                                     "regexReplaceAll: error parsing regexp",
		`{{ wrapWith 1 "0123456789" (repeat 100 "x") }}`:                                        "wrapWith: result would be",
		`{{ join "0123456789" (until 100) }}`:                                                   "join: result would be",
		`{{ printf "%900d%900d" 1 2 }}`:                                                         "printf: result would be",
		`{{ printf "%1000000d" 1 }}`:                                                            "printf: format asks for more than 4096 bytes",
		`{{ printf "%*d" 1000000 1 }}`:                                                          "printf: format asks for more",
		`{{ $s := "0123456789" }}{{ range until 100 }}{{ $s = print $s $s }}{{ end }}`:          "print: ",
		`{{ $s := "0123456789" }}{{ range until 100 }}{{ $s = cat $s $s }}{{ end }}`:            "cat: ",
		`{{ $s := "0123456789" }}{{ range until 100 }}{{ $s = b64enc $s }}{{ end }}`:            "b64enc: result would be",
		`{{ $s := "0123456789" }}{{ range until 100 }}{{ $s = js (print $s "<") }}{{ end }}`:    "js: ",
		`{{ $l := list 1 }}{{ range until 20 }}{{ $l = concat $l $l }}{{ end }}`:                "concat: result would have 128 elements",
		`{{ $l := list }}{{ range until 100 }}{{ $l = append $l 1 }}{{ end }}{{ append $l 1 }}`: "append: result would have 101 elements",
		`{{ splitList "," (repeat 100 ",") }}`:                                                  "splitList: result would have 101 elements",
		`{{ range seq 1000 }}{{ end }}`:                                                         "seq: would produce 1000 elements",
		`{{ untilStep 0 9223372036854775807 4611686018427387904 | len }}`:                       "", // Sprig loops forever here
	} {
		if want == "" {
			assert.Equal(t, "2", mustRender(t, e, src), src)
			continue
		}
		renderErr(t, e, src, want)
	}
}

// A value that references one list twice per level prints exponentially;
// every formatting function refuses it instead of hanging.
func TestSelfNestedValuesAreRefused(t *testing.T) {
	e := New(Options{})
	build := `{{ $a := list "x" }}{{ range until 60 }}{{ $a = list $a $a }}{{ end }}`
	for _, use := range []string{
		`{{ $a }}`, `{{ toJson $a }}`, `{{ toString $a }}`, `{{ cat $a }}`, `{{ printf "%v" $a }}`,
		`{{ deepCopy $a | len }}`, `{{ join "," $a }}`, `{{ quote $a }}`, `{{ asJson $a }}`,
		`{{ dict $a 1 }}`, `{{ merge (dict) (dict "a" $a) | len }}`, `{{ sortAlpha $a }}`,
	} {
		start := time.Now()
		renderErr(t, e, build+use, "too large")
		assert.Less(t, time.Since(start), 5*time.Second, use)
	}
}

func TestTemplatesCannotModifyVariables(t *testing.T) {
	e := New(Options{})
	vars := map[string]any{"uid": "acme", "nested": map[string]any{"a": "1"}, "list": []string{"b", "a"}}
	for _, src := range []string{
		`{{ $_ := set . "uid" "evil" }}`,
		`{{ $_ := set $ "uid" "evil" }}`,
		`{{ $_ := unset . "uid" }}`,
		`{{ $_ := set .nested "a" "evil" }}`,
		`{{ $_ := merge . (dict "uid" "evil") }}`,
		`{{ $_ := mergeOverwrite (dict "n" .nested) (dict "n" (dict "a" "evil")) }}`,
		`{{ $_ := mustMergeOverwrite .nested (dict "a" "evil") }}`,
	} {
		_, err := e.Render(t.Context(), src, vars)
		require.Error(t, err, src)
		assert.Contains(t, err.Error(), "may not modify the template variables", src)
	}
	_, _ = e.Render(t.Context(), `{{ sortAlpha .list }}`, vars)
	assert.Equal(t, map[string]any{"uid": "acme", "nested": map[string]any{"a": "1"}, "list": []string{"b", "a"}}, vars)

	// Maps the template builds itself are fine.
	got, err := e.Render(t.Context(), `{{ $d := dict "a" 1 }}{{ $_ := set $d "b" .uid }}{{ $_ := merge $d (dict "c" 3) }}{{ toJson $d }}`, vars)
	require.NoError(t, err)
	assert.Equal(t, `{"a":1,"b":"acme","c":3}`, got)
	got, err = e.Render(t.Context(), `{{ $d := deepCopy . }}{{ $_ := set $d "uid" "x" }}{{ $d.uid }}-{{ .uid }}`, vars)
	require.NoError(t, err)
	assert.Equal(t, "x-acme", got)
	// ... but not into themselves.
	_, err = e.Render(t.Context(), `{{ $d := dict }}{{ $_ := set $d "self" (list $d) }}`, vars)
	require.ErrorContains(t, err, "would put a map inside itself")
	_, err = e.Render(t.Context(), `{{ $d := dict "n" (dict) }}{{ $_ := merge $d (dict "n" (dict "x" $d)) }}`, vars)
	require.ErrorContains(t, err, "would put a map inside itself")
}

func TestPanicsBecomeErrors(t *testing.T) {
	e := New(Options{})
	te := renderErr(t, e, `{{ div 1 0 }}`, "line 1:", "integer divide by zero")
	assert.Equal(t, "div", te.Func)
	renderErr(t, e, `{{ chunk 0 (list 1 2) }}`, "chunk")
	renderErr(t, e, `{{ regexReplaceAll "(" "a" "b" }}`, "error parsing regexp")
	renderErr(t, e, `{{ first 3 }}`, "first")

	// A panic that escapes text/template itself (here from the writer).
	c := e.compile(`{{ .uid }}`)
	require.NoError(t, c.err)
	err := execute(c.shared, panicWriter{}, testVars())
	var pe *Error
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Msg, "internal error while rendering: boom")
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

func TestFunctionMapSize(t *testing.T) {
	e := New(Options{})
	// Sprig v3.3.0 has 211 functions (sha1sum and fromJson among them);
	// toHost, trunc63 and the 4 typed markers are added, and 6 builtins
	// (print, printf, println, html, js, urlquery) are overridden.
	assert.Len(t, e.fs.parse, 211+2+4+6)
	for _, n := range []string{"asInt", "asBool", "asFloat", "asJson", "toHost", "trunc63", "sha1sum", "fromJson"} {
		assert.Contains(t, e.fs.parse, n)
	}
	assert.NotContains(t, e.fs.parse, guardFunc, "internal functions are not callable")
}

// TestEveryFunctionWithOddArguments calls every function with a range of
// argument shapes. None may crash the process, hang, or return a non-*Error.
func TestEveryFunctionWithOddArguments(t *testing.T) {
	e := New(Options{MaxOutputBytes: 4 << 10, MaxListLen: 100})
	vars := map[string]any{
		"s":   strings.Repeat("ab,c ", 200),
		"n":   "-7",
		"big": strings.Repeat("x", 4<<10),
	}
	args := []string{
		"", "0", "-1", "1000000000", ".s", ".big", "(list)", "(list .s .s)", "(dict)",
		`(dict "a" (list 1))`, "nil", "true", "1.5", `""`, `"("`, ".n .s", "3 .s", ".s .s .s",
		"100 .big", `"" .big .big`, "(until 50) 1", "1 2 3 4 5",
	}
	names := make([]string, 0, len(e.fs.parse))
	for n := range e.fs.parse {
		if n == "derivePassword" {
			continue // ~30 MiB and tens of ms per call: covered by its own line below
		}
		names = append(names, n)
	}
	for _, n := range names {
		for _, a := range args {
			src := "{{ " + n + " " + a + " }}"
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			start := time.Now()
			_, err := e.Render(ctx, src, vars)
			cancel()
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s took %v", src, d)
			}
			if err != nil {
				var te *Error
				if !errors.As(err, &te) {
					t.Errorf("%s: %T is not *Error", src, err)
				}
			}
		}
	}
	_, err := e.Render(t.Context(), `{{ derivePassword 1 "long" "pw" "user" "example.com" }}`, nil)
	require.NoError(t, err)
}
