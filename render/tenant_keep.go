package render

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// keepAllOf keeps, unchanged, every observed object that carries r's id and
// is not accounted for yet, and reports whether there was one. A resource
// that failed to render, or whose dependency failed, must not lose what it
// created before: neither a stale object of an earlier name that happens to
// sort first, nor the object of its old name while a rename is blocked.
func (tc *tenantCtx) keepAllOf(r *Resource) bool {
	kept := false
	for _, o := range tc.byID[r.ID] {
		if k := object.Key(o); !tc.used[k] {
			tc.used[k] = true
			tc.keptByID[k] = true
			tc.children = append(tc.children, tc.preserve(o, r))
			kept = true
		}
	}
	return kept
}

// preserve returns an observed child as a desired object that changes
// nothing: exactly what was last applied when Metacontroller's default apply
// strategy recorded it, otherwise the observed object without server fields.
// Either way a re-apply is a no-op, which is what both a Once child and a
// child whose template failed need.
func (tc *tenantCtx) preserve(o object.Obj, r *Resource) object.Obj {
	out := preserveObserved(o)
	if r != nil && r.DeletionPolicy == DeletionRetain {
		out = tc.withAnchor(out, r)
	}
	return out
}

func preserveObserved(o object.Obj) object.Obj {
	var out object.Obj
	if s := object.String(o, "metadata", "annotations", object.LastAppliedAnnotation); s != "" {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&m) == nil && object.Kind(m) != "" {
			out = m
		}
	}
	if out == nil {
		out = object.StripServerFields(o)
	}
	// Keep deliberate non-controller owners (the Retain anchor); Metacontroller
	// adds its own controller reference again.
	var refs []any
	for _, ref := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := ref.(map[string]any); ok {
			if c, _ := m["controller"].(bool); !c {
				refs = append(refs, object.DeepCopy(m))
			}
		}
	}
	md := object.Map(out, "metadata")
	if md == nil {
		md = map[string]any{}
		out["metadata"] = md
	}
	delete(md, "ownerReferences")
	if len(refs) > 0 {
		md["ownerReferences"] = refs
	}
	delete(out, "status")
	return out
}

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

// leftovers handles observed children no resource claimed: removed from the
// template or renamed. Delete children are left out (Metacontroller deletes
// them); Retain children stay, marked as orphaned.
func (tc *tenantCtx) leftovers() {
	keys := sortedKeys(tc.observed)
	for _, k := range keys {
		if tc.used[k] {
			continue
		}
		o := tc.observed[k]
		if tc.renderFailed && object.String(o, "metadata", "labels", LabelResourceID) == "" {
			// Without our id label there is no telling which resource made
			// it, and one of them failed to render: keep it unchanged.
			tc.children = append(tc.children, preserveObserved(o))
			continue
		}
		if object.String(o, "metadata", "annotations", AnnotationDeletionPolicy) != DeletionRetain {
			continue
		}
		since := object.String(o, "metadata", "annotations", AnnotationOrphanedAt)
		if since == "" {
			since = tc.now.Format(time.RFC3339)
		}
		tc.children = append(tc.children, tc.markOrphan(o, since, "RemovedFromTemplate"))
		tc.resources = append(tc.resources, ResourceStatus{
			ID: object.String(o, "metadata", "labels", LabelResourceID), Kind: object.Kind(o),
			Name: object.Name(o), Namespace: object.Namespace(o), State: StateRetained, Reason: "RemovedFromTemplate",
			Message: "no longer in the template; kept because its deletionPolicy is Retain",
		})
	}
}

func (tc *tenantCtx) markOrphan(o object.Obj, since, reason string) object.Obj {
	out := addAnchor(preserveObserved(o), tc.in.Namespace)
	md := object.Map(out, "metadata")
	labels, _ := md["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		md["labels"] = labels
	}
	labels[LabelOrphaned] = "true"
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann[AnnotationOrphanedAt] = since
	ann[AnnotationOrphanedFrom] = object.ObjKey(tc.ns, tc.name)
	ann[AnnotationOrphanedReason] = reason
	return out
}

