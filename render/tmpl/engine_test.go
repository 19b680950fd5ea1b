package tmpl

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFastPath(t *testing.T) {
	e := New(Options{})
	for _, src := range []string{"", "plain", "{ not a template }", "a}}b", strings.Repeat("x", 1<<20)} {
		v, err := e.Render(t.Context(), src, nil)
		require.NoError(t, err)
		assert.Equal(t, src, v)
		s, err := e.RenderString(t.Context(), src, nil)
		require.NoError(t, err)
		assert.Equal(t, src, s)
		require.NoError(t, e.Check(src))
	}
	assert.Equal(t, CacheStats{}, e.Stats(), "the fast path does not parse")
	allocs := testing.AllocsPerRun(100, func() { _, _ = e.RenderString(context.Background(), "plain", nil) })
	assert.Zero(t, allocs)
}

func TestRenderBasics(t *testing.T) {
	e := New(Options{})
	for src, want := range map[string]string{
		`{{ .uid }}-web`:                                                            "acme-web",
		`{{ .host | lower }}`:                                                       "acme.example.com",
		`{{ toHost .hostOrUrl }}`:                                                   "Acme.Example.com",
		`{{ .planId | default "free" }}`:                                            "free",
		`{{ .uid | upper | trunc63 }}`:                                              "ACME",
		`{{ $.uid }}/{{ .tenant }}`:                                                 "acme/acme-web",
		`{{ range $i, $c := list "a" "b" }}{{ $i }}{{ $c }}{{ end }}`:               "0a1b",
		`{{ range until 3 }}{{ . }}{{ end }}`:                                       "012",
		`{{ range 3 }}{{ . }}{{ end }}`:                                             "012",
		`{{ with .uid }}{{ . }}{{ end }}`:                                           "acme",
		`{{ if eq .activate "true" }}on{{ else }}off{{ end }}`:                      "on",
		`{{ seq 3 }}|{{ seq 3 1 }}|{{ seq 0 2 6 }}`:                                 "1 2 3|3 2 1|0 2 4 6",
		`{{ printf "%s-%03d" .uid 7 }}`:                                             "acme-007",
		`{{ (fromJson .settings).tier }}`:                                           "gold",
		`{{ toJson (dict "a" .uid) }}`:                                              `{"a":"acme"}`,
		`{{ "a,b" | splitList "," | join "+" }}`:                                    "a+b",
		"{{- .uid -}}\n":                                                            "acme",
		`{{/* comment */}}x`:                                                        "x",
		`{{ range list 1 2 3 }}{{ if eq . 2 }}{{ break }}{{ end }}{{ . }}{{ end }}`: "1",
	} {
		assert.Equal(t, want, mustRender(t, e, src), src)
	}
}

func TestMissingVariable(t *testing.T) {
	e := New(Options{})
	te := renderErr(t, e, "x\n{{ .plan }}", `missing variable "plan"`)
	assert.Equal(t, 2, te.Line)
	assert.Equal(t, "plan", te.Key)
	assert.Equal(t, `line 2: missing variable "plan" (available: activate, host, hostOrUrl, namespace, planId, registryId, replicas, settings, tenant, uid)`, te.Error())

	// A missing key fails even where Sprig's default would apply.
	renderErr(t, e, `{{ .plan | default "free" }}`, `missing variable "plan"`)
	renderErr(t, e, `{{ $.plan }}`, `missing variable "plan"`)
	assert.Equal(t, "free", mustRender(t, e, `{{ get . "plan" | default "free" }}`))
	assert.Equal(t, "no", mustRender(t, e, `{{ if hasKey . "plan" }}yes{{ else }}no{{ end }}`))

	// The list of names is capped.
	many := map[string]any{}
	for i := range 30 {
		many["v"+strconv.Itoa(100+i)] = "x"
	}
	_, err := e.Render(t.Context(), `{{ .nope }}`, many)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "v100, v101")
	assert.Contains(t, err.Error(), "v119 … and 10 more")
	_, err = e.Render(t.Context(), `{{ .nope }}`, nil)
	require.ErrorContains(t, err, `missing variable "nope" (no variables were provided)`)
}

