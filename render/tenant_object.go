package render

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

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
	if want := SectionKind[r.List]; want != "" && kind != want {
		// v1.0 rendered whatever spec.kind said; a Secret under configMaps
		// is almost certainly a mistake (or a way past a review that reads
		// the lists), so it fails here, keeping what exists.
		return fail("spec.kind", fmt.Errorf("%q does not belong in spec.%s, which holds %s objects; move the resource to the list of its kind or to spec.manifests", kind, r.List, want))
	}
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
