package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Rule is one related-resource rule of a customize answer, as Metacontroller
// holds it.
type Rule struct {
	APIVersion, Resource, Namespace string
	Names                           []string
	// LabelSelector is matchLabels; nil for a names/namespace rule.
	LabelSelector map[string]string
}

// Costs counts what Metacontroller's customize manager does for the Tenant
// controller, following docs/performance.md §"Related rules" (and
// Metacontroller v4.17.2, pkg/controller/common/customize/manager.go):
//
//   - findRelatedParents: every add/update/delete of an object of a kind
//     that any parent lists in a related rule evaluates every rule of every
//     parent of the controller;
//   - GetRelatedObjects: every sync lists, for each of the parent's rules,
//     every object of that kind in the rule's namespace (all namespaces for a
//     rule without one) and filters them.
type Costs struct {
	// ChildEvents are adds, updates and deletes of objects of child kinds.
	ChildEvents int
	// RuleEvaluations is findRelatedParents' work on those events;
	// SelectorEvaluations the part of it on label-selector rules (each one
	// re-parses the selector).
	RuleEvaluations, SelectorEvaluations int
	// StickyEvaluations counts as if an event handler stayed registered for
	// every kind any parent ever listed (Metacontroller starts a related
	// informer the first time a rule needs it and keeps it until the
	// controller is rebuilt): the upper bound until a restart.
	StickyEvaluations int
	// TenantSyncs, ListedObjects: tenant syncs, and GetRelatedObjects'
	// objects listed over them.
	TenantSyncs, ListedObjects int
	// CustomizeCalls are customize hook calls (one per Tenant generation).
	CustomizeCalls int
	// TenantWrites are Tenant creates and updates by the registry's answer;
	// SpecChanges those that changed a Tenant's spec.
	TenantWrites, SpecChanges int
}

// Sub returns c - d.
func (c Costs) Sub(d Costs) Costs {
	return Costs{
		ChildEvents: c.ChildEvents - d.ChildEvents, RuleEvaluations: c.RuleEvaluations - d.RuleEvaluations,
		SelectorEvaluations: c.SelectorEvaluations - d.SelectorEvaluations, StickyEvaluations: c.StickyEvaluations - d.StickyEvaluations,
		TenantSyncs: c.TenantSyncs - d.TenantSyncs, ListedObjects: c.ListedObjects - d.ListedObjects,
		CustomizeCalls: c.CustomizeCalls - d.CustomizeCalls, TenantWrites: c.TenantWrites - d.TenantWrites,
		SpecChanges: c.SpecChanges - d.SpecChanges,
	}
}

// World plays Metacontroller for one namespaced registry and all its
// Tenants in one namespace: each Step runs the registry sync (writing the
// desired Tenants), then every Tenant's customize (cached per generation, as
// Metacontroller does) and sync with its children and related objects, and
// applies the answers to one shared store of objects, which then settles
// (objects become ready). Statuses are written back after the answers, so
// the registry always sees the Tenants' statuses of the step before — the
// lag a real cluster has. Costs counts Metacontroller's related-rule work.
type World struct {
	Engine    *render.Engine
	Registry  object.Obj
	Templates []object.Obj
	Rows      datasource.Result
	// Namespace is the Tenants' Namespace (the anchor of retained children).
	Namespace object.Obj
	// ChildTypes are the Tenant controller's child types.
	ChildTypes []TypeRef
	// Customize is the Tenant customize hook.
	Customize func(tenant object.Obj) []Rule
	// Input builds the tenant sync input from a request's parent, children
	// and related maps (TypeKey → ObjKey → object), as the hook does.
	Input func(parent object.Obj, children, related map[string]map[string]object.Obj) render.TenantInput
	// FullClaims makes every desired Tenant claim every resource, whatever
	// its status says: the registry before claims were trimmed (with a
	// customize hook that answers accordingly, it measures the old cost).
	FullClaims bool

	Costs Costs

	objects map[string]object.Obj // child-kind objects, by object.Key
	tenants map[string]object.Obj
	rules   map[string]cached
	serial  int
	// listedKinds counts, per resource, the rules of all parents on it;
	// everListed remembers every resource any parent listed.
	listedKinds map[string]int
	everListed  map[string]bool
	totalRules  int
	selRules    int
	idx         index
	dirty       bool
}

// TypeRef is a child type.
type TypeRef struct{ APIVersion, Kind string }

