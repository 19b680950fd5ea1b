package migrate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// bookkeeping are the labels and annotations tenant-hooks and Metacontroller
// write on every child; Metacontroller's first round adds them, which changes
// metadata only (no rollout, no re-creation).
var bookkeepingLabels = map[string]bool{
	render.LabelControllerUID: true, render.LabelTenant: true, render.LabelTemplate: true,
	render.LabelResourceID: true, render.LabelRegistry: true, render.LabelTenantNamespace: true,
}

var bookkeepingAnnotations = map[string]bool{
	render.AnnotationDeletionPolicy: true, render.AnnotationLevel: true, render.AnnotationCreationPolicy: true,
	render.AnnotationTemplateSource: true, object.LastAppliedAnnotation: true,
}

// children plans a Tenant's children. t is the Tenant as Metacontroller will
// hold it after the migration (labels and spec patched). The real tenant sync
// is run on the children as Metacontroller will deliver them, and its answer
// must contain every one of them with a desired state that changes nothing
// but bookkeeping metadata.
func (p *planner) children(t object.Obj) {
	tuid, ns := object.UID(t), object.Namespace(t)
	var owned []object.Obj
	for _, o := range p.objs {
		if c := controllerRef(o); c != nil && object.String(c, "uid") == tuid {
			owned = append(owned, o)
		}
	}
	defer func() {
		// A child without a plan of its own is part of a problem.
		for _, o := range owned {
			if !p.done[object.UID(o)] {
				p.item(o, ActionBlocked, "not planned: see the problems", nil)
			}
		}
	}()
	var template, namespace object.Obj
	for _, o := range p.objs {
		switch {
		case object.APIVersion(o) == render.APIVersion && object.Kind(o) == "TenantTemplate" &&
			object.Namespace(o) == ns && object.Name(o) == object.String(t, "spec", "templateRef"):
			template = o
		case object.APIVersion(o) == "v1" && object.Kind(o) == "Namespace" && object.Name(o) == ns:
			namespace = o
		}
	}
	if template == nil {
		p.problem(ref(t), fmt.Sprintf("its TenantTemplate %q is not among the objects read", object.String(t, "spec", "templateRef")))
		return
	}
	tpl, err := p.e.Template(template)
	if err != nil {
		return // reported with the template
	}
	retain := false
	for _, r := range tpl.Resources {
		retain = retain || r.DeletionPolicy == render.DeletionRetain
	}
	if retain && namespace == nil {
		p.problem(ref(t), fmt.Sprintf("its template has Retain resources, whose second owner is the Namespace %q: add `kubectl get namespace %s -o json` to the input", ns, ns))
		return
	}

	// What Metacontroller will show the sync: the owned children of watched
	// types, labelled, plus the objects without owner this Tenant's
	// template names (adopted through the same label).
	in := render.TenantInput{Tenant: t, Template: template, ChildTypes: p.types, Namespace: namespace, Scope: render.Namespaced}
	observed := map[string]object.Obj{}
	for _, o := range owned {
		tk := object.TypeKey(object.APIVersion(o), object.Kind(o))
		if !p.types[tk] {
			p.problem(ref(o), fmt.Sprintf("is owned by %s but the Tenant controller does not watch %s: Metacontroller would neither see nor manage it; add the type to deploy/controllers/tenant-controller.yaml (docs/deploy.md) and pass --child-type %s", ref(t), tk, tk))
			continue
		}
		observed[object.Key(o)] = o
	}
	adopted := map[string]bool{}
	for _, c := range object.NestedSlice(t, "spec", "claims") {
		m, _ := c.(map[string]any)
		k := object.TypeKey(object.String(m, "apiVersion"), object.String(m, "kind")) + "|" + object.ObjKey(ns, object.String(m, "name"))
		o := p.byKey[k]
		if o == nil || observed[k] != nil {
			continue
		}
		if controllerRef(o) == nil && !p.done[object.UID(o)] && p.types[object.TypeKey(object.APIVersion(o), object.Kind(o))] && !object.Terminating(o) {
			observed[k] = o
			adopted[k] = true
			p.done[object.UID(o)] = true
			continue
		}
		in.Existing = append(in.Existing, o)
	}
	for _, k := range ordered.Keys(observed) {
		o := object.DeepCopyMap(observed[k])
		object.SetNested(o, tuid, "metadata", "labels", render.LabelControllerUID)
		in.Observed = append(in.Observed, o)
	}
	out, err := p.e.SyncTenant(p.ctx, in)
	if err != nil {
		p.problem(ref(t), fmt.Sprintf("the tenant sync failed: %v", err))
		return
	}
	for _, r := range object.NestedSlice(out.Status, "resources") {
		m, _ := r.(map[string]any)
		if object.String(m, "state") == render.StateFailed {
			p.problem(ref(t), fmt.Sprintf("resource %q (%s %s) would be Failed under tenant-hooks: %s: %s; fix it first so the Tenant can become Ready",
				object.String(m, "id"), object.String(m, "kind"), object.String(m, "name"), object.String(m, "reason"), object.String(m, "message")))
		}
	}
	desired := map[string]object.Obj{}
	for _, c := range out.Children {
		desired[object.Key(c)] = c
	}
	for _, k := range ordered.Keys(observed) {
		o := observed[k]
		d := desired[k]
		if d == nil {
			p.problem(ref(o), fmt.Sprintf("is owned by %s but its template does not produce it: Metacontroller would delete it. To keep it, remove its ownerReference (kubectl patch %s %s -n %s --type=json -p '[{\"op\":\"remove\",\"path\":\"/metadata/ownerReferences\"}]'); otherwise delete it; then read the objects again",
				ref(t), resourceArg(object.APIVersion(o), object.Kind(o)), object.Name(o), object.Namespace(o)))
			continue
		}
		if diffs := diff(d, o, nil); len(diffs) > 0 {
			msg := "tenant-hooks would change it"
			for _, d := range diffs {
				if strings.HasPrefix(d, "spec.template") || strings.HasPrefix(d, "spec.jobTemplate") {
					msg = "tenant-hooks would change its pod template, which rolls out new pods"
					break
				}
			}
			p.problem(ref(o), fmt.Sprintf("%s: %s (rendered vs current). Make the template produce the current object (see docs/migrating.md), then run again", msg, strings.Join(diffs, "; ")))
			continue
		}
		ops := labelOps(o, "labels", map[string]string{render.LabelControllerUID: tuid})
		what := []string{fmt.Sprintf("label %s=%s (selected by %s)", render.LabelControllerUID, tuid, ref(t))}
		if a := anchorOf(d); a != nil && !hasOwner(o, object.String(a, "uid")) {
			if object.Nested(o, "metadata", "ownerReferences") == nil {
				ops = append(ops, Op{Op: "add", Path: "/metadata/ownerReferences", Value: []any{a}})
			} else {
				ops = append(ops, Op{Op: "add", Path: "/metadata/ownerReferences/-", Value: a})
			}
			what = append(what, fmt.Sprintf("second owner Namespace %s (Retain: it survives its Tenant)", object.String(a, "name")))
		}
		action := ActionMigrate
		if adopted[k] {
			action = ActionAdopt
			what = append(what, "no owner today; the template produces it, so Metacontroller adopts it (as v1.0's next apply would have)")
		}
		what = append(what, "desired state equals the current one")
		p.item(o, action, strings.Join(what, "; "), ops)
	}
	for _, k := range ordered.Keys(desired) {
		if observed[k] != nil {
			continue
		}
		d := desired[k]
		if p.byKey[k] != nil {
			continue // an existing object of another owner: reported through the status above
		}
		p.items = append(p.items, Item{APIVersion: object.APIVersion(d), Kind: object.Kind(d), Namespace: object.Namespace(d), Name: object.Name(d),
			Action: ActionCreate, Detail: fmt.Sprintf("produced by %s's template but not found: Metacontroller will create it", ref(t))})
	}
}

