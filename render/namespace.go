package render

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Annotations the namespace decorator writes on tenant Namespaces.
const (
	AnnotationTenantStatus   = Prefix + "tenant-status"
	AnnotationDefaultsError  = Prefix + "namespace-defaults-error"
	AnnotationTemplateSource = Prefix + "template"
)

// NamespaceInput is a DecoratorController call for a Namespace labelled
// kubernetes-tenants.org/tenant.
type NamespaceInput struct {
	Namespace object.Obj
	// Tenant is the Tenant or ClusterTenant the labels name; nil when gone.
	Tenant object.Obj
	// Template is the Tenant's TenantTemplate; nil when gone.
	Template        object.Obj
	Observed        []object.Obj
	AttachmentTypes map[string]bool
}

// NamespaceOutput is the decorator's answer.
type NamespaceOutput struct {
	Attachments []object.Obj
	Annotations map[string]*string
}

// SyncNamespace renders the template's namespaceDefaults into a tenant
// Namespace and summarises the tenant's readiness on it, so that
// `kubectl get ns -l kubernetes-tenants.org/tenant -L kubernetes-tenants.org/…`
// shows every tenant's state. Like the tenant sync it never drops an
// attachment because of an error: the observed one is kept.
func (e *Engine) SyncNamespace(ctx context.Context, in NamespaceInput) (NamespaceOutput, error) {
	ns := object.Name(in.Namespace)
	observedByID := map[string]object.Obj{}
	keys := make([]string, 0, len(in.Observed))
	byKey := map[string]object.Obj{}
	for _, o := range in.Observed {
		k := object.Key(o)
		keys = append(keys, k)
		byKey[k] = o
		if id := object.String(o, "metadata", "labels", LabelResourceID); id != "" {
			observedByID[id] = o
		}
	}
	sort.Strings(keys)
	out := NamespaceOutput{Annotations: map[string]*string{}}
	if object.String(in.Namespace, "metadata", "labels", LabelTenant) == "" {
		// Not a tenant Namespace (any more): leave it and its attachments be.
		for _, k := range keys {
			out.Attachments = append(out.Attachments, keptObject(byKey[k]))
		}
		if out.Attachments == nil {
			out.Attachments = []object.Obj{}
		}
		out.Annotations = nil
		return out, nil
	}
	keepAll := func(problem string) NamespaceOutput {
		for _, k := range keys {
			out.Attachments = append(out.Attachments, keptObject(byKey[k]))
		}
		out.Annotations[AnnotationDefaultsError] = &problem
		return out
	}
	status := tenantSummary(in.Tenant)
	out.Annotations[AnnotationTenantStatus] = &status
	if in.Tenant == nil {
		return keepAll(fmt.Sprintf("Tenant %q not found; namespace defaults are kept as they are", TenantOf(in.Namespace))), nil
	}
	if in.Template == nil {
		return keepAll(fmt.Sprintf("TenantTemplate %q not found; namespace defaults are kept as they are", object.String(in.Tenant, "spec", "templateRef"))), nil
	}
	tpl, err := e.Template(in.Template)
	if err != nil {
		return keepAll(err.Error()), nil
	}
	tc := &tenantCtx{
		e: e, ctx: ctx, in: &TenantInput{Tenant: in.Tenant, ChildTypes: in.AttachmentTypes, Scope: Cluster},
		tpl: tpl, vars: Vars(in.Tenant, tpl), ns: object.Namespace(in.Tenant), name: object.Name(in.Tenant),
		uid: object.String(in.Tenant, "spec", "uid"), now: e.now().UTC().Truncate(time.Second), forceNS: ns,
	}
	var problems []string
	for _, r := range tpl.NamespaceDefaults {
		o, err := tc.render(r)
		if err != nil {
			problems = append(problems, err.Error())
			if prev := observedByID[r.ID]; prev != nil {
				out.Attachments = append(out.Attachments, keptObject(prev))
			}
			continue
		}
		out.Attachments = append(out.Attachments, o)
	}
	if err := ctx.Err(); err != nil {
		return NamespaceOutput{}, err
	}
	if out.Attachments == nil {
		out.Attachments = []object.Obj{}
	}
	sort.SliceStable(out.Attachments, func(i, j int) bool { return object.Key(out.Attachments[i]) < object.Key(out.Attachments[j]) })
	if len(problems) > 0 {
		msg := strings.Join(problems, "; ")
		out.Annotations[AnnotationDefaultsError] = &msg
	} else {
		out.Annotations[AnnotationDefaultsError] = nil
	}
	return out, nil
}

