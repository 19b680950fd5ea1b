package tmpl

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzRender feeds arbitrary template text and a variable value through
// Render. It must never panic or hang, and must respect the output limit.
func FuzzRender(f *testing.F) {
	for _, seed := range [][2]string{
		{`{{ .uid }}-web`, "acme"},
		{`{{ .v | asInt }}`, "42"},
		{`{{ .v | asJson }}`, `{"a":[1,2,{"b":null}]}`},
		{`{{ fromJson .v }}`, `{`},
		{`{{ toHost .v | trunc63 }}`, "https://[::1]:80/x"},
		{`{{ range until 100000000 }}x{{ end }}`, ""},
		{`{{ range 1000000000 }}{{ end }}`, ""},
		{`{{ $a := list .v }}{{ range until 50 }}{{ $a = list $a $a }}{{ end }}{{ $a }}`, "x"},
		{`{{ $s := .v }}{{ range until 60 }}{{ $s = printf "%s%s" $s $s }}{{ end }}`, "ab"},
		{`{{ $d := dict }}{{ $_ := set $d "x" $d }}{{ $d }}`, ""},
		{`{{ $_ := set . "v" "evil" }}`, ""},
		{`{{ regexReplaceAll "" .v .v }}`, "0123456789"},
		{`{{ printf "%*d" 999999 1 }}`, ""},
		{`{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}`, ""},
		{`{{ env "HOME" }}{{ now }}`, ""},
		{`{{ index . "nope" }}`, ""},
		{`{{ untilStep 0 9223372036854775807 4611686018427387904 }}`, ""},
		{`{{ seq -9223372036854775808 }}`, ""},
		{`{{ if .v }}{{ asBool .v }}{{ else }}x{{ asFloat .v }}{{ end }}`, "true"},
		{`{{ .v | b64dec | fromJson | toPrettyJson | indent 2 }}`, "eyJhIjoxfQ=="},
		{"{{ with $x := .v }}{{ range $i, $c := splitList \",\" $x }}{{ $i }}={{ $c | quote }}\n{{ end }}{{ end }}", "a,b,c"},
	} {
		f.Add(seed[0], seed[1])
	}
	e := New(Options{MaxOutputBytes: 16 << 10, MaxListLen: 1000, CacheSize: 256})
	f.Fuzz(func(t *testing.T, src, v string) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		out, err := e.Render(ctx, src, map[string]any{"uid": "acme", "v": v})
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("render took %v: %q", d, src)
		}
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			_ = e.Check(src)
			return
		}
		if s, ok := out.(string); ok && len(s) > 16<<10 && len(s) == len(src) {
			return // fast path: no "{{", returned as is
		} else if ok && len(s) > 16<<10 {
			t.Fatalf("output of %d bytes exceeds MaxOutputBytes", len(s))
		}
	})
}