// keepEverything answers when the template cannot be used at all: every
// observed child is returned unchanged, so an unusable template never deletes
// anything, and the reason is in status.
func (tc *tenantCtx) keepEverything(err error) TenantOutput {
	for _, k := range sortedKeys(tc.observed) {
		tc.children = append(tc.children, preserveObserved(tc.observed[k]))
	}
	reason := "TemplateInvalid"
	if tc.in.Template == nil {
		reason = "TemplateNotFound"
	}
	out := tc.output()
	conds := []any{
		condition("Ready", "False", reason, err.Error()),
		condition("Progressing", "False", reason, "nothing can be rendered until the template is fixed; existing objects are kept unchanged"),
		condition("Degraded", "True", reason, err.Error()),
	}
	out.Status["conditions"] = conds
	return out
}

func condition(typ, status, reason, message string) map[string]any {
	c := map[string]any{"type": typ, "status": status, "reason": reason}
	if message != "" {
		c["message"] = message
	}
	return c
}

// output assembles the answer: children sorted by type and key (order is
// irrelevant to Metacontroller but byte-stable output is not), status.
func (tc *tenantCtx) output() TenantOutput {
	children := tc.children
	if children == nil {
		children = []object.Obj{}
	}
	sort.SliceStable(children, func(i, j int) bool { return object.Key(children[i]) < object.Key(children[j]) })

	var ready, failed, desired int
	var waiting, pending, retained int
	var failedIDs, waitingIDs []string
	res := make([]any, 0, len(tc.resources))
	for _, r := range tc.resources {
		switch r.State {
		case StateReady:
			ready++
		case StateFailed:
			failed++
			failedIDs = append(failedIDs, r.ID)
		case StateWaiting:
			waiting++
			waitingIDs = append(waitingIDs, r.ID)
		case StatePending:
			pending++
			waitingIDs = append(waitingIDs, r.ID)
		case StateRetained:
			retained++
		}
		if r.State != StateRetained {
			desired++
		}
		res = append(res, r.asMap())
	}
	status := map[string]any{
		"desiredResources": desired,
		"readyResources":   ready,
		"failedResources":  failed,
		"resources":        res,
	}
	if tc.tpl != nil {
		status["templateGeneration"] = tc.tpl.Generation
	}
	var conds []any
	switch {
	case desired == 0:
		conds = append(conds, condition("Ready", "True", "NoResources", "the template declares no resources"))
	case ready == desired:
		conds = append(conds, condition("Ready", "True", "AllResourcesReady", fmt.Sprintf("%d/%d resources ready", ready, desired)))
	case failed > 0:
		conds = append(conds, condition("Ready", "False", "ResourcesFailed", fmt.Sprintf("%d/%d resources ready; failed: %s", ready, desired, strings.Join(failedIDs, ", "))))
	default:
		conds = append(conds, condition("Ready", "False", "ResourcesNotReady", fmt.Sprintf("%d/%d resources ready; waiting: %s", ready, desired, strings.Join(waitingIDs, ", "))))
	}
	if waiting+pending > 0 {
		conds = append(conds, condition("Progressing", "True", "Converging", fmt.Sprintf("%d waiting for readiness, %d waiting for dependencies", waiting, pending)))
	} else {
		conds = append(conds, condition("Progressing", "False", "Converged", ""))
	}
	if failed > 0 {
		conds = append(conds, condition("Degraded", "True", "ResourceFailures", fmt.Sprintf("%d failed: %s", failed, strings.Join(failedIDs, ", "))))
	} else {
		conds = append(conds, condition("Degraded", "False", "Healthy", ""))
	}
	status["conditions"] = conds
	return TenantOutput{Children: children, Status: status, ResyncAfter: tc.resync, TimeDependent: tc.timeDep}
}
