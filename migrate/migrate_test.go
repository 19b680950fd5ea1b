package migrate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The recorded v1.0 objects migrate without a problem: every child gets its
// Tenant's controller-uid label and nothing else, the Tenant its registry's
// label, the registry sync's spec and Metacontroller's finalizer instead of
// v1.0's, the registry loses v1.0's finalizer.
func TestFixturePlan(t *testing.T) {
	f := load(t)
	p := Build(context.Background(), f.all(), Options{})
	require.Empty(t, p.Problems, problemsText(p))
	tuid, ruid := object.UID(f.tenant), object.UID(f.registry)

	for _, c := range f.children {
		it := itemFor(t, p, object.Kind(c), object.Name(c))
		assert.Equal(t, ActionMigrate, it.Action, it.Ref())
		assert.Equal(t, Op{Op: "test", Path: "/metadata/uid", Value: object.UID(c)}, it.Patch[0], it.Ref())
		after, err := jsonPatch(c, it.Patch)
		require.NoError(t, err, it.Ref())
		// Only the label changed.
		want := object.DeepCopyMap(c)
		object.SetNested(want, tuid, "metadata", "labels", render.LabelControllerUID)
		assert.Equal(t, normalize(want), normalize(after), it.Ref())
	}

	ten := itemFor(t, p, "Tenant", "c000001-web")
	after, err := jsonPatch(f.tenant, ten.Patch)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		render.LabelControllerUID: ruid, render.LabelRegistry: "customers", render.LabelUID: "c000001", render.LabelTemplate: "web",
	}, object.StringMap(after, "metadata", "labels"))
	assert.Equal(t, []string{MCTenantFinalizer}, finalizers(after))
	assert.Equal(t, object.Nested(f.tenant, "metadata", "ownerReferences"), object.Nested(after, "metadata", "ownerReferences"))
	assert.Equal(t, object.Nested(f.tenant, "metadata", "annotations"), object.Nested(after, "metadata", "annotations"), "v1.0's annotations are kept for a rollback")
	assert.Equal(t, map[string]string{"activate": "1", "hostOrUrl": "https://c000001.example", "planId": "basic", "replicas": "1", "uid": "c000001"},
		object.StringMap(after, "spec", "values"))
	assert.Equal(t, "customers", object.String(after, "spec", "registryId"))
	assert.Len(t, object.NestedSlice(after, "spec", "claims"), 6)
	assert.Nil(t, object.Nested(after, "spec", "deployments"), "v1.0's resource lists are not tenant-hooks' spec")

	reg := itemFor(t, p, "TenantRegistry", "customers")
	after, err = jsonPatch(f.registry, reg.Patch)
	require.NoError(t, err)
	assert.Empty(t, finalizers(after))
	assert.Equal(t, ActionUntouched, itemFor(t, p, "TenantTemplate", "web").Action)
	assert.Equal(t, ActionUntouched, itemFor(t, p, "Namespace", "uprace").Action)
	assert.Equal(t, 8, p.Patches())

	// Children are patched before their Tenant, Tenants before registries.
	var order []string
	for _, it := range p.Items {
		if len(it.Patch) > 0 {
			order = append(order, it.Kind)
		}
	}
	assert.Equal(t, []string{"ConfigMap", "Deployment", "Ingress", "Secret", "Service", "ServiceAccount", "Tenant", "TenantRegistry"}, order)
}

// The plan is what the registry sync will write: the migrated Tenant equals,
// in labels and spec, the Tenant the registry hook answers for the same row.
func TestTenantSpecIsTheRegistrySyncs(t *testing.T) {
	f := load(t)
	objs := applyPlan(t, f.all(), Build(context.Background(), f.all(), Options{}))
	var migrated object.Obj
	for _, o := range objs {
		if object.Kind(o) == "Tenant" {
			migrated = o
		}
	}
	e := render.New(render.Options{})
	reg, err := render.ParseRegistry(f.registry)
	require.NoError(t, err)
	rows, ok := (&planner{}).rows(reg, []object.Obj{f.tenant})
	require.True(t, ok)
	out := e.SyncRegistry(context.Background(), render.RegistryInput{Registry: f.registry, Templates: []object.Obj{f.template}, Rows: rows})
	list := out.ChildList()
	require.Len(t, list, 1)
	assert.Equal(t, normalize(list[0]["spec"]), normalize(migrated["spec"]))
	for k, v := range object.StringMap(list[0], "metadata", "labels") {
		assert.Equal(t, v, object.String(migrated, "metadata", "labels", k), k)
	}
}

