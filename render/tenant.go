package render

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/readiness"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// Scope says whether the parent is a namespaced Tenant or a ClusterTenant.
type Scope int

const (
	Namespaced Scope = iota
	Cluster
)

// TenantInput is everything a Tenant sync or finalize depends on.
type TenantInput struct {
	Tenant object.Obj
	// Template is the TenantTemplate Metacontroller delivered as a related
	// object; nil when it does not exist (deleted, or not yet in the cache).
	Template object.Obj
	// Observed are the children Metacontroller observed.
	Observed []object.Obj
	// ChildTypes are the TypeKeys ("Deployment.apps/v1") the controller
	// declares. Every declared type appears in a request's children map, so
	// the handler passes its keys. Nil disables the check (CLI).
	ChildTypes map[string]bool
	// Namespace is the Tenant's Namespace object (related), the long-lived
	// second owner of retained children. Nil for cluster scope or when absent.
	Namespace object.Obj
	// Related are further related objects: retained children of an earlier
	// Tenant of the same name (label kubernetes-tenants.org/orphaned=true).
	Related []object.Obj
	// Existing are objects with the names this Tenant claims (spec.claims)
	// that are not its children: the conflict policy decides about them.
	Existing   []object.Obj
	Finalizing bool
	Scope      Scope
}

// TenantOutput is the hook's answer.
type TenantOutput struct {
	Children    []object.Obj
	Status      object.Obj
	ResyncAfter time.Duration
	Finalized   bool
	// TimeDependent is true when the answer would change with the clock alone
	// (a readiness timeout is running); such answers must not be cached by ETag.
	TimeDependent bool
}

// Resource states shown in status.resources[].state.
const (
	StatePending  = "Pending"
	StateWaiting  = "Waiting"
	StateReady    = "Ready"
	StateFailed   = "Failed"
	StateRetained = "Retained"
	StateDeleting = "Deleting"
)

