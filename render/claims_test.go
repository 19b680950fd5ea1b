package render_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// A Tenant claims exactly the objects its sync creates: names and
// namespaces come from one place (nameTemplate or a templated
// metadata.name; targetNamespace or a templated metadata.namespace), for
// namespaced and cluster-scoped Tenants alike.
func TestClaimsNameWhatTheSyncCreates(t *testing.T) {
	cluster := fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: stack, namespace: tenant-system}
spec:
  registryId: customers
  namespaces:
    - {id: ns, nameTemplate: "customer-{{ .uid }}", spec: {apiVersion: v1, kind: Namespace}}
  configMaps:
    - {id: by-target, nameTemplate: app-config, targetNamespace: "customer-{{ .uid }}", spec: {apiVersion: v1, kind: ConfigMap}}
    - {id: by-metadata, spec: {apiVersion: v1, kind: ConfigMap, metadata: {name: "{{ .uid }}-extra", namespace: "customer-{{ .uid }}"}}}
`)
	for name, in := range map[string]render.TenantInput{
		"namespaced": input(t, policyTemplate(t, "v1")),
		"cluster":    {Tenant: clusterTenant(t), Template: cluster, Scope: render.Cluster},
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newEngine()
			c := sim.New(object.UID(in.Tenant))
			_, err := sim.Converge(context.Background(), e, in, c, 10)
			require.NoError(t, err)
			tpl, err := e.Template(in.Template)
			require.NoError(t, err)
			var claimed, created []string
			for _, cl := range e.Claims(context.Background(), tpl, in.Tenant, in.Scope) {
				m := cl.(map[string]any)
				ns := object.String(m, "namespace")
				if ns == "" && in.Scope == render.Namespaced {
					ns = object.Namespace(in.Tenant) // implicit: a namespaced Tenant's own
				}
				claimed = append(claimed, object.String(m, "kind")+"/"+object.ObjKey(ns, object.String(m, "name")))
			}
			for _, o := range c.Objects() {
				created = append(created, object.Kind(o)+"/"+object.ObjKey(object.Namespace(o), object.Name(o)))
			}
			require.Len(t, claimed, len(tpl.Resources))
			require.ElementsMatch(t, created, claimed)
		})
	}
}
