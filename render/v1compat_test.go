package render_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	rnames "github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

func childNames(out render.RegistryOutput) []string {
	var got []string
	for _, c := range out.ChildList() {
		got = append(got, object.Name(c))
	}
	return got
}

// Issue 15 item 2: a registry names every Tenant exactly as Tenant Operator
// v1.0 did ("<uid>-<template>") whenever v1.0 could create that name, dots
// and names longer than 63 characters included, so a switch-over keeps
// v1.0's Tenants; names v1.0 could not create keep the sanitised form.
func TestSyncRegistryKeepsV1Names(t *testing.T) {
	e, _ := newEngine()
	uuid := "550e8400-e29b-41d4-a716-446655440000"
	longTpl := strings.ReplaceAll(webTemplateYAML, "name: web,", "name: customer-web-application-frontend,")
	in := render.RegistryInput{
		Registry:  fromYAML(t, registryYAML),
		Templates: []object.Obj{fromYAML(t, webTemplateYAML), fromYAML(t, longTpl)},
		Rows:      rowsOf(t, "acme.corp", "Acme Corp", uuid),
	}
	out := e.SyncRegistry(context.Background(), in)
	require.ElementsMatch(t, []string{
		"acme.corp-web",
		"acme.corp-customer-web-application-frontend",
		uuid + "-web",
		uuid + "-customer-web-application-frontend", // 73 characters: v1.0 created it
		"acme-corp-web-" + hash8("Acme Corp-web"),
		rnames.Sanitize("Acme Corp-customer-web-application-frontend", 63),
	}, childNames(out))
}

// Names that collide — v1.0 could create only one of them — still never
// share a Tenant: every colliding name gets a hash of its own (uid,
// template), and those hashed names stay valid and distinct.
func TestSyncRegistryV1NameCollisions(t *testing.T) {
	e, _ := newEngine()
	bweb := strings.ReplaceAll(webTemplateYAML, "name: web,", "name: b-web,")
	in := render.RegistryInput{
		Registry:  fromYAML(t, registryYAML),
		Templates: []object.Obj{fromYAML(t, webTemplateYAML), fromYAML(t, bweb)},
		// ("a-b", web) and ("a", b-web) are both "a-b-web"; "x.y" is kept.
		Rows: rowsOf(t, "a-b", "a", "x.y"),
	}
	out := e.SyncRegistry(context.Background(), in)
	got := childNames(out)
	require.Len(t, got, 6)
	seen := map[string]bool{}
	for _, n := range got {
		require.False(t, seen[n], "duplicate %s", n)
		seen[n] = true
		require.NoError(t, rnames.ValidateName("Tenant", n))
	}
	require.NotContains(t, got, "a-b-web")
	require.Contains(t, got, "x.y-web")
	require.Contains(t, got, "x.y-b-web")
	require.Contains(t, got, "a-web", "no collision, kept")
	require.Contains(t, got, "a-b-b-web", "no collision, kept")
}

