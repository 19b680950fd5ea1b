package migrate

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// installation is the recorded v1.0 installation grown to n Tenants the way
// v1.0 grows it: every Tenant and child is the recorded one for another row
// (uid c000001 … c00000n), with the values v1.0 renders for that row (the
// Secret's salt is sha1sum of "customers/<uid>", base64) and uids of its own.
func installation(t *testing.T, n int) (*fixture, []object.Obj) {
	t.Helper()
	f := load(t)
	objs := []object.Obj{f.registry, f.template, f.namespace}
	origTenantUID := object.UID(f.tenant)
	for i := 1; i <= n; i++ {
		uid := fmt.Sprintf("c%06d", i)
		id := func(kind string) string { return fmt.Sprintf("%s-%06d", strings.ToLower(kind), i) }
		sum := sha1.Sum([]byte("customers/" + uid))
		salt := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum[:])))
		rename := func(o object.Obj) object.Obj {
			b, err := object.Marshal(o)
			require.NoError(t, err)
			s := strings.ReplaceAll(string(b), "c000001", uid)
			s = strings.ReplaceAll(s, origTenantUID, id("Tenant"))
			s = strings.ReplaceAll(s, object.String(f.child(t, "Secret"), "data", "session-salt"), salt)
			objs, err := Decode([]byte(s))
			require.NoError(t, err)
			return objs[0]
		}
		ten := rename(f.tenant)
		objs = append(objs, ten)
		for _, c := range f.children {
			c = rename(c)
			object.SetNested(c, id(object.Kind(c)), "metadata", "uid")
			objs = append(objs, c)
		}
	}
	return f, objs
}

// A hundred v1.0 Tenants migrate as one did: 701 patches, no problem; then
// Metacontroller's registry controller keeps all hundred Tenants (no create,
// update or delete) and each Tenant controller claims and keeps its six
// children.
func TestHundredTenants(t *testing.T) {
	const n = 100
	f, objs := installation(t, n)
	p := Build(context.Background(), objs, Options{})
	require.Empty(t, p.Problems, problemsText(p))
	assert.Equal(t, 6*n+n+1, p.Patches())
	after := applyPlan(t, objs, p)

	reg := sim.New(object.UID(f.registry))
	reg.Merge = true
	var tenants []object.Obj
	children := map[string][]object.Obj{}
	for _, o := range after {
		switch {
		case object.Kind(o) == "Tenant":
			tenants = append(tenants, o)
			reg.Put(object.DeepCopyMap(o))
		case controllerRef(o) != nil && object.String(controllerRef(o), "kind") == "Tenant":
			u := object.String(controllerRef(o), "uid")
			children[u] = append(children[u], o)
		}
	}
	parsed, err := render.ParseRegistry(f.registry)
	require.NoError(t, err)
	rows, ok := (&planner{}).rows(parsed, tenants)
	require.True(t, ok)
	e := render.New(render.Options{})
	claimed := reg.Claim()
	require.Len(t, claimed, n)
	var obs []render.ObservedTenant
	for _, o := range claimed {
		obs = append(obs, render.ObserveTenant(o))
	}
	out := e.SyncRegistry(context.Background(), render.RegistryInput{Registry: f.registry, Templates: []object.Obj{f.template}, Rows: rows, Observed: obs})
	reg.Apply(out.ChildList())
	assert.Zero(t, reg.Creates+reg.Updates+reg.Deletes, "the registry's first round changes no Tenant")

	for _, ten := range tenants {
		c := sim.New(object.UID(ten))
		c.Merge = true
		for _, o := range children[object.UID(ten)] {
			c.Put(object.DeepCopyMap(o))
		}
		in := render.TenantInput{Tenant: ten, Template: f.template, ChildTypes: DefaultChildTypes, Namespace: f.namespace, Observed: c.Claim()}
		require.Len(t, in.Observed, 6, object.Name(ten))
		o, err := e.SyncTenant(context.Background(), in)
		require.NoError(t, err)
		c.Apply(o.Children)
		assert.Zero(t, c.Creates+c.Deletes, object.Name(ten))
		assert.Equal(t, 6, c.Updates, object.Name(ten))
	}
}

// twoTemplates adds a second template "api" of the same registry, and the
// Tenant and children v1.0 made from it for the same row (the recorded ones
// with "web" read as "api").
func twoTemplates(t *testing.T, f *fixture) []object.Obj {
	t.Helper()
	swap := func(o object.Obj, n int) object.Obj {
		b, err := object.Marshal(o)
		require.NoError(t, err)
		s := strings.ReplaceAll(string(b), "web", "api")
		s = strings.ReplaceAll(s, object.UID(f.tenant), "tenant-api-uid")
		objs, err := Decode([]byte(s))
		require.NoError(t, err)
		if n >= 0 {
			object.SetNested(objs[0], fmt.Sprintf("api-%d", n), "metadata", "uid")
		}
		return objs[0]
	}
	objs := append(f.all(), swap(f.template, 100))
	ten := swap(f.tenant, -1)
	objs = append(objs, ten)
	for i, c := range f.children {
		objs = append(objs, swap(c, i))
	}
	return objs
}

// A registry with two templates: one row, two v1.0 Tenants; both migrate and
// their spec is the registry sync's. Tenants of one row whose recorded values
// differ (v1.0 had not converged) are refused.
func TestTwoTemplates(t *testing.T) {
	f := load(t)
	objs := twoTemplates(t, f)
	p := Build(context.Background(), objs, Options{})
	require.Empty(t, p.Problems, problemsText(p))
	assert.Equal(t, 2*6+2+1, p.Patches())
	for _, name := range []string{"c000001-web", "c000001-api"} {
		it := itemFor(t, p, "Tenant", name)
		assert.Equal(t, ActionMigrate, it.Action)
	}

	for _, o := range objs {
		if object.Kind(o) == "Tenant" && object.Name(o) == "c000001-api" {
			object.SetNested(o, "https://other.example", "metadata", "annotations", V1AnnotationHostOrURL)
		}
	}
	p = Build(context.Background(), objs, Options{})
	assert.Contains(t, problemsText(p), `its row values differ from those of Tenant uprace/c000001-api (same uid "c000001"): v1.0 has not converged`)
}
