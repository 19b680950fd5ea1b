package render_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

func clusterTenant(t testing.TB) object.Obj {
	return fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: ClusterTenant
metadata: {name: acme-stack, uid: ct-uid-1}
spec: {uid: acme, templateRef: stack, registryId: customers, templateNamespace: tenant-system,
       values: {uid: acme, hostOrUrl: "https://acme.example", activate: "1", planId: pro}}
`)
}

func stackTemplate(t testing.TB) object.Obj {
	return fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: stack, namespace: tenant-system}
spec:
  registryId: customers
  namespaces:
    - {id: ns, nameTemplate: "customer-{{ .uid }}", spec: {apiVersion: v1, kind: Namespace}}
  configMaps:
    - {id: config, nameTemplate: app-config, targetNamespace: "customer-{{ .uid }}", spec: {apiVersion: v1, kind: ConfigMap, data: {plan: "{{ .planId }}"}}}
  deployments:
    - id: app
      nameTemplate: app
      targetNamespace: "customer-{{ .uid }}"
      dependIds: [config]
      spec: {apiVersion: apps/v1, kind: Deployment, spec: {selector: {matchLabels: {app: a}}, template: {metadata: {labels: {app: a}}, spec: {containers: [{name: c, image: nginx}]}}}}
  namespaceDefaults:
    - {id: quota, nameTemplate: tenant-quota, spec: {apiVersion: v1, kind: ResourceQuota, spec: {hard: {pods: "{{ if eq .planId \"pro\" }}50{{ else }}10{{ end }}"}}}}
`)
}

// Namespace → contents → dependants: the Namespace first, its contents once
// it is observed, the Deployment once its ConfigMap is ready.
func TestNamespacePerTenantRounds(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("ct-uid-1")
	in := render.TenantInput{Tenant: clusterTenant(t), Template: stackTemplate(t), Scope: render.Cluster}
	rounds, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"Namespace/customer-acme"}, names(rounds[0].Children))
	require.Equal(t, "Pending", states(rounds, 0)["config"])
	require.Equal(t, []string{"ConfigMap/app-config", "Namespace/customer-acme"}, names(rounds[1].Children))
	require.Equal(t, []string{"ConfigMap/app-config", "Deployment/app", "Namespace/customer-acme"}, names(rounds[2].Children))
	last := rounds[len(rounds)-1]
	require.Equal(t, "True", cond(last.Status, "Ready")["status"])
	ns := find(c.Objects(), "customer-acme")
	require.Equal(t, "", object.Namespace(ns))
	require.Equal(t, "acme-stack", object.String(ns, "metadata", "labels", render.LabelTenant))
	require.Equal(t, "customers", object.String(ns, "metadata", "labels", render.LabelRegistry))
	require.Contains(t, object.StringMap(ns, "metadata", "labels"), render.LabelTenantNamespace)
	require.Equal(t, "tenant-system/stack", object.String(ns, "metadata", "annotations", render.AnnotationTemplateSource))
	require.Equal(t, "customer-acme", object.Namespace(find(c.Objects(), "app")))

	// Teardown: contents first, the Namespace last.
	fin := in
	fin.Finalizing = true
	fin.Tenant = object.DeepCopyMap(in.Tenant)
	object.SetNested(fin.Tenant, "2026-11-25T13:00:00Z", "metadata", "deletionTimestamp")
	rounds, err = sim.Converge(context.Background(), e, fin, c, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"ConfigMap/app-config", "Namespace/customer-acme"}, names(rounds[0].Children))
	require.Equal(t, []string{"Namespace/customer-acme"}, names(rounds[1].Children))
	require.True(t, rounds[len(rounds)-1].Finalized)
}

func TestClusterTenantNeedsTargetNamespace(t *testing.T) {
	e, _ := newEngine()
	tpl := stackTemplate(t)
	delete(object.NestedSlice(tpl, "spec", "configMaps")[0].(map[string]any), "targetNamespace")
	out, err := e.SyncTenant(context.Background(), render.TenantInput{Tenant: clusterTenant(t), Template: tpl, Scope: render.Cluster})
	require.NoError(t, err)
	for _, r := range object.NestedSlice(out.Status, "resources") {
		if m := r.(map[string]any); m["id"] == "config" {
			require.Equal(t, "Failed", m["state"])
			require.Contains(t, m["message"], "needs targetNamespace")
		}
	}
}

func TestSyncNamespaceDefaults(t *testing.T) {
	e, _ := newEngine()
	ns := fromYAML(t, `{apiVersion: v1, kind: Namespace, metadata: {name: customer-acme, uid: n1, labels: {kubernetes-tenants.org/tenant: acme-stack}}}`)
	tenant := clusterTenant(t)
	tenant["status"] = map[string]any{"readyResources": 3, "desiredResources": 3,
		"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "AllResourcesReady"}}}
	types := map[string]bool{"ResourceQuota.v1": true, "LimitRange.v1": true}
	out, err := e.SyncNamespace(context.Background(), render.NamespaceInput{Namespace: ns, Tenant: tenant, Template: stackTemplate(t), AttachmentTypes: types})
	require.NoError(t, err)
	require.Len(t, out.Attachments, 1)
	q := out.Attachments[0]
	require.Equal(t, "customer-acme", object.Namespace(q))
	require.Equal(t, "50", object.String(q, "spec", "hard", "pods"))
	require.Equal(t, "acme-stack", object.String(q, "metadata", "labels", render.LabelTenant))
	require.Equal(t, "Ready: 3/3 resources ready", *out.Annotations[render.AnnotationTenantStatus])
	require.Nil(t, out.Annotations[render.AnnotationDefaultsError])

	// The Tenant is gone: attachments are kept, the state says so.
	out2, err := e.SyncNamespace(context.Background(), render.NamespaceInput{Namespace: ns, Observed: []object.Obj{q}, AttachmentTypes: types})
	require.NoError(t, err)
	require.Len(t, out2.Attachments, 1)
	require.Equal(t, "TenantNotFound", *out2.Annotations[render.AnnotationTenantStatus])

	// A bad default keeps the observed attachment and reports the error.
	bad := stackTemplate(t)
	object.SetNested(object.NestedSlice(bad, "spec", "namespaceDefaults")[0].(map[string]any), "{{ .nope }}", "spec", "spec", "hard", "pods")
	out3, err := e.SyncNamespace(context.Background(), render.NamespaceInput{Namespace: ns, Tenant: tenant, Template: bad, Observed: []object.Obj{q}, AttachmentTypes: types})
	require.NoError(t, err)
	require.Equal(t, []object.Obj{q}, out3.Attachments)
	require.Contains(t, *out3.Annotations[render.AnnotationDefaultsError], `missing variable "nope"`)
}
