package render

import (
	"context"
	"sort"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
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
// (tenantCtx.locate). A resource whose name or namespace does not render,
// or whose name is not a valid object name (a template can render a 250 KB
// one), is left out: the tenant sync reports those errors itself.
func (e *Engine) Claims(ctx context.Context, t *Template, tenant object.Obj, scope Scope) []any {
	claims, _ := e.claims(ctx, t, tenant, scope)
	return claims
}

// claims returns the claims, sorted, and the resources they belong to.
func (e *Engine) claims(ctx context.Context, t *Template, tenant object.Obj, scope Scope) ([]any, []*Resource) {
	vars := Vars(tenant, t)
	if b := tmpl.BudgetFrom(ctx); b != nil {
		// Each Tenant's names are encoded and dropped before the next
		// Tenant's are rendered: each gets the whole budget.
		ctx = tmpl.WithBudget(ctx, tmpl.NewBudget(b.Limit()))
	}
	tc := &tenantCtx{e: e, ctx: ctx, tpl: t, vars: vars, in: &TenantInput{Tenant: tenant, Scope: scope}, ns: object.Namespace(tenant)}
	out := make([]any, 0, len(t.Resources))
	var of []*Resource
	for _, r := range t.Resources {
		kind := object.Kind(r.Spec)
		at := tc.locate(r, kind, tc.renderMeta(r))
		if at.nameErr != nil || names.ValidateName(kind, at.name) != nil {
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
		of = append(of, r)
	}
	key := func(c any) string {
		m := c.(map[string]any)
		return claimKey(m, object.String(m, "namespace"))
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return key(out[idx[i]]) < key(out[idx[j]]) })
	sorted, res := make([]any, len(out)), make([]*Resource, len(out))
	for i, j := range idx {
		sorted[i], res[i] = out[j], of[j]
	}
	return sorted, res
}

// claimsFor is the spec.claims the registry writes into a desired Tenant,
// one of two states (docs/policies.md, "Which related rules a Tenant asks
// for"):
//
//   - converging: a claim for every resource, as the template and row render
//     them — while any of them is not reported as the Tenant's own child by
//     its observed status (prev; nil for a Tenant that does not exist yet);
//   - converged: an empty list — every resource is its child, so the Tenant
//     needs no rule on any child kind.
//
// Two states, not one claim per missing resource: every change of a Tenant's
// spec is a write by the registry's single worker and a new customize call,
// so claims change once when a Tenant converges and once when something goes
// missing, not once per dependency level. Either state is a function of the
// template, the row and the observed status alone, so a Tenant's spec does
// not flap while nothing changes. The empty list is safe whatever the status
// said: the tenant sync creates only objects whose names spec.claims holds.
// An unusable template (t nil) has nothing to claim: its Tenants keep every
// child unchanged until it is fixed.
func (e *Engine) claimsFor(ctx context.Context, t *Template, tenant object.Obj, scope Scope, prev *ObservedTenant) []any {
	if t == nil {
		return []any{}
	}
	claims, res := e.claims(ctx, t, tenant, scope)
	if prev == nil || prev.Terminating || prev.Owned == "" {
		return claims
	}
	for i, c := range claims {
		m := c.(map[string]any)
		r := res[i]
		if r.CreationPolicy == CreationOnce && strings.Contains(prev.Owned, "\x01"+r.ID+"\x00") {
			// A Once resource keeps the object it created whatever its
			// name renders to now; the sync creates nothing while it exists.
			continue
		}
		if !strings.Contains(prev.Owned, ownedEntry(r.ID, object.String(m, "kind"), claimNamespace(m, tenant), object.String(m, "name"))) {
			return claims
		}
	}
	return []any{}
}

// ownedEntry is one resource of ObservedTenant.Owned, delimited on both sides
// so that a lookup cannot match across entries.
func ownedEntry(id, kind, ns, name string) string {
	return "\x01" + id + "\x00" + kind + "\x00" + ns + "\x00" + name + "\x01"
}

// ownedResources collects the status.resources entries of a Tenant marked
// owned, as ObservedTenant.Owned.
func ownedResources(tenant object.Obj) string {
	var b strings.Builder
	for _, r := range object.NestedSlice(tenant, "status", "resources") {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if owned, _ := m["owned"].(bool); !owned {
			continue
		}
		b.WriteString(ownedEntry(object.String(m, "id"), object.String(m, "kind"), object.String(m, "namespace"), object.String(m, "name")))
	}
	return b.String()
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

// claimedKeys are the keys of the objects a Tenant's spec.claims names, or
// nil when the Tenant has no spec.claims member at all. An empty list is not
// nil: it is the registry saying that every resource is already a child.
func claimedKeys(tenant object.Obj) map[string]bool {
	raw, present := object.NestedMap(tenant, "spec")["claims"]
	list, isList := raw.([]any)
	if !present || !isList {
		return nil
	}
	out := make(map[string]bool, len(list))
	for _, c := range list {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		out[claimKey(m, claimNamespace(m, tenant))] = true
	}
	return out
}

// claimNamespace is a claim's namespace after defaulting: a namespaced kind
// without one is in the Tenant's namespace.
func claimNamespace(m map[string]any, tenant object.Obj) string {
	ns := object.String(m, "namespace")
	if ns == "" && !clusterScoped[object.String(m, "kind")] {
		ns = object.Namespace(tenant)
	}
	return ns
}
