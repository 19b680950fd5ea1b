package render

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The parse cache key must tell apart every two templates whose parses could
// differ, and give equal templates (however their maps were built) one key.
func TestTemplateKeyDistinguishes(t *testing.T) {
	tpl := func(spec any) object.Obj {
		return object.Obj{"metadata": map[string]any{"name": "web", "namespace": "saas", "generation": json.Number("1")}, "spec": spec}
	}
	specs := []any{
		nil,
		map[string]any{},
		[]any{},
		"",
		map[string]any{"a": "b"},
		map[string]any{"a": "b", "c": "d"},
		map[string]any{"ab": ""},
		map[string]any{"a": "b", "": ""},
		map[string]any{"a": []any{"b"}},
		map[string]any{"a": []any{"b", "c"}},
		map[string]any{"a": []any{"bc"}},
		map[string]any{"a": []any{[]any{}}},
		map[string]any{"a": json.Number("1")},
		map[string]any{"a": "1"},
		map[string]any{"a": json.Number("1.0")},
		map[string]any{"a": float64(1)},
		map[string]any{"a": int64(1)},
		map[string]any{"a": 1},
		map[string]any{"a": true},
		map[string]any{"a": false},
		map[string]any{"a": nil},
		map[string]any{"a": map[string]any{}},
		map[string]any{"a": map[string]any{"b": "c"}},
		map[string]any{"a": map[string]any{"b": nil}},
		map[string]any{"a": map[string]string{"b": "c"}}, // json.Marshal path
	}
	seen := map[[32]byte]int{}
	for i, s := range specs {
		k, err := templateKey(tpl(s))
		if err != nil {
			t.Fatalf("spec %d: %v", i, err)
		}
		if j, dup := seen[k]; dup {
			t.Fatalf("specs %d (%#v) and %d (%#v) share a key", j, specs[j], i, s)
		}
		seen[k] = i
	}
	// Name, namespace and generation are part of the key.
	base, _ := templateKey(tpl(map[string]any{"a": "b"}))
	for _, md := range []map[string]any{
		{"name": "web2", "namespace": "saas", "generation": json.Number("1")},
		{"name": "web", "namespace": "saas2", "generation": json.Number("1")},
		{"name": "web", "namespace": "saas", "generation": json.Number("2")},
		{"name": "websaas", "namespace": "", "generation": json.Number("1")},
	} {
		k, _ := templateKey(object.Obj{"metadata": md, "spec": map[string]any{"a": "b"}})
		if k == base {
			t.Fatalf("metadata %v shares the key of web/saas/1", md)
		}
	}
	// Equal content, maps built in another order: one key.
	m1 := map[string]any{}
	m2 := map[string]any{}
	for i := 0; i < 40; i++ {
		k := string(rune('a' + i%26))
		if i >= 26 {
			k += "x"
		}
		m1[k] = []any{json.Number("1"), k}
	}
	for i := 39; i >= 0; i-- {
		k := string(rune('a' + i%26))
		if i >= 26 {
			k += "x"
		}
		m2[k] = []any{json.Number("1"), k}
	}
	k1, _ := templateKey(tpl(m1))
	k2, _ := templateKey(tpl(m2))
	if k1 != k2 {
		t.Fatal("equal specs have different keys")
	}
	// What json.Marshal refuses is refused as before.
	if _, err := templateKey(tpl(map[string]any{"a": math.NaN()})); err == nil {
		t.Fatal("NaN accepted")
	}
}

// TestRawTemplateKey checks the key of a template's bytes: the parse found
// by it is the parse of the object, and it never equals a canonical key of
// the same object (its own key space), so an object keyed both ways is
// parsed twice, never confused.
func TestRawTemplateKey(t *testing.T) {
	raw := []byte(`{"metadata": {"name": "web", "namespace": "saas"}, "spec": {"configMaps": [{"id": "c", "nameTemplate": "{{ .uid }}-c", "spec": {"apiVersion": "v1", "kind": "ConfigMap"}}]}}`)
	var o object.Obj
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		t.Fatal(err)
	}
	e := New(Options{})
	key := RawTemplateKey(raw)
	canonical, err := templateKey(o)
	if err != nil {
		t.Fatal(err)
	}
	if key == canonical || key == (TemplateKey{}) {
		t.Fatalf("raw key %x collides with the canonical key or zero", key)
	}
	byRaw, err := e.templateOf(o, key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.templateOf(o, key)
	if err != nil || again != byRaw {
		t.Fatalf("the raw key did not find its parse again: %v", err)
	}
	byObject, err := e.templateOf(o, TemplateKey{})
	if err != nil {
		t.Fatal(err)
	}
	if byObject == byRaw || !reflect.DeepEqual(byObject, byRaw) {
		t.Fatal("the raw key's parse must be its own entry, equal to the object's")
	}
}