func anchorOf(o object.Obj) map[string]any {
	for _, r := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := r.(map[string]any); ok && m["kind"] == "Namespace" {
			return m
		}
	}
	return nil
}

func hasOwner(o object.Obj, uid string) bool {
	for _, r := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := r.(map[string]any); ok && m["uid"] == uid {
			return true
		}
	}
	return false
}

// diff lists where applying desired onto current would change current: a
// desired map key current lacks or holds differently, a list of another
// length or with a differing item. Fields only current has are kept by an
// apply (server defaults, other managers' fields), so they are no change.
// Bookkeeping metadata and ownerReferences are not compared.
func diff(desired, current any, path []string) []string {
	at := strings.Join(path, ".")
	switch d := desired.(type) {
	case map[string]any:
		c, ok := current.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s instead of %s", at, show(desired), show(current))}
		}
		var out []string
		keys := ordered.Keys(d)
		for _, k := range keys {
			if len(path) == 1 && path[0] == "metadata" && (k == "ownerReferences" || object.IsServerMetadata(k)) {
				continue
			}
			if len(path) == 0 && k == "status" {
				continue
			}
			dv := d[k]
			if len(path) == 1 && path[0] == "metadata" && (k == "labels" || k == "annotations") {
				dv = withoutBookkeeping(k, dv)
			}
			cv, present := c[k]
			if !present {
				if isEmpty(dv) {
					continue // an empty map or list changes nothing
				}
				out = append(out, fmt.Sprintf("%s: %s would be added", strings.Join(append(path, k), "."), show(dv)))
				continue
			}
			out = append(out, diff(dv, cv, append(append([]string(nil), path...), k))...)
		}
		return out
	case []any:
		c, ok := current.([]any)
		if !ok || len(c) != len(d) {
			return []string{fmt.Sprintf("%s: %s instead of %s", at, show(desired), show(current))}
		}
		var out []string
		for i := range d {
			out = append(out, diff(d[i], c[i], append(append([]string(nil), path...), fmt.Sprintf("%d", i)))...)
		}
		return out
	default:
		if !equalJSON(desired, current) {
			return []string{fmt.Sprintf("%s: %s instead of %s", at, show(desired), show(current))}
		}
		return nil
	}
}

