package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Finalizers and annotations of Tenant Operator v1.0 (its reference §8) and
// Metacontroller's finalizer of the Tenant controller in deploy/controllers.
const (
	V1TenantFinalizer   = "tenant.operator.kubernetes-tenants.org/finalizer"
	V1RegistryFinalizer = "kubernetes-tenants.org/registry-finalizer"
	MCTenantFinalizer   = "metacontroller.io/compositecontroller-tenant-controller"

	V1AnnotationHostOrURL          = render.Prefix + "hostOrUrl"
	V1AnnotationActivate           = render.Prefix + "activate"
	V1AnnotationExtra              = render.Prefix + "extra"
	V1AnnotationTemplateGeneration = render.Prefix + "template-generation"
)

// keptMarker marks, inside the planner only, a Tenant the registry sync
// returned because it keeps an unwanted Tenant (never written anywhere).
const keptMarker = "migrate.tenant-hooks.internal/kept"

// Actions an Item can have.
const (
	// ActionMigrate: the object is patched (Patch) so its parent selects it.
	ActionMigrate = "migrate"
	// ActionUnchanged: the object is already as the plan wants it.
	ActionUnchanged = "unchanged"
	// ActionAdopt: an object without owner that a Tenant's template produces
	// gets the Tenant's controller-uid label, so Metacontroller adopts it
	// (v1.0 would have taken it over on its next apply as well).
	ActionAdopt = "adopt"
	// ActionCreate: a Tenant or child tenant-hooks wants that does not exist
	// yet; Metacontroller will create it (nothing existing is touched).
	ActionCreate = "create"
	// ActionUntouched: not managed by v1.0 or tenant-hooks (a Namespace, an
	// object without owner no template produces, an object another
	// controller owns); the plan leaves it exactly as it is.
	ActionUntouched = "untouched"
	// ActionBlocked: not planned because its Tenant or registry has a
	// problem (the plan is refused anyway).
	ActionBlocked = "blocked"
)

// Item is what happens to one object.
type Item struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	UID        string `json:"uid,omitempty"`
	Action     string `json:"action"`
	Detail     string `json:"detail"`
	Patch      []Op   `json:"patch,omitempty"`
}

// Ref is "Kind namespace/name".
func (it Item) Ref() string { return it.Kind + " " + object.ObjKey(it.Namespace, it.Name) }

