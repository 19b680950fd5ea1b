package render_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

const registryYAML = `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantRegistry
metadata: {name: customers, namespace: saas}
spec:
  source: {type: static, syncInterval: 2m}
  valueMappings: {uid: id, hostOrUrl: url, activate: active}
`

const webTemplateYAML = `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas, uid: t1, resourceVersion: "1"}
spec:
  registryId: customers
  configMaps:
  - id: cfg
    nameTemplate: "{{ .uid }}-cfg"
    spec: {apiVersion: v1, kind: ConfigMap, data: {a: b}}
`

func rowsOf(t testing.TB, uids ...string) datasource.Result {
	rows := make([]map[string]any, len(uids))
	for i, u := range uids {
		rows[i] = map[string]any{"id": u, "url": "https://" + u + ".example", "active": "1"}
	}
	m := datasource.Mapping{UID: "id", HostOrURL: "url", Activate: "active"}
	raw, err := datasource.NewStatic(rows).Rows(context.Background(), m.Columns())
	require.NoError(t, err)
	return datasource.Evaluate(m, raw)
}

func observeTenants(objs []object.Obj) []render.ObservedTenant {
	out := make([]render.ObservedTenant, 0, len(objs))
	for _, o := range objs {
		out = append(out, render.ObserveTenant(o))
	}
	return out
}

// observedTenant is a Tenant as the API server returns it, Ready.
func observedTenant(t testing.TB, name string, ready bool) object.Obj {
	status := "False"
	if ready {
		status = "True"
	}
	return fromYAML(t, fmt.Sprintf(`
apiVersion: operator.kubernetes-tenants.org/v1
kind: Tenant
metadata:
  name: %s
  namespace: saas
  uid: u-%s
  resourceVersion: "7"
  annotations: {keep: "yes", metacontroller.k8s.io/last-applied-configuration: "{}"}
spec: {uid: %s, templateRef: web, registryId: customers}
status:
  conditions: [{type: Ready, status: "%s"}]
`, name, name, name, status))
}

// The answer's Tenants come in name order, desired and kept ones merged;
// iterating again (or stopping early) changes nothing.
func TestSyncRegistryChildren(t *testing.T) {
	e, _ := newEngine()
	in := render.RegistryInput{
		Registry:  fromYAML(t, registryYAML),
		Templates: []object.Obj{fromYAML(t, webTemplateYAML)},
		Rows:      rowsOf(t, "c"),
		Observed: observeTenants([]object.Obj{
			observedTenant(t, "a-web", true), observedTenant(t, "b-web", false), observedTenant(t, "c-web", true),
		}),
	}
	out := e.SyncRegistry(context.Background(), in)
	require.True(t, out.GuardActivated, "2 of 3 Tenants would go: above 50%%: %v", out.Status)
	require.Equal(t, 3, out.NumChildren)
	list := out.ChildList()
	require.Equal(t, []string{"a-web", "b-web", "c-web"}, []string{object.Name(list[0]), object.Name(list[1]), object.Name(list[2])})
	require.Equal(t, list, out.ChildList(), "a second iteration yields the same Tenants")

	// A kept Tenant is the observed one without what the server owns.
	require.Equal(t, map[string]any{"keep": "yes"}, object.NestedMap(list[0], "metadata", "annotations"))
	require.Nil(t, object.Nested(list[0], "metadata", "uid"))
	require.Nil(t, list[0]["status"])
	// The desired one is rendered, claims included.
	require.Equal(t, "c", object.String(list[2], "spec", "uid"))
	require.Len(t, object.NestedSlice(list[2], "spec", "claims"), 1)

	n := 0
	for range out.Children {
		n++
		break
	}
	require.Equal(t, 1, n)
	require.Equal(t, 2, out.Ready)
	require.Equal(t, 1, out.Desired)
}

// An invalid registry keeps every observed Tenant, in name order.
func TestSyncRegistryInvalidSpecKeepsTenants(t *testing.T) {
	e, _ := newEngine()
	reg := fromYAML(t, registryYAML)
	object.SetNested(reg, "oracle", "spec", "source", "type")
	out := e.SyncRegistry(context.Background(), render.RegistryInput{
		Registry: reg,
		Observed: observeTenants([]object.Obj{observedTenant(t, "b-web", true), observedTenant(t, "a-web", true)}),
	})
	list := out.ChildList()
	require.Len(t, list, 2)
	require.Equal(t, "a-web", object.Name(list[0]))
	require.Equal(t, "b-web", object.Name(list[1]))
	require.Equal(t, "InvalidSpec", object.String(cond(out.Status, "Ready"), "reason"))
}

