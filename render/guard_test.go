package render_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// guardTemplate is diamond's resources plus one more, with a uid and a
// generation (the deletion token names them).
func guardTemplate(t testing.TB, spec string) object.Obj {
	return fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas, uid: tpl-uid, generation: 7}
spec:
  registryId: customers
`+spec)
}

const fourResources = `
  configMaps:
    - {id: a, nameTemplate: "{{ .uid }}-a", spec: {apiVersion: v1, kind: ConfigMap, data: {k: v}}}
    - {id: c, nameTemplate: "{{ .uid }}-c", spec: {apiVersion: v1, kind: ConfigMap}}
    - {id: d, nameTemplate: "{{ .uid }}-d", spec: {apiVersion: v1, kind: ConfigMap}}
  secrets:
    - {id: s, nameTemplate: "{{ .uid }}-s", spec: {apiVersion: v1, kind: Secret}}
`

func converged(t *testing.T, e *render.Engine, tpl object.Obj) (*sim.Cluster, render.TenantInput) {
	c := sim.New("tenant-uid-1")
	in := input(t, tpl)
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	require.Len(t, c.Objects(), 4)
	return c, in
}

// Issue 12 item 5: a template that suddenly renders nothing (an emptied
// spec, every list misspelt and pruned) does not delete a Tenant's objects:
// they are kept unchanged, the Tenant says why and how to allow it, and the
// annotation with the printed token allows exactly that version of the
// template to delete them.
func TestTemplateRenderingNothingIsHeld(t *testing.T) {
	for name, spec := range map[string]string{
		"empty spec":        "",
		"misspelt sections": "  configmaps: [{id: a}]\n  secret: [{id: s}]\n",
	} {
		t.Run(name, func(t *testing.T) {
			e, _ := newEngine()
			c, in := converged(t, e, guardTemplate(t, fourResources))
			in.Template = guardTemplate(t, spec)
			in.Observed = c.Claim()
			out, err := e.SyncTenant(context.Background(), in)
			require.NoError(t, err)
			require.Len(t, out.Children, 4, "every object is kept")
			require.Equal(t, names(in.Observed), names(out.Children))
			ready := cond(out.Status, "Ready")
			require.Equal(t, "False", ready["status"])
			require.Equal(t, "DeletionBlocked", ready["reason"])
			blocked := cond(out.Status, "DeletionBlocked")
			require.Equal(t, "True", blocked["status"])
			require.Equal(t, "MassDeletionGuard", blocked["reason"])
			token := render.TemplateDeletionToken(in.Template)
			require.Contains(t, blocked["message"], "declares no resources")
			require.Contains(t, blocked["message"], "kubectl annotate tenanttemplate web -n saas "+render.AnnotationAllowDeletion+"="+token+" --overwrite")
			c.Apply(out.Children)
			require.Len(t, c.Objects(), 4)

			// A token for another version of the template allows nothing.
			other := guardTemplate(t, spec)
			object.SetNested(other, int64(6), "metadata", "generation")
			object.SetNested(in.Template, map[string]any{render.AnnotationAllowDeletion: render.TemplateDeletionToken(other)}, "metadata", "annotations")
			out, err = e.SyncTenant(context.Background(), in)
			require.NoError(t, err)
			require.Len(t, out.Children, 4)

			object.SetNested(in.Template, map[string]any{render.AnnotationAllowDeletion: token}, "metadata", "annotations")
			out, err = e.SyncTenant(context.Background(), in)
			require.NoError(t, err)
			require.Empty(t, out.Children, "allowed once: the deletion goes ahead")
			require.Nil(t, cond(out.Status, "DeletionBlocked"))
		})
	}
}

// The threshold is the template's spec.deletionGuard.maxDeletePercent
// (default 50, as the registry's): dropping one of four resources goes
// ahead, dropping three is held, and a template that allows 100 % lets it
// through. A value outside 0..100 makes the template invalid (nothing is
// deleted either).
func TestTemplateDeletionGuardThreshold(t *testing.T) {
	one := `
  configMaps:
    - {id: a, nameTemplate: "{{ .uid }}-a", spec: {apiVersion: v1, kind: ConfigMap, data: {k: v}}}
`
	three := one + `    - {id: c, nameTemplate: "{{ .uid }}-c", spec: {apiVersion: v1, kind: ConfigMap}}
    - {id: d, nameTemplate: "{{ .uid }}-d", spec: {apiVersion: v1, kind: ConfigMap}}
`
	for _, tc := range []struct {
		name, spec string
		children   int
		held       bool
	}{
		{"one of four deleted", three, 3, false},
		{"three of four deleted", one, 4, true},
		{"three of four deleted, 100% allowed", one + "  deletionGuard: {maxDeletePercent: 100}\n", 1, false},
		{"two of four deleted, 0% allowed", strings.Replace(three, "    - {id: d, nameTemplate: \"{{ .uid }}-d\", spec: {apiVersion: v1, kind: ConfigMap}}\n", "", 1) + "  deletionGuard: {maxDeletePercent: 0}\n", 4, true},
		{"invalid threshold", fourResources + "  deletionGuard: {maxDeletePercent: 101}\n", 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine()
			c, in := converged(t, e, guardTemplate(t, fourResources))
			in.Template = guardTemplate(t, tc.spec)
			in.Observed = c.Claim()
			out, err := e.SyncTenant(context.Background(), in)
			require.NoError(t, err)
			require.Len(t, out.Children, tc.children, names(out.Children))
			require.Equal(t, tc.held, cond(out.Status, "DeletionBlocked") != nil, out.Status)
			if tc.name == "invalid threshold" {
				require.Equal(t, "TemplateInvalid", cond(out.Status, "Ready")["reason"])
				require.Contains(t, cond(out.Status, "Ready")["message"], "maxDeletePercent")
			}
		})
	}
}
