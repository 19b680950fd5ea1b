package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
)

// expandManaged decodes the raw managedFields the fast decoder keeps, so its
// result can be compared with Decode's.
func expandManaged(t testing.TB, o map[string]any) {
	md, _ := o["metadata"].(map[string]any)
	if md == nil {
		return
	}
	raw, ok := md["managedFields"].(json.RawMessage)
	if !ok {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("raw managedFields %q does not decode: %v", raw, err)
	}
	md["managedFields"] = v
}

// checkFastDecode holds DecodeBytes (fast path) to encoding/json alone
// (decodeLenient, then the null-object check): the same error, or the same
// request (managedFields expanded) — except that a body with a key twice in
// one object, which encoding/json takes (the last wins), is rejected with a
// *DuplicateKeyError, and only such a body: hasDuplicateKey, written here on
// encoding/json's tokenizer, decides which bodies have one. It reports
// whether the fast path took the body.
func checkFastDecode(t testing.TB, body []byte) bool {
	var fast CompositeRequest
	ok := decodeCompositeFast(body, &fast)
	var ref CompositeRequest
	refErr := decodeLenient(body, &ref)
	lenientOK := refErr == nil
	if refErr == nil {
		if err := ref.validate(); err != nil {
			refErr = &DecodeError{Err: err}
		}
	}
	dup := lenientOK && hasDuplicateKey(body, true)
	var got CompositeRequest
	gotErr := DecodeBytes(body, &got)
	var dupErr *DuplicateKeyError
	switch {
	case dup:
		if !errors.As(gotErr, &dupErr) {
			t.Fatalf("a body with a duplicate key must be rejected with a DuplicateKeyError, got %v for %q", gotErr, body)
		}
		if ok {
			t.Fatalf("the fast path took a body with a duplicate key: %q", body)
		}
		return false
	case errors.As(gotErr, &dupErr):
		t.Fatalf("DuplicateKeyError %v for a body without a duplicate key (encoding/json: %v): %q", gotErr, refErr, body)
	}
	if (refErr == nil) != (gotErr == nil) || (refErr != nil && refErr.Error() != gotErr.Error()) {
		t.Fatalf("DecodeBytes error %v, encoding/json error %v, for %q", gotErr, refErr, body)
	}
	if refErr != nil {
		return ok
	}
	if !ok {
		return false
	}
	for _, r := range []*CompositeRequest{&fast, &got} {
		if r.Parent != nil {
			expandManaged(t, r.Parent)
		}
		for _, objs := range r.Children {
			for _, o := range objs {
				if o != nil {
					expandManaged(t, o)
				}
			}
		}
		for _, objs := range r.Related {
			for _, o := range objs {
				if md, _ := o["metadata"].(map[string]any); md != nil {
					if _, raw := md["managedFields"].(json.RawMessage); raw {
						t.Fatalf("related managedFields must be decoded: %q", body)
					}
				}
			}
		}
		// The parse cache keys of shared templates are the decoder's own
		// (shared_test.go checks their values); encoding/json has none.
		for k := range r.TemplateKeys {
			if r.Related[sharedTypeKey][k] == nil {
				t.Fatalf("a template key for %q, which is not a related template: %q", k, body)
			}
		}
		r.TemplateKeys = nil
		if !reflect.DeepEqual(*r, ref) {
			t.Fatalf("fast decoder differs from Decode for %q:\nfast %#v\nref  %#v", body, *r, ref)
		}
	}
	return true
}

// hasDuplicateKey is the tests' own answer to "does this JSON text have a
// key twice in one object?", on encoding/json's tokenizer (keys as
// encoding/json decodes them; the envelope's top-level keys
// case-insensitively, as encoding/json matches them to fields). It reads up
// to the first duplicate, so a text whose duplicate comes before a syntax
// error has one too (a streaming decoder meets it first).
func hasDuplicateKey(body []byte, envelope bool) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	// walk reads one value; found: a duplicate key in it.
	var walk func(top bool) (found bool, err error)
	walk = func(top bool) (bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return false, err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return false, err
				}
				k := kt.(string)
				if top && envelope {
					k = strings.ToLower(k)
				}
				if seen[k] {
					return true, nil
				}
				seen[k] = true
				if found, err := walk(false); found || err != nil {
					return found, err
				}
			}
		case json.Delim('['):
			for dec.More() {
				if found, err := walk(false); found || err != nil {
					return found, err
				}
			}
		default:
			return false, nil
		}
		_, err = dec.Token() // the closing delimiter
		return false, err
	}
	found, _ := walk(true)
	return found
}

