package wire

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tenant-hooks/tenant-hooks/render"
)

// TestSharedTemplates checks that a TenantTemplate is decoded once and its
// value shared by every request carrying the same bytes, whatever surrounds
// them, and that other bytes get a value of their own.
func TestSharedTemplates(t *testing.T) {
	tpl := `{"apiVersion": "operator.kubernetes-tenants.org/v1", "kind": "TenantTemplate", "metadata": {"name": "web", "namespace": "s"},` +
		` "spec": {"configMaps": [{"id": "c", "nameTemplate": "{{ .uid }}-c", "spec": {"data": {"k": "}\"{[\\"}}}]}}`
	body := func(parent, template string) []byte {
		return []byte(`{"parent": ` + parent + `, "related": {"Namespace.v1": {"s": {"metadata": {"name": "s"}}},` +
			` "TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/web": ` + template + `}}}`)
	}
	decode := func(b []byte) (CompositeRequest, map[string]any) {
		t.Helper()
		var r CompositeRequest
		if err := DecodeBytes(b, &r); err != nil {
			t.Fatal(err)
		}
		var ref CompositeRequest
		if err := decodeLenient(b, &ref); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Related, ref.Related) {
			t.Fatalf("related differ from encoding/json's:\n%#v\n%#v", r.Related, ref.Related)
		}
		return r, r.Related[sharedTypeKey]["s/web"]
	}
	ra, a := decode(body(`{"metadata": {"name": "a"}}`, tpl))
	rb, b := decode(body(`{"metadata": {"name": "b", "labels": {"x": "{"}}}`, tpl))
	for _, r := range []CompositeRequest{ra, rb} {
		if want := render.RawTemplateKey([]byte(tpl)); len(r.TemplateKeys) != 1 || r.TemplateKeys["s/web"] != want {
			t.Errorf("template keys %x, want s/web: %x", r.TemplateKeys, want)
		}
	}
	if reflect.ValueOf(a).UnsafePointer() != reflect.ValueOf(b).UnsafePointer() {
		t.Error("the same template bytes were decoded twice")
	}
	if ns := rb.Related["Namespace.v1"]["s"]; ns == nil {
		t.Error("the Namespace is missing")
	}
	_, c := decode(body(`{}`, strings.Replace(tpl, `"web"`, `"web2"`, 1)))
	if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(c).UnsafePointer() {
		t.Error("different template bytes share a value")
	}
	// Pretty-printed bytes are other bytes: decoded again, to an equal value.
	_, d := decode(body(`{}`, strings.ReplaceAll(tpl, ", ", ",\n  ")))
	if reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(d).UnsafePointer() || !reflect.DeepEqual(a, d) {
		t.Error("reformatted template bytes must decode again to an equal value")
	}
}

func TestObjectEnd(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int // -1: none
	}{
		{`{}`, 2},
		{`{} x`, 2},
		{`{"a": "}"}, 1`, 10},
		{`{"a": "\"}"}, 1`, 12},
		{`{"a": "\\"}, 1`, 11},
		{`{"a": [{}, "]"]}]`, 16},
		{`{"a": "}`, -1},
		{`{"a": {}`, -1},
		{`[{}]`, -1},
		{``, -1},
	} {
		end, ok := objectEnd([]byte(c.in), 0)
		if !ok {
			end = -1
		}
		if end != c.want {
			t.Errorf("objectEnd(%q) = %d, want %d", c.in, end, c.want)
		}
	}
}
