package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/dag"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// ResourceLists are the TenantTemplate lists that hold resources, in the order
// that breaks ties between independent resources. Each typed list holds one
// kind (SectionKind); manifests hold any. JSON object
// keys carry no order, so the order of lists is fixed here (foundations first)
// and the order inside each list is the user's.
var ResourceLists = []string{
	"namespaces", "serviceAccounts", "configMaps", "secrets", "persistentVolumeClaims",
	"services", "deployments", "statefulSets", "daemonSets", "jobs", "cronJobs",
	"ingresses", "manifests",
}

// SectionKind is the kind each typed list holds; manifests and
// namespaceDefaults hold any kind. A rendered resource of another kind fails
// (docs/templates.md).
var SectionKind = map[string]string{
	"namespaces": "Namespace", "serviceAccounts": "ServiceAccount", "configMaps": "ConfigMap",
	"secrets": "Secret", "persistentVolumeClaims": "PersistentVolumeClaim", "services": "Service",
	"deployments": "Deployment", "statefulSets": "StatefulSet", "daemonSets": "DaemonSet",
	"jobs": "Job", "cronJobs": "CronJob", "ingresses": "Ingress",
}

// Policy values.
const (
	CreationOnce       = "Once"
	CreationWhenNeeded = "WhenNeeded"
	DeletionDelete     = "Delete"
	DeletionRetain     = "Retain"
	ConflictStuck      = "Stuck"
	ConflictForce      = "Force"
	PatchApply         = "apply"
	PatchMerge         = "merge"
	PatchReplace       = "replace"

	DefaultTimeout = 300 * time.Second
)

// Resource is one entry of a template list.
type Resource struct {
	ID                  string
	List                string
	Spec                object.Obj
	NameTemplate        string
	LabelsTemplate      map[string]string
	AnnotationsTemplate map[string]string
	DependIDs           []string
	CreationPolicy      string
	DeletionPolicy      string
	ConflictPolicy      string
	PatchStrategy       string
	WaitForReady        bool
	Timeout             time.Duration
	TargetNamespace     string
	// plan is Spec prepared for rendering (specplan.go); nil: walk Spec.
	plan *specPlan
}

// Template is a parsed TenantTemplate: resources in tie-break order plus their
// dependency graph. It is immutable once built and shared between requests.
type Template struct {
	Name       string
	Namespace  string
	Generation int64
	RegistryID string
	Resources  []*Resource
	Graph      *dag.Graph
	// NamespaceDefaults are rendered into every Namespace labelled for a
	// tenant of this template (ResourceQuota, LimitRange, NetworkPolicy…) by
	// the namespace decorator; they take no part in the dependency graph.
	NamespaceDefaults []*Resource
	// MaxDeletePct is spec.deletionGuard.maxDeletePercent: a sync that
	// would delete more than this share of a Tenant's children is held
	// (see guardDeletions).
	MaxDeletePct int
	byID         map[string]*Resource
}

// Resource returns the resource with that id, or nil.
func (t *Template) Resource(id string) *Resource { return t.byID[id] }

// TemplateError is a template that cannot be used at all (bad structure,
// duplicate ids, unknown dependencies, cycles). Each problem is listed.
type TemplateError struct {
	Template string
	Problems []string
}

func (e *TemplateError) Error() string {
	return fmt.Sprintf("template %q is invalid: %s", e.Template, strings.Join(e.Problems, "; "))
}

// ParseTemplate turns a TenantTemplate object into a Template. It never
// renders anything; rendering needs a row.
func ParseTemplate(o object.Obj) (*Template, error) {
	t := &Template{
		Name:         object.Name(o),
		Namespace:    object.Namespace(o),
		Generation:   object.Generation(o),
		RegistryID:   object.String(o, "spec", "registryId"),
		byID:         map[string]*Resource{},
		MaxDeletePct: DefaultMaxDeletePct,
	}
	spec := object.Map(o, "spec")
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if spec == nil {
		bad("spec is missing")
	}
	var nodes []dag.Node
	for _, list := range ResourceLists {
		raw, present := spec[list]
		if !present || raw == nil {
			continue
		}
		items, ok := raw.([]any)
		if !ok {
			bad("spec.%s must be a list", list)
			continue
		}
		for i, it := range items {
			where := fmt.Sprintf("spec.%s[%d]", list, i)
			m, ok := it.(map[string]any)
			if !ok {
				bad("%s must be an object", where)
				continue
			}
			r, errs := parseResource(list, m)
			for _, e := range errs {
				bad("%s (id %q): %s", where, r.ID, e)
			}
			if r.ID == "" {
				continue
			}
			if _, dup := t.byID[r.ID]; dup {
				bad("%s: duplicate resource id %q (ids are shared by all lists)", where, r.ID)
				continue
			}
			t.byID[r.ID] = r
			t.Resources = append(t.Resources, r)
			nodes = append(nodes, dag.Node{ID: r.ID, DependsOn: r.DependIDs})
		}
	}
	if raw, present := spec["namespaceDefaults"]; present && raw != nil {
		items, ok := raw.([]any)
		if !ok {
			bad("spec.namespaceDefaults must be a list")
		}
		seen := map[string]bool{}
		for i, it := range items {
			where := fmt.Sprintf("spec.namespaceDefaults[%d]", i)
			m, ok := it.(map[string]any)
			if !ok {
				bad("%s must be an object", where)
				continue
			}
			r, errs := parseResource("namespaceDefaults", m)
			for _, e := range errs {
				bad("%s (id %q): %s", where, r.ID, e)
			}
			if len(r.DependIDs) > 0 {
				bad("%s (id %q): namespaceDefaults cannot have dependIds", where, r.ID)
			}
			if seen[r.ID] {
				bad("%s: duplicate namespaceDefaults id %q", where, r.ID)
			}
			seen[r.ID] = true
			if r.ID != "" && len(errs) == 0 {
				t.NamespaceDefaults = append(t.NamespaceDefaults, r)
			}
		}
	}
	if g, present := spec["deletionGuard"]; present && g != nil {
		gm, ok := g.(map[string]any)
		if !ok {
			bad("spec.deletionGuard must be an object")
		} else if raw, present := gm["maxDeletePercent"]; present {
			pct, ok := object.ToInt64(raw)
			if !ok || pct < 0 || pct > 100 {
				bad("spec.deletionGuard.maxDeletePercent %v must be an integer in 0..100", raw)
			} else {
				t.MaxDeletePct = int(pct)
			}
		}
	}
	if len(problems) == 0 {
		g, err := dag.New(nodes)
		if err != nil {
			bad("%v", err)
		} else {
			t.Graph = g
		}
	}
	if len(problems) > 0 {
		return nil, &TemplateError{Template: ObjRef(o), Problems: problems}
	}
	return t, nil
}