// withoutBookkeeping drops the labels or annotations tenant-hooks and
// Metacontroller write themselves from a desired map.
func withoutBookkeeping(field string, v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	skip := bookkeepingLabels
	if field == "annotations" {
		skip = bookkeepingAnnotations
	}
	out := map[string]any{}
	for k, x := range m {
		if !skip[k] {
			out[k] = x
		}
	}
	return out
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func show(v any) string {
	b, err := object.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "…"
	}
	return string(b)
}

// rest covers every object not planned with a registry or Tenant.
func (p *planner) rest() {
	for _, o := range p.objs {
		if p.done[object.UID(o)] {
			continue
		}
		c := controllerRef(o)
		switch {
		case object.APIVersion(o) == "v1" && object.Kind(o) == "Namespace":
			p.item(o, ActionUntouched, "a Namespace: second owner of its Retain children, otherwise not involved", nil)
		case c != nil && object.String(c, "apiVersion") == render.APIVersion && object.String(c, "kind") == "Tenant":
			if p.byUID[object.String(c, "uid")] == nil {
				p.problem(ref(o), fmt.Sprintf("is owned by Tenant %s (uid %s), which is not among the objects read: add the Tenants of namespace %q to the input",
					object.String(c, "name"), object.String(c, "uid"), object.Namespace(o)))
			}
			p.item(o, ActionBlocked, "not planned: see the problems", nil)
		case c != nil && object.String(c, "apiVersion") == render.APIVersion && object.String(c, "kind") == "TenantRegistry",
			object.APIVersion(o) == render.APIVersion && object.Kind(o) == "Tenant":
			p.item(o, ActionBlocked, "not planned: see the problems", nil)
		case c != nil:
			p.item(o, ActionUntouched, fmt.Sprintf("controlled by %s %s, not by a Tenant", object.String(c, "kind"), object.String(c, "name")), nil)
		default:
			p.item(o, ActionUntouched, "no owner, and no Tenant's template produces it: left as it is (a v1.0 Retain leftover stays retained)", nil)
		}
	}
	sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Object < p.problems[j].Object })
}
