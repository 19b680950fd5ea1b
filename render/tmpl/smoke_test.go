package tmpl

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	e := New(Options{})
	vars := map[string]any{"uid": "acme", "host": "acme.example.com", "replicas": "3", "activate": "true", "hostOrUrl": "https://acme.example.com"}
	for _, src := range []string{
		"{{ .uid }}-web", "{{ .plan }}", "{{ .replicas | asInt }}", "x{{ asInt 3 }}", "{{ env \"HOME\" }}",
		"{{ now }}", "{{ range until 100000000 }}x{{ end }}", "{{ range 1000000000 }}{{ end }}",
		"{{ index . \"nope\" }}", "{{ $_ := set . \"uid\" \"x\" }}", "{{ $d := dict }}{{ $_ := set $d \"x\" $d }}{{ $d }}",
		"{{ template \"x\" }}", "{{ define \"x\" }}a{{ end }}", "{{ readFile \"/etc/passwd\" }}",
		"{{ div 1 0 }}", "{{ .uid | upper | trunc63 }}", "{{ toHost .hostOrUrl }}", "{{ fromJson \"{\" }}",
		"{{ asJson \"{\\\"a\\\":1,\\\"b\\\":[1.5,true,null]}\" }}", "{{ $s := \"xx\" }}{{ range until 100 }}{{ $s = printf \"%s%s\" $s $s }}{{ end }}",
		"{{ date \"2006\" \"2020\" }}", "{{ date \"2006-01-02\" 0 }}", "{{ .uid | default \"x\" }}",
		"{{ seq 5 }}", "{{ \"a\" | repeat 10 }}",
		"line1\n{{ .missing }}",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		start := time.Now()
		v, err := e.Render(ctx, src, vars)
		cancel()
		fmt.Printf("%-60q -> %#v | err=%v (%v)\n", src, v, err, time.Since(start).Round(time.Microsecond))
	}
	fmt.Println(e.Stats())
}