type cached struct {
	generation int64
	rules      []Rule
}

// Init prepares an empty world.
func (w *World) Init() {
	w.objects = map[string]object.Obj{}
	w.tenants = map[string]object.Obj{}
	w.rules = map[string]cached{}
	w.listedKinds = map[string]int{}
	w.everListed = map[string]bool{}
}

// Tenant returns a Tenant by name (nil when absent).
func (w *World) Tenant(name string) object.Obj { return w.tenants[name] }

// TenantNames returns the Tenants' names, sorted.
func (w *World) TenantNames() []string { return ordered.Keys(w.tenants) }

// Objects returns the store's objects sorted by key.
func (w *World) Objects() []object.Obj {
	out := make([]object.Obj, 0, len(w.objects))
	for _, k := range ordered.Keys(w.objects) {
		out = append(out, w.objects[k])
	}
	return out
}

// Put adds (or replaces) an object as someone else would; Remove deletes
// one. Both are events.
func (w *World) Put(o object.Obj) {
	w.objects[object.Key(o)] = o
	w.event(object.Kind(o))
}

// Remove deletes an object as the API server would.
func (w *World) Remove(key string) {
	if o, ok := w.objects[key]; ok {
		delete(w.objects, key)
		w.event(object.Kind(o))
	}
}

// RulesOf returns a Tenant's cached customize answer.
func (w *World) RulesOf(name string) []Rule { return w.rules[name].rules }

func (w *World) isChildKind(kind string) bool {
	for _, t := range w.ChildTypes {
		if t.Kind == kind {
			return true
		}
	}
	return false
}

// event counts findRelatedParents for one add/update/delete.
func (w *World) event(kind string) {
	w.dirty = true
	if !w.isChildKind(kind) {
		return
	}
	w.Costs.ChildEvents++
	res := render.ResourceOf(kind)
	if w.listedKinds[res] > 0 {
		w.Costs.RuleEvaluations += w.totalRules
		w.Costs.SelectorEvaluations += w.selRules
	}
	if w.everListed[res] {
		w.Costs.StickyEvaluations += w.totalRules
	}
}

func (w *World) setRules(name string, c cached) {
	for _, r := range w.rules[name].rules {
		w.listedKinds[r.Resource]--
		w.totalRules--
		if r.LabelSelector != nil {
			w.selRules--
		}
	}
	if c.rules == nil {
		delete(w.rules, name)
	} else {
		w.rules[name] = c
	}
	for _, r := range c.rules {
		w.listedKinds[r.Resource]++
		w.everListed[r.Resource] = true
		w.totalRules++
		if r.LabelSelector != nil {
			w.selRules++
		}
	}
}

// Step runs one registry sync and one sync of every Tenant, then lets the
// cluster settle; changed reports whether anything was written.
func (w *World) Step(ctx context.Context) (changed bool, err error) {
	if w.registry(ctx) {
		changed = true
	}
	statuses := map[string]object.Obj{}
	for _, name := range ordered.Keys(w.tenants) {
		t := w.tenants[name]
		out, err := w.syncTenant(ctx, t)
		if err != nil {
			return changed, err
		}
		if object.Terminating(t) {
			if out.Finalized {
				w.collect(t)
				changed = true
				continue
			}
		}
		if w.apply(object.UID(t), out.Children) {
			changed = true
		}
		statuses[name] = out.Status
	}
	for name, st := range statuses {
		t := w.tenants[name]
		if t != nil && !reflect.DeepEqual(norm(t["status"]), norm(st)) {
			t["status"] = st
			changed = true
		}
	}
	if w.settle() {
		changed = true
	}
	return changed, nil
}

// Converge steps until nothing changes (at most max steps) and returns the
// steps taken.
func (w *World) Converge(ctx context.Context, max int) (int, error) {
	for i := 1; i <= max; i++ {
		changed, err := w.Step(ctx)
		if err != nil {
			return i, err
		}
		if !changed {
			return i, nil
		}
	}
	return max, fmt.Errorf("no fixpoint after %d steps", max)
}

