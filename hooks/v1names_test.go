package hooks_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A Tenant named as v1.0 named it can be longer than a label value: the
// related-object rules select its orphans by the shortened label and find
// it by the full name that its children carry in an annotation.
func TestLongTenantNameRelatedRules(t *testing.T) {
	long := "550e8400-e29b-41d4-a716-446655440000-customer-web-application-frontend"
	label := names.TenantLabel(long)
	require.NotEqual(t, long, label)

	parent := object.Obj{"apiVersion": render.APIVersion, "kind": "Tenant",
		"metadata": map[string]any{"name": long, "namespace": "saas"}, "spec": map[string]any{"templateRef": "web"}}
	rules := hooks.TenantRelated(parent, []wire.ResourceRef{{APIVersion: "v1", Resource: "configmaps"}})
	var selectors int
	for _, r := range rules {
		if r.LabelSelector != nil && r.LabelSelector.MatchLabels[render.LabelOrphaned] == "true" {
			require.Equal(t, label, r.LabelSelector.MatchLabels[render.LabelTenant])
			selectors++
		}
	}
	require.Equal(t, 1, selectors)

	child := object.Obj{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name":        "customer-acme",
		"labels":      map[string]any{render.LabelTenant: label, render.LabelTenantNamespace: "saas"},
		"annotations": map[string]any{render.AnnotationTenant: long},
	}}
	require.Equal(t, []string{long}, hooks.NamespaceRelated(child)[0].Names)
	object.SetNested(child, "saas", "metadata", "namespace")
	require.Equal(t, []string{long}, hooks.AdoptionRelated(child)[0].Names)
}