func TestNeverNoValue(t *testing.T) {
	e := New(Options{})
	for _, src := range []string{
		`{{ index . "nope" }}`,
		`{{ fromJson "null" }}`,
		`{{ (fromJson "{\"a\":null}").a }}`,
		`{{ range list nil }}{{ . }}{{ end }}`,
		`{{ $x := index . "nope" }}{{ $x }}`,
	} {
		v, err := render(t, e, src)
		require.Error(t, err, "%s rendered %#v", src, v)
		assert.NotContains(t, fmt.Sprint(v), "<no value>")
	}
	// A nil variable supplied by the caller.
	_, err := e.Render(t.Context(), `{{ .x }}`, map[string]any{"x": nil})
	require.ErrorContains(t, err, "<no value>")
}

func TestTypedMarkers(t *testing.T) {
	e := New(Options{})
	ok := map[string]any{
		`{{ .replicas | asInt }}`:                        int64(3),
		`{{ asInt 7 }}`:                                  int64(7),
		`{{ asInt "  -12 " }}`:                           int64(-12),
		`{{ asInt 3.0 }}`:                                int64(3),
		`{{ asInt "1e3" }}`:                              int64(1000),
		`{{ asBool .activate }}`:                         true,
		`{{ asBool "FALSE" }}`:                           false,
		`{{ asBool "1" }}`:                               true,
		`{{ asBool 0 }}`:                                 false,
		`{{ asBool false }}`:                             false,
		`{{ asFloat "1.5" }}`:                            1.5,
		`{{ asFloat 2 }}`:                                2.0,
		`{{ .settings | asJson }}`:                       map[string]any{"tier": "gold", "size": int64(3)},
		`{{ asJson "[1, 2.5, \"x\", true, null, {}]" }}`: []any{int64(1), 2.5, "x", true, nil, map[string]any{}},
		`{{ asJson "\"s\"" }}`:                           "s",
		`{{ asJson "12345678901234" }}`:                  int64(12345678901234),
		`{{ asJson "1e400" }}`:                           nil, // placeholder, checked below as an error
		`{{ asJson "null" }}`:                            nil,
		`{{ dict "a" 1 "b" (list 2) | asJson }}`:         map[string]any{"a": int64(1), "b": []any{int64(2)}},
		`{{- asInt 5 -}}`:                                int64(5),
		`{{ if true }}{{ asInt 1 }}{{ else }}{{ asInt 2 }}{{ end }}`: int64(1),
		`{{ $a := asInt 1 }}{{ $b := asBool true }}{{ $b }}`:         true,
	}
	delete(ok, `{{ asJson "1e400" }}`)
	for src, want := range ok {
		got, err := render(t, e, src)
		require.NoError(t, err, src)
		assert.Equal(t, want, got, src)
	}

	for src, want := range map[string]string{
		`x{{ asInt 3 }}`:                    `asInt must produce the whole value (found extra text "x")`,
		`{{ asInt 3 }} `:                    `asInt must produce the whole value (found extra text " ")`,
		`{{ asInt 1 }}{{ asInt 2 }}`:        `asInt must produce the whole value`,
		`replicas: {{ .replicas | asInt }}`: `found extra text "replicas: "`,
		`{{ asBool true | printf "%s!" }}`:  `asBool must produce the whole value`,
		`{{ asInt "3.5" }}`:                 `asInt: "3.5" is not an integer`,
		`{{ asInt "x" }}`:                   `asInt: "x" is not an integer`,
		`{{ asInt true }}`:                  `asInt: bool true is not an integer`,
		`{{ asInt 1e19 }}`:                  `does not fit`,
		`{{ asBool "yes" }}`:                `asBool: "yes" is not a boolean`,
		`{{ asBool 2 }}`:                    `is not a boolean`,
		`{{ asFloat "abc" }}`:               `asFloat: "abc" is not a number`,
		`{{ asJson "{" }}`:                  `asJson: invalid JSON`,
		`{{ asJson "" }}`:                   `asJson: invalid JSON: empty input`,
		`{{ asJson "1 2" }}`:                `extra data after the first value`,
	} {
		renderErr(t, e, src, want)
	}

	// A discarded marker leaves a plain string.
	assert.Equal(t, "text", mustRender(t, e, `{{ $x := asInt 1 }}text`))
	// Data cannot forge a marker: without a typed-marker call, output is text.
	forged := markerPrefix + "0" + markerSuffix
	got, err := e.Render(t.Context(), `{{ .x }}`, map[string]any{"x": forged})
	require.NoError(t, err)
	assert.Equal(t, forged, got)

	// RenderString refuses typed values.
	_, err = e.RenderString(t.Context(), `{{ asInt 3 }}`, nil)
	require.Error(t, err)
	var te *Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "asInt", te.Func)
	assert.Equal(t, "asInt produces a typed value (int64), but this field must be a string", te.Msg)
	s, err := e.RenderString(t.Context(), `{{ .uid }}`, map[string]any{"uid": "a"})
	require.NoError(t, err)
	assert.Equal(t, "a", s)
}

