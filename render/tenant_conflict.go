package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// withAnchor gives a Retain child a second, non-controller owner that lives
// longer than the Tenant: its Namespace. When the Tenant goes, the garbage
// collector only strips the Tenant's reference and the child survives
// (docs/policies.md).
func (tc *tenantCtx) withAnchor(o object.Obj, r *Resource) object.Obj {
	if r.DeletionPolicy != DeletionRetain {
		return o
	}
	return addAnchor(o, tc.in.Namespace)
}

func addAnchor(o object.Obj, ns object.Obj) object.Obj {
	if ns == nil || object.UID(ns) == "" || object.Namespace(o) == "" {
		return o
	}
	md := object.Map(o, "metadata")
	refs := object.NestedSlice(o, "metadata", "ownerReferences")
	for _, ref := range refs {
		if m, ok := ref.(map[string]any); ok && m["uid"] == object.UID(ns) {
			return o
		}
	}
	refs = append(refs, map[string]any{
		"apiVersion":         "v1",
		"kind":               "Namespace",
		"name":               object.Name(ns),
		"uid":                object.UID(ns),
		"controller":         false,
		"blockOwnerDeletion": false,
	})
	md["ownerReferences"] = refs
	return o
}

func hasAnchor(o object.Obj) bool {
	for _, ref := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := ref.(map[string]any); ok && m["kind"] == "Namespace" {
			if c, _ := m["controller"].(bool); !c {
				return true
			}
		}
	}
	return false
}

// existing finds a pre-existing object that is not this Tenant's child.
func (tc *tenantCtx) existing(rendered object.Obj) object.Obj {
	return findByKey(tc.in.Existing, object.Key(rendered))
}

// findByKey returns the object of objs with object.Key k, or nil.
func findByKey(objs []object.Obj, k string) object.Obj {
	for _, o := range objs {
		if object.Key(o) == k {
			return o
		}
	}
	return nil
}

// conflict applies the conflict policy to an object that exists before this
// Tenant created it. Nothing is ever taken from another controller; an
// unowned object is left alone under Stuck and adopted under Force (by the
// adoption decorator, which gives it this Tenant's selector label so that
// Metacontroller adopts it).
func conflict(r *Resource, other object.Obj) (reason, message string, emit bool) {
	what := fmt.Sprintf("%s %s already exists", object.Kind(other), object.ObjKey(object.Namespace(other), object.Name(other)))
	for _, ref := range object.NestedSlice(other, "metadata", "ownerReferences") {
		if m, ok := ref.(map[string]any); ok {
			if c, _ := m["controller"].(bool); c {
				return "Conflict", fmt.Sprintf("%s and is controlled by %s %s; tenant-hooks never takes over an object another controller owns (conflictPolicy %s)",
					what, object.String(m, "kind"), object.String(m, "name"), r.ConflictPolicy), false
			}
		}
	}
	managers := managersOf(other)
	if r.ConflictPolicy != ConflictForce {
		return "Conflict", fmt.Sprintf("%s and is not managed by this Tenant (field managers: %s); conflictPolicy Stuck leaves it alone: delete it, or set conflictPolicy: Force to take it over",
			what, managers), false
	}
	return "AwaitingAdoption", fmt.Sprintf("%s without an owner (field managers: %s); conflictPolicy Force: the adoption decorator labels it so that Metacontroller adopts it into this Tenant", what, managers), true
}

func managersOf(o object.Obj) string {
	seen := map[string]bool{}
	var out []string
	for _, mf := range object.NestedSlice(o, "metadata", "managedFields") {
		if m, ok := mf.(map[string]any); ok {
			if n := object.String(m, "manager"); n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		return "unknown"
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// orphanFor finds a retained object of an earlier Tenant that has the name
// this resource wants. Metacontroller ignores a create of an existing object,
// so without this the resource would wait for ever.
func (tc *tenantCtx) orphanFor(rendered object.Obj) object.Obj {
	return findByKey(tc.in.Related, object.Key(rendered))
}
