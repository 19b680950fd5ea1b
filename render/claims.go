package render

import (
	"context"
	"sort"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// LabelForceClaims marks Tenants that ask to take over pre-existing objects
// (a resource with conflictPolicy Force), so the optional adoption decorator
// only has to look at those.
const LabelForceClaims = Prefix + "force-claims"

// Claims lists the objects a Tenant's resources will create, as the registry
// writes them into spec.claims. The Tenant's customize hook cannot see its
// template (it only gets the Tenant), so without this list it could not ask
// Metacontroller for pre-existing objects of those names; with it, the sync
// sees them as related objects and applies the conflict policy before the
// first creation. Names and namespaces are the ones the sync renders
// (tenantCtx.locate). A resource whose name or namespace does not render is
// left out: the tenant sync reports that error itself.
func (e *Engine) Claims(ctx context.Context, t *Template, tenant object.Obj, scope Scope) []any {
	vars := Vars(tenant, t)
	tc := &tenantCtx{e: e, ctx: ctx, tpl: t, vars: vars, in: &TenantInput{Tenant: tenant, Scope: scope}, ns: object.Namespace(tenant)}
	out := make([]any, 0, len(t.Resources))
	for _, r := range t.Resources {
		kind := object.Kind(r.Spec)
		at := tc.locate(r, kind, tc.renderMeta(r))
		if at.nameErr != nil {
			continue
		}
		c := map[string]any{"apiVersion": object.APIVersion(r.Spec), "kind": kind, "name": at.name}
		// A namespaced Tenant's objects are in its own namespace: the claim
		// leaves it implicit.
		if scope == Cluster && !clusterScoped[kind] {
			if at.nsErr != nil {
				continue
			}
			c["namespace"] = at.namespace
		}
		if r.ConflictPolicy == ConflictForce {
			c["force"] = true
		}
		out = append(out, c)
	}
	key := func(c any) string {
		m := c.(map[string]any)
		return claimKey(m, object.String(m, "namespace"))
	}
	sort.SliceStable(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

// claimKey is the object.Key of the object a claim names; ns is the
// claim's namespace after defaulting.
func claimKey(m map[string]any, ns string) string {
	return object.TypeKey(object.String(m, "apiVersion"), object.String(m, "kind")) + "|" + object.ObjKey(ns, object.String(m, "name"))
}

// hasForce reports whether any claim asks for a takeover.
func hasForce(claims []any) bool {
	for _, c := range claims {
		if f, _ := c.(map[string]any)["force"].(bool); f {
			return true
		}
	}
	return false
}

// KindResources maps the kinds templates commonly produce to their plural
// resource names, for customize rules. Unknown kinds fall back to the
// lower-case plural Kubernetes would generate.
var KindResources = map[string]string{
	"ConfigMap": "configmaps", "Secret": "secrets", "ServiceAccount": "serviceaccounts", "Service": "services",
	"PersistentVolumeClaim": "persistentvolumeclaims", "Deployment": "deployments", "StatefulSet": "statefulsets",
	"DaemonSet": "daemonsets", "Job": "jobs", "CronJob": "cronjobs", "Ingress": "ingresses", "Namespace": "namespaces",
	"NetworkPolicy": "networkpolicies", "ResourceQuota": "resourcequotas", "LimitRange": "limitranges",
	"Role": "roles", "RoleBinding": "rolebindings", "PodDisruptionBudget": "poddisruptionbudgets",
	"HorizontalPodAutoscaler": "horizontalpodautoscalers", "Endpoints": "endpoints",
}

// ResourceOf returns the plural resource name of a kind.
func ResourceOf(kind string) string {
	if r, ok := KindResources[kind]; ok {
		return r
	}
	l := []byte(kind)
	for i, c := range l {
		if c >= 'A' && c <= 'Z' {
			l[i] = c + 'a' - 'A'
		}
	}
	s := string(l)
	switch {
	case len(s) > 1 && s[len(s)-1] == 'y' && !isVowel(s[len(s)-2]):
		return s[:len(s)-1] + "ies"
	case len(s) > 0 && (s[len(s)-1] == 's' || s[len(s)-1] == 'x' || s[len(s)-1] == 'h'):
		return s + "es"
	}
	return s + "s"
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }
