package render

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Keeping what is observed: the rule that protects tenants.
//
// Metacontroller deletes every observed child an answer leaves out. So an
// observed child is left out only when the template itself says it should
// go: its resource was removed from the template (or renamed) with
// deletionPolicy Delete, or the Tenant is finalized (finalize.go). Whenever
// the hook cannot say what a child should be, the child is kept — answered
// exactly as it was last applied, so that re-applying it changes nothing —
// and status says why:
//
//   - its resource failed to render, or one of its dependencies failed:
//     every object carrying the resource's id label is kept, and so is an
//     unlabelled one found where the resource's object would live
//     (observedFor, keepAllOf);
//   - its resource has creationPolicy Once: created once, never updated;
//   - a resource failed to render and the object has no id label: there is
//     no telling whether it was that resource's (leftovers);
//   - the TenantTemplate is missing or invalid: every child
//     (keepEverything);
//   - the answer would delete more than the template's deletion guard
//     allows: every child it would delete (guardDeletions);
//   - its resource left the template with deletionPolicy Retain: kept,
//     marked orphaned and anchored to its Namespace (leftovers).
//
// The registry applies the same rule to Tenants: an invalid registry spec
// (keepTenants), an outage of its row source (KeepForOutage) or the
// mass-deletion guard answers the observed Tenants as they are
// (ObservedTenant.Kept). A timeout or a panic is never an answer with fewer
// children: the hooks answer non-200 and Metacontroller keeps everything.
//
// keep is the one call that puts an observed child into a Tenant's answer
// unchanged; keptObject is what such a child looks like.
func (tc *tenantCtx) keep(o object.Obj, r *Resource) {
	tc.used[object.Key(o)] = true
	tc.children = append(tc.children, tc.preserve(o, r))
}

// observedFor finds the observed object r made: the one at the name it
// renders to; when it has no such object and failed to render (or is
// Once), the one carrying its id label (its name may have changed since:
// new template or row); when it failed to render, an unlabelled object
// (made by an earlier version or another tool) where its object would live.
// Objects found by id label or place are marked keptByID: another resource
// that renders to their name wins them.
func (tc *tenantCtx) observedFor(r *Resource, rendered object.Obj, rerr error) object.Obj {
	if rerr == nil {
		k := object.Key(rendered)
		if o := tc.observed[k]; o != nil {
			if tc.keptByID[k] {
				// An earlier resource kept this object because of its (stale)
				// id label; the resource that renders its name owns it.
				tc.dropChild(k)
			}
			return o
		}
	}
	if rerr != nil || r.CreationPolicy == CreationOnce {
		for _, o := range tc.byID[r.ID] {
			if k := object.Key(o); !tc.used[k] {
				tc.keptByID[k] = true
				return o
			}
		}
	}
	if rerr != nil {
		if k, ok := tc.keyOf(r); ok && !tc.used[k] && tc.observed[k] != nil {
			tc.keptByID[k] = true
			return tc.observed[k]
		}
	}
	return nil
}

// keepAllOf keeps, unchanged, every observed object that carries r's id and
// is not accounted for yet, and reports whether there was one. A resource
// that failed to render, or whose dependency failed, must not lose what it
// created before: neither a stale object of an earlier name that happens to
// sort first, nor the object of its old name while a rename is blocked.
func (tc *tenantCtx) keepAllOf(r *Resource) bool {
	kept := false
	for _, o := range tc.byID[r.ID] {
		if k := object.Key(o); !tc.used[k] {
			tc.keptByID[k] = true
			tc.keep(o, r)
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
	out := keptObject(o)
	if r != nil && r.DeletionPolicy == DeletionRetain {
		out = tc.withAnchor(out, r)
	}
	return out
}

// keptObject is an observed object as an answer keeps it (see keep).
func keptObject(o object.Obj) object.Obj {
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

// leftovers handles observed children no resource claimed: removed from the
// template or renamed. Delete children are left out (Metacontroller deletes
// them); Retain children stay, marked as orphaned.
func (tc *tenantCtx) leftovers() {
	keys := ordered.Keys(tc.observed)
	for _, k := range keys {
		if tc.used[k] {
			continue
		}
		o := tc.observed[k]
		if tc.renderFailed && object.String(o, "metadata", "labels", LabelResourceID) == "" {
			// Without our id label there is no telling which resource made
			// it, and one of them failed to render: keep it unchanged.
			tc.keep(o, nil)
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
	out := addAnchor(keptObject(o), tc.in.Namespace)
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
	for _, k := range ordered.Keys(tc.observed) {
		tc.keep(tc.observed[k], nil)
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
