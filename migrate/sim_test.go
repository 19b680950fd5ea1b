package migrate

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// migrated returns the fixture's objects after the plan was applied, by kind.
func migrated(t *testing.T, f *fixture) (reg, tenant object.Obj, children []object.Obj) {
	t.Helper()
	p := Build(context.Background(), f.all(), Options{})
	require.Empty(t, p.Problems, problemsText(p))
	for _, o := range applyPlan(t, f.all(), p) {
		switch object.Kind(o) {
		case "TenantRegistry":
			reg = o
		case "Tenant":
			tenant = o
		case "TenantTemplate", "Namespace":
		default:
			children = append(children, o)
		}
	}
	return reg, tenant, children
}

// withoutMetadataAndStatus is what an object is apart from bookkeeping: the
// part a change of which would re-configure or roll out a workload.
func withoutMetadataAndStatus(o object.Obj) any {
	c := object.DeepCopyMap(o)
	delete(c, "metadata")
	delete(c, "status")
	return normalize(c)
}

// After the migration, Metacontroller's registry controller claims the v1.0
// Tenant (its controller-uid label matches), the registry sync wants it under
// the same name, and the apply of that answer changes nothing: the migration
// wrote exactly what the registry sync writes. Nothing is released, created
// or deleted, round after round.
func TestRegistryRoundsAfterMigration(t *testing.T) {
	f := load(t)
	reg, tenant, _ := migrated(t, f)
	c := sim.New(object.UID(reg))
	c.Merge = true
	c.Put(object.DeepCopyMap(tenant))
	e := render.New(render.Options{})
	parsed, err := render.ParseRegistry(reg)
	require.NoError(t, err)
	rows, ok := (&planner{}).rows(parsed, []object.Obj{tenant}) // what the database answers: the rows v1.0 rendered
	require.True(t, ok)
	for round := 1; round <= 3; round++ {
		claimed := c.Claim()
		require.Len(t, claimed, 1, "round %d: the Tenant is selected", round)
		var obs []render.ObservedTenant
		for _, o := range claimed {
			obs = append(obs, render.ObserveTenant(o))
		}
		out := e.SyncRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{f.template}, Rows: rows, Observed: obs})
		list := out.ChildList()
		require.Len(t, list, 1)
		assert.Equal(t, object.Name(tenant), object.Name(list[0]))
		c.Apply(list)
	}
	assert.Zero(t, c.Creates, "no Tenant created")
	assert.Zero(t, c.Deletes, "no Tenant deleted")
	assert.Zero(t, c.Updates, "the migrated Tenant is already what the registry sync applies")
	after := c.Objects()
	require.Len(t, after, 1)
	assert.Equal(t, object.UID(f.tenant), object.UID(after[0]))
	assert.Equal(t, normalize(tenant), normalize(after[0]))
}