// A Tenant with a v1.0 name longer than 63 characters labels its children
// with a shortened label value (a label value is at most 63) and names
// itself in full in an annotation; the namespace decorator and the
// adoption of retained objects find it through that annotation.
func TestLongTenantNameLabels(t *testing.T) {
	e, _ := newEngine()
	long := "550e8400-e29b-41d4-a716-446655440000-customer-web-application-frontend"
	ten := clusterTenant(t)
	object.SetNested(ten, long, "metadata", "name")
	c := sim.New("ct-uid-1")
	in := render.TenantInput{Tenant: ten, Template: stackTemplate(t), Scope: render.Cluster}
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	objs := c.Objects()
	require.NotEmpty(t, objs)
	for _, o := range objs {
		label := object.String(o, "metadata", "labels", render.LabelTenant)
		require.Equal(t, rnames.TenantLabel(long), label, object.Name(o))
		require.NoError(t, rnames.ValidateLabelValue(label))
		require.Equal(t, long, object.String(o, "metadata", "annotations", render.AnnotationTenant))
		require.Equal(t, long, render.TenantOf(o))
	}

	// Short names: no annotation, the label is the name (unchanged output).
	c2 := sim.New("ct-uid-1")
	_, err = sim.Converge(context.Background(), e, render.TenantInput{Tenant: clusterTenant(t), Template: stackTemplate(t), Scope: render.Cluster}, c2, 10)
	require.NoError(t, err)
	for _, o := range c2.Objects() {
		require.Equal(t, "acme-stack", object.String(o, "metadata", "labels", render.LabelTenant))
		require.NotContains(t, object.StringMap(o, "metadata", "annotations"), render.AnnotationTenant)
	}

	// The namespace decorator finds the Tenant.
	ns := find(objs, "customer-acme")
	types := map[string]bool{"ResourceQuota.v1": true, "LimitRange.v1": true}
	out, err := e.SyncNamespace(context.Background(), render.NamespaceInput{Namespace: ns, Tenant: ten, Template: stackTemplate(t), AttachmentTypes: types})
	require.NoError(t, err)
	require.Len(t, out.Attachments, 1)
	require.Equal(t, rnames.TenantLabel(long), object.String(out.Attachments[0], "metadata", "labels", render.LabelTenant))

	// A retained object of the long-named Tenant is handed back to it.
	orphan := fromYAML(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: kept, namespace: saas,
	  labels: {kubernetes-tenants.org/orphaned: "true"}}}`)
	object.SetNested(orphan, rnames.TenantLabel(long), "metadata", "labels", render.LabelTenant)
	nsTenant := fromYAML(t, `{apiVersion: operator.kubernetes-tenants.org/v1, kind: Tenant, metadata: {namespace: saas, uid: t-1}}`)
	object.SetNested(nsTenant, long, "metadata", "name")
	labels, ann := render.Adopt(render.AdoptionInput{Object: orphan, Tenants: []object.Obj{nsTenant}})
	require.NotNil(t, labels)
	require.Equal(t, "t-1", *labels[render.LabelControllerUID])
	require.Equal(t, rnames.TenantLabel(long), *labels[render.LabelTenant])
	require.Equal(t, long, *ann[render.AnnotationTenant])
}

func hash8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Issue 15 item 4: v1.0's defaults and rules that a switch-over keeps.
func TestV1RegistryDefaultsAndExtras(t *testing.T) {
	// No syncInterval: 30 s, v1.0's default (CRD and defaulting webhook).
	reg := fromYAML(t, strings.ReplaceAll(registryYAML, "syncInterval: 2m", "syncInterval: \"\""))
	r, err := render.ParseRegistry(reg)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, r.SyncInterval)

	// An extra mapping named host (documented as taking precedence, and
	// what v1.0 did) is accepted, and so are the variables v1.0 did not
	// have; uid, hostOrUrl and activate stay refused.
	for _, v := range []string{"host", "namespace", "tenant"} {
		object.SetNested(reg, "col_"+v, "spec", "extraValueMappings", v)
	}
	_, err = render.ParseRegistry(reg)
	require.NoError(t, err)
	object.SetNested(reg, "col", "spec", "extraValueMappings", "uid")
	_, err = render.ParseRegistry(reg)
	require.ErrorContains(t, err, "reserved")
}

// The values of such extras reach the templates in place of the derived
// ones, and labelsTemplate/annotationsTemplate are merged over
// spec.metadata (labelsTemplate winning on a shared key) — where v1.0
// replaced spec.metadata.labels wholesale (docs/v1-differences.md).
func TestV1ExtrasTakePrecedence(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  configMaps:
    - id: cfg
      nameTemplate: "{{ .uid }}-cfg"
      labelsTemplate: {plan: "{{ .planId }}", team: from-template}
      annotationsTemplate: {a: "{{ .tenant }}"}
      spec:
        apiVersion: v1
        kind: ConfigMap
        metadata: {labels: {team: from-spec, tier: web}, annotations: {b: kept}}
        data: {host: "{{ .host }}", ns: "{{ .namespace }}", tenant: "{{ .tenant }}"}
`)
	in := render.TenantInput{Tenant: tenant(t, `{uid: acme, hostOrUrl: "https://acme.example", activate: "1", planId: pro,
	  host: custom.example, namespace: from-column}`), Template: tpl, Namespace: namespaceObj}
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, out.Children, 1, "%v", out.Status)
	cm := out.Children[0]
	require.Equal(t, map[string]string{"host": "custom.example", "ns": "from-column", "tenant": "acme-web"}, object.StringMap(cm, "data"))
	labels := object.StringMap(cm, "metadata", "labels")
	require.Equal(t, "from-template", labels["team"])
	require.Equal(t, "web", labels["tier"])
	require.Equal(t, "pro", labels["plan"])
	ann := object.StringMap(cm, "metadata", "annotations")
	require.Equal(t, "acme-web", ann["a"])
	require.Equal(t, "kept", ann["b"])
}

// Of two colliding names the observed Tenant keeps its own: the one v1.0
// created (or tenant-hooks before the second row appeared) is neither
// renamed nor deleted; the other row gets a hashed name.
func TestSyncRegistryCollisionKeepsObservedHolder(t *testing.T) {
	e, _ := newEngine()
	bweb := strings.ReplaceAll(webTemplateYAML, "name: web,", "name: b-web,")
	holder := observedTenant(t, "a-b-web", true)
	object.SetNested(holder, "a", "spec", "uid")
	object.SetNested(holder, "b-web", "spec", "templateRef")
	in := render.RegistryInput{
		Registry:  fromYAML(t, registryYAML),
		Templates: []object.Obj{fromYAML(t, webTemplateYAML), fromYAML(t, bweb)},
		Rows:      rowsOf(t, "a-b", "a"),
		Observed:  observeTenants([]object.Obj{holder}),
	}
	out := e.SyncRegistry(context.Background(), in)
	require.False(t, out.GuardActivated)
	byName := map[string]object.Obj{}
	for _, c := range out.ChildList() {
		byName[object.Name(c)] = c
	}
	require.Len(t, byName, 4)
	kept := byName["a-b-web"]
	require.NotNil(t, kept, "the observed Tenant keeps its name")
	require.Equal(t, "a", object.String(kept, "spec", "uid"))
	require.Equal(t, "b-web", object.String(kept, "spec", "templateRef"))
	sum := sha256.Sum256([]byte("a-b\x00web"))
	require.Contains(t, byName, "a-b-web-"+hex.EncodeToString(sum[:4]), "the other row is hashed")

	// Without an observed holder both are hashed, as before.
	in.Observed = nil
	got := childNames(e.SyncRegistry(context.Background(), in))
	require.NotContains(t, got, "a-b-web")
	require.Len(t, got, 4)
}