// Problem is something the switch-over would lose or break; a plan with
// problems is refused.
type Problem struct {
	Object  string `json:"object"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Object + ": " + p.Message }

// Plan is the answer for a set of objects.
type Plan struct {
	Items    []Item    `json:"items"`
	Problems []Problem `json:"problems,omitempty"`
}

// Patches counts the items that carry a patch.
func (p *Plan) Patches() int {
	n := 0
	for _, it := range p.Items {
		if len(it.Patch) > 0 {
			n++
		}
	}
	return n
}

// DefaultChildTypes are the child types of deploy/controllers/tenant-controller.yaml
// (a test keeps the two in step): Metacontroller shows a Tenant no other kind.
var DefaultChildTypes = map[string]bool{
	"ServiceAccount.v1": true, "ConfigMap.v1": true, "Secret.v1": true, "Service.v1": true,
	"PersistentVolumeClaim.v1": true, "Deployment.apps/v1": true, "StatefulSet.apps/v1": true,
	"DaemonSet.apps/v1": true, "Job.batch/v1": true, "CronJob.batch/v1": true, "Ingress.networking.k8s.io/v1": true,
}

// Options tune Build.
type Options struct {
	// ChildTypes are the Tenant controller's child types; nil means
	// DefaultChildTypes.
	ChildTypes map[string]bool
}

type planner struct {
	ctx      context.Context
	e        *render.Engine
	types    map[string]bool
	objs     []object.Obj
	byUID    map[string]object.Obj
	byKey    map[string]object.Obj
	done     map[string]bool // uids with an item
	items    []Item
	problems []Problem
}

// Build plans the switch-over of objs (everything `kubectl get -o json`
// printed; duplicates by uid are merged).
func Build(ctx context.Context, objs []object.Obj, o Options) *Plan {
	p := &planner{ctx: ctx, e: render.New(render.Options{}), types: o.ChildTypes,
		byUID: map[string]object.Obj{}, byKey: map[string]object.Obj{}, done: map[string]bool{}}
	if p.types == nil {
		p.types = DefaultChildTypes
	}
	for _, obj := range objs {
		uid := object.UID(obj)
		if uid == "" {
			p.problem(ref(obj), "has no metadata.uid: pass objects as `kubectl get -o json` prints them")
			continue
		}
		if _, dup := p.byUID[uid]; dup {
			continue
		}
		p.byUID[uid] = obj
		p.byKey[object.Key(obj)] = obj
		p.objs = append(p.objs, obj)
	}
	sort.SliceStable(p.objs, func(i, j int) bool { return object.Key(p.objs[i]) < object.Key(p.objs[j]) })

	var registries, tenants []object.Obj
	for _, obj := range p.objs {
		if object.APIVersion(obj) != render.APIVersion {
			continue
		}
		switch object.Kind(obj) {
		case "TenantRegistry":
			registries = append(registries, obj)
		case "Tenant":
			tenants = append(tenants, obj)
		case "TenantTemplate":
			p.template(obj)
		case "ClusterTenantRegistry", "ClusterTenant":
			p.item(obj, ActionUntouched, "a tenant-hooks kind (v1.0 has no cluster-scoped kinds)", nil)
		}
	}
	byRegistry := map[string][]object.Obj{}
	regByName := map[string]object.Obj{}
	for _, r := range registries {
		regByName[object.ObjKey(object.Namespace(r), object.Name(r))] = r
	}
	for _, t := range tenants {
		ctl := controllerRef(t)
		switch {
		case ctl == nil:
			// v1.0 always sets one; Metacontroller released it when tenant-hooks'
			// controllers ran before this migration. The registry label says
			// whose it is, and the registry sync decides whether it wants it.
			r := regByName[object.ObjKey(object.Namespace(t), object.String(t, "metadata", "labels", render.LabelRegistry))]
			if r == nil {
				p.problem(ref(t), fmt.Sprintf("has no controller ownerReference and its label %s names no registry among the objects read: cannot tell which registry it belongs to", render.LabelRegistry))
				continue
			}
			byRegistry[object.UID(r)] = append(byRegistry[object.UID(r)], t)
		case object.String(ctl, "kind") != "TenantRegistry" || p.byUID[object.String(ctl, "uid")] == nil:
			p.problem(ref(t), fmt.Sprintf("its controller %s %s (uid %s) is not among the objects read: add `kubectl get tenantregistries -A -o json` to the input",
				object.String(ctl, "kind"), object.String(ctl, "name"), object.String(ctl, "uid")))
		default:
			u := object.String(ctl, "uid")
			byRegistry[u] = append(byRegistry[u], t)
		}
	}
	for _, r := range registries {
		p.registry(r, byRegistry[object.UID(r)])
	}
	p.rest()
	sort.SliceStable(p.items, func(i, j int) bool { return itemOrder(p.items[i]) < itemOrder(p.items[j]) })
	return &Plan{Items: p.items, Problems: p.problems}
}

// itemOrder puts children first, then Tenants, then registries: each object
// is labelled before its parent is touched.
func itemOrder(it Item) int {
	switch it.Kind {
	case "TenantRegistry", "TenantTemplate", "ClusterTenantRegistry":
		return 2
	case "Tenant", "ClusterTenant":
		return 1
	}
	return 0
}

func ref(o object.Obj) string {
	return object.Kind(o) + " " + object.ObjKey(object.Namespace(o), object.Name(o))
}

func (p *planner) problem(obj, msg string) {
	p.problems = append(p.problems, Problem{Object: obj, Message: msg})
}

func (p *planner) item(o object.Obj, action, detail string, ops []Op) {
	if len(ops) > 0 {
		ops = append(guard(o, ops), ops...)
	} else if action == ActionMigrate || action == ActionAdopt {
		action, detail = ActionUnchanged, "already migrated: "+detail
	}
	p.done[object.UID(o)] = true
	p.items = append(p.items, Item{APIVersion: object.APIVersion(o), Kind: object.Kind(o), Namespace: object.Namespace(o),
		Name: object.Name(o), UID: object.UID(o), Action: action, Detail: detail, Patch: ops})
}

func controllerRef(o object.Obj) map[string]any {
	for _, r := range object.NestedSlice(o, "metadata", "ownerReferences") {
		if m, ok := r.(map[string]any); ok {
			if c, _ := m["controller"].(bool); c {
				return m
			}
		}
	}
	return nil
}

func (p *planner) template(t object.Obj) {
	if _, err := p.e.Template(t); err != nil {
		p.problem(ref(t), fmt.Sprintf("tenant-hooks cannot load this template: %v", err))
		p.item(t, ActionBlocked, "not planned: see the problems", nil)
		return
	}
	p.item(t, ActionUntouched, "loads unchanged in tenant-hooks", nil)
}

// registry plans a registry and its Tenants. The Tenants tenant-hooks will
// want are computed by the real registry sync on the rows v1.0 recorded in its
// Tenants, so names, labels and spec are exactly what Metacontroller will
// apply on its first round.
func (p *planner) registry(r object.Obj, tenants []object.Obj) {
	var ops []Op
	fs := finalizers(r)
	want := swapFinalizer(fs, V1RegistryFinalizer, "")
	detail := "no finalizer to change"
	if !equalStrings(fs, want) {
		detail = "drops v1.0's finalizer " + V1RegistryFinalizer + " (no v1.0 manager is left to remove it; the registry controller has no finalize hook)"
		ops = append(ops, finalizerOps(r, want)...)
	}
	reg, err := render.ParseRegistry(r)
	if err != nil {
		p.problem(ref(r), fmt.Sprintf("tenant-hooks would not sync this registry (it would keep its Tenants but never update them): %v", err))
		p.item(r, ActionBlocked, "not planned: see the problems", nil)
		return
	}
	if object.Terminating(r) {
		p.problem(ref(r), "is being deleted: let v1.0 finish the deletion before switching over")
	}
	p.item(r, ActionMigrate, detail, ops)

	rows, ok := p.rows(reg, tenants)
	if !ok {
		return // its Tenants are listed as blocked
	}
	var templates []object.Obj
	for _, o := range p.objs {
		if object.APIVersion(o) == render.APIVersion && object.Kind(o) == "TenantTemplate" {
			templates = append(templates, o)
		}
	}
	// The v1.0 Tenants are observed, as they will be by the registry
	// controller: an observed Tenant keeps its name when names collide. One
	// the sync does not want but keeps (mass-deletion guard) comes back from
	// Kept and is marked, so it is not mistaken for a wanted one.
	obs := make([]render.ObservedTenant, 0, len(tenants))
	for _, t := range tenants {
		o := render.ObserveTenant(t)
		kept := o.Kept
		o.Kept = func() object.Obj {
			k := kept()
			object.SetNested(k, "true", "metadata", "annotations", keptMarker)
			return k
		}
		obs = append(obs, o)
	}
	out := p.e.SyncRegistry(p.ctx, render.RegistryInput{Registry: r, Templates: templates, Rows: rows, Observed: obs})
	desired := map[string]object.Obj{}
	byRow := map[[2]string]string{}
	for c := range out.Children {
		if object.String(c, "metadata", "annotations", keptMarker) != "" {
			continue
		}
		desired[object.Name(c)] = c
		byRow[[2]string{object.String(c, "spec", "uid"), object.String(c, "spec", "templateRef")}] = object.Name(c)
	}
	have := map[string]bool{}
	for _, t := range tenants {
		have[object.Name(t)] = true
		d := desired[object.Name(t)]
		if d == nil {
			if other, ok := byRow[[2]string{object.String(t, "spec", "uid"), object.String(t, "spec", "templateRef")}]; ok {
				p.problem(ref(t), fmt.Sprintf("tenant-hooks names the Tenant of uid %q and template %q %q, not %q: the registry sync would delete this Tenant and its children and create a new one",
					object.String(t, "spec", "uid"), object.String(t, "spec", "templateRef"), other, object.Name(t)))
			} else {
				p.problem(ref(t), fmt.Sprintf("the registry sync would not want this Tenant (its row %q is not active by tenant-hooks' rules, or no template %q of registry %q exists): it would be deleted with its children",
					object.String(t, "spec", "uid"), object.String(t, "spec", "templateRef"), reg.Name))
			}
			p.item(t, ActionBlocked, "not planned: see the problems", nil)
			continue
		}
		p.tenant(r, t, d)
	}
	for _, n := range ordered.Keys(desired) {
		if !have[n] {
			d := desired[n]
			p.items = append(p.items, Item{APIVersion: object.APIVersion(d), Kind: object.Kind(d), Namespace: object.Namespace(d), Name: n,
				Action: ActionCreate, Detail: "wanted by the registry sync but not found: Metacontroller will create it"})
		}
	}
}

// rows rebuilds the active rows of a registry from its Tenants: v1.0 keeps the
// row of every Tenant in its annotations (or, once migrated, tenant-hooks in
// spec.values).
func (p *planner) rows(reg *render.Registry, tenants []object.Obj) (datasource.Result, bool) {
	m := reg.Mapping
	byUID := map[string]datasource.RawRow{}
	from := map[string]string{}
	ok := true
	for _, t := range tenants {
		uid := object.String(t, "spec", "uid")
		if uid == "" {
			p.problem(ref(t), "has no spec.uid")
			ok = false
			continue
		}
		vals, err := rowValues(t, m)
		if err != nil {
			p.problem(ref(t), err.Error())
			ok = false
			continue
		}
		row := datasource.RawRow{}
		set := func(col, v string) bool {
			if col == "" {
				return true
			}
			if old, dup := row[col]; dup && old.S != v {
				return false
			}
			row[col] = datasource.Value{S: v, Valid: true}
			return true
		}
		good := set(m.UID, uid) && set(m.Activate, vals["activate"]) && set(m.HostOrURL, vals["hostOrUrl"])
		for _, v := range ordered.Keys(m.Extra) {
			good = good && set(m.Extra[v], vals[v])
		}
		if !good {
			p.problem(ref(t), "its values disagree for one column mapped to two variables: v1.0 has not converged; let it run, then read the objects again")
			ok = false
			continue
		}
		if prev, seen := byUID[uid]; seen {
			if !sameRow(prev, row) {
				p.problem(ref(t), fmt.Sprintf("its row values differ from those of %s (same uid %q): v1.0 has not converged; let it run, then read the objects again", from[uid], uid))
				ok = false
			}
			continue
		}
		byUID[uid] = row
		from[uid] = ref(t)
	}
	raw := make([]datasource.RawRow, 0, len(byUID))
	for _, u := range ordered.Keys(byUID) {
		raw = append(raw, byUID[u])
	}
	return datasource.Evaluate(m, raw), ok
}

// rowValues reads a Tenant's row: spec.values once tenant-hooks wrote them,
// v1.0's annotations before.
func rowValues(t object.Obj, m datasource.Mapping) (map[string]string, error) {
	out := map[string]string{}
	if vals := object.NestedMap(t, "spec", "values"); vals != nil {
		for k, v := range vals {
			s, _ := v.(string)
			out[k] = s
		}
		return out, nil
	}
	ann := object.StringMap(t, "metadata", "annotations")
	act, ok := ann[V1AnnotationActivate]
	if !ok {
		return nil, fmt.Errorf("has neither spec.values nor v1.0's annotation %s: not a Tenant v1.0 (or tenant-hooks) wrote", V1AnnotationActivate)
	}
	out["activate"] = act
	out["hostOrUrl"] = ann[V1AnnotationHostOrURL]
	if x := ann[V1AnnotationExtra]; x != "" {
		var extra map[string]any
		if err := json.Unmarshal([]byte(x), &extra); err != nil {
			return nil, fmt.Errorf("annotation %s is not a JSON object: %v", V1AnnotationExtra, err)
		}
		for k, v := range extra {
			s, isStr := v.(string)
			if !isStr && v != nil {
				b, _ := json.Marshal(v)
				s = string(b)
			}
			out[k] = s
		}
	}
	for v := range m.Extra {
		if _, ok := out[v]; !ok {
			return nil, fmt.Errorf("annotation %s has no value %q, which the registry maps: v1.0 has not converged since the mapping changed; let it run, then read the objects again", V1AnnotationExtra, v)
		}
	}
	return out, nil
}

func sameRow(a, b datasource.RawRow) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// tenant plans one Tenant (d is what the registry sync wants) and its
// children.
func (p *planner) tenant(r, t, d object.Obj) {
	if object.Terminating(t) {
		p.problem(ref(t), "is being deleted: let v1.0 finish the deletion (its finalizer handles the Retain children) before switching over")
		p.item(t, ActionBlocked, "not planned: see the problems", nil)
		return
	}
	labels := map[string]string{render.LabelControllerUID: object.UID(r)}
	for k, v := range object.StringMap(d, "metadata", "labels") {
		labels[k] = v
	}
	ops := labelOps(t, "labels", labels)
	var what []string
	if len(ops) > 0 {
		what = append(what, fmt.Sprintf("labels %s=%s (the registry's selector) and the registry sync's labels", render.LabelControllerUID, object.UID(r)))
	}
	spec := object.Map(d, "spec")
	if !equalJSON(object.Map(t, "spec"), spec) {
		ops = append(ops, Op{Op: "test", Path: "/spec/uid", Value: object.String(t, "spec", "uid")},
			Op{Op: "replace", Path: "/spec", Value: spec})
		what = append(what, "spec as the registry sync writes it (uid, templateRef, registryId, values, claims)")
	}
	fs := finalizers(t)
	want := swapFinalizer(fs, V1TenantFinalizer, MCTenantFinalizer)
	if fops := finalizerOps(t, want); len(fops) > 0 {
		ops = append(ops, fops...)
		what = append(what, fmt.Sprintf("finalizer %s replaced by %s (Metacontroller's finalize hook handles Retain children from now on)", V1TenantFinalizer, MCTenantFinalizer))
	}
	if len(what) == 0 {
		what = append(what, "selected by its registry")
	}
	action := ActionMigrate
	if controllerRef(t) == nil {
		action = ActionAdopt
		what = append(what, "no owner today (released by Metacontroller before the migration); Metacontroller adopts it into its registry")
	}
	p.item(t, action, strings.Join(what, "; "), ops)

	// The Tenant as Metacontroller will show it to the tenant sync.
	migrated := object.DeepCopyMap(t)
	md := object.Map(migrated, "metadata")
	ls := object.StringMap(t, "metadata", "labels")
	if ls == nil {
		ls = map[string]string{}
	}
	for k, v := range labels {
		ls[k] = v
	}
	lm := map[string]any{}
	for k, v := range ls {
		lm[k] = v
	}
	md["labels"] = lm
	migrated["spec"] = object.DeepCopyMap(spec)
	p.children(migrated)
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
