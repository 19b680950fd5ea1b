package hooks

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// namespaceCustomize asks for the Tenant a labelled Namespace belongs to and
// for its template. Namespaces we create name their template in an
// annotation; a Namespace labelled by hand gets every template and the sync
// picks the Tenant's.
func (s *Server) namespaceCustomize(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	return customize(body, func(req *wire.CustomizeRequest) []wire.RelatedRule { return namespaceRelated(req.Parent) })
}

// namespaceRelated is the customize answer of the namespace decorator.
func namespaceRelated(ns object.Obj) []wire.RelatedRule {
	tenant := render.TenantOf(ns)
	tenantNS := object.String(ns, "metadata", "labels", render.LabelTenantNamespace)
	rules := []wire.RelatedRule{}
	if tenant == "" {
		return rules
	}
	if tenantNS != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenants", Namespace: tenantNS, Names: []string{tenant}})
	} else {
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "clustertenants", Names: []string{tenant}})
	}
	if ref := object.String(ns, "metadata", "annotations", render.AnnotationTemplateSource); strings.Contains(ref, "/") {
		tplNS, name, _ := strings.Cut(ref, "/")
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenanttemplates", Namespace: tplNS, Names: []string{name}})
	} else {
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenanttemplates", LabelSelector: &wire.LabelSelector{}})
	}
	return rules
}

// namespaceSync renders a tenant Namespace's defaults and readiness summary.
func (s *Server) namespaceSync(ctx context.Context, _ *http.Request, body []byte) (answer, error) {
	r, err := decodeDecorator(body)
	if err != nil {
		return answer{}, err
	}
	in := render.NamespaceInput{Namespace: r.Object, AttachmentTypes: map[string]bool{}}
	for typ, objs := range r.Attachments {
		in.AttachmentTypes[typ] = true
		for _, k := range ordered.Keys(objs) {
			in.Observed = append(in.Observed, objs[k])
		}
	}
	name := render.TenantOf(r.Object)
	for _, kind := range []string{"Tenant", "ClusterTenant"} {
		for _, k := range ordered.Keys(r.Related[object.TypeKey(render.APIVersion, kind)]) {
			if o := r.Related[object.TypeKey(render.APIVersion, kind)][k]; object.Name(o) == name {
				in.Tenant = o
			}
		}
	}
	if in.Tenant != nil {
		tplNS := object.String(in.Tenant, "spec", "templateNamespace")
		if tplNS == "" {
			tplNS = object.Namespace(in.Tenant)
		}
		in.Template = r.Related[templateTypeKey][object.ObjKey(tplNS, object.String(in.Tenant, "spec", "templateRef"))]
	}
	start := time.Now()
	out, err := s.engine.SyncNamespace(ctx, in)
	s.metrics.RenderDuration.WithLabelValues("namespace").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, &UnavailableError{Err: err}
	}
	return answer{body: wire.DecoratorResponse{Attachments: out.Attachments, Annotations: out.Annotations}}, nil
}

// adoptionCustomize asks for the Tenants that may claim an unowned object:
// the Tenant its retained labels name, and every Tenant or ClusterTenant
// marked as having Force claims.
func (s *Server) adoptionCustomize(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	return customize(body, func(req *wire.CustomizeRequest) []wire.RelatedRule { return adoptionRelated(req.Parent) })
}

// adoptionRelated is the customize answer of the adoption decorators.
func adoptionRelated(o object.Obj) []wire.RelatedRule {
	rules := []wire.RelatedRule{}
	ns := object.Namespace(o)
	tenant := render.TenantOf(o)
	force := &wire.LabelSelector{MatchLabels: map[string]string{render.LabelForceClaims: "true"}}
	if ns != "" {
		if tenant != "" {
			rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenants", Namespace: ns, Names: []string{tenant}})
		}
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenants", Namespace: ns, LabelSelector: force})
	}
	rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "clustertenants", LabelSelector: force})
	return rules
}

// adoptionSync relabels an unowned object so that the Tenant that claims it
// adopts it (render.Adopt explains why this is needed).
func (s *Server) adoptionSync(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	r, err := decodeDecorator(body)
	if err != nil {
		return answer{}, err
	}
	in := render.AdoptionInput{Object: r.Object}
	for _, kind := range []string{"Tenant", "ClusterTenant"} {
		objs := r.Related[object.TypeKey(render.APIVersion, kind)]
		for _, k := range ordered.Keys(objs) {
			in.Tenants = append(in.Tenants, objs[k])
		}
	}
	labels, annotations := render.Adopt(in)
	if labels != nil {
		s.log.Info("handing an unowned object to the Tenant that claims it", "kind", object.Kind(r.Object),
			"object", object.ObjKey(object.Namespace(r.Object), object.Name(r.Object)), "tenant", *labels[render.LabelTenant])
	}
	return answer{body: wire.DecoratorResponse{Labels: labels, Annotations: annotations, Attachments: []object.Obj{}}}, nil
}