// Running the plan again on the migrated objects changes nothing: every object
// is "unchanged" and there is no patch. The script of a second run is empty.
func TestIdempotent(t *testing.T) {
	f := load(t)
	p := Build(context.Background(), f.all(), Options{})
	migrated := applyPlan(t, f.all(), p)
	again := Build(context.Background(), migrated, Options{})
	require.Empty(t, again.Problems, problemsText(again))
	assert.Zero(t, again.Patches())
	for _, it := range again.Items {
		assert.Contains(t, []string{ActionUnchanged, ActionUntouched}, it.Action, it.Ref())
	}
	var script bytes.Buffer
	require.NoError(t, again.WriteScript(&script, "x"))
	assert.NotContains(t, script.String(), `"$KUBECTL" patch`)
	assert.Contains(t, script.String(), "0 objects patched")

	// A stale script does not apply to changed objects: its finalizer test fails.
	ten := itemFor(t, p, "Tenant", "c000001-web")
	var mt object.Obj
	for _, o := range migrated {
		if object.Kind(o) == "Tenant" {
			mt = o
		}
	}
	_, err := jsonPatch(mt, ten.Patch)
	assert.Error(t, err)
}

// The rollback gives v1.0 back what it needs, and leaves ownership, spec of
// children and uids alone.
func TestRollback(t *testing.T) {
	f := load(t)
	migrated := applyPlan(t, f.all(), Build(context.Background(), f.all(), Options{}))
	rb := Rollback(migrated)
	require.Empty(t, rb.Problems)
	back := applyPlan(t, migrated, rb)
	for i, o := range back {
		orig := f.all()[i]
		assert.Equal(t, object.UID(orig), object.UID(o))
		assert.Equal(t, object.Nested(orig, "metadata", "ownerReferences"), object.Nested(o, "metadata", "ownerReferences"), ref(o))
		assert.Empty(t, object.String(o, "metadata", "labels", render.LabelControllerUID), ref(o))
		switch object.Kind(o) {
		case "Tenant":
			assert.Equal(t, []string{V1TenantFinalizer}, finalizers(o))
			assert.Equal(t, "0", object.String(o, "metadata", "annotations", V1AnnotationTemplateGeneration))
		case "TenantRegistry":
			assert.Equal(t, []string{V1RegistryFinalizer}, finalizers(o))
		case "Deployment", "ConfigMap", "Secret", "Service", "Ingress", "ServiceAccount":
			assert.Equal(t, normalize(orig), normalize(o), "a child is back exactly as v1.0 left it")
		}
	}
	again := Rollback(back)
	assert.Zero(t, again.Patches(), "the rollback is idempotent")
}

func tenantWith(f *fixture, edit func(object.Obj)) object.Obj {
	t := object.DeepCopyMap(f.tenant)
	edit(t)
	return t
}

// A v1.0 Tenant and child Metacontroller already released (tenant-hooks'
// controllers ran before the migration, as in the fixture's README) are
// attributed by the registry label and the template and adopted again.
func TestReleasedObjectsAreAdopted(t *testing.T) {
	f := load(t)
	delete(object.Map(f.tenant, "metadata"), "ownerReferences")
	dep := f.child(t, "Deployment")
	delete(object.Map(dep, "metadata"), "ownerReferences")
	p := Build(context.Background(), f.all(), Options{})
	require.Empty(t, p.Problems, problemsText(p))
	ten := itemFor(t, p, "Tenant", "c000001-web")
	assert.Equal(t, ActionAdopt, ten.Action)
	after, err := jsonPatch(f.tenant, ten.Patch)
	require.NoError(t, err)
	assert.Equal(t, object.UID(f.registry), object.String(after, "metadata", "labels", render.LabelControllerUID))
	d := itemFor(t, p, "Deployment", "c000001-web")
	assert.Equal(t, ActionAdopt, d.Action)
	after, err = jsonPatch(dep, d.Patch)
	require.NoError(t, err)
	assert.Equal(t, object.UID(f.tenant), object.String(after, "metadata", "labels", render.LabelControllerUID))
}

