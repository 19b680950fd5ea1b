package render_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// policyTemplate: a Once ConfigMap, a WhenNeeded ConfigMap, a Retain Secret
// and a Deployment that depends on all three.
func policyTemplate(t testing.TB, data string) object.Obj {
	return fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas, generation: 1}
spec:
  registryId: customers
  configMaps:
    - {id: once, creationPolicy: Once, nameTemplate: "{{ .uid }}-once", spec: {apiVersion: v1, kind: ConfigMap, data: {v: "`+data+`"}}}
    - {id: follow, nameTemplate: "{{ .uid }}-follow", spec: {apiVersion: v1, kind: ConfigMap, data: {v: "`+data+`"}}}
  secrets:
    - {id: keep, deletionPolicy: Retain, nameTemplate: "{{ .uid }}-keep", spec: {apiVersion: v1, kind: Secret, data: {k: dg==}}}
  deployments:
    - id: app
      dependIds: [once, follow, keep]
      nameTemplate: "{{ .uid }}-app"
      spec: {apiVersion: apps/v1, kind: Deployment, spec: {selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: nginx}]}}}}
`)
}

func find(objs []object.Obj, name string) object.Obj {
	for _, o := range objs {
		if object.Name(o) == name {
			return o
		}
	}
	return nil
}

func names(objs []object.Obj) []string {
	var out []string
	for _, o := range objs {
		out = append(out, object.Kind(o)+"/"+object.Name(o))
	}
	return out
}

func TestOnceIgnoresTemplateChanges(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, policyTemplate(t, "v1"))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	onceBefore := object.DeepCopyMap(find(c.Objects(), "acme-once"))

	in.Template = policyTemplate(t, "v2")
	_, err = sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	require.Equal(t, onceBefore, find(c.Objects(), "acme-once"), "a Once child stays byte-identical")
	require.Equal(t, "v2", object.String(find(c.Objects(), "acme-follow"), "data", "v"), "a WhenNeeded child follows the template")
	require.Equal(t, "Once", object.String(onceBefore, "metadata", "annotations", render.AnnotationCreationPolicy))

	// Deleted by hand, a Once child is created again from the current template.
	c.Delete(onceBefore)
	_, err = sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	require.Equal(t, "v2", object.String(find(c.Objects(), "acme-once"), "data", "v"))
}

func finalizingInput(in render.TenantInput) render.TenantInput {
	in.Finalizing = true
	in.Tenant = object.DeepCopyMap(in.Tenant)
	object.SetNested(in.Tenant, "2026-11-25T13:00:00Z", "metadata", "deletionTimestamp")
	return in
}

// Retain through Tenant deletion (a deactivated row and a removed template
// reach the Tenant the same way: the registry deletes it). Every round is
// checked: the Deployment (dependant) goes first, then the ConfigMaps; the
// Secret is marked, anchored to its Namespace and survives the garbage
// collector.
func TestRetainThroughTenantDeletion(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, policyTemplate(t, "v1"))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	keep := find(c.Objects(), "acme-keep")
	require.Len(t, object.NestedSlice(keep, "metadata", "ownerReferences"), 2, "Tenant (controller) + Namespace (anchor)")

	fin := finalizingInput(in)
	rounds, err := sim.Converge(context.Background(), e, fin, c, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"ConfigMap/acme-follow", "ConfigMap/acme-once", "Secret/acme-keep"}, names(rounds[0].Children), "round 1: the Deployment goes")
	require.False(t, rounds[0].Finalized)
	require.Equal(t, []string{"Secret/acme-keep"}, names(rounds[1].Children), "round 2: its dependencies go")
	require.False(t, rounds[1].Finalized)
	last := rounds[len(rounds)-1]
	require.True(t, last.Finalized, "finalized once only marked retained children remain")
	require.Len(t, rounds, 3)

	kept := c.DeleteParent()
	require.Equal(t, []string{"Secret/acme-keep"}, names(kept), "the garbage collector leaves the retained child")
	s := kept[0]
	require.Equal(t, "true", object.String(s, "metadata", "labels", render.LabelOrphaned))
	require.Equal(t, "2026-11-25T13:00:00Z", object.String(s, "metadata", "annotations", render.AnnotationOrphanedAt))
	require.Equal(t, "saas/acme-web", object.String(s, "metadata", "annotations", render.AnnotationOrphanedFrom))
	require.Equal(t, "TenantDeleted", object.String(s, "metadata", "annotations", render.AnnotationOrphanedReason))
	ref := object.NestedSlice(s, "metadata", "ownerReferences")[0].(map[string]any)
	require.Equal(t, "Namespace", ref["kind"])
	require.Equal(t, false, ref["controller"])
}

func TestRetainWithoutNamespaceWaits(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, policyTemplate(t, "v1"))
	in.Namespace = nil
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	rounds, err := sim.Converge(context.Background(), e, finalizingInput(in), c, 6)
	require.NoError(t, err)
	last := rounds[len(rounds)-1]
	require.False(t, last.Finalized, "without a Namespace owner the retained child would be garbage-collected, so finalize never says done")
	for _, r := range object.NestedSlice(last.Status, "resources") {
		if m := r.(map[string]any); m["id"] == "keep" {
			require.Equal(t, "AnchorMissing", m["reason"])
		}
	}
}

func TestRetainThroughRemovalFromTemplate(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, policyTemplate(t, "v1"))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)

	tpl := policyTemplate(t, "v1")
	object.NestedMap(tpl, "spec")["secrets"] = []any{}
	object.NestedSlice(tpl, "spec", "deployments")[0].(map[string]any)["dependIds"] = []any{"once", "follow"}
	in.Template = tpl
	rounds, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	s := find(c.Objects(), "acme-keep")
	require.NotNil(t, s, "a Retain resource removed from the template keeps its object")
	require.Equal(t, "true", object.String(s, "metadata", "labels", render.LabelOrphaned))
	require.Equal(t, "RemovedFromTemplate", object.String(s, "metadata", "annotations", render.AnnotationOrphanedReason))
	last := rounds[len(rounds)-1]
	found := false
	for _, r := range object.NestedSlice(last.Status, "resources") {
		if m := r.(map[string]any); m["id"] == "keep" {
			found = true
			require.Equal(t, "Retained", m["state"])
		}
	}
	require.True(t, found)
	require.Equal(t, "True", cond(last.Status, "Ready")["status"], "a retained leftover does not make the Tenant unready")

	// A Delete resource removed from the template is deleted.
	object.NestedMap(tpl, "spec")["configMaps"] = object.NestedSlice(tpl, "spec", "configMaps")[:1]
	object.NestedSlice(tpl, "spec", "deployments")[0].(map[string]any)["dependIds"] = []any{"once"}
	_, err = sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	require.Nil(t, find(c.Objects(), "acme-follow"))
}

func TestTeardownOrderThreeLevels(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, chain(t, 3))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	rounds, err := sim.Converge(context.Background(), e, finalizingInput(in), c, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"Deployment/acme-d0", "Deployment/acme-d1"}, names(rounds[0].Children))
	require.Equal(t, []string{"Deployment/acme-d0"}, names(rounds[1].Children))
	require.Empty(t, rounds[2].Children)
	require.False(t, rounds[2].Finalized, "finalized only when the observed state proves it")
	require.True(t, rounds[3].Finalized)
	require.Len(t, rounds, 4)
}

func TestTeardownReportsStuckChild(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, chain(t, 1))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	object.SetNested(c.Objects()[0], []any{"example.com/hold"}, "metadata", "finalizers")
	rounds, err := sim.Converge(context.Background(), e, finalizingInput(in), c, 4)
	require.NoError(t, err)
	last := rounds[len(rounds)-1]
	require.False(t, last.Finalized, "never finalized while the child cannot go")
	require.Equal(t, "TeardownStuck", cond(last.Status, "Ready")["reason"])
	rs := object.NestedSlice(last.Status, "resources")[0].(map[string]any)
	require.Equal(t, "Stuck", rs["reason"])
	require.Contains(t, rs["message"], "example.com/hold")
}

func preexisting(owner bool) object.Obj {
	o := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "acme-a", "namespace": "saas", "uid": "foreign-uid",
			"managedFields": []any{map[string]any{"manager": "helm"}}},
		"data": map[string]any{"k": "theirs"}}
	if owner {
		object.SetNested(o, []any{map[string]any{"kind": "HelmRelease", "name": "acme", "controller": true, "uid": "hr"}}, "metadata", "ownerReferences")
	}
	return o
}

func TestConflictPolicies(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		owned        bool
		reason       string
		emitted      bool
	}{
		{"stuck", "Stuck", false, "Conflict", false},
		{"force", "Force", false, "AwaitingAdoption", true},
		{"force never takes from a controller", "Force", true, "Conflict", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine()
			tpl := diamond(t)
			object.NestedSlice(tpl, "spec", "configMaps")[0].(map[string]any)["conflictPolicy"] = tc.policy
			c := sim.New("tenant-uid-1")
			other := preexisting(tc.owned)
			c.Put(other)
			in := input(t, tpl)
			in.Existing = []object.Obj{other}
			out, err := e.SyncTenant(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, tc.emitted, find(out.Children, "acme-a") != nil)
			for _, r := range object.NestedSlice(out.Status, "resources") {
				if m := r.(map[string]any); m["id"] == "a" {
					require.Equal(t, tc.reason, m["reason"], m["message"])
					if tc.owned {
						require.Contains(t, m["message"], "controlled by HelmRelease acme")
					} else {
						require.Contains(t, m["message"], "helm")
					}
				}
			}
			if tc.reason == "AwaitingAdoption" {
				// The adoption decorator relabels it; Metacontroller adopts it.
				tenant := object.DeepCopyMap(in.Tenant)
				object.SetNested(tenant, []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "acme-a", "force": true}}, "spec", "claims")
				labels, _ := render.Adopt(render.AdoptionInput{Object: other, Tenants: []object.Obj{tenant}})
				require.Equal(t, "tenant-uid-1", *labels[render.LabelControllerUID])
				object.SetNested(other, "tenant-uid-1", "metadata", "labels", render.LabelControllerUID)
				in.Existing = nil
				_, err := sim.Converge(context.Background(), e, in, c, 10)
				require.NoError(t, err)
				require.Equal(t, "v", object.String(find(c.Objects(), "acme-a"), "data", "k"), "taken over and managed")
			}
		})
	}
}

// The Retain trap: a Tenant re-created under the same name (new uid) does not
// see its predecessor's retained child; it says so, and once the adoption
// decorator relabels the child, Metacontroller adopts it.
func TestRetainedChildReadopted(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, policyTemplate(t, "v1"))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	_, err = sim.Converge(context.Background(), e, finalizingInput(in), c, 10)
	require.NoError(t, err)
	kept := c.DeleteParent()
	require.Len(t, kept, 1)

	c2 := sim.New("tenant-uid-2")
	c2.Put(kept[0])
	in2 := input(t, policyTemplate(t, "v1"))
	object.SetNested(in2.Tenant, "tenant-uid-2", "metadata", "uid")
	in2.Related = []object.Obj{kept[0]}
	rounds, err := sim.Converge(context.Background(), e, in2, c2, 10)
	require.NoError(t, err)
	for _, r := range object.NestedSlice(rounds[len(rounds)-1].Status, "resources") {
		if m := r.(map[string]any); m["id"] == "keep" {
			require.Equal(t, "RetainedObjectNotAdopted", m["reason"])
			require.Contains(t, m["message"], "controller-uid=tenant-uid-2")
		}
	}

	labels, annotations := render.Adopt(render.AdoptionInput{Object: kept[0], Tenants: []object.Obj{in2.Tenant}})
	require.Equal(t, "tenant-uid-2", *labels[render.LabelControllerUID])
	require.Nil(t, labels[render.LabelOrphaned])
	require.Contains(t, annotations, render.AnnotationOrphanedAt)
	md := object.Map(kept[0], "metadata")
	md["labels"].(map[string]any)[render.LabelControllerUID] = "tenant-uid-2"
	delete(md["labels"].(map[string]any), render.LabelOrphaned)
	in2.Related = nil
	rounds, err = sim.Converge(context.Background(), e, in2, c2, 10)
	require.NoError(t, err)
	require.Equal(t, "True", cond(rounds[len(rounds)-1].Status, "Ready")["status"], rounds[len(rounds)-1].Status)
	require.Equal(t, 3, c2.Creates, "the retained Secret was adopted, not created")
}
