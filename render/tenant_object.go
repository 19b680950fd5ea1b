package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// render produces one resource's desired object.
func (tc *tenantCtx) render(r *Resource) (object.Obj, error) {
	b := tmpl.BudgetFrom(tc.ctx)
	if b == nil {
		return tc.renderObj(r)
	}
	before := b.Used()
	o, err := tc.renderObj(r)
	if err != nil {
		// The resource's output is dropped: give back what its leaves
		// charged to the request's budget, so that one resource over the
		// budget does not fail the ones after it.
		b.Release(b.Used() - before)
	}
	return o, err
}

func (tc *tenantCtx) renderObj(r *Resource) (object.Obj, error) {
	fail := func(field string, err error) (object.Obj, error) {
		return nil, &RenderError{Template: object.ObjKey(tc.tpl.Namespace, tc.tpl.Name), ResourceID: r.ID, UID: tc.uid, Field: field, Err: err}
	}
	v, err := tc.walkSpec(r)
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
	if want := SectionKind[r.List]; want != "" && kind != want {
		// v1.0 rendered whatever spec.kind said; a Secret under configMaps
		// is almost certainly a mistake (or a way past a review that reads
		// the lists), so it fails here, keeping what exists.
		return fail("spec.kind", fmt.Errorf("%q does not belong in spec.%s, which holds %s objects; move the resource to the list of its kind or to spec.manifests", kind, r.List, want))
	}
	at := tc.locate(r, kind, func(field string) (string, error) {
		s, _ := md[field].(string) // rendered with the rest of spec
		return s, nil
	})
	if at.nameErr != nil {
		return fail(at.nameField, at.nameErr)
	}
	name := at.name
	md["name"] = name
	if err := names.ValidateName(kind, name); err != nil {
		return fail("name", err)
	}

	labels, err := tc.stringMap(md, "labels", r.LabelsTemplate, "labelsTemplate", 5)
	if err != nil {
		return fail("labels", err)
	}
	for k, v := range labels {
		if err := names.ValidateLabelKey(k); err != nil {
			return fail("labels", err)
		}
		if err := names.ValidateLabelValue(v.(string)); err != nil {
			return fail("labels."+k, err)
		}
	}
	labels[LabelTenant] = names.TenantLabel(tc.name)
	labels[LabelTemplate] = names.LabelValue(tc.tpl.Name)
	labels[LabelResourceID] = names.LabelValue(r.ID)
	if reg := object.String(tc.in.Tenant, "spec", "registryId"); reg != "" {
		labels[LabelRegistry] = names.LabelValue(reg)
	}
	if kind == "Namespace" {
		labels[LabelTenantNamespace] = names.LabelValue(tc.ns)
	}
	md["labels"] = labels

	ann, err := tc.stringMap(md, "annotations", r.AnnotationsTemplate, "annotationsTemplate", 5)
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
	if l := names.TenantLabel(tc.name); l != tc.name {
		ann[AnnotationTenant] = tc.name
	}
	if kind == "Namespace" {
		// The namespace decorator finds the template through this.
		ann[AnnotationTemplateSource] = object.ObjKey(tc.tpl.Namespace, tc.tpl.Name)
	}
	md["annotations"] = ann

	if at.nsErr != nil {
		return fail("namespace", at.nsErr)
	}
	if at.namespace == "" {
		delete(md, "namespace")
	} else {
		md["namespace"] = at.namespace
	}
	if tc.in.ChildTypes != nil && !tc.in.ChildTypes[object.TypeKey(apiVersion, kind)] {
		return fail("kind", fmt.Errorf("%s is not a child type of this controller (declared: %s); add it to the controller's childResources (see docs/deploy.md)",
			object.TypeKey(apiVersion, kind), strings.Join(ordered.Keys(tc.in.ChildTypes), ", ")))
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

// location is where a resource's object lives.
type location struct {
	name, namespace string
	// nameErr: the name cannot be worked out (nameField says from which
	// field). nsErr: the namespace cannot be worked out or is not allowed;
	// nsUnknown says it could not be worked out at all (a template failed),
	// so namespace is not even a guess.
	nameField      string
	nameErr, nsErr error
	nsUnknown      bool
}

// locate is the one answer to "where does this resource's object live" —
// its name and namespace — for rendering the object (render), for finding
// the object a resource made before when it fails to render (keyOf) and for
// the names a Tenant claims (Claims), so that a Tenant never claims one
// object and creates another.
//
// The name is nameTemplate, else metadata.name, and must not be empty (its
// syntax is checked by render). The namespace is decided by the first rule
// that applies:
//
//  1. namespace defaults (rendered by the namespace decorator) go into that
//     namespace; a cluster-scoped kind is an error;
//  2. a namespaced Tenant owns objects in its own namespace only
//     (Metacontroller and the garbage collector both require it): a
//     cluster-scoped kind or a targetNamespace is an error, not an object
//     that would be created once and never managed;
//  3. a cluster-scoped kind has none;
//  4. a ClusterTenant's namespaced object goes to targetNamespace, else to
//     metadata.namespace; one of them is required and must be a valid name.
//
// kind is the object's kind; meta reads metadata.name and
// metadata.namespace — from the rendered object when there is one, or
// rendered on their own.
func (tc *tenantCtx) locate(r *Resource, kind string, meta func(field string) (string, error)) location {
	var at location
	if r.NameTemplate != "" {
		at.nameField = "nameTemplate"
		at.name, at.nameErr = tc.e.T.RenderString(tc.ctx, r.NameTemplate, tc.vars)
	} else {
		at.nameField = "name"
		at.name, at.nameErr = meta("name")
	}
	if at.nameErr == nil && at.name == "" {
		at.nameField = "name"
		at.nameErr = fmt.Errorf("the rendered name is empty (set nameTemplate or spec.metadata.name)")
	}

	switch {
	case tc.forceNS != "":
		at.namespace = tc.forceNS
		if clusterScoped[kind] {
			at.nsErr = fmt.Errorf("namespace defaults must be namespaced objects, not %s", kind)
		}
	case tc.in.Scope == Namespaced && clusterScoped[kind]:
		at.nsErr = fmt.Errorf("a namespaced Tenant cannot own the cluster-scoped %s %q; use a ClusterTenantRegistry (docs/namespaces.md)", kind, at.name)
	case tc.in.Scope == Namespaced:
		at.namespace = tc.ns
		if r.TargetNamespace != "" {
			at.nsErr = fmt.Errorf("targetNamespace is only supported for cluster-scoped registries; a namespaced Tenant owns objects in its own namespace %q", tc.ns)
		}
	case clusterScoped[kind]:
	default:
		var err error
		if r.TargetNamespace != "" {
			at.namespace, err = tc.e.T.RenderString(tc.ctx, r.TargetNamespace, tc.vars)
		} else {
			at.namespace, err = meta("namespace")
		}
		switch {
		case err != nil:
			at.namespace, at.nsErr, at.nsUnknown = "", err, true
		case at.namespace == "":
			at.nsErr = fmt.Errorf("a ClusterTenant's namespaced %s needs targetNamespace (or spec.metadata.namespace)", kind)
		default:
			at.nsErr = names.ValidateName("Namespace", at.namespace)
		}
	}
	return at
}

// renderMeta reads metadata.name or metadata.namespace of r rendered on its
// own, for when the whole object is not rendered.
func (tc *tenantCtx) renderMeta(r *Resource) func(field string) (string, error) {
	return func(field string) (string, error) {
		return tc.e.T.RenderString(tc.ctx, object.String(r.Spec, "metadata", field), tc.vars)
	}
}

// keyOf is the key r's object gets, worked out from its name and namespace
// alone for when the rest of it fails to render; ok is false when those
// cannot be worked out. A namespace the scope forbids is still a place an
// object of an earlier template may be.
func (tc *tenantCtx) keyOf(r *Resource) (string, bool) {
	kind := object.Kind(r.Spec)
	at := tc.locate(r, kind, tc.renderMeta(r))
	if at.nameErr != nil || at.nsUnknown {
		return "", false
	}
	return object.TypeKey(object.APIVersion(r.Spec), kind) + "|" + object.ObjKey(at.namespace, at.name), true
}

// clusterScoped are the kinds a template may produce that have no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true, "PersistentVolume": true,
	"StorageClass": true, "PriorityClass": true, "CustomResourceDefinition": true, "IngressClass": true,
}

// stringMap renders metadata.<field> and merges the rendered template map on
// top (v1.0 replaced the map wholesale; merging loses nothing a user wrote).
// Every value of the map it returns is a string; it is a map[string]any,
// the object's own type, so that it goes into the object as it is instead
// of being copied into one (a tenth of a small tenant sync's rendering).
// extra is room for the entries the caller adds.
func (tc *tenantCtx) stringMap(md map[string]any, field string, tplMap map[string]string, tplField string, extra int) (map[string]any, error) {
	raw, present := md[field]
	m, ok := raw.(map[string]any)
	if present && raw != nil && !ok {
		return nil, fmt.Errorf("metadata.%s must be a map of strings", field)
	}
	out := make(map[string]any, len(m)+len(tplMap)+extra)
	for k, v := range m {
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("metadata.%s.%s must be a string", field, k)
		}
		out[k] = v
	}
	for _, k := range ordered.Keys(tplMap) {
		s, err := tc.e.T.RenderString(tc.ctx, tplMap[k], tc.vars)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", tplField, k, err)
		}
		out[k] = s
	}
	return out, nil
}