func TestFastDecodeFixtures(t *testing.T) {
	n := 0
	for _, f := range fixtures.Names(t) {
		b := fixtures.Read(t, f)
		var probe map[string]json.RawMessage
		_ = json.Unmarshal(b, &probe)
		if probe["children"] == nil && probe["parent"] == nil {
			continue
		}
		if !checkFastDecode(t, b) {
			// Customize bodies (controller and parent only) are composite
			// envelopes too; every captured one must take the fast path.
			t.Errorf("%s: fast path not taken", f)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("only %d fixtures", n)
	}
}

var fastDecodeCases = []string{
	`{}`,
	`{"parent":null,"children":null,"related":null,"finalizing":null,"controller":null}`,
	`{"controller": {"a": [1, 2.5e3, -0.1E-2]} , "parent": {"kind": "Tenant", "metadata": {"name": "x", "managedFields": [{"f:a": {}}]}}}`,
	`{"parent": {"metadata": {"managedFields": null}}, "children": {"A.v1": {"ns/a": {"metadata": {"managedFields": "x"}}, "ns/b": null}, "B.v1": null}}`,
	`{"parent": {"s": "esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \ud800 \udc00x \u0000"}}`,
	"{\"parent\": {\"s\": \"invalid \xff\xfe utf8 \xc3\"}}",
	"{\"parent\": {\"s\": \"valid \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}}",
	`{"parent": {"l": [], "m": {}, "n": [[], {}, null, true, false, 0, -0, 1e5]}}`,
	`{"finalizing": true, "parent": {}}`,
	` {"parent": {}} ` + "\n",
	// Rejected or left to Decode:
	`{"parent": {"dup": 1, "dup": 2, "metadata": {"a": 1}, "metadata": {"b": 2}}}`,
	`{"children": {"A.v1": {"x": {}}, "A.v1": {"y": {}}}}`,
	`{"children": {"A.v1": {"x": {}, "x": {}}}}`,
	`{"children": {"A.v1": null, "A.v1": {"x": {}}}}`,
	`{"finalizing": false, "finalizing": true, "parent": {}}`,
	`{"finalizing": false, "Finalizing": true, "parent": {}}`,
	`{"parent": {"metadata": {"managedFields": [{"f:a": {}, "f:a": {}}]}}}`,
	`{"parent": {"metadata": {"managedFields": [{"f:a": {}, "f:\u0061": {}}]}}}`,
	"{\"parent\": {\"\xff\": 1, \"\xfe\": 2}}",
	`{"controller": {"a": 1, "a": 1}, "parent": {}}`,
	`{"parent": {"a": {"b": 1}, "c": {"b": 1}}}`,
	`{"parent": {}} {}`,
	`{"Parent": {}}`,
	`{"parent": {}, "parent": {}}`,
	`{"surprise": 1}`,
	`{"parent": []}`,
	`{"parent": {"a": 01}}`,
	`{"parent": {"a": "x` + "\x01" + `"}}`,
	`{"parent": {"a": "\x"}}`,
	`{"parent": {"a": "\u12"}}`,
	`{"parent": {"a": tru}}`,
	`{"parent": {"a": 1.}}`,
	`{"parent": {"a": -}}`,
	`{"parent": {"a": 1,}}`,
	`{"children": {"A.v1": []}}`,
	`{"children": {"A.v1": {"x": 1}}}`,
	`{"finalizing": 1}`,
	`null`,
	``,
	`{"parent": {"metadata": {"managedFields": [1,]}}}`,
	// TenantTemplates are shared between requests (shared.go): checkFastDecode
	// decodes each body twice, so the second decode reads them from the
	// cache, and bodies here repeat one template's bytes among other bytes.
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"spec": {"s": "}\"{[\\", "l": [1, {"a": null}]}}, "s/u": null}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"spec": {"s": "}\"{[\\", "l": [1, {"a": null}]}}}}, "parent": {}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"spec": {"s": "}\"{[\\", "l": [1, {"a": null}]}}, }}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"spec": {"s": "}\"{[\\", "l": [1, {"a": null}]}}}}} `,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"spec": {"s": "}\"{[\\", "l": [1, {"a": null}]}}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"spec": {"s": "}\"{[\\", "l": [1, {"a": null}]]}}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"a": 1, "a": 2}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"a": 1, "a": 2}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"a": "\u12"}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"a": "x` + "\x01" + `"}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"a": [}}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": []}}}`,
	`{"related": {"TenantTemplate.operator.kubernetes-tenants.org/v1": {"s/t": {"a": "\"}}}}`,
}

func TestFastDecodeCases(t *testing.T) {
	for _, c := range fastDecodeCases {
		checkFastDecode(t, []byte(c))
	}
	// The fast path must at least take the plain cases.
	for _, c := range fastDecodeCases[:10] {
		var r CompositeRequest
		if !decodeCompositeFast([]byte(c), &r) {
			t.Errorf("fast path not taken for %q", c)
		}
	}
	// Deep nesting is left to Decode.
	deep := `{"parent": {"a": ` + strings.Repeat("[", 9500) + strings.Repeat("]", 9500) + `}}`
	var r CompositeRequest
	if decodeCompositeFast([]byte(deep), &r) {
		t.Error("deep nesting must be left to Decode")
	}
}

// FuzzFastDecode compares the fast decoder with encoding/json.
func FuzzFastDecode(f *testing.F) {
	for _, c := range fastDecodeCases {
		f.Add([]byte(c))
	}
	if b, err := os.ReadFile(filepath.Join(fixtures.Dir(), "tenant-sync-round2-configmap-observed.json")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastDecode(t, body)
	})
}