// ResourceStatus is one entry of status.resources.
type ResourceStatus struct {
	ID           string `json:"id"`
	Kind         string `json:"kind,omitempty"`
	Name         string `json:"name,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	State        string `json:"state"`
	Reason       string `json:"reason,omitempty"`
	Message      string `json:"message,omitempty"`
	WaitingSince string `json:"waitingSince,omitempty"`
}

// RenderError names everything a person needs to find a bad template or row.
type RenderError struct {
	Template   string
	ResourceID string
	UID        string
	Field      string
	Err        error
}

func (e *RenderError) Error() string {
	s := fmt.Sprintf("template %s, resource %q, uid %q", e.Template, e.ResourceID, e.UID)
	if e.Field != "" {
		s += ", " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *RenderError) Unwrap() error { return e.Err }

// tenantCtx is the per-call state of one tenant render.
type tenantCtx struct {
	e         *Engine
	ctx       context.Context
	in        *TenantInput
	tpl       *Template
	vars      map[string]any
	ns        string
	name      string
	uid       string
	now       time.Time
	prev      map[string]ResourceStatus
	observed  map[string]object.Obj   // TypeKey|ObjKey → object
	byID      map[string][]object.Obj // resource-id label → observed objects
	used      map[string]bool         // observed keys emitted or accounted for
	children  []object.Obj
	resources []ResourceStatus
	resync    time.Duration
	timeDep   bool
	stateMap  map[string]resState
	// forceNS places every rendered object in this namespace (namespace
	// defaults rendered by the namespace decorator).
	forceNS string
	// nsByName maps the names of Namespaces this template creates to their
	// resource ids, so their contents wait until the Namespace exists.
	nsByName map[string]string
	// keptByID are the keys of observed objects kept unchanged for a
	// resource whose id they carry but whose name they do not have.
	keptByID map[string]bool
	// renderFailed is set when a resource failed to render.
	renderFailed bool
}

// Vars builds the template variables of a tenant: the row values the
// registry copied into spec.values, plus the names upstream's docs promised.
func Vars(tenant object.Obj, t *Template) map[string]any {
	vars := map[string]any{}
	for k, v := range object.NestedMap(tenant, "spec", "values") {
		switch s := v.(type) {
		case string:
			vars[k] = s
		case nil:
			vars[k] = ""
		default:
			b, _ := json.Marshal(s)
			vars[k] = string(b)
		}
	}
	if uid := object.String(tenant, "spec", "uid"); uid != "" {
		vars["uid"] = uid
	}
	if _, ok := vars["uid"]; !ok {
		vars["uid"] = ""
	}
	if h, ok := vars["hostOrUrl"].(string); ok {
		if _, set := vars["host"]; !set {
			vars["host"] = tmpl.ToHost(h)
		}
	}
	vars["registryId"] = object.String(tenant, "spec", "registryId")
	vars["templateRef"] = object.String(tenant, "spec", "templateRef")
	vars["tenant"] = object.Name(tenant)
	vars["namespace"] = object.Namespace(tenant)
	if t != nil && vars["templateRef"] == "" {
		vars["templateRef"] = t.Name
	}
	return vars
}

// SyncTenant computes a Tenant's desired children and status. An error means
// the answer cannot be trusted at all (deadline exceeded) and must become a
// non-200; every per-resource problem is reported in status instead, with the
// observed object kept so nothing is deleted because of it.
func (e *Engine) SyncTenant(ctx context.Context, in TenantInput) (TenantOutput, error) {
	tc := &tenantCtx{
		e: e, ctx: ctx, in: &in,
		ns:       object.Namespace(in.Tenant),
		name:     object.Name(in.Tenant),
		uid:      object.String(in.Tenant, "spec", "uid"),
		now:      e.now().UTC().Truncate(time.Second),
		observed: map[string]object.Obj{},
		byID:     map[string][]object.Obj{},
		used:     map[string]bool{},
		keptByID: map[string]bool{},
		prev:     previousResources(in.Tenant),
	}
	for _, o := range in.Observed {
		k := object.Key(o)
		tc.observed[k] = o
		if id := object.String(o, "metadata", "labels", LabelResourceID); id != "" {
			tc.byID[id] = append(tc.byID[id], o)
		}
	}
	if in.Finalizing {
		return tc.finalize(), nil
	}

	var tplErr error
	if in.Template == nil {
		tplErr = fmt.Errorf("TenantTemplate %q not found in namespace %q", object.String(in.Tenant, "spec", "templateRef"), templateNamespace(in.Tenant))
	} else {
		tc.tpl, tplErr = e.Template(in.Template)
	}
	if tplErr != nil {
		return tc.keepEverything(tplErr), nil
	}
	tc.vars = Vars(in.Tenant, tc.tpl)
	if in.Scope == Cluster {
		tc.nsByName = map[string]string{}
		for _, r := range tc.tpl.Resources {
			if object.Kind(r.Spec) != "Namespace" {
				continue
			}
			if o, err := tc.render(r); err == nil {
				tc.nsByName[object.Name(o)] = r.ID
			}
		}
	}

	for _, id := range tc.tpl.Graph.Order() {
		if err := ctx.Err(); err != nil {
			return TenantOutput{}, fmt.Errorf("rendering tenant %s/%s: %w", tc.ns, tc.name, err)
		}
		tc.resource(tc.tpl.Resource(id))
	}
	if err := ctx.Err(); err != nil {
		return TenantOutput{}, fmt.Errorf("rendering tenant %s/%s: %w", tc.ns, tc.name, err)
	}
	tc.leftovers()
	return tc.output(), nil
}

func templateNamespace(tenant object.Obj) string {
	if ns := object.String(tenant, "spec", "templateNamespace"); ns != "" {
		return ns
	}
	return object.Namespace(tenant)
}

func previousResources(tenant object.Obj) map[string]ResourceStatus {
	out := map[string]ResourceStatus{}
	for _, r := range object.NestedSlice(tenant, "status", "resources") {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		rs := ResourceStatus{
			ID:           object.String(m, "id"),
			State:        object.String(m, "state"),
			WaitingSince: object.String(m, "waitingSince"),
		}
		if rs.ID != "" {
			out[rs.ID] = rs
		}
	}
	return out
}

// state of one resource during the walk, for its dependants.
type resState struct {
	satisfied bool
	failed    bool
}

func (tc *tenantCtx) resource(r *Resource) {
	st := ResourceStatus{ID: r.ID, Kind: object.Kind(r.Spec)}
	rendered, rerr := tc.render(r)
	var observed object.Obj
	if rerr == nil {
		st.Name, st.Namespace = object.Name(rendered), object.Namespace(rendered)
		k := object.Key(rendered)
		observed = tc.observed[k]
		if observed != nil && tc.keptByID[k] {
			// An earlier resource kept this object because of its (stale)
			// id label; the resource that renders its name owns it.
			tc.dropChild(k)
		}
	}
	if observed == nil && (rerr != nil || r.CreationPolicy == CreationOnce) {
		// The name may have changed (new template or row) or failed to render:
		// the object this resource created before still carries its id.
		for _, o := range tc.byID[r.ID] {
			if k := object.Key(o); !tc.used[k] {
				observed = o
				tc.keptByID[k] = true
				break
			}
		}
	}
	if observed == nil && rerr != nil {
		// An object without our id label (made by an earlier version or
		// another tool) is still found by the name it would get: a render
		// error must not delete it either.
		if k, ok := tc.keyOf(r); ok && !tc.used[k] && tc.observed[k] != nil {
			observed = tc.observed[k]
			tc.keptByID[k] = true // kept, not rendered: another resource of that name wins
		}
	}
	if observed != nil {
		tc.used[object.Key(observed)] = true
		if st.Name == "" || r.CreationPolicy == CreationOnce {
			// Status names the object actually kept (its kind too: the
			// template may have changed the resource's kind since).
			st.Kind, st.Name, st.Namespace = object.Kind(observed), object.Name(observed), object.Namespace(observed)
		}
	}

	if rerr != nil {
		tc.renderFailed = true
		st.State, st.Reason, st.Message = StateFailed, "RenderError", rerr.Error()
		if observed != nil {
			tc.children = append(tc.children, tc.preserve(observed, r))
			st.Message += " (keeping the existing object unchanged)"
		}
		tc.keepAllOf(r)
		tc.finish(r, st, resState{failed: true})
		return
	}

	deps := tc.dependencies(r)
	if observed == nil && deps.satisfied {
		// Metacontroller has no ordering of its own: contents of a Namespace
		// this template creates are emitted once the Namespace exists, or
		// their creation would fail until a retry.
		if nsID, ok := tc.nsByName[st.Namespace]; ok {
			if tc.observed[object.TypeKey("v1", "Namespace")+"|"+st.Namespace] == nil {
				deps = depState{message: fmt.Sprintf("waiting for Namespace %q (resource %q) to exist", st.Namespace, nsID)}
			}
		}
	}
	if observed == nil && !deps.satisfied {
		st.State = StatePending
		if deps.failed {
			st.Reason, st.Message = "DependencyFailed", deps.message
			if tc.keepAllOf(r) {
				st.Message += " (keeping the existing object unchanged)"
			}
		} else {
			st.Reason, st.Message = "WaitingForDependencies", deps.message
		}
		tc.finish(r, st, resState{failed: deps.failed})
		return
	}
	if observed != nil && r.CreationPolicy == CreationOnce {
		tc.children = append(tc.children, tc.preserve(observed, r))
	} else {
		tc.children = append(tc.children, tc.withAnchor(rendered, r))
	}

	var rs resState
	switch {
	case observed == nil:
		st.State, st.Reason, st.Message = StateWaiting, "Creating", "waiting for the object to appear"
		if other := tc.existing(rendered); other != nil && tc.orphanFor(rendered) == nil {
			reason, msg, emit := conflict(r, other)
			st.Reason, st.Message = reason, msg
			if !emit {
				// Metacontroller would silently ignore the create; say why.
				tc.children = tc.children[:len(tc.children)-1]
				st.State = StateFailed
				tc.finish(r, st, resState{failed: true})
				return
			}
		}
		if orphan := tc.orphanFor(rendered); orphan != nil {
			st.State, st.Reason = StateFailed, "RetainedObjectNotAdopted"
			st.Message = fmt.Sprintf("%s %s was retained from an earlier Tenant %q and is not managed by this one; "+
				"adopt it with: kubectl label %s %s -n %s %s=%s %s-",
				object.Kind(orphan), object.Name(orphan), tc.name, strings.ToLower(object.Kind(orphan)), object.Name(orphan),
				object.Namespace(orphan), LabelControllerUID, object.UID(tc.in.Tenant), LabelOrphaned)
			tc.finish(r, st, resState{failed: true})
			return
		}
		rs.satisfied = !r.WaitForReady
	case !r.WaitForReady:
		st.State, st.Reason = StateReady, "Exists"
		rs.satisfied = true
	default:
		res := readiness.Judge(observed)
		switch res.State {
		case readiness.Ready:
			st.State, st.Reason = StateReady, res.Reason
			rs.satisfied = true
		case readiness.Failed:
			st.State, st.Reason, st.Message = StateFailed, res.Reason, res.Message
			rs.failed = true
		default:
			st.State, st.Reason, st.Message = StateWaiting, res.Reason, res.Message
		}
	}
	if st.State == StateWaiting && r.WaitForReady {
		tc.timeout(r, &st, &rs)
	}
	tc.finish(r, st, rs)
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
			tc.used[k] = true
			tc.keptByID[k] = true
			tc.children = append(tc.children, tc.preserve(o, r))
			kept = true
		}
	}
	return kept
}

// keyOf is the key r's object gets, worked out from its name and namespace
// alone for when the rest of it fails to render; ok is false when those
// cannot be rendered either.
func (tc *tenantCtx) keyOf(r *Resource) (string, bool) {
	str := func(src string) (string, bool) {
		s, err := tc.e.T.RenderString(tc.ctx, src, tc.vars)
		return s, err == nil && s != ""
	}
	kind, apiVersion := object.Kind(r.Spec), object.APIVersion(r.Spec)
	nameSrc := r.NameTemplate
	if nameSrc == "" {
		nameSrc = object.String(r.Spec, "metadata", "name")
	}
	name, ok := str(nameSrc)
	if !ok {
		return "", false
	}
	ns := ""
	switch {
	case tc.forceNS != "":
		ns = tc.forceNS
	case clusterScoped[kind]:
	case tc.in.Scope == Namespaced:
		ns = tc.ns
	case r.TargetNamespace != "":
		if ns, ok = str(r.TargetNamespace); !ok {
			return "", false
		}
	default:
		if ns, ok = str(object.String(r.Spec, "metadata", "namespace")); !ok {
			return "", false
		}
	}
	return object.TypeKey(apiVersion, kind) + "|" + object.ObjKey(ns, name), true
}

// dropChild removes the child with key k from the answer.
func (tc *tenantCtx) dropChild(k string) {
	delete(tc.keptByID, k)
	tc.children = slices.DeleteFunc(tc.children, func(c object.Obj) bool { return object.Key(c) == k })
}

// timeout starts or checks the readiness budget of a waiting resource. The
// start time lives in the Tenant's status, the hook's only memory.
func (tc *tenantCtx) timeout(r *Resource, st *ResourceStatus, rs *resState) {
	since := tc.now
	if p, ok := tc.prev[r.ID]; ok && p.WaitingSince != "" {
		if t, err := time.Parse(time.RFC3339, p.WaitingSince); err == nil {
			since = t
		}
	}
	st.WaitingSince = since.Format(time.RFC3339)
	left := since.Add(r.Timeout).Sub(tc.now)
	if left <= 0 {
		st.State, st.Reason = StateFailed, "Timeout"
		st.Message = fmt.Sprintf("not ready after %s (timeoutSeconds %d): %s", tc.now.Sub(since), int(r.Timeout/time.Second), st.Message)
		rs.failed = true
		return
	}
	tc.timeDep = true
	if wake := left + time.Second; tc.resync == 0 || wake < tc.resync {
		tc.resync = wake
	}
}

type depState struct {
	satisfied bool
	failed    bool
	message   string
}

func (tc *tenantCtx) dependencies(r *Resource) depState {
	var waiting, failed []string
	for _, d := range tc.tpl.Graph.DependsOn(r.ID) {
		s := tc.states()[d]
		switch {
		case s.failed:
			failed = append(failed, d)
		case !s.satisfied:
			waiting = append(waiting, d)
		}
	}
	switch {
	case len(failed) > 0:
		return depState{failed: true, message: "blocked by failed dependencies: " + strings.Join(failed, ", ")}
	case len(waiting) > 0:
		return depState{message: "waiting for dependencies to be ready: " + strings.Join(waiting, ", ")}
	}
	return depState{satisfied: true}
}

// states is filled by finish as the walk goes in dependency order.
func (tc *tenantCtx) states() map[string]resState {
	if tc.stateMap == nil {
		tc.stateMap = map[string]resState{}
	}
	return tc.stateMap
}

func (tc *tenantCtx) finish(r *Resource, st ResourceStatus, rs resState) {
	if st.State == StateFailed {
		rs.failed = true
	}
	tc.states()[r.ID] = rs
	tc.resources = append(tc.resources, st)
}

// render produces one resource's desired object.
func (tc *tenantCtx) render(r *Resource) (object.Obj, error) {
	fail := func(field string, err error) (object.Obj, error) {
		return nil, &RenderError{Template: object.ObjKey(tc.tpl.Namespace, tc.tpl.Name), ResourceID: r.ID, UID: tc.uid, Field: field, Err: err}
	}
	v, err := tc.walk(r.Spec, "spec")
	if err != nil {
		return fail("", err)
	}
	o, _ := v.(map[string]any)
	md, _ := o["metadata"].(map[string]any)
	if md == nil {
		if _, present := o["metadata"]; present {
			return fail("spec.metadata", fmt.Errorf("must be an object"))
		}
		md = map[string]any{}
		o["metadata"] = md
	}
	kind, apiVersion := object.Kind(o), object.APIVersion(o)
	if r.NameTemplate != "" {
		name, err := tc.e.T.RenderString(tc.ctx, r.NameTemplate, tc.vars)
		if err != nil {
			return fail("nameTemplate", err)
		}
		md["name"] = name
	}
	name, _ := md["name"].(string)
	if name == "" {
		return fail("name", fmt.Errorf("the rendered name is empty (set nameTemplate or spec.metadata.name)"))
	}
	if err := names.ValidateName(kind, name); err != nil {
		return fail("name", err)
	}

	labels, err := tc.stringMap(md, "labels", r.LabelsTemplate, "labelsTemplate")
	if err != nil {
		return fail("labels", err)
	}
	for k, v := range labels {
		if err := names.ValidateLabelKey(k); err != nil {
			return fail("labels", err)
		}
		if err := names.ValidateLabelValue(v); err != nil {
			return fail("labels."+k, err)
		}
	}
	labels[LabelTenant] = tc.name
	labels[LabelTemplate] = names.LabelValue(tc.tpl.Name)
	labels[LabelResourceID] = names.LabelValue(r.ID)
	if reg := object.String(tc.in.Tenant, "spec", "registryId"); reg != "" {
		labels[LabelRegistry] = names.LabelValue(reg)
	}
	if kind == "Namespace" {
		labels[LabelTenantNamespace] = names.LabelValue(tc.ns)
	}
	md["labels"] = toAny(labels)

	ann, err := tc.stringMap(md, "annotations", r.AnnotationsTemplate, "annotationsTemplate")
	if err != nil {
		return fail("annotations", err)
	}
	for k := range ann {
		if err := names.ValidateAnnotationKey(k); err != nil {
			return fail("annotations", err)
		}
	}
	ann[AnnotationDeletionPolicy] = r.DeletionPolicy
	if tc.forceNS == "" {
		ann[AnnotationLevel] = strconv.Itoa(tc.tpl.Graph.Level(r.ID))
	}
	if r.CreationPolicy == CreationOnce {
		ann[AnnotationCreationPolicy] = CreationOnce
	}
	if kind == "Namespace" {
		// The namespace decorator finds the template through this.
		ann[AnnotationTemplateSource] = object.ObjKey(tc.tpl.Namespace, tc.tpl.Name)
	}
	md["annotations"] = toAny(ann)

	if err := tc.place(r, o, md); err != nil {
		return fail("namespace", err)
	}
	if tc.in.ChildTypes != nil && !tc.in.ChildTypes[object.TypeKey(apiVersion, kind)] {
		return fail("kind", fmt.Errorf("%s is not a child type of this controller (declared: %s); add it to the controller's childResources (see docs/deploy.md)",
			object.TypeKey(apiVersion, kind), strings.Join(sortedKeys(tc.in.ChildTypes), ", ")))
	}
	delete(o, "status")
	for _, f := range serverOwned {
		delete(md, f)
	}
	return o, nil
}

// serverOwned metadata is dropped from rendered objects: the API server or
// Metacontroller own it, and echoing it back causes conflicts or churn.
var serverOwned = []string{"uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "managedFields", "ownerReferences", "selfLink"}

// clusterScoped are the kinds a template may produce that have no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "PersistentVolume": true,
	"StorageClass": true, "PriorityClass": true, "CustomResourceDefinition": true, "IngressClass": true,
}

// place sets metadata.namespace by scope. A namespaced Tenant can only own
// objects in its own namespace (Metacontroller and the garbage collector
// both require it), so anything else is a clear error instead of an object
// that would be created once and never managed.
func (tc *tenantCtx) place(r *Resource, o, md map[string]any) error {
	kind := object.Kind(o)
	if tc.forceNS != "" {
		if clusterScoped[kind] {
			return fmt.Errorf("namespace defaults must be namespaced objects, not %s", kind)
		}
		md["namespace"] = tc.forceNS
		return nil
	}
	if tc.in.Scope == Namespaced {
		if clusterScoped[kind] {
			return fmt.Errorf("a namespaced Tenant cannot own the cluster-scoped %s %q; use a ClusterTenantRegistry (docs/namespaces.md)", kind, md["name"])
		}
		if r.TargetNamespace != "" {
			return fmt.Errorf("targetNamespace is only supported for cluster-scoped registries; a namespaced Tenant owns objects in its own namespace %q", tc.ns)
		}
		md["namespace"] = tc.ns
		return nil
	}
	if clusterScoped[kind] {
		delete(md, "namespace")
		return nil
	}
	ns := ""
	if r.TargetNamespace != "" {
		s, err := tc.e.T.RenderString(tc.ctx, r.TargetNamespace, tc.vars)
		if err != nil {
			return err
		}
		ns = s
	} else if s, _ := md["namespace"].(string); s != "" {
		ns = s
	}
	if ns == "" {
		return fmt.Errorf("a ClusterTenant's namespaced %s needs targetNamespace (or spec.metadata.namespace)", kind)
	}
	if err := names.ValidateName("Namespace", ns); err != nil {
		return err
	}
	md["namespace"] = ns
	return nil
}

// stringMap renders metadata.<field> and merges the rendered template map on
// top (v1.0 replaced the map wholesale; merging loses nothing a user wrote).
func (tc *tenantCtx) stringMap(md map[string]any, field string, tplMap map[string]string, tplField string) (map[string]string, error) {
	out := map[string]string{}
	if raw, present := md[field]; present && raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("metadata.%s must be a map of strings", field)
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("metadata.%s.%s must be a string", field, k)
			}
			out[k] = s
		}
	}
	for _, k := range sortedKeys(tplMap) {
		s, err := tc.e.T.RenderString(tc.ctx, tplMap[k], tc.vars)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", tplField, k, err)
		}
		out[k] = s
	}
	return out, nil
}

// walk renders every string leaf of a value; map keys are never rendered.
func (tc *tenantCtx) walk(v any, path string) (any, error) {
	switch t := v.(type) {
	case string:
		out, err := tc.e.T.Render(tc.ctx, t, tc.vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		// Sorted, so that of two bad fields the same one is reported every
		// time: the message is part of the status, which must be stable.
		for _, k := range sortedKeys(t) {
			r, err := tc.walk(t[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := tc.walk(e, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
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