// ObjRef names an object as "namespace/name" (or "name") for messages.
func ObjRef(o object.Obj) string { return object.ObjKey(object.Namespace(o), object.Name(o)) }

func parseResource(list string, m map[string]any) (*Resource, []string) {
	r := &Resource{
		List:           list,
		CreationPolicy: CreationWhenNeeded,
		DeletionPolicy: DeletionDelete,
		ConflictPolicy: ConflictStuck,
		PatchStrategy:  PatchApply,
		WaitForReady:   true,
		Timeout:        DefaultTimeout,
	}
	var errs []string
	str := func(key string) string {
		v, present := m[key]
		if !present || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s must be a string", key))
		}
		return s
	}
	strMap := func(key string) map[string]string {
		v, present := m[key]
		if !present || v == nil {
			return nil
		}
		mm, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s must be a map of strings", key))
			return nil
		}
		out := make(map[string]string, len(mm))
		for k, e := range mm {
			s, ok := e.(string)
			if !ok {
				errs = append(errs, fmt.Sprintf("%s.%s must be a string", key, k))
				continue
			}
			out[k] = s
		}
		return out
	}
	enum := func(key, def string, allowed ...string) string {
		s := str(key)
		if s == "" {
			return def
		}
		for _, a := range allowed {
			if s == a {
				return s
			}
		}
		errs = append(errs, fmt.Sprintf("%s %q is not one of %s", key, s, strings.Join(allowed, ", ")))
		return def
	}
	r.ID = str("id")
	if r.ID == "" {
		errs = append(errs, "id is required")
	}
	r.NameTemplate = str("nameTemplate")
	r.TargetNamespace = str("targetNamespace")
	r.LabelsTemplate = strMap("labelsTemplate")
	r.AnnotationsTemplate = strMap("annotationsTemplate")
	r.CreationPolicy = enum("creationPolicy", CreationWhenNeeded, CreationOnce, CreationWhenNeeded)
	r.DeletionPolicy = enum("deletionPolicy", DeletionDelete, DeletionDelete, DeletionRetain)
	r.ConflictPolicy = enum("conflictPolicy", ConflictStuck, ConflictStuck, ConflictForce)
	r.PatchStrategy = enum("patchStrategy", PatchApply, PatchApply, PatchMerge, PatchReplace)
	if v, present := m["waitForReady"]; present && v != nil {
		b, ok := v.(bool)
		if !ok {
			errs = append(errs, "waitForReady must be true or false")
		}
		r.WaitForReady = b
	}
	if v, present := m["timeoutSeconds"]; present && v != nil {
		n, ok := object.ToInt64(v)
		switch {
		case !ok:
			errs = append(errs, "timeoutSeconds must be an integer")
		case n == 0:
			// v1.0 treated 0 as the default; keep that so old YAML means the same.
		case n < 1 || n > 3600:
			errs = append(errs, fmt.Sprintf("timeoutSeconds %d is outside 1..3600", n))
		default:
			r.Timeout = time.Duration(n) * time.Second
		}
	}
	if v, present := m["dependIds"]; present && v != nil {
		l, ok := v.([]any)
		if !ok {
			errs = append(errs, "dependIds must be a list of ids")
		}
		for _, e := range l {
			s, ok := e.(string)
			if !ok || s == "" {
				errs = append(errs, "dependIds entries must be non-empty strings")
				continue
			}
			r.DependIDs = append(r.DependIDs, s)
		}
	}
	spec, ok := m["spec"].(map[string]any)
	switch {
	case !ok:
		errs = append(errs, "spec must be a complete object with apiVersion and kind")
	case object.APIVersion(spec) == "" || object.Kind(spec) == "":
		errs = append(errs, "spec needs apiVersion and kind")
	default:
		r.Spec = spec
		r.plan = newSpecPlan(spec, 0)
	}
	return r, errs
}
