package hooks_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// tenantChildTypes are the child types of deploy/controllers/tenant-controller.yaml.
var tenantChildTypes = []struct{ apiVersion, kind, resource string }{
	{"v1", "ServiceAccount", "serviceaccounts"}, {"v1", "ConfigMap", "configmaps"}, {"v1", "Secret", "secrets"},
	{"v1", "Service", "services"}, {"v1", "PersistentVolumeClaim", "persistentvolumeclaims"},
	{"apps/v1", "Deployment", "deployments"}, {"apps/v1", "StatefulSet", "statefulsets"},
	{"apps/v1", "DaemonSet", "daemonsets"}, {"batch/v1", "Job", "jobs"}, {"batch/v1", "CronJob", "cronjobs"},
	{"networking.k8s.io/v1", "Ingress", "ingresses"},
}

func isChildResource(res string) bool {
	for _, c := range tenantChildTypes {
		if c.resource == res {
			return true
		}
	}
	return false
}

func simRules(rs []wire.RelatedRule) []sim.Rule {
	out := make([]sim.Rule, 0, len(rs))
	for _, r := range rs {
		sr := sim.Rule{APIVersion: r.APIVersion, Resource: r.Resource, Namespace: r.Namespace, Names: r.Names}
		if r.LabelSelector != nil {
			sr.LabelSelector = r.LabelSelector.MatchLabels
		}
		out = append(out, sr)
	}
	return out
}

// rulesWorld is n Tenants of the basic example in namespace saas, driven by
// the real customize hook and the real request-to-input code. before plays
// the code before claims were trimmed: every Tenant claims every resource
// and asks for retained objects with one label-selector rule per child kind.
func rulesWorld(t testing.TB, n int, before bool, edit func(tpl object.Obj)) *sim.World {
	tpls, err := steady.ReadObjects("../examples/basic-webapp/template.yaml")
	require.NoError(t, err)
	tpl := tpls[0]
	object.SetNested(tpl, int64(1), "metadata", "generation")
	if edit != nil {
		edit(tpl)
	}
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{"customer_id": fmt.Sprintf("c%05d", i), "domain": fmt.Sprintf("https://c%05d.example", i),
			"is_active": "1", "plan": "pro", "replicas": "1"}
	}
	reg := map[string]any{"apiVersion": render.APIVersion, "kind": "TenantRegistry",
		"metadata": map[string]any{"name": "customers", "namespace": "saas"},
		"spec": map[string]any{"source": map[string]any{"type": "static"},
			"valueMappings":      map[string]any{"uid": "customer_id", "hostOrUrl": "domain", "activate": "is_active"},
			"extraValueMappings": map[string]any{"planId": "plan", "replicas": "replicas"}}}
	pr, err := render.ParseRegistry(reg)
	require.NoError(t, err)
	raw, err := datasource.NewStatic(rows).Rows(context.Background(), pr.Mapping.Columns())
	require.NoError(t, err)

	var refs []wire.ResourceRef
	var types []sim.TypeRef
	for _, c := range tenantChildTypes {
		refs = append(refs, wire.ResourceRef{APIVersion: c.apiVersion, Resource: c.resource})
		types = append(types, sim.TypeRef{APIVersion: c.apiVersion, Kind: c.kind})
	}
	e := render.New(render.Options{Now: steady.Now})
	w := &sim.World{
		Engine: e, Registry: reg, Templates: []object.Obj{tpl}, Rows: datasource.Evaluate(pr.Mapping, raw),
		Namespace:  map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "saas", "uid": "ns-uid"}},
		ChildTypes: types, FullClaims: before,
		Customize: func(tenant object.Obj) []sim.Rule {
			if !before {
				return simRules(hooks.TenantRelated(tenant, refs))
			}
			// Today's answer before this change: template, Namespace, one
			// orphan rule per child kind, one name rule per claimed kind.
			bare := object.DeepCopyMap(tenant)
			delete(object.Map(bare, "spec"), "claims")
			rules := hooks.TenantRelated(bare, refs)
			return simRules(append(rules, hooks.TenantRelated(tenant, refs)[2:]...))
		},
		Input: func(parent object.Obj, children, related map[string]map[string]object.Obj) render.TenantInput {
			return hooks.TenantInputFrom(&wire.CompositeRequest{Parent: parent, Children: children, Related: related})
		},
	}
	w.Init()
	return w
}

func status(t testing.TB, w *sim.World, tenant, id string) map[string]any {
	for _, r := range object.NestedSlice(w.Tenant(tenant), "status", "resources") {
		if m := r.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("tenant %s has no resource %q: %v", tenant, id, w.Tenant(tenant)["status"])
	return nil
}

func childRules(w *sim.World, tenant string) []sim.Rule {
	var out []sim.Rule
	for _, r := range w.RulesOf(tenant) {
		if isChildResource(r.Resource) {
			out = append(out, r)
		}
	}
	return out
}

func allReady(t testing.TB, w *sim.World) {
	for _, n := range w.TenantNames() {
		for _, c := range object.NestedSlice(w.Tenant(n), "status", "conditions") {
			if m := c.(map[string]any); m["type"] == "Ready" {
				require.Equal(t, "True", m["status"], "%s: %v", n, m)
			}
		}
	}
}

// A converged Tenant asks for no rule on any child kind, and a child event
// then costs Metacontroller's findRelatedParents nothing (≤ 1 % of before).
func TestConvergedTenantsAskForNoChildRules(t *testing.T) {
	n := 50
	if s := os.Getenv("TENANT_HOOKS_RULES_TENANTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	type phase struct{ converge, steady sim.Costs }
	measure := func(before bool) (phase, *sim.World) {
		w := rulesWorld(t, n, before, nil)
		_, err := w.Converge(ctx, 30)
		require.NoError(t, err)
		allReady(t, w)
		p := phase{converge: w.Costs}
		mark := w.Costs
		// Steady state: every Tenant resyncs once (the 30 s resync) and one
		// Deployment's status changes.
		_, err = w.Step(ctx)
		require.NoError(t, err)
		dep := w.Objects()[0]
		for _, o := range w.Objects() {
			if object.Kind(o) == "Deployment" {
				dep = o
				break
			}
		}
		w.Put(dep)
		p.steady = w.Costs.Sub(mark)
		return p, w
	}
	old, _ := measure(true)
	now, w := measure(false)

	for _, name := range w.TenantNames() {
		require.Empty(t, childRules(w, name), "converged Tenant %s", name)
		require.Equal(t, []any{}, object.NestedSlice(w.Tenant(name), "spec", "claims"))
	}
	require.Equal(t, 1, old.steady.ChildEvents)
	require.Equal(t, 1, now.steady.ChildEvents)
	require.Greater(t, old.steady.RuleEvaluations, 0)
	require.LessOrEqual(t, now.steady.RuleEvaluations*100, old.steady.RuleEvaluations, "≤ 1 %% of before")
	require.Less(t, now.converge.RuleEvaluations, old.converge.RuleEvaluations)
	require.Less(t, now.steady.ListedObjects, old.steady.ListedObjects)

	per := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return strconv.FormatFloat(float64(a)/float64(b), 'f', 1, 64)
	}
	for _, r := range []struct {
		name string
		p    phase
	}{{"before", old}, {"after", now}} {
		c, s := r.p.converge, r.p.steady
		t.Logf("%d tenants %s: converge: %d child events, %s rule evaluations/event (%s selector, sticky %s), %s objects listed/sync over %d syncs, %d customize calls, %d Tenant writes (%d spec changes); steady: %s evaluations/event (sticky %s), %s listed/sync",
			n, r.name, c.ChildEvents, per(c.RuleEvaluations, c.ChildEvents), per(c.SelectorEvaluations, c.ChildEvents),
			per(c.StickyEvaluations, c.ChildEvents), per(c.ListedObjects, c.TenantSyncs), c.TenantSyncs, c.CustomizeCalls,
			c.TenantWrites, c.SpecChanges,
			per(s.RuleEvaluations, s.ChildEvents), per(s.StickyEvaluations, s.ChildEvents), per(s.ListedObjects, s.TenantSyncs))
	}
}

// A child of a converged Tenant goes missing and someone else creates an
// object of its name: the Tenant, which has no rule that could show it that
// object, never answers it as a create; the registry claims the name again
// and the conflict is reported exactly as for a new Tenant. A child that is
// simply deleted is created again, and the Tenant converges back to no
// claims.
func TestMissingChildIsClaimedBeforeItIsCreated(t *testing.T) {
	ctx := context.Background()
	w := rulesWorld(t, 3, false, nil)
	_, err := w.Converge(ctx, 30)
	require.NoError(t, err)
	victim := w.TenantNames()[0]
	cfg := status(t, w, victim, "config")
	key := object.TypeKey("v1", "ConfigMap") + "|" + object.ObjKey("saas", cfg["name"].(string))
	w.Remove(key)
	foreign := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": cfg["name"], "namespace": "saas", "uid": "foreign",
			"managedFields": []any{map[string]any{"manager": "kubectl"}}},
		"data": map[string]any{"theirs": "yes"}}
	w.Put(foreign)

	// The Tenant syncs before the registry has seen its status: it waits.
	in := hooks.TenantInputFrom(&wire.CompositeRequest{Parent: w.Tenant(victim), Children: map[string]map[string]object.Obj{}, Related: map[string]map[string]object.Obj{}})
	out, err := w.Engine.SyncTenant(ctx, in)
	require.NoError(t, err)
	for _, c := range out.Children {
		require.NotEqual(t, cfg["name"], object.Name(c), "an unclaimed name is never answered as a create")
	}
	_, err = w.Step(ctx)
	require.NoError(t, err)
	require.Equal(t, "AwaitingClaim", status(t, w, victim, "config")["reason"])

	_, err = w.Converge(ctx, 30)
	require.NoError(t, err)
	st := status(t, w, victim, "config")
	require.Equal(t, "Conflict", st["reason"], st)
	require.Contains(t, st["message"], "kubectl")
	require.NotEmpty(t, object.NestedSlice(w.Tenant(victim), "spec", "claims"), "claimed while not converged")
	require.NotEmpty(t, childRules(w, victim))
	require.Equal(t, "yes", object.String(w.Objects()[indexOf(w, key)], "data", "theirs"), "the foreign object is untouched")
	for _, other := range w.TenantNames()[1:] {
		require.Empty(t, childRules(w, other), "the other Tenants stay converged")
	}

	// The foreign object goes: the Tenant creates its own and converges back.
	w.Remove(key)
	_, err = w.Converge(ctx, 30)
	require.NoError(t, err)
	allReady(t, w)
	require.Equal(t, true, status(t, w, victim, "config")["owned"])
	require.Equal(t, []any{}, object.NestedSlice(w.Tenant(victim), "spec", "claims"))
	require.Empty(t, childRules(w, victim))
}

func indexOf(w *sim.World, key string) int {
	for i, o := range w.Objects() {
		if object.Key(o) == key {
			return i
		}
	}
	return -1
}

// Retain through the whole loop: the row goes (the Tenant is finalized, its
// Secret retained), the row comes back (a new Tenant, a new uid): the new
// Tenant claims every name, so its name rule shows it the retained Secret
// (RetainedObjectNotAdopted), the adoption decorator hands it over, and the
// Tenant converges to no claims with the Secret adopted, not re-created.
func TestRetainedObjectReadoptedThroughClaims(t *testing.T) {
	ctx := context.Background()
	w := rulesWorld(t, 3, false, func(tpl object.Obj) {
		object.NestedSlice(tpl, "spec", "secrets")[0].(map[string]any)["deletionPolicy"] = "Retain"
	})
	_, err := w.Converge(ctx, 30)
	require.NoError(t, err)
	rows := w.Rows
	victim := w.TenantNames()[0]
	secret := status(t, w, victim, "token")["name"].(string)
	key := object.TypeKey("v1", "Secret") + "|" + object.ObjKey("saas", secret)
	secretUID := object.UID(w.Objects()[indexOf(w, key)])

	w.Rows.Active = rows.Active[1:]
	_, err = w.Converge(ctx, 30)
	require.NoError(t, err)
	require.Nil(t, w.Tenant(victim))
	kept := w.Objects()[indexOf(w, key)]
	require.Equal(t, "true", object.String(kept, "metadata", "labels", render.LabelOrphaned))

	w.Rows = rows
	_, err = w.Converge(ctx, 30)
	require.NoError(t, err)
	st := status(t, w, victim, "token")
	require.Equal(t, "RetainedObjectNotAdopted", st["reason"], st)

	var tenants []object.Obj
	for _, n := range w.TenantNames() {
		tenants = append(tenants, w.Tenant(n))
	}
	kept = w.Objects()[indexOf(w, key)]
	labels, _ := render.Adopt(render.AdoptionInput{Object: kept, Tenants: tenants})
	require.NotNil(t, labels)
	md := object.Map(kept, "metadata")
	for k, v := range labels {
		if v == nil {
			delete(md["labels"].(map[string]any), k)
		} else {
			md["labels"].(map[string]any)[k] = *v
		}
	}
	w.Put(kept)
	_, err = w.Converge(ctx, 30)
	require.NoError(t, err)
	allReady(t, w)
	require.Equal(t, secretUID, object.UID(w.Objects()[indexOf(w, key)]), "adopted, not re-created")
	require.Equal(t, []any{}, object.NestedSlice(w.Tenant(victim), "spec", "claims"))
	require.Empty(t, childRules(w, victim))
}
