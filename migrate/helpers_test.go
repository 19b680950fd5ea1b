package migrate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// fixture is a v1.0 installation exactly as the recorded objects have it
// (testdata/v1, copied from a real v1.0.0 manager's cluster), plus the
// Namespace the objects live in.
type fixture struct {
	registry, template, tenant object.Obj
	children                   []object.Obj
	namespace                  object.Obj
}

func load(t *testing.T) *fixture {
	t.Helper()
	read := func(name string) []object.Obj {
		b, err := os.ReadFile(filepath.Join("testdata", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return objs
	}
	f := &fixture{
		registry: read("tenantregistry.json")[0],
		template: read("tenanttemplate.json")[0],
		tenant:   read("tenant.json")[0],
		children: read("children.json"),
		namespace: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": "uprace", "uid": "0b5e0a9e-0000-4000-8000-00000000a11a"}},
	}
	if len(f.children) != 6 {
		t.Fatalf("fixture has %d children, want 6", len(f.children))
	}
	return f
}

func (f *fixture) all() []object.Obj {
	out := []object.Obj{f.registry, f.template, f.tenant, f.namespace}
	return append(out, f.children...)
}

func (f *fixture) child(t *testing.T, kind string) object.Obj {
	t.Helper()
	for _, c := range f.children {
		if object.Kind(c) == kind {
			return c
		}
	}
	t.Fatalf("no %s in the fixture", kind)
	return nil
}

// applyPlan applies every item's JSON patch to the object of its uid, as
// `kubectl patch --type=json` would (all operations or none), and returns the
// patched objects (a copy; objs is not changed).
func applyPlan(t *testing.T, objs []object.Obj, p *Plan) []object.Obj {
	t.Helper()
	byUID := map[string]int{}
	out := make([]object.Obj, len(objs))
	for i, o := range objs {
		out[i] = object.DeepCopyMap(o)
		byUID[object.UID(o)] = i
	}
	for _, it := range p.Items {
		if len(it.Patch) == 0 {
			continue
		}
		i, ok := byUID[it.UID]
		if !ok {
			t.Fatalf("%s: patch for an object that is not in the input", it.Ref())
		}
		next, err := jsonPatch(out[i], it.Patch)
		if err != nil {
			t.Fatalf("%s: %v", it.Ref(), err)
		}
		out[i] = next
	}
	return out
}

// jsonPatch is RFC 6902 (add, remove, replace, test) over decoded JSON, enough
// for the plans' patches; it works on a copy and returns an error, leaving o
// unchanged, when any operation fails.
func jsonPatch(o object.Obj, ops []Op) (object.Obj, error) {
	doc := any(object.DeepCopyMap(o))
	for _, op := range ops {
		segs := strings.Split(op.Path, "/")[1:]
		for i, s := range segs {
			segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
		}
		parent, last := segs[:len(segs)-1], segs[len(segs)-1]
		cur := doc
		for _, s := range parent {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[s]
			case []any:
				n, err := strconv.Atoi(s)
				if err != nil || n >= len(c) {
					return nil, fmt.Errorf("%s: no such index", op.Path)
				}
				cur = c[n]
			default:
				return nil, fmt.Errorf("%s: path does not exist", op.Path)
			}
		}
		val := normalize(op.Value)
		switch c := cur.(type) {
		case map[string]any:
			old, present := c[last]
			switch op.Op {
			case "test":
				if !present || !equalJSON(normalize(old), val) {
					return nil, fmt.Errorf("test %s failed: have %v, want %v", op.Path, old, op.Value)
				}
			case "add":
				c[last] = val
			case "replace", "remove":
				if !present {
					return nil, fmt.Errorf("%s %s: no such member", op.Op, op.Path)
				}
				if op.Op == "remove" {
					delete(c, last)
				} else {
					c[last] = val
				}
			default:
				return nil, fmt.Errorf("unsupported op %q", op.Op)
			}
		case []any:
			if op.Op != "add" || last != "-" {
				return nil, fmt.Errorf("%s %s: only appending to a list is supported", op.Op, op.Path)
			}
			// Replace the list in its parent.
			grand := doc
			for _, s := range parent[:len(parent)-1] {
				grand = grand.(map[string]any)[s]
			}
			grand.(map[string]any)[parent[len(parent)-1]] = append(c, val)
		default:
			return nil, fmt.Errorf("%s: parent does not exist", op.Path)
		}
	}
	return doc.(map[string]any), nil
}

// normalize makes a value look as if decoded from JSON (UseNumber).
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	objs, err := Decode([]byte(`{"apiVersion":"v1","kind":"List","items":[{"v":` + string(b) + `}]}`))
	if err != nil {
		panic(err)
	}
	return objs[0]["v"]
}

func itemFor(t *testing.T, p *Plan, kind, name string) Item {
	t.Helper()
	for _, it := range p.Items {
		if it.Kind == kind && it.Name == name {
			return it
		}
	}
	t.Fatalf("no item for %s %s in the plan", kind, name)
	return Item{}
}

func problemsText(p *Plan) string {
	var b strings.Builder
	for _, pr := range p.Problems {
		b.WriteString(pr.String() + "\n")
	}
	return b.String()
}