// After the migration, Metacontroller's Tenant controller claims all six v1.0
// children from the first round on, the tenant sync returns every one of
// them, the apply only adds tenant-hooks' labels and annotations (one update
// each, then nothing), and the Tenant becomes Ready. Not one child is
// released, created or deleted; uids, ownerReferences, specs and the pod
// template stay exactly as v1.0 left them; the Deployment's generation does
// not move (no rollout).
func TestTenantRoundsAfterMigration(t *testing.T) {
	f := load(t)
	_, tenant, children := migrated(t, f)
	tuid := object.UID(tenant)
	c := sim.New(tuid)
	c.Merge = true
	for _, o := range children {
		c.Put(object.DeepCopyMap(o))
	}
	e := render.New(render.Options{})
	in := render.TenantInput{Tenant: object.DeepCopyMap(tenant), Template: f.template, ChildTypes: DefaultChildTypes, Namespace: f.namespace}
	var last render.TenantOutput
	for round := 1; round <= 5; round++ {
		in.Observed = c.Claim()
		require.Len(t, in.Observed, len(children), "round %d: every child is selected, none released", round)
		out, err := e.SyncTenant(context.Background(), in)
		require.NoError(t, err)
		require.Len(t, out.Children, len(children), "round %d: every child is in the answer", round)
		c.Apply(out.Children)
		c.Settle()
		in.Tenant["status"] = out.Status
		last = out
	}
	assert.Zero(t, c.Creates, "nothing created")
	assert.Zero(t, c.Deletes, "nothing deleted")
	assert.Equal(t, len(children), c.Updates, "each child is updated once (tenant-hooks' labels and annotations), then left alone")

	ready := false
	for _, cond := range object.NestedSlice(last.Status, "conditions") {
		m := cond.(map[string]any)
		if m["type"] == "Ready" {
			ready = m["status"] == "True"
		}
	}
	assert.True(t, ready, "the Tenant is Ready: %v", last.Status)

	byUID := map[string]object.Obj{}
	for _, o := range c.Objects() {
		byUID[object.UID(o)] = o
	}
	require.Len(t, byUID, len(children))
	for _, orig := range f.children {
		now := byUID[object.UID(orig)]
		require.NotNil(t, now, "%s keeps its uid", ref(orig))
		assert.Equal(t, withoutMetadataAndStatus(orig), withoutMetadataAndStatus(now), "%s: nothing but metadata changed", ref(orig))
		assert.Equal(t, normalize(object.Nested(orig, "metadata", "ownerReferences")), normalize(object.Nested(now, "metadata", "ownerReferences")), ref(orig))
		assert.Equal(t, tuid, object.String(now, "metadata", "labels", render.LabelControllerUID), ref(orig))
		for k, v := range object.StringMap(orig, "metadata", "labels") {
			assert.Equal(t, v, object.String(now, "metadata", "labels", k), "%s keeps label %s", ref(orig), k)
		}
		for k, v := range object.StringMap(orig, "metadata", "annotations") {
			assert.Equal(t, v, object.String(now, "metadata", "annotations", k), "%s keeps annotation %s", ref(orig), k)
		}
		if object.Kind(orig) == "Deployment" {
			assert.Equal(t, normalize(object.Nested(orig, "spec", "template")), normalize(object.Nested(now, "spec", "template")), "pod template byte-identical")
			g, _ := object.Int64(now, "metadata", "generation")
			assert.EqualValues(t, 1, g, "no new Deployment generation: no rollout")
		}
	}
}

// What the fixture's README recorded for the switch without a migration: the
// v1.0 children lack the controller-uid label, so Metacontroller releases
// every one of them, and the creates of the "missing" children are ignored —
// nothing is managed any more.
func TestNaiveSwitchReleasesEverything(t *testing.T) {
	f := load(t)
	c := sim.New(object.UID(f.tenant))
	for _, o := range f.children {
		c.Put(object.DeepCopyMap(o))
	}
	assert.Empty(t, c.Claim(), "nothing selected")
	for _, o := range c.Objects() {
		assert.Nil(t, controllerRef(o), "%s released", ref(o))
	}
}

// A Retain child of a migrated Tenant survives the Tenant: the finalize rounds
// keep it (and delete the others, dependants first), and when the garbage
// collector removes the Tenant's references the Namespace the migration added
// as second owner keeps it alive.
func TestRetainSurvivesTenantAfterMigration(t *testing.T) {
	f := load(t)
	retain(f, "config")
	_, tenant, children := migrated(t, f)
	c := sim.New(object.UID(tenant))
	c.Merge = true
	for _, o := range children {
		c.Put(object.DeepCopyMap(o))
	}
	e := render.New(render.Options{})
	in := render.TenantInput{Tenant: object.DeepCopyMap(tenant), Template: f.template, ChildTypes: DefaultChildTypes, Namespace: f.namespace}
	// One sync round first (as Metacontroller does after the migration).
	in.Observed = c.Claim()
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	c.Apply(out.Children)
	c.Settle()
	in.Tenant["status"] = out.Status

	object.SetNested(in.Tenant, "2026-12-01T00:00:00Z", "metadata", "deletionTimestamp")
	in.Finalizing = true
	finalized := false
	for round := 0; round < 10 && !finalized; round++ {
		in.Observed = c.Claim()
		out, err := e.SyncTenant(context.Background(), in)
		require.NoError(t, err)
		finalized = out.Finalized
		if !finalized {
			c.Apply(out.Children)
		}
		in.Tenant["status"] = out.Status
	}
	require.True(t, finalized)
	kept := c.DeleteParent()
	require.Len(t, kept, 1)
	assert.Equal(t, "c000001-web-config", object.Name(kept[0]))
	assert.Equal(t, object.UID(f.child(t, "ConfigMap")), object.UID(kept[0]))
	assert.Equal(t, "true", object.String(kept[0], "metadata", "labels", render.LabelOrphaned))
}