// Everything that would be lost is refused, with a message that says why.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name string
		edit func(f *fixture) []object.Obj
		want string
	}{
		{"a Tenant tenant-hooks names differently", func(f *fixture) []object.Obj {
			f.tenant = tenantWith(f, func(o object.Obj) {
				object.SetNested(o, "c000002", "spec", "uid")
				object.SetNested(o, "c000002", "metadata", "labels", render.LabelUID)
			})
			return f.all()
		}, `names the Tenant of uid "c000002" and template "web" "c000002-web", not "c000001-web"`},
		{"a Tenant whose row is inactive by tenant-hooks' rules", func(f *fixture) []object.Obj {
			f.tenant = tenantWith(f, func(o object.Obj) { object.SetNested(o, "on", "metadata", "annotations", V1AnnotationActivate) })
			return f.all()
		}, "would not want this Tenant"},
		{"a child the template does not produce", func(f *fixture) []object.Obj {
			extra := object.DeepCopyMap(f.child(t, "ConfigMap"))
			object.SetNested(extra, "c000001-old-config", "metadata", "name")
			object.SetNested(extra, "11111111-2222-3333-4444-555555555555", "metadata", "uid")
			return append(f.all(), extra)
		}, "its template does not produce it: Metacontroller would delete it"},
		{"a pod template tenant-hooks would change", func(f *fixture) []object.Obj {
			d := f.child(t, "Deployment")
			c := object.NestedSlice(d, "spec", "template", "spec", "containers")[0].(map[string]any)
			c["image"] = "nginxinc/nginx-unprivileged:1.26"
			return f.all()
		}, "would change its pod template, which rolls out new pods: spec.template.spec.containers.0.image"},
		{"a ConfigMap tenant-hooks would change", func(f *fixture) []object.Obj {
			object.SetNested(f.child(t, "ConfigMap"), "pro", "data", "PLAN_ID")
			return f.all()
		}, `tenant-hooks would change it: data.PLAN_ID: "basic" instead of "pro"`},
		{"a child of a Tenant that was not read", func(f *fixture) []object.Obj {
			var out []object.Obj
			for _, o := range f.all() {
				if object.Kind(o) != "Tenant" {
					out = append(out, o)
				}
			}
			return out
		}, "which is not among the objects read"},
		{"a Tenant whose registry was not read", func(f *fixture) []object.Obj {
			return []object.Obj{f.template, f.tenant, f.namespace}
		}, "add `kubectl get tenantregistries -A -o json` to the input"},
		{"a Tenant being deleted", func(f *fixture) []object.Obj {
			object.SetNested(f.tenant, "2026-11-30T03:00:00Z", "metadata", "deletionTimestamp")
			return f.all()
		}, "is being deleted"},
		{"a child of a type the Tenant controller does not watch", func(f *fixture) []object.Obj {
			role := map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": map[string]any{
				"name": "c000001-web", "namespace": "uprace", "uid": "99999999-2222-3333-4444-555555555555",
				"ownerReferences": object.Nested(f.child(t, "ConfigMap"), "metadata", "ownerReferences")}}
			return append(f.all(), role)
		}, "the Tenant controller does not watch Role.rbac.authorization.k8s.io/v1"},
		{"Retain resources without their Namespace", func(f *fixture) []object.Obj {
			retain(f, "config")
			var out []object.Obj
			for _, o := range f.all() {
				if object.Kind(o) != "Namespace" {
					out = append(out, o)
				}
			}
			return out
		}, "add `kubectl get namespace uprace -o json` to the input"},
		{"a template tenant-hooks cannot load", func(f *fixture) []object.Obj {
			l := object.NestedSlice(f.template, "spec", "serviceAccounts")
			l[0].(map[string]any)["dependIds"] = []any{"app"} // app depends on sa: a cycle
			return f.all()
		}, "TenantTemplate uprace/web: tenant-hooks cannot load this template"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := load(t)
			p := Build(context.Background(), c.edit(f), Options{})
			require.NotEmpty(t, p.Problems)
			assert.Contains(t, problemsText(p), c.want)
			var b bytes.Buffer
			assert.Error(t, p.WriteScript(&b, "x"), "a plan with problems prints no script")
			assert.Empty(t, b.String())
			// The dry run still lists every object once.
			seen := map[string]int{}
			for _, it := range p.Items {
				if it.UID != "" {
					seen[it.UID]++
				}
			}
			for _, o := range c.edit(load(t)) {
				if object.UID(o) != "" {
					assert.Equal(t, 1, seen[object.UID(o)], "%s listed once", ref(o))
				}
			}
		})
	}
}