// walkSpec renders every string leaf of a resource's spec; map keys are
// never rendered. An error names the failing field by its path
// ("spec.a.b[0]: …").
func (tc *tenantCtx) walkSpec(r *Resource) (any, error) {
	var out any
	var err error
	if r.plan != nil {
		out, err = tc.walkPlan(r.plan)
	} else {
		out, err = tc.walk(r.Spec)
	}
	if err != nil {
		we := err.(*walkError)
		var sb strings.Builder
		sb.WriteString("spec")
		for i := len(we.rev) - 1; i >= 0; i-- {
			sb.WriteString(we.rev[i])
		}
		return nil, fmt.Errorf("%s: %w", sb.String(), we.err)
	}
	return out, nil
}

// walk is walkSpec below the root. Its errors are *walkError: the path is
// collected on the way back up, only when a leaf fails, since building it
// for every node cost more than rendering the leaves of a small template.
func (tc *tenantCtx) walk(v any) (any, error) {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "{{") {
			return v, nil // tmpl's fast path, without boxing the string again
		}
		out, err := tc.e.T.Render(tc.ctx, t, tc.vars)
		if err != nil {
			return nil, &walkError{err: err}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(t))
		// Sorted, so that of two bad fields the same one is reported every
		// time: the message is part of the status, which must be stable.
		for _, k := range ordered.Keys(t) {
			r, err := tc.walk(t[k])
			if err != nil {
				we := err.(*walkError)
				we.rev = append(we.rev, "."+k)
				return nil, we
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			r, err := tc.walk(e)
			if err != nil {
				we := err.(*walkError)
				we.rev = append(we.rev, "["+strconv.Itoa(i)+"]")
				return nil, we
			}
			out[i] = r
		}
		return out, nil
	default:
		return v, nil
	}
}

// walkError is a failed leaf and its path, innermost segment first.
type walkError struct {
	rev []string
	err error
}

func (e *walkError) Error() string { return e.err.Error() }