func TestOutputLimit(t *testing.T) {
	e := New(Options{MaxOutputBytes: 100})
	assert.Equal(t, strings.Repeat("x", 100), mustRender(t, e, `{{ repeat 100 "x" }}`))
	renderErr(t, e, `{{ repeat 101 "x" }}`, "more than 100 (MaxOutputBytes)")
	renderErr(t, e, `{{ range until 60 }}ab{{ end }}`, "output is larger than 100 bytes (MaxOutputBytes)")
	renderErr(t, e, `{{ .uid }}`+strings.Repeat("x", 100), "MaxOutputBytes")
	renderErr(t, e, `{{ list (repeat 60 "x") (repeat 60 "x") }}`, "MaxOutputBytes")
}

func TestListLimitIsCheap(t *testing.T) {
	e := New(Options{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	te := renderErr(t, e, `{{ range until 100000000 }}x{{ end }}`, "until: would produce 100000000 elements, more than 10000 (MaxListLen)")
	assert.Equal(t, "until", te.Func)
	renderErr(t, e, `{{ range untilStep 0 100000000 1 }}x{{ end }}`, "untilStep: would produce 100000000 elements")
	renderErr(t, e, `{{ seq 100000000 }}`, "seq: would produce")
	renderErr(t, e, `{{ repeat 100000000 "x" }}`, "repeat: count 100000000")
	runtime.ReadMemStats(&after)
	assert.Less(t, time.Since(start), time.Second)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "no large allocation")
}

func TestRangeIterationBudget(t *testing.T) {
	e := New(Options{MaxListLen: 100})                                             // budget: 1000 iterations per render
	mustRender(t, e, `{{ range until 100 }}{{ range until 9 }}{{ end }}{{ end }}`) // 100 + 900
	for _, src := range []string{
		`{{ range until 100 }}{{ range until 10 }}{{ end }}{{ end }}`,
		`{{ range 1000000000000 }}{{ end }}`, // range over an int: no list at all
		`{{ $l := until 100 }}{{ range $l }}{{ range $l }}{{ range $l }}{{ end }}{{ end }}{{ end }}`,
	} {
		start := time.Now()
		renderErr(t, e, src, "range loops ran more than 1000 iterations in total (10 × MaxListLen)")
		assert.Less(t, time.Since(start), time.Second)
	}
}

func TestCancellation(t *testing.T) {
	e := New(Options{MaxListLen: 1_000_000}) // budget 10M iterations: the deadline comes first
	nested := `{{ $l := until 1000000 }}{{ range $l }}{{ range $l }}{{ end }}{{ end }}`

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.Render(ctx, nested, nil)
	require.ErrorIs(t, err, context.Canceled)
	var te *Error
	require.ErrorAs(t, err, &te)

	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.Render(ctx, nested, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "rendering aborted: context deadline exceeded")
	assert.Less(t, time.Since(start), 2*time.Second)

	// Cancelled while generating lists inside a loop with an empty body.
	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = e.Render(ctx, `{{ range until 1000000 }}{{ $x := until 1000 }}{{ end }}`, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The shared (stateless) path checks at every write.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	_, err = e.Render(ctx, `{{ .uid }}`, map[string]any{"uid": "x"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestTemplateCallsRefused(t *testing.T) {
	e := New(Options{})
	for src, want := range map[string]string{
		`{{ template "x" }}`: `{{ template "x" }} is not allowed`,
		`{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}`: "define and block are not allowed",
		`{{ block "x" . }}y{{ end }}`:                                   "define and block are not allowed",
		`{{ define "y" }}y{{ end }}`:                                    "define and block are not allowed",
		"a\n{{ if true }}{{ template \"leaf\" }}{{ end }}":              "line 2: {{ template \"leaf\" }} is not allowed",
	} {
		renderErr(t, e, src, want)
		require.ErrorContains(t, e.Check(src), want)
	}
}

func TestTemplateSizeLimit(t *testing.T) {
	e := New(Options{MaxTemplateBytes: 64})
	mustRender(t, e, "{{ .uid }}"+strings.Repeat(" ", 54))
	renderErr(t, e, "{{ .uid }}"+strings.Repeat(" ", 55), "template is 65 bytes, more than 64 (MaxTemplateBytes)")
}

func TestCheck(t *testing.T) {
	e := New(Options{})
	require.NoError(t, e.Check(`{{ .anything | upper }}`), "variables are not known statically")
	require.NoError(t, e.Check(`{{ fail "only at run time" }}`))
	err := e.Check("a\nb\n{{ if }}")
	var te *Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 3, te.Line)
	assert.Equal(t, "line 3: missing value for if", err.Error())
	require.ErrorContains(t, e.Check(`{{ .uid `), "unclosed action")
	require.ErrorContains(t, e.Check(`{{ nope }}`), `function "nope" is not defined`)
}

func TestErrorLinesAtRunTime(t *testing.T) {
	e := New(Options{})
	te := renderErr(t, e, "one\ntwo\n{{ fail \"stop\" }}", "line 3: error calling fail: stop")
	assert.Equal(t, 3, te.Line)
	assert.Equal(t, "fail", te.Func)
	te = renderErr(t, e, "\n\n\n{{ asInt .uid }}", `line 4: asInt: "acme" is not an integer`)
	assert.Equal(t, "asInt", te.Func)
	te = renderErr(t, e, "{{ range until 2 }}\n{{ repeat -1 \"x\" }}{{ end }}", "line 2: repeat: negative count")
	assert.Equal(t, 2, te.Line)
}

func TestConcurrentRender(t *testing.T) {
	e := New(Options{CacheSize: 32}) // small: eviction races too
	vars := testVars()               // shared by every goroutine, as the render core does
	cases := map[string]any{
		`{{ .uid }}-web`:                             "acme-web",
		`{{ .replicas | asInt }}`:                    int64(3),
		`{{ range $i := until 3 }}{{ $i }}{{ end }}`: "012",
		`{{ .settings | asJson }}`:                   map[string]any{"tier": "gold", "size": int64(3)},
		`{{ $d := dict "u" .uid }}{{ $_ := set $d "h" .host }}{{ toJson $d }}`: `{"h":"Acme.Example.com","u":"acme"}`,
		`{{ toHost .hostOrUrl | lower | trunc63 }}`:                            "acme.example.com",
	}
	srcs := make([]string, 0, len(cases))
	for s := range cases {
		srcs = append(srcs, s)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for i := range 200 {
				src := srcs[(g+i)%len(srcs)]
				if i%7 == 0 { // distinct sources: misses and evictions
					src = "{{/* " + strconv.Itoa(g*1000+i) + " */}}" + src
				}
				got, err := e.Render(t.Context(), src, vars)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", src, err)
					return
				}
				if want := cases[src[strings.Index(src, "{{ "):]]; !assert.ObjectsAreEqual(want, got) {
					errs <- fmt.Errorf("%s: got %#v, want %#v", src, got, want)
					return
				}
				if i%13 == 0 {
					if _, err := e.Render(t.Context(), `{{ .missing }}`, vars); err == nil {
						errs <- errors.New("missing variable rendered")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := e.Stats()
	assert.LessOrEqual(t, st.Size, 32)
	assert.Positive(t, st.Hits)
}

func TestCacheIsBounded(t *testing.T) {
	for _, size := range []int{1, 7, 64, 100} {
		e := New(Options{CacheSize: size})
		for i := range size + 100 {
			mustRender(t, e, "{{ .uid }}"+strconv.Itoa(i))
		}
		st := e.Stats()
		assert.LessOrEqual(t, st.Size, size, "size %d", size)
		assert.Positive(t, st.Size)
		assert.Equal(t, uint64(size+100), st.Misses)
		assert.Zero(t, st.Hits)
	}

	e := New(Options{CacheSize: 16})
	for range 5 {
		mustRender(t, e, `{{ .uid }}-web`)
	}
	_ = e.Check(`{{ now }}`)
	_ = e.Check(`{{ now }}`) // errors are cached too
	assert.Equal(t, CacheStats{Hits: 5, Misses: 2, Size: 2}, e.Stats())
}

// A hot entry survives a stream of one-off templates (CLOCK second chance).
func TestCacheKeepsHotEntries(t *testing.T) {
	e := New(Options{CacheSize: 16})
	hot := `{{ .uid }}-hot`
	for i := range 1000 {
		mustRender(t, e, hot)
		mustRender(t, e, "{{ .uid }}"+strconv.Itoa(i))
	}
	st := e.Stats()
	assert.Equal(t, uint64(999), st.Hits) // every hot render after the first
}
