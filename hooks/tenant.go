package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

var templateTypeKey = object.TypeKey(render.APIVersion, "TenantTemplate")

// tenantCustomize asks Metacontroller for what a Tenant's sync needs besides
// its children: its TenantTemplate (the Tenant carries row data, not a copy of
// the template), its Namespace (the long-lived owner of retained children) and
// the objects of the names it claims (conflicts, and objects an earlier Tenant
// of the same name retained). Every rule on a child kind costs Metacontroller
// work on every event of that kind for every Tenant (docs/performance.md), so
// a converged Tenant, whose spec.claims is empty, asks for none.
func (s *Server) tenantCustomize(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	return customize(body, func(req *wire.CustomizeRequest) []wire.RelatedRule {
		return tenantRelated(req.Parent, wire.ParseController(req.Controller).ChildResources())
	})
}

// tenantRelated is the customize answer of a Tenant.
func tenantRelated(parent object.Obj, children []wire.ResourceRef) []wire.RelatedRule {
	ns := object.Namespace(parent)
	tplNS := object.String(parent, "spec", "templateNamespace")
	if tplNS == "" {
		tplNS = ns
	}
	rules := []wire.RelatedRule{}
	if ref := object.String(parent, "spec", "templateRef"); ref != "" && tplNS != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenanttemplates", Namespace: tplNS, Names: []string{ref}})
	}
	if ns != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: "v1", Resource: "namespaces", Names: []string{ns}})
	}
	declared := map[wire.ResourceRef]bool{}
	for _, c := range children {
		declared[c] = true
	}
	if _, ok := object.NestedMap(parent, "spec")["claims"].([]any); ok {
		// The registry writes spec.claims for every resource until all are
		// children (render.claimsFor), and the sync creates only claimed
		// names. A retained object matters only under the name a resource
		// would create, which its claim's name rule already asks for: no
		// label-selector rule, and none at all once converged.
		return append(rules, claimRules(parent, declared)...)
	}
	// A Tenant without spec.claims (written by hand, or by a registry before
	// claims existed) creates without a claim; it keeps the rules it always
	// had: one per child kind for objects retained by an earlier Tenant of
	// its name.
	orphans := &wire.LabelSelector{MatchLabels: map[string]string{render.LabelTenant: names.TenantLabel(object.Name(parent)), render.LabelOrphaned: "true"}}
	for _, c := range children {
		if c.Resource == "namespaces" {
			continue
		}
		rules = append(rules, wire.RelatedRule{APIVersion: c.APIVersion, Resource: c.Resource, Namespace: ns, LabelSelector: orphans})
	}
	return append(rules, claimRules(parent, declared)...)
}

// claimRules ask for objects with the names the Tenant's resources will
// create, so the sync can apply the conflict policy before the first
// creation. Only declared child types are asked for (Metacontroller can only
// fetch types it knows, and only those can become children anyway).
func claimRules(parent object.Obj, declared map[wire.ResourceRef]bool) []wire.RelatedRule {
	type group struct {
		ref wire.ResourceRef
		ns  string
	}
	names := map[group][]string{}
	var order []group
	for _, c := range object.NestedSlice(parent, "spec", "claims") {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		ref := wire.ResourceRef{APIVersion: object.String(m, "apiVersion"), Resource: render.ResourceOf(object.String(m, "kind"))}
		name := object.String(m, "name")
		if !declared[ref] || name == "" {
			continue
		}
		ns := object.String(m, "namespace")
		if ns == "" && ref.Resource != "namespaces" {
			ns = object.Namespace(parent)
		}
		g := group{ref, ns}
		if _, seen := names[g]; !seen {
			order = append(order, g)
		}
		names[g] = append(names[g], name)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.ref != b.ref {
			return a.ref.APIVersion+"/"+a.ref.Resource < b.ref.APIVersion+"/"+b.ref.Resource
		}
		return a.ns < b.ns
	})
	var rules []wire.RelatedRule
	for _, g := range order {
		n := names[g]
		sort.Strings(n)
		rules = append(rules, wire.RelatedRule{APIVersion: g.ref.APIVersion, Resource: g.ref.Resource, Namespace: g.ns, Names: slices.Compact(n)})
	}
	return rules
}