// registry runs the registry sync and applies its Tenants.
func (w *World) registry(ctx context.Context) bool {
	in := render.RegistryInput{Registry: w.Registry, Templates: w.Templates, Rows: w.Rows}
	for _, n := range ordered.Keys(w.tenants) {
		in.Observed = append(in.Observed, render.ObserveTenant(w.tenants[n]))
	}
	out := w.Engine.SyncRegistry(ctx, in)
	changed := false
	want := map[string]bool{}
	for d := range out.Children {
		name := object.Name(d)
		if w.FullClaims {
			w.claimAll(ctx, d)
		}
		want[name] = true
		cur := w.tenants[name]
		if cur == nil {
			w.serial++
			t := object.DeepCopyMap(d)
			md := object.Map(t, "metadata")
			md["uid"] = "tenant-uid-" + strconv.Itoa(w.serial)
			md["generation"] = int64(1)
			w.tenants[name] = t
			w.Costs.TenantWrites++
			w.Costs.SpecChanges++
			changed = true
			continue
		}
		if object.Terminating(cur) {
			continue
		}
		specChanged := !reflect.DeepEqual(norm(cur["spec"]), norm(d["spec"]))
		metaChanged := !reflect.DeepEqual(norm(object.Nested(cur, "metadata", "labels")), norm(object.Nested(d, "metadata", "labels")))
		if !specChanged && !metaChanged {
			continue
		}
		w.Costs.TenantWrites++
		changed = true
		cur["spec"] = object.DeepCopy(d["spec"])
		object.Map(cur, "metadata")["labels"] = object.DeepCopy(object.Nested(d, "metadata", "labels"))
		if specChanged {
			w.Costs.SpecChanges++
			gen, _ := object.Int64(cur, "metadata", "generation")
			object.Map(cur, "metadata")["generation"] = gen + 1
		}
	}
	for name, t := range w.tenants {
		if !want[name] && !object.Terminating(t) {
			object.SetNested(t, "2026-11-25T13:00:00Z", "metadata", "deletionTimestamp")
			changed = true
		}
	}
	return changed
}

// DeleteTenant marks a Tenant deleted (its finalize runs in the next steps).
func (w *World) DeleteTenant(name string) {
	if t := w.tenants[name]; t != nil {
		object.SetNested(t, "2026-11-25T13:00:00Z", "metadata", "deletionTimestamp")
	}
}

// syncTenant runs customize (when the generation changed), gathers the
// children and related objects like Metacontroller and calls the sync hook.
func (w *World) syncTenant(ctx context.Context, t object.Obj) (render.TenantOutput, error) {
	name := object.Name(t)
	gen, _ := object.Int64(t, "metadata", "generation")
	if c, ok := w.rules[name]; !ok || c.generation != gen {
		w.Costs.CustomizeCalls++
		rules := w.Customize(t)
		if rules == nil {
			rules = []Rule{}
		}
		w.setRules(name, cached{generation: gen, rules: rules})
	}
	w.Costs.TenantSyncs++
	related := w.related(t, w.rules[name].rules)
	children := w.claim(t)
	in := w.Input(t, children, related)
	in.Finalizing = object.Terminating(t)
	return w.Engine.SyncTenant(ctx, in)
}

// related is GetRelatedObjects: every object of a rule's kind in its scope
// is listed (and counted), then filtered.
func (w *World) related(t object.Obj, rules []Rule) map[string]map[string]object.Obj {
	w.reindex()
	out := map[string]map[string]object.Obj{}
	add := func(o object.Obj) {
		tk := object.TypeKey(object.APIVersion(o), object.Kind(o))
		if out[tk] == nil {
			out[tk] = map[string]object.Obj{}
		}
		out[tk][object.ObjKey(object.Namespace(o), object.Name(o))] = o
	}
	for _, r := range rules {
		ns := r.Namespace
		if r.LabelSelector != nil {
			ns = object.Namespace(t)
		}
		var pool []object.Obj
		switch r.Resource {
		case "tenanttemplates":
			pool = w.Templates
		case "namespaces":
			if w.Namespace != nil {
				pool = []object.Obj{w.Namespace}
			}
		default:
			pool = w.idx.byRes[r.Resource]
		}
		for _, o := range pool {
			if ns != "" && object.Namespace(o) != ns {
				continue
			}
			w.Costs.ListedObjects++
			if matches(r, o) {
				add(o)
			}
		}
	}
	return out
}

// index is the store by resource and by controller, rebuilt after writes.
type index struct {
	byRes   map[string][]object.Obj
	byCtl   map[string][]string
	orphans []string
}