// tenantSummary is one line for a Namespace annotation, e.g.
// "Ready: 6/6 resources ready" or "NotReady (ResourcesNotReady): 4/6 resources ready".
func tenantSummary(t object.Obj) string {
	if t == nil {
		return "TenantNotFound"
	}
	if object.Terminating(t) {
		return "Terminating"
	}
	st := object.Map(t, "status")
	ready, _ := object.Int64(st, "readyResources")
	desired, _ := object.Int64(st, "desiredResources")
	for _, c := range object.NestedSlice(st, "conditions") {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		if m["status"] == "True" {
			return fmt.Sprintf("Ready: %d/%d resources ready", ready, desired)
		}
		return fmt.Sprintf("NotReady (%s): %d/%d resources ready", object.String(m, "reason"), ready, desired)
	}
	return "Pending: not synced yet"
}

// AdoptionInput is a DecoratorController call for an object that may belong
// to a Tenant but is not its child: retained by a deleted Tenant of the same
// name (label kubernetes-tenants.org/orphaned=true), or pre-existing and
// claimed by a resource with conflictPolicy Force.
type AdoptionInput struct {
	Object object.Obj
	// Tenants are the live Tenants (or ClusterTenants) that may claim it.
	Tenants []object.Obj
}

// Adopt decides whether an unowned object goes to a Tenant. Metacontroller
// adopts an orphan only when its labels match the parent's selector
// (controller-uid=<parent uid>) and ignores a create of an object that
// exists; so neither a Tenant re-created for a re-activated row nor a Force
// takeover would ever see the object. Relabelling it lets Metacontroller
// adopt it, after which the Tenant manages it like any child. Nothing happens
// to an object that has a controller (never take what another owns).
func Adopt(in AdoptionInput) (labels, annotations map[string]*string) {
	for _, ref := range object.NestedSlice(in.Object, "metadata", "ownerReferences") {
		if m, ok := ref.(map[string]any); ok {
			if c, _ := m["controller"].(bool); c {
				return nil, nil
			}
		}
	}
	tenants := append([]object.Obj(nil), in.Tenants...)
	sort.SliceStable(tenants, func(i, j int) bool { return ObjRef(tenants[i]) < ObjRef(tenants[j]) })
	key := object.Key(in.Object)
	orphanOf := object.String(in.Object, "metadata", "labels", LabelTenant)
	retained := object.String(in.Object, "metadata", "labels", LabelOrphaned) == "true"
	for _, t := range tenants {
		if object.Terminating(t) || object.UID(t) == "" {
			continue
		}
		claimed := false
		for _, c := range object.NestedSlice(t, "spec", "claims") {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			ns := object.String(m, "namespace")
			if ns == "" && !clusterScoped[object.String(m, "kind")] {
				ns = object.Namespace(t)
			}
			if force, _ := m["force"].(bool); force && claimKey(m, ns) == key {
				claimed = true
			}
		}
		if retained && orphanOf == names.TenantLabel(object.Name(t)) && object.Namespace(t) == object.Namespace(in.Object) {
			claimed = true
		}
		if !claimed {
			continue
		}
		uid, name := object.UID(t), object.Name(t)
		label := names.TenantLabel(name)
		labels = map[string]*string{LabelControllerUID: &uid, LabelTenant: &label, LabelOrphaned: nil}
		annotations = map[string]*string{AnnotationOrphanedAt: nil, AnnotationOrphanedFrom: nil, AnnotationOrphanedReason: nil}
		if label != name {
			annotations[AnnotationTenant] = &name
		}
		return labels, annotations
	}
	return nil, nil
}
