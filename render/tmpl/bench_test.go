package tmpl

import (
	"bytes"
	"context"
	"testing"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

var benchVars = map[string]any{
	"uid": "acme", "hostOrUrl": "https://acme.example.com:8443", "host": "acme.example.com",
	"activate": "true", "replicas": "3", "planId": "gold", "registryId": "reg",
	"templateRef": "web", "tenant": "acme-web", "namespace": "tenants",
}

func BenchmarkRenderPlainString(b *testing.B) {
	e := New(Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Render(ctx, "nginx:1.27-alpine", benchVars); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderStringPlain(b *testing.B) {
	e := New(Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.RenderString(ctx, "nginx:1.27-alpine", benchVars); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderCached(b *testing.B) {
	e := New(Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Render(ctx, "{{ .uid }}-web", benchVars); err != nil {
			b.Fatal(err)
		}
	}
}

// A resource's worth of leaves: plain strings, simple substitutions, Sprig
// pipelines, a typed value, a default and a small loop.
var tenLeaves = []string{
	"apps/v1",
	"Deployment",
	"{{ .uid }}-web",
	"{{ .host | lower }}",
	"{{ .replicas | asInt }}",
	"{{ printf \"%s.%s.svc\" .uid .namespace }}",
	"{{ .planId | default \"free\" | upper }}",
	"{{ toHost .hostOrUrl | trunc63 }}",
	"{{ .uid | sha1sum | trunc 8 }}",
	"{{ range $i, $e := list \"a\" \"b\" \"c\" }}{{ if $i }},{{ end }}{{ $e }}{{ end }}",
}

func BenchmarkRenderTenLeaves(b *testing.B) {
	e := New(Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, src := range tenLeaves {
			if _, err := e.Render(ctx, src, benchVars); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkRenderTenLeavesParallel(b *testing.B) {
	e := New(Options{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, src := range tenLeaves {
				if _, err := e.Render(ctx, src, benchVars); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func BenchmarkCompileMiss(b *testing.B) {
	e := New(Options{CacheSize: 1})
	srcs := []string{"{{ .uid }}-a", "{{ .uid }}-b"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := e.Render(context.Background(), srcs[i%2], benchVars); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineTextTemplateTenLeaves is the same work with plain
// text/template and the unrestricted Sprig map, parsed in advance: the
// reference for this package's overhead.
func BenchmarkBaselineTextTemplateTenLeaves(b *testing.B) {
	fm := sprig.TxtFuncMap()
	fm["asInt"] = func(s string) string { return s }
	fm["toHost"], fm["trunc63"] = toHost, trunc63
	ts := make([]*template.Template, len(tenLeaves))
	for i, s := range tenLeaves {
		ts[i] = template.Must(template.New("x").Funcs(fm).Option("missingkey=error").Parse(s))
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		for _, t := range ts {
			buf.Reset()
			if err := t.Execute(&buf, benchVars); err != nil {
				b.Fatal(err)
			}
			_ = buf.String()
		}
	}
}