// tenantSync answers sync and finalize of a Tenant or ClusterTenant.
func (s *Server) tenantSync(ctx context.Context, req *http.Request, body []byte) (answer, error) {
	etag := etagOf("tenant", body)
	if match := req.Header.Get("If-None-Match"); match != "" && match == etag {
		// The tag is only ever handed out for answers that depend on the
		// request alone (no running readiness timer), so an identical request
		// has an identical answer: skip decoding and rendering.
		return answer{etag: etag, notModified: true}, nil
	}
	var r wire.CompositeRequest
	if err := wire.DecodeBytes(body, &r); err != nil {
		return answer{}, err
	}
	if r.Parent == nil {
		return answer{}, &wire.DecodeError{Err: errMissingParent}
	}
	in := tenantInputFrom(&r)
	start := time.Now()
	out, err := s.engine.SyncTenant(ctx, in)
	s.metrics.RenderDuration.WithLabelValues("tenant").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, &UnavailableError{Err: err}
	}
	for _, st := range object.NestedSlice(out.Status, "resources") {
		if m, ok := st.(map[string]any); ok && m["reason"] == "RenderError" {
			s.metrics.RenderErrors.WithLabelValues("tenant").Inc()
		}
	}
	resp := wire.CompositeResponse{Status: out.Status, Children: out.Children, Finalized: out.Finalized}
	if out.ResyncAfter > 0 {
		resp.ResyncAfterSeconds = out.ResyncAfter.Seconds()
	}
	a := answer{body: resp}
	if !out.TimeDependent && !r.Finalizing {
		a.etag = etag
	}
	return a, nil
}

// tenantInputFrom turns a decoded request into the render core's input.
func tenantInputFrom(r *wire.CompositeRequest) render.TenantInput {
	in := render.TenantInput{Tenant: r.Parent, Finalizing: r.Finalizing, ChildTypes: map[string]bool{}}
	if object.Kind(r.Parent) == "ClusterTenant" || object.Namespace(r.Parent) == "" {
		in.Scope = render.Cluster
	}
	observed := map[string]bool{}
	for _, typ := range ordered.Keys(r.Children) {
		objs := r.Children[typ]
		in.ChildTypes[typ] = true
		for _, k := range ordered.Keys(objs) {
			in.Observed = append(in.Observed, objs[k])
			observed[typ+"|"+k] = true
		}
	}
	tplName := object.String(r.Parent, "spec", "templateRef")
	tplNS := object.String(r.Parent, "spec", "templateNamespace")
	if tplNS == "" {
		tplNS = object.Namespace(r.Parent)
	}
	for _, typ := range ordered.Keys(r.Related) {
		objs := r.Related[typ]
		for _, k := range ordered.Keys(objs) {
			o := objs[k]
			switch {
			case typ == templateTypeKey:
				if object.Name(o) == tplName && object.Namespace(o) == tplNS {
					in.Template, in.TemplateKey = o, r.TemplateKeys[k]
				}
			case typ == "Namespace.v1":
				if object.Name(o) == object.Namespace(r.Parent) {
					in.Namespace = o
				}
			case object.String(o, "metadata", "labels", render.LabelOrphaned) == "true":
				in.Related = append(in.Related, o)
			case in.ChildTypes[typ] && !observed[typ+"|"+k]:
				in.Existing = append(in.Existing, o)
			}
		}
	}
	return in
}

// etagOf tags an answer by exactly what determines it: the hook, the request
// bytes and the code that renders them (the version).
func etagOf(hook string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(buildID))
	h.Write([]byte{0})
	h.Write([]byte(hook))
	h.Write([]byte{0})
	h.Write(body)
	return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"`
}
