package migrate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Op is one RFC 6902 JSON patch operation.
type Op struct {
	Op    string
	Path  string
	Value any
}

// MarshalJSON writes "value" for every operation but remove, which has none
// (an empty or false value is still a value).
func (o Op) MarshalJSON() ([]byte, error) {
	m := map[string]any{"op": o.Op, "path": o.Path}
	if o.Op != "remove" {
		m["value"] = o.Value
	}
	return object.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (o *Op) UnmarshalJSON(b []byte) error {
	var m struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	*o = Op{Op: m.Op, Path: m.Path, Value: m.Value}
	return nil
}

// pointer builds a JSON pointer (RFC 6901) from path segments.
func pointer(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(s))
	}
	return b.String()
}

// guard is the start of every patch: it applies only to the very object
// that was read (same uid), so a stale script cannot touch an object that was
// deleted and re-created meanwhile. A patch that writes a whole map or list
// the object did not have (labels, annotations, ownerReferences) would
// replace one added since, so it also needs the object unchanged since it was
// read (same resourceVersion); per-key operations and tested lists do not.
func guard(o object.Obj, ops []Op) []Op {
	g := []Op{{Op: "test", Path: "/metadata/uid", Value: object.UID(o)}}
	rv := object.String(o, "metadata", "resourceVersion")
	for _, op := range ops {
		switch op.Path {
		case "/metadata/labels", "/metadata/annotations", "/metadata/ownerReferences":
			if op.Op == "add" && rv != "" {
				return append(g, Op{Op: "test", Path: "/metadata/resourceVersion", Value: rv})
			}
		}
	}
	return g
}

// labelOps sets labels (key → value) on o, adding the map when o has none.
// Each key is its own operation so that labels someone else sets meanwhile
// are kept; setting a label to the value it has is a no-op.
func labelOps(o object.Obj, field string, set map[string]string) []Op {
	cur := object.StringMap(o, "metadata", field)
	keys := make([]string, 0, len(set))
	for k, v := range set {
		if have, ok := cur[k]; !ok || have != v {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	if object.Nested(o, "metadata", field) == nil {
		m := map[string]any{}
		for _, k := range keys {
			m[k] = set[k]
		}
		return []Op{{Op: "add", Path: pointer("metadata", field), Value: m}}
	}
	ops := make([]Op, 0, len(keys))
	for _, k := range keys {
		ops = append(ops, Op{Op: "add", Path: pointer("metadata", field, k), Value: set[k]})
	}
	return ops
}

// labelRemoveOps removes the given keys where present.
func labelRemoveOps(o object.Obj, field string, keys ...string) []Op {
	cur := object.StringMap(o, "metadata", field)
	var ops []Op
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := cur[k]; ok {
			ops = append(ops, Op{Op: "remove", Path: pointer("metadata", field, k)})
		}
	}
	if len(ops) > 0 && len(ops) == len(cur) {
		// Nothing left: the map goes too, as it was before it was added.
		return []Op{{Op: "remove", Path: pointer("metadata", field)}}
	}
	return ops
}

// finalizerOps replaces the finalizer list with want when it differs. The
// list is tested first: a finalizer someone added after the objects were
// read makes the patch fail rather than vanish.
func finalizerOps(o object.Obj, want []string) []Op {
	have := finalizers(o)
	if equalStrings(have, want) {
		return nil
	}
	var ops []Op
	if object.Nested(o, "metadata", "finalizers") != nil {
		ops = append(ops, Op{Op: "test", Path: "/metadata/finalizers", Value: toAny(have)})
	}
	if len(want) == 0 {
		return append(ops, Op{Op: "remove", Path: "/metadata/finalizers"})
	}
	return append(ops, Op{Op: "add", Path: "/metadata/finalizers", Value: toAny(want)})
}

func finalizers(o object.Obj) []string {
	var out []string
	for _, f := range object.NestedSlice(o, "metadata", "finalizers") {
		if s, ok := f.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// swapFinalizer returns fs without drop and with add (if not empty) in
// drop's place, or appended when drop was not there.
func swapFinalizer(fs []string, drop, add string) []string {
	out := make([]string, 0, len(fs)+1)
	placed := add == ""
	for _, f := range fs {
		switch f {
		case drop:
			if !placed {
				out = append(out, add)
				placed = true
			}
		case add:
			if !placed {
				out = append(out, add)
				placed = true
			}
		default:
			out = append(out, f)
		}
	}
	if !placed {
		out = append(out, add)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// resourceArg is the unambiguous kubectl resource name of an object's type:
// "configmaps" for the core group, "deployments.v1.apps" otherwise, so that a
// CRD with a clashing short name can never be patched by mistake.
func resourceArg(apiVersion, kind string) string {
	plural := strings.ToLower(kind)
	switch {
	case strings.HasSuffix(plural, "s"), strings.HasSuffix(plural, "x"):
		plural += "es"
	case strings.HasSuffix(plural, "y"):
		plural = strings.TrimSuffix(plural, "y") + "ies"
	default:
		plural += "s"
	}
	group, version := object.Group(apiVersion), apiVersion
	if group == "" {
		return plural
	}
	version = strings.TrimPrefix(apiVersion, group+"/")
	return plural + "." + version + "." + group
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// writeScript writes a bash script with one `kubectl patch` per item that has
// operations, in the plan's order.
func writeScript(w io.Writer, header string, items []Item) error {
	var b strings.Builder
	b.WriteString("#!/usr/bin/env bash\n")
	for _, l := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString("# " + l + "\n")
	}
	b.WriteString("set -euo pipefail\nKUBECTL=\"${KUBECTL:-kubectl}\"\n")
	b.WriteString("trap 'echo \"a patch was refused: an object changed since it was read (or this script already ran). Read the objects again and plan again; migrated objects are skipped.\" >&2' ERR\n")
	n := 0
	for _, it := range items {
		if len(it.Patch) == 0 {
			continue
		}
		p, err := object.Marshal(it.Patch)
		if err != nil {
			return fmt.Errorf("%s: %w", it.Ref(), err)
		}
		ns := ""
		if it.Namespace != "" {
			ns = " -n " + shellQuote(it.Namespace)
		}
		fmt.Fprintf(&b, "# %s: %s\n", it.Ref(), it.Detail)
		fmt.Fprintf(&b, "\"$KUBECTL\" patch %s %s%s --type=json -p %s\n",
			resourceArg(it.APIVersion, it.Kind), shellQuote(it.Name), ns, shellQuote(string(p)))
		n++
	}
	fmt.Fprintf(&b, "echo %s\n", shellQuote(fmt.Sprintf("%d objects patched", n)))
	_, err := io.WriteString(w, b.String())
	return err
}