func (w *World) reindex() {
	if !w.dirty && w.idx.byRes != nil {
		return
	}
	w.idx = index{byRes: map[string][]object.Obj{}, byCtl: map[string][]string{}}
	for _, k := range ordered.Keys(w.objects) {
		o := w.objects[k]
		res := render.ResourceOf(object.Kind(o))
		w.idx.byRes[res] = append(w.idx.byRes[res], o)
		if ctl := controllerOf(o); ctl != "" {
			w.idx.byCtl[ctl] = append(w.idx.byCtl[ctl], k)
		} else {
			w.idx.orphans = append(w.idx.orphans, k)
		}
	}
	w.dirty = false
}

func matches(r Rule, o object.Obj) bool {
	if r.LabelSelector != nil {
		for k, v := range r.LabelSelector {
			if object.String(o, "metadata", "labels", k) != v {
				return false
			}
		}
		return true
	}
	if len(r.Names) == 0 {
		return true
	}
	for _, n := range r.Names {
		if n == object.Name(o) {
			return true
		}
	}
	return false
}

// claim adopts orphans carrying the Tenant's controller-uid label, releases
// owned objects that lost it, and returns the children by type.
func (w *World) claim(t object.Obj) map[string]map[string]object.Obj {
	w.reindex()
	uid := object.UID(t)
	out := map[string]map[string]object.Obj{}
	for _, ct := range w.ChildTypes {
		out[object.TypeKey(ct.APIVersion, ct.Kind)] = map[string]object.Obj{}
	}
	keep := func(o object.Obj) {
		tk := object.TypeKey(object.APIVersion(o), object.Kind(o))
		if out[tk] == nil {
			out[tk] = map[string]object.Obj{}
		}
		out[tk][object.ObjKey(object.Namespace(o), object.Name(o))] = o
	}
	owned := append([]string(nil), w.idx.byCtl[uid]...)
	orphans := append([]string(nil), w.idx.orphans...)
	for _, k := range owned {
		o := w.objects[k]
		if object.String(o, "metadata", "labels", render.LabelControllerUID) != uid {
			dropOwnerRef(o, uid)
			w.event(object.Kind(o))
			continue
		}
		keep(o)
	}
	for _, k := range orphans {
		o := w.objects[k]
		if object.Terminating(t) || object.String(o, "metadata", "labels", render.LabelControllerUID) != uid {
			continue
		}
		md := object.Map(o, "metadata")
		refs, _ := md["ownerReferences"].([]any)
		md["ownerReferences"] = append([]any{map[string]any{"controller": true, "uid": uid}}, refs...)
		w.event(object.Kind(o))
		keep(o)
	}
	return out
}

// apply reconciles one Tenant's answer like Metacontroller (InPlace).
func (w *World) apply(uid string, children []object.Obj) bool {
	c := &Cluster{ParentUID: uid, objects: w.objects}
	c.serial = w.serial
	before := c.Creates + c.Updates + c.Deletes
	c.onWrite = func(kind string) { w.event(kind) }
	c.Apply(children)
	w.serial = c.serial
	return c.Creates+c.Updates+c.Deletes != before
}

// collect plays the garbage collector for a finalized Tenant.
func (w *World) collect(t object.Obj) {
	c := &Cluster{ParentUID: object.UID(t), objects: w.objects}
	c.onWrite = func(kind string) { w.event(kind) }
	c.DeleteParent()
	delete(w.tenants, object.Name(t))
	w.setRules(object.Name(t), cached{})
}

// settle makes objects ready; a status change is an update event.
func (w *World) settle() bool {
	changed := false
	for _, k := range ordered.Keys(w.objects) {
		o := w.objects[k]
		before := norm(o["status"])
		MakeReady(o, false)
		if !reflect.DeepEqual(before, norm(o["status"])) {
			w.event(object.Kind(o))
			changed = true
		}
	}
	return changed
}

// SortRules orders rules for display.
func SortRules(rs []Rule) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Resource < rs[j].Resource })
}

// norm is v after a JSON round trip (numbers and maps compare by value).
func norm(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// claimAll writes a claim for every resource into a desired Tenant.
func (w *World) claimAll(ctx context.Context, d object.Obj) {
	for _, tpl := range w.Templates {
		if object.Name(tpl) != object.String(d, "spec", "templateRef") {
			continue
		}
		pt, err := w.Engine.Template(tpl)
		if err != nil {
			return
		}
		object.SetNested(d, w.Engine.Claims(ctx, pt, d, render.Namespaced), "spec", "claims")
	}
}
