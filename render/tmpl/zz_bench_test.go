package tmpl

import (
	"context"
	"io"
	"testing"
	"text/template"
	"github.com/Masterminds/sprig/v3"
)

func BenchmarkZZRangeOurs(b *testing.B) {
	e := New(Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.RenderString(ctx, "{{ range until 1000 }}x{{ end }}", nil); err != nil { b.Fatal(err) }
	}
}
func BenchmarkZZRangePlain(b *testing.B) {
	t := template.Must(template.New("x").Funcs(sprig.TxtFuncMap()).Parse("{{ range until 1000 }}x{{ end }}"))
	for b.Loop() {
		if err := t.Execute(io.Discard, nil); err != nil { b.Fatal(err) }
	}
}
