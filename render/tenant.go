package render

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/object"
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
	// TemplateKey, when not zero, is Template's RawTemplateKey: the caller
	// decoded Template from exactly the bytes it hashed.
	TemplateKey TemplateKey
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
	// Owned says that the object named here is observed as this Tenant's
	// child. The registry reads it: a Tenant whose every resource is owned
	// needs no claims, and so no related rule on any child kind
	// (docs/policies.md, "Which related rules a Tenant asks for").
	Owned bool `json:"owned,omitempty"`
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
	// claimed holds the keys of the objects spec.claims names; nil when the
	// Tenant has no spec.claims at all (written by hand or by a registry
	// older than claim trimming), which keeps the old rule: create freely.
	claimed map[string]bool
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
	// An extra mapping of the same name takes precedence over these, as an
	// extra host does over toHost (datasource.Mapping allows it; v1.0
	// templates that used such a name meant their column).
	templateRef := object.String(tenant, "spec", "templateRef")
	if templateRef == "" && t != nil {
		templateRef = t.Name
	}
	for k, v := range map[string]string{
		"registryId": object.String(tenant, "spec", "registryId"), "templateRef": templateRef,
		"tenant": object.Name(tenant), "namespace": object.Namespace(tenant),
	} {
		if _, set := vars[k]; !set {
			vars[k] = v
		}
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
		claimed:  claimedKeys(in.Tenant),
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
		tc.tpl, tplErr = e.templateOf(in.Template, in.TemplateKey)
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
	held := tc.guardDeletions()
	out := tc.output()
	if held != nil {
		conds := object.NestedSlice(out.Status, "conditions")
		for i, c := range conds {
			if c.(map[string]any)["type"] == "Ready" {
				conds[i] = condition("Ready", "False", "DeletionBlocked", "a deletion of most of this Tenant's objects is waiting for approval (see DeletionBlocked)")
			}
		}
		out.Status["conditions"] = append(conds, held)
	}
	return out, nil
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
