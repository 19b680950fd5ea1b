package tmpl

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// renderBoth renders src with and without substitute.
func renderBoth(e *Engine, src string, vars map[string]any) (fast, full string) {
	show := func(v any, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%T %v", v, v)
	}
	fast = show(e.Render(context.Background(), src, vars))
	noSubstitute.Store(true)
	full = show(e.Render(context.Background(), src, vars))
	noSubstitute.Store(false)
	return fast, full
}

// Templates of only text and top-level variables are rendered without
// text/template, with exactly its output or error.
func TestSubstituteMatchesTextTemplate(t *testing.T) {
	e := New(Options{MaxOutputBytes: 64})
	vars := map[string]any{
		"uid": "acme", "empty": "", "num": json.Number("3"), "nil": nil, "b": true,
		"list": []any{"a"}, "map": map[string]any{"k": "v"}, "nv": "<no value>", "half": "<no ",
		"long": strings.Repeat("x", 60), "utf": "é\xff",
	}
	srcs := []string{
		`{{ .uid }}`, `{{ .uid }}-web`, `a{{ .uid }}b{{ .uid }}c`, `{{- .uid -}}  -x`, "x\n{{ .uid }}\n",
		`{{ .empty }}`, `{{ .num }}`, `{{ .nil }}`, `{{ .b }}`, `{{ .list }}`, `{{ .map }}`, `{{ .missing }}`,
		`{{ .nv }}`, `{{ .half }}value>`, `{{ .long }}`, `{{ .long }}{{ .long }}`, `{{ .utf }}`,
		`{{ .map.k }}`, `{{ $.uid }}`, `{{ .uid | upper }}`, `{{ printf "%s" .uid }}`, `{{/* c */}}{{ .uid }}`,
		`{{ if .uid }}{{ .uid }}{{ end }}`, `{{ $x := .uid }}{{ $x }}`, `{{ .uid }}{{ end }}`,
		`{{ .uid | default "free" }}`, `{{ .empty | default "free" }}`, `{{ .empty | default "" }}`,
		`x-{{ .empty | default "<no value>" }}`, `{{ .missing | default "free" }}`, `{{ .nil | default "free" }}`,
		`{{ .num | default "free" }}`, `{{ .b | default "free" }}`, `{{ .list | default "free" }}`,
		`{{ .empty | default .uid }}`, `{{ .empty | default 1 }}`, `{{ .empty | default "a" | upper }}`,
		`{{ default "free" .empty }}`, `{{ .empty | default "a" "b" }}`, `{{ .long | default "x" }}{{ .long }}`,
		`{{ .empty | default "` + strings.Repeat("z", 70) + `" }}`,
	}
	for _, src := range srcs {
		fast, full := renderBoth(e, src, vars)
		if fast != full {
			t.Errorf("%q: substitute %q, text/template %q", src, fast, full)
		}
	}
	// A nil variables map.
	if fast, full := renderBoth(e, `{{ .uid }}`, nil); fast != full {
		t.Errorf("nil vars: substitute %q, text/template %q", fast, full)
	}
	// The fast path is taken where it applies.
	if c := e.compile(`{{ .uid }}-web`); c.simple == nil {
		t.Error("{{ .uid }}-web is not simple")
	}
	if c := e.compile(`{{ .planId | default "free" }}`); c.simple == nil {
		t.Error(`{{ .planId | default "free" }} is not simple`)
	}
	for _, src := range []string{`{{ .uid | upper }}`, `{{ $.uid }}`, `{{ .map.k }}`, `{{ if .uid }}x{{ end }}`, `{{ .uid | default .x }}`} {
		if c := e.compile(src); c.simple != nil {
			t.Errorf("%s taken as simple", src)
		}
	}
}

// FuzzSubstitute: on any template and variable value, substitute and
// text/template agree.
func FuzzSubstitute(f *testing.F) {
	for _, s := range [][2]string{
		{`{{ .uid }}-web`, "acme"}, {`{{ .v }}{{ .v }}`, "<no value>"}, {`x{{- .v -}} y`, "a"},
		{`{{ .v }}`, strings.Repeat("y", 100)}, {`{{ .nope }}`, ""}, {`{{.v}}<no {{.v}}`, "value>"},
		{`{{ .v | default "free" }}`, ""}, {`{{ .v | default "free" }}-x`, "pro"}, {`{{ .n | default "1" }}`, ""},
	} {
		f.Add(s[0], s[1])
	}
	e := New(Options{MaxOutputBytes: 64, CacheSize: 256})
	f.Fuzz(func(t *testing.T, src, v string) {
		vars := map[string]any{"uid": "acme", "v": v, "n": json.Number("1")}
		if fast, full := renderBoth(e, src, vars); fast != full {
			t.Fatalf("%q with v=%q: substitute %q, text/template %q", src, v, fast, full)
		}
	})
}

// Under a request's template memory budget, substitute charges what
// text/template's path charges and fails where it fails, with its error.
func TestSubstituteChargesTheBudget(t *testing.T) {
	e := New(Options{})
	vars := map[string]any{"uid": "acme", "empty": ""}
	for _, src := range []string{`{{ .uid }}-web`, `{{ .empty | default "free" }}`} {
		for _, limit := range []int64{1, memSlot, memSlot + 7, memSlot + 8, 1 << 20} {
			var results [2]string
			var used [2]int64
			for i, off := range []bool{false, true} {
				noSubstitute.Store(off)
				b := NewBudget(limit)
				v, err := e.Render(WithBudget(context.Background(), b), src, vars)
				results[i] = fmt.Sprint(v, err)
				used[i] = b.Used()
			}
			noSubstitute.Store(false)
			if results[0] != results[1] || used[0] != used[1] {
				t.Errorf("%s, budget %d: substitute %q (used %d), text/template %q (used %d)", src, limit, results[0], used[0], results[1], used[1])
			}
		}
	}
}
