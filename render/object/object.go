package object

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Obj is one Kubernetes object (or any JSON object inside one).
type Obj = map[string]any

// TypeKey is Metacontroller's key of an object type: "<Kind>.<apiVersion>",
// e.g. "ConfigMap.v1" or "Deployment.apps/v1".
func TypeKey(apiVersion, kind string) string { return kind + "." + apiVersion }

// SplitTypeKey is the inverse of TypeKey. Kinds never contain a dot, so the
// first dot separates the two.
func SplitTypeKey(key string) (apiVersion, kind string, ok bool) {
	i := strings.IndexByte(key, '.')
	if i <= 0 || i == len(key)-1 {
		return "", "", false
	}
	return key[i+1:], key[:i], true
}

// ObjKey is Metacontroller's v2 key of one object: "namespace/name" for a
// namespaced object and "name" for a cluster-scoped one.
func ObjKey(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// Key identifies an object among a parent's children:
// "<TypeKey>|<ObjKey>", e.g. "Deployment.apps/v1|acme/acme-web".
func Key(o Obj) string {
	return TypeKey(APIVersion(o), Kind(o)) + "|" + ObjKey(Namespace(o), Name(o))
}

// Group returns the API group of an apiVersion ("" for the core group).
func Group(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// Map returns o[key] as a map, or nil.
func Map(o Obj, key string) Obj {
	m, _ := o[key].(map[string]any)
	return m
}

// Nested walks maps along path and returns the value found, or nil.
func Nested(o Obj, path ...string) any {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// NestedMap is Nested for a map value.
func NestedMap(o Obj, path ...string) Obj {
	m, _ := Nested(o, path...).(map[string]any)
	return m
}

// NestedSlice is Nested for a list value.
func NestedSlice(o Obj, path ...string) []any {
	s, _ := Nested(o, path...).([]any)
	return s
}

// String returns o's value at path as a string, or "".
func String(o Obj, path ...string) string {
	s, _ := Nested(o, path...).(string)
	return s
}

// Int64 returns the value at path as an integer; ok is false when it is absent
// or not an integral number. JSON numbers may arrive as json.Number, float64 or
// int64 depending on who decoded them, so all three are accepted.
func Int64(o Obj, path ...string) (int64, bool) {
	return ToInt64(Nested(o, path...))
}

// ToInt64 converts a decoded JSON number to int64.
func ToInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		if err != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	case float64:
		if n != float64(int64(n)) {
			return 0, false
		}
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

// Bool returns the boolean at path; ok is false when absent or not a bool.
func Bool(o Obj, path ...string) (bool, bool) {
	b, ok := Nested(o, path...).(bool)
	return b, ok
}

// StringMap returns the string values of the map at path (labels,
// annotations). Non-string values are skipped.
func StringMap(o Obj, path ...string) map[string]string {
	m := NestedMap(o, path...)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// SetNested sets path to v, creating intermediate maps.
func SetNested(o Obj, v any, path ...string) {
	cur := o
	for _, p := range path[:len(path)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = v
}

// Name, Namespace, UID, APIVersion and Kind read the identifying fields.
func Name(o Obj) string       { return String(o, "metadata", "name") }
func Namespace(o Obj) string  { return String(o, "metadata", "namespace") }
func UID(o Obj) string        { return String(o, "metadata", "uid") }
func APIVersion(o Obj) string { return String(o, "apiVersion") }
func Kind(o Obj) string       { return String(o, "kind") }

// Generation returns metadata.generation (0 when absent).
func Generation(o Obj) int64 {
	g, _ := Int64(o, "metadata", "generation")
	return g
}

// Terminating reports whether the object has a deletionTimestamp.
func Terminating(o Obj) bool {
	return Nested(o, "metadata", "deletionTimestamp") != nil
}

// DeepCopy copies a JSON value. Scalars (string, bool, json.Number, float64,
// int64, nil) are immutable and shared.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return DeepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = DeepCopy(e)
		}
		return out
	default:
		return v
	}
}

// DeepCopyMap copies an object.
func DeepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, e := range m {
		out[k] = DeepCopy(e)
	}
	return out
}

// serverMetadata are the metadata fields the API server owns. Echoing them
// back in a desired object would either be ignored or, for resourceVersion,
// make every write a conflict.
var serverMetadata = []string{
	"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
	"deletionGracePeriodSeconds", "managedFields", "selfLink", "ownerReferences", "finalizers",
}

// IsServerMetadata reports whether the API server owns metadata field f.
func IsServerMetadata(f string) bool { return slices.Contains(serverMetadata, f) }

// LastAppliedAnnotation is written by Metacontroller's default apply strategy.
const LastAppliedAnnotation = "metacontroller.k8s.io/last-applied-configuration"

// StripServerFields returns a deep copy of an observed object reduced to what a
// hook may return as desired: no status, no server-owned metadata, no
// Metacontroller bookkeeping annotation and no ownerReferences (Metacontroller
// adds its own; callers add deliberate extra owners afterwards).
func StripServerFields(o Obj) Obj {
	out := DeepCopyMap(o)
	delete(out, "status")
	md := Map(out, "metadata")
	if md == nil {
		return out
	}
	for _, f := range serverMetadata {
		delete(md, f)
	}
	if ann := Map(md, "annotations"); ann != nil {
		delete(ann, LastAppliedAnnotation)
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	return out
}

// FormatInt formats an integer the way JSON would.
func FormatInt(i int64) string { return strconv.FormatInt(i, 10) }

// Marshal encodes v as compact JSON the way kubectl and the hooks write it:
// no HTML escaping (so "<" and "&" in a template stay readable in a patch or
// a rendered object) and no trailing newline.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