// retain switches one resource of the fixture's template (and v1.0's copy in
// the Tenant) to deletionPolicy Retain; v1.0 leaves such a child exactly like
// the others (controller reference to the Tenant).
func retain(f *fixture, id string) {
	for _, o := range []object.Obj{f.template, f.tenant} {
		for _, list := range []string{"configMaps", "deployments", "secrets", "services", "serviceAccounts", "ingresses"} {
			for _, r := range object.NestedSlice(o, "spec", list) {
				if m := r.(map[string]any); m["id"] == id {
					m["deletionPolicy"] = "Retain"
				}
			}
		}
	}
}

// A Retain child gets its second owner, the Namespace, with the label: from
// then on it survives its Tenant whatever happens to the Tenant's finalizer.
// An object without owner that the Tenant's template produces (a Retain
// leftover of an earlier Tenant of that name) is adopted; one no template
// produces is left alone.
func TestRetainAndOwnerless(t *testing.T) {
	f := load(t)
	retain(f, "config")
	cm := f.child(t, "ConfigMap")
	tok := f.child(t, "Secret")
	delete(object.Map(tok, "metadata"), "ownerReferences") // retained by v1.0 from an earlier Tenant, never re-owned
	stray := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{
		"name": "kube-root-ca.crt", "namespace": "uprace", "uid": "77777777-2222-3333-4444-555555555555"}}
	p := Build(context.Background(), append(f.all(), stray), Options{})
	require.Empty(t, p.Problems, problemsText(p))

	it := itemFor(t, p, "ConfigMap", object.Name(cm))
	after, err := jsonPatch(cm, it.Patch)
	require.NoError(t, err)
	refs := object.NestedSlice(after, "metadata", "ownerReferences")
	require.Len(t, refs, 2)
	assert.Equal(t, normalize(map[string]any{"apiVersion": "v1", "kind": "Namespace", "name": "uprace", "uid": object.UID(f.namespace),
		"controller": false, "blockOwnerDeletion": false}), normalize(refs[1]))
	assert.Contains(t, it.Detail, "second owner Namespace uprace")

	ad := itemFor(t, p, "Secret", object.Name(tok))
	assert.Equal(t, ActionAdopt, ad.Action)
	after, err = jsonPatch(tok, ad.Patch)
	require.NoError(t, err)
	assert.Equal(t, object.UID(f.tenant), object.String(after, "metadata", "labels", render.LabelControllerUID))
	assert.Nil(t, object.Nested(after, "metadata", "ownerReferences"), "Metacontroller adds the controller reference when it adopts")

	assert.Equal(t, ActionUntouched, itemFor(t, p, "ConfigMap", "kube-root-ca.crt").Action)
}

// Every object read is listed exactly once in the dry run.
func TestDryRunListsEveryObject(t *testing.T) {
	f := load(t)
	p := Build(context.Background(), f.all(), Options{})
	var b bytes.Buffer
	require.NoError(t, p.WriteTable(&b))
	out := b.String()
	for _, o := range f.all() {
		line := regexp.MustCompile(`(?m)^\w+\s+` + object.Kind(o) + `\s+` + regexp.QuoteMeta(object.ObjKey(object.Namespace(o), object.Name(o))) + `\s`)
		assert.Len(t, line.FindAllString(out, -1), 1, "%s in:\n%s", ref(o), out)
	}
	assert.Contains(t, out, "10 objects: 8 migrate, 2 untouched; 8 patches")
}

// DefaultChildTypes are exactly the Tenant controller's child types.
func TestChildTypesMatchDeploy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "deploy", "controllers", "tenant-controller.yaml"))
	require.NoError(t, err)
	re := regexp.MustCompile(`\{apiVersion: ([^,]+), resource: (\w+),`)
	var got []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		got = append(got, m[1]+" "+m[2])
	}
	var want []string
	for tk := range DefaultChildTypes {
		av, kind, _ := object.SplitTypeKey(tk)
		r := resourceArg(av, kind)
		want = append(want, av+" "+strings.SplitN(r, ".", 2)[0])
	}
	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got)
}