// A wrongly typed or out-of-range number in the source spec used to become
// the default silently (port "1" connected to 3306); it is an invalid spec
// now, with a message naming the field and what it holds (issue 12).
func TestParseRegistryRejectsWronglyTypedNumbers(t *testing.T) {
	mysqlReg := func(edit func(m map[string]any)) object.Obj {
		reg := fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantRegistry
metadata: {name: customers, namespace: saas}
spec:
  source:
    type: mysql
    mysql: {host: db, username: u, database: d, table: t}
  valueMappings: {uid: id, activate: active}
`)
		edit(object.NestedMap(reg, "spec", "source", "mysql"))
		return reg
	}
	for _, c := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"port as a string", func(m map[string]any) { m["port"] = "1" }, `spec.source.mysql.port must be an integer, not the string "1"`},
		{"port with a fraction", func(m map[string]any) { m["port"] = json.Number("3306.5") }, "spec.source.mysql.port must be an integer, not 3306.5"},
		{"port as an object", func(m map[string]any) { m["port"] = map[string]any{"value": 3306} }, "spec.source.mysql.port must be an integer, not an object"},
		{"port out of range", func(m map[string]any) { m["port"] = json.Number("70000") }, "spec.source.mysql.port 70000 is outside 1..65535"},
		{"port zero", func(m map[string]any) { m["port"] = json.Number("0") }, "spec.source.mysql.port 0 is outside 1..65535"},
		{"timeout zero", func(m map[string]any) { m["queryTimeoutSeconds"] = json.Number("0") }, "spec.source.mysql.queryTimeoutSeconds 0 is outside 1..60"},
		{"timeout negative", func(m map[string]any) { m["queryTimeoutSeconds"] = json.Number("-5") }, "spec.source.mysql.queryTimeoutSeconds -5 is outside 1..60"},
		{"timeout too long", func(m map[string]any) { m["queryTimeoutSeconds"] = json.Number("3600") }, "spec.source.mysql.queryTimeoutSeconds 3600 is outside 1..60"},
		{"timeout as a string", func(m map[string]any) { m["queryTimeoutSeconds"] = "5" }, `spec.source.mysql.queryTimeoutSeconds must be an integer, not the string "5"`},
		{"timeout with a fraction", func(m map[string]any) { m["queryTimeoutSeconds"] = json.Number("2.5") }, "spec.source.mysql.queryTimeoutSeconds must be an integer, not 2.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render.ParseRegistry(mysqlReg(c.edit))
			require.ErrorContains(t, err, c.want)
		})
	}
	reg := mysqlReg(func(map[string]any) {})
	object.SetNested(reg, "half", "spec", "deletionGuard", "maxDeletePercent")
	object.SetNested(reg, json.Number("60"), "spec", "source", "syncInterval")
	_, err := render.ParseRegistry(reg)
	require.ErrorContains(t, err, `spec.deletionGuard.maxDeletePercent must be an integer, not the string "half"`)
	require.ErrorContains(t, err, "spec.source.syncInterval must be a string like 30s, 1m or 1h, not 60")

	// What stays valid: integers as JSON numbers, integral floats (YAML 3306.0), null (the default).
	for _, port := range []any{json.Number("3307"), float64(3307), json.Number("3307.0")} {
		r, err := render.ParseRegistry(mysqlReg(func(m map[string]any) { m["port"] = port; m["queryTimeoutSeconds"] = json.Number("60") }))
		require.NoError(t, err, "%v", port)
		require.Equal(t, 3307, r.MySQL.Port)
		require.Equal(t, 60*time.Second, r.MySQL.QueryTimeout)
	}
	r, err := render.ParseRegistry(mysqlReg(func(m map[string]any) { m["port"] = nil; m["queryTimeoutSeconds"] = nil }))
	require.NoError(t, err)
	require.Equal(t, 3306, r.MySQL.Port)
	require.Equal(t, 5*time.Second, r.MySQL.QueryTimeout)
}

// spec.claims has two states (docs/policies.md): every resource claimed while
// the observed status does not report all of them as owned children, none
// once it does. A Once resource is owned by the object it keeps whatever its
// name renders to now; an owned object of another name is not the claimed one.
func TestRegistryClaimsStates(t *testing.T) {
	tpl := fromYAML(t, webTemplateYAML)
	once := fromYAML(t, webTemplateYAML)
	object.NestedSlice(once, "spec", "configMaps")[0].(map[string]any)["creationPolicy"] = "Once"
	owned := func(name string, isOwned bool) object.Obj {
		o := observedTenant(t, "c-web", true)
		object.SetNested(o, []any{map[string]any{"id": "cfg", "kind": "ConfigMap", "name": name, "namespace": "saas", "owned": isOwned, "state": "Ready"}}, "status", "resources")
		return o
	}
	terminating := owned("c-cfg", true)
	object.SetNested(terminating, "2026-11-25T13:00:00Z", "metadata", "deletionTimestamp")
	for _, tc := range []struct {
		name     string
		tpl      object.Obj
		observed []object.Obj
		claims   int
	}{
		{"new Tenant", tpl, nil, 1},
		{"status without owned", tpl, []object.Obj{observedTenant(t, "c-web", true)}, 1},
		{"not owned", tpl, []object.Obj{owned("c-cfg", false)}, 1},
		{"owned", tpl, []object.Obj{owned("c-cfg", true)}, 0},
		{"owned under another name", tpl, []object.Obj{owned("old-cfg", true)}, 1},
		{"Once owned under another name", once, []object.Obj{owned("old-cfg", true)}, 0},
		{"terminating", tpl, []object.Obj{terminating}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine()
			out := e.SyncRegistry(context.Background(), render.RegistryInput{
				Registry: fromYAML(t, registryYAML), Templates: []object.Obj{tc.tpl}, Rows: rowsOf(t, "c"), Observed: observeTenants(tc.observed),
			})
			list := out.ChildList()
			require.Len(t, list, 1)
			claims, present := object.NestedMap(list[0], "spec")["claims"].([]any)
			require.True(t, present, "spec.claims is always written, empty when converged")
			require.Len(t, claims, tc.claims)
		})
	}
}
