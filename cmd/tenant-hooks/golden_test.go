package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/golden"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

const examplesDir = "../../examples"

// example is one directory of examples/ with its inputs.
type example struct {
	name  string
	files []string
}

var examples = []example{
	{name: "basic-webapp", files: []string{"template.yaml", "registry-static.yaml"}},
	{name: "multi-template", files: []string{"templates.yaml", "registry.yaml"}},
	{name: "namespace-per-tenant", files: []string{"template.yaml", "registry.yaml"}},
}

func loadExample(t *testing.T, ex example) []object.Obj {
	t.Helper()
	var docs []object.Obj
	for _, f := range ex.files {
		d, err := readDocs(filepath.Join(examplesDir, ex.name, f))
		require.NoError(t, err)
		docs = append(docs, d...)
	}
	return docs
}

// TestGoldenExamples: `tenant-hooks render` over every example equals the
// committed expected children.
func TestGoldenExamples(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(examplesDir, ex.name)); err != nil {
				t.Fatalf("example %s is missing", ex.name)
			}
			res, err := Render(context.Background(), loadExample(t, ex), nil, "default", false)
			require.NoError(t, err)
			require.Empty(t, res.Problems)
			var buf bytes.Buffer
			require.NoError(t, printObjects(&buf, res.Children, "yaml"))
			golden.Check(t, filepath.Join(examplesDir, ex.name, "expected", "children.yaml"), buf.Bytes())
			buf.Reset()
			require.NoError(t, printObjects(&buf, res.Tenants, "yaml"))
			golden.Check(t, filepath.Join(examplesDir, ex.name, "expected", "tenants.yaml"), buf.Bytes())
		})
	}
}

func newHandler(t *testing.T) http.Handler {
	engine := render.New(render.Options{Templates: tmpl.Options{}, Now: cliNow})
	pools := mysql.NewPools(mysql.PoolOptions{})
	t.Cleanup(func() { _ = pools.Close() })
	return hooks.New(hooks.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), engine, pools, prometheus.NewRegistry()).Handler()
}

func call(t *testing.T, h http.Handler, path string, body []byte) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec.Body.Bytes()
}

func pretty(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return append(b, '\n')
}

func objectMap(objs ...object.Obj) map[string]any {
	m := map[string]any{}
	for _, o := range objs {
		key := object.TypeKey(object.APIVersion(o), object.Kind(o))
		inner, _ := m[key].(map[string]any)
		if inner == nil {
			inner = map[string]any{}
			m[key] = inner
		}
		inner[object.ObjKey(object.Namespace(o), object.Name(o))] = o
	}
	return m
}

// tenantChildTypes are the child types of deploy/'s tenant controller.
var tenantChildTypes = []string{
	"ConfigMap.v1", "Secret.v1", "ServiceAccount.v1", "Service.v1", "PersistentVolumeClaim.v1",
	"Deployment.apps/v1", "StatefulSet.apps/v1", "DaemonSet.apps/v1", "Job.batch/v1", "CronJob.batch/v1",
	"Ingress.networking.k8s.io/v1",
}

// TestGoldenRequests builds the curl examples of examples/requests from the
// basic example and checks both the request bodies and the hooks' answers.
// It also proves the CLI and the sync hook share one code path: the hook's
// children for the converged state equal `tenant-hooks render`'s.
func TestGoldenRequests(t *testing.T) {
	ex := examples[0]
	docs := loadExample(t, ex)
	var registry, template object.Obj
	for _, d := range docs {
		switch object.Kind(d) {
		case "TenantRegistry":
			registry = d
		case "TenantTemplate":
			template = d
		}
	}
	dir := filepath.Join(examplesDir, "requests")
	h := newHandler(t)
	controller := map[string]any{"metadata": map[string]any{"name": "tenant-controller"}, "spec": map[string]any{"childResources": childResources()}}

	// Registry: customize and sync with no Tenants yet.
	regReq := map[string]any{"controller": map[string]any{"metadata": map[string]any{"name": "tenantregistry-controller"}}, "parent": registry}
	b := pretty(t, regReq)
	golden.Check(t, filepath.Join(dir, "registry-customize.json"), b)
	golden.Check(t, filepath.Join(dir, "registry-customize.response.json"), prettyJSON(t, call(t, h, "/hooks/registries/customize", b)))
	regSync := map[string]any{"controller": regReq["controller"], "parent": registry,
		"children": map[string]any{"Tenant." + render.APIVersion: map[string]any{}},
		"related":  objectMap(template), "finalizing": false}
	b = pretty(t, regSync)
	golden.Check(t, filepath.Join(dir, "registry-sync.json"), b)
	regAns := call(t, h, "/hooks/registries/sync", b)
	golden.Check(t, filepath.Join(dir, "registry-sync.response.json"), prettyJSON(t, regAns))

	var ra wire.CompositeResponse
	require.NoError(t, wire.DecodeBytes(regAns, &ra))
	tenant := object.DeepCopyMap(ra.Children[0])
	require.Equal(t, "acme-web", object.Name(tenant))
	object.SetNested(tenant, "00000000-0000-0000-0000-000000000001", "metadata", "uid")
	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "saas", "uid": "00000000-0000-0000-0000-namespace000"}}

	b = pretty(t, map[string]any{"controller": controller, "parent": tenant})
	golden.Check(t, filepath.Join(dir, "tenant-customize.json"), b)
	golden.Check(t, filepath.Join(dir, "tenant-customize.response.json"), prettyJSON(t, call(t, h, "/hooks/tenants/customize", b)))

	emptyChildren := map[string]any{}
	for _, k := range tenantChildTypes {
		emptyChildren[k] = map[string]any{}
	}
	related := objectMap(template, ns)
	first := map[string]any{"controller": controller, "parent": tenant, "children": emptyChildren, "related": related, "finalizing": false}
	b = pretty(t, first)
	golden.Check(t, filepath.Join(dir, "tenant-sync-first.json"), b)
	golden.Check(t, filepath.Join(dir, "tenant-sync-first.response.json"), prettyJSON(t, call(t, h, "/hooks/tenants/sync", b)))

	// Converge in memory, then ask the hook for the steady state.
	engine := render.New(render.Options{Templates: tmpl.Options{}, Now: cliNow})
	c := sim.New(object.UID(tenant))
	rounds, err := sim.Converge(context.Background(), engine, render.TenantInput{Tenant: tenant, Template: template, Namespace: ns}, c, 20)
	require.NoError(t, err)
	steadyTenant := object.DeepCopyMap(tenant)
	steadyTenant["status"] = rounds[len(rounds)-1].Status
	children := map[string]any{}
	for k, v := range emptyChildren {
		children[k] = v
	}
	for k, v := range objectMap(c.Objects()...) {
		children[k] = v
	}
	steady := map[string]any{"controller": controller, "parent": steadyTenant, "children": children, "related": related, "finalizing": false}
	b = pretty(t, steady)
	golden.Check(t, filepath.Join(dir, "tenant-sync.json"), b)
	ans := call(t, h, "/hooks/tenants/sync", b)
	golden.Check(t, filepath.Join(dir, "tenant-sync.response.json"), prettyJSON(t, ans))

	// One code path: the CLI's children for acme-web are the hook's.
	res, err := Render(context.Background(), docs, nil, "default", false)
	require.NoError(t, err)
	var cli []string
	for _, o := range res.Children {
		if object.String(o, "metadata", "labels", render.LabelTenant) == "acme-web" {
			j, _ := json.Marshal(o)
			cli = append(cli, string(j))
		}
	}
	var hookAns wire.CompositeResponse
	require.NoError(t, wire.DecodeBytes(ans, &hookAns))
	var hook []string
	for _, o := range hookAns.Children {
		j, _ := json.Marshal(o)
		hook = append(hook, string(j))
	}
	sort.Strings(cli)
	sort.Strings(hook)
	require.Equal(t, cli, hook)
}

func childResources() []any {
	var out []any
	for _, k := range tenantChildTypes {
		apiVersion, kind, _ := object.SplitTypeKey(k)
		out = append(out, map[string]any{"apiVersion": apiVersion, "resource": render.ResourceOf(kind), "updateStrategy": map[string]any{"method": "InPlace"}})
	}
	return out
}

func prettyJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, bytes.TrimSpace(b), "", "  "))
	out.WriteByte('\n')
	return out.Bytes()
}

func TestLintExamples(t *testing.T) {
	files, err := yamlFiles(examplesDir)
	require.NoError(t, err)
	problems, checked := Lint(files, nil)
	require.Empty(t, problems)
	require.GreaterOrEqual(t, checked, 5)
}

func TestLintFindsProblems(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  configMaps:
    - id: a
      nameTempalte: "{{ .uid }}"
      spec: {apiVersion: v1, kind: ConfigMap, data: {x: "{{ env \"HOME\" }}"}}
    - id: b
      dependIds: [nope]
      spec: {apiVersion: v1, kind: ConfigMap}
`), 0o644))
	problems, _ := Lint([]string{path}, nil)
	text := strings.Join(problems, "\n")
	require.Contains(t, text, path+":8: unknown field spec.configMaps[0].nameTempalte")
	require.Contains(t, text, `"nope"`)

	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  configMaps:
    - id: a
      nameTemplate: "{{ .uid }}-a"
      spec: {apiVersion: v1, kind: ConfigMap, data: {x: "{{ env \"HOME\" }}"}}
    - id: b
      nameTemplate: "{{ .uid }}-b"
      spec: {apiVersion: v1, kind: ConfigMap, data: {y: "{{ .region }}"}}
`), 0o644))
	problems, _ = Lint([]string{path}, nil)
	text = strings.Join(problems, "\n")
	require.Contains(t, text, path+":9: template web:")
	require.Contains(t, text, "env")
	require.Contains(t, text, "region")

	var out, errOut bytes.Buffer
	require.Equal(t, 1, run([]string{"lint", path}, &out, &errOut))
	require.Contains(t, errOut.String(), "problems")
}

func TestRenderCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"render", "-f", filepath.Join(examplesDir, "basic-webapp", "template.yaml"), "--set", "uid=zeta", "--set", "hostOrUrl=https://zeta.example", "--set", "planId=pro", "--set", "replicas=2"}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	require.Contains(t, out.String(), "name: zeta-web\n")
	require.Contains(t, out.String(), "replicas: 2\n")
	require.Contains(t, out.String(), "host: zeta.example\n")

	out.Reset()
	errOut.Reset()
	code = run([]string{"render", "-f", filepath.Join(examplesDir, "basic-webapp", "template.yaml"), "--set", "uid=zeta"}, &out, &errOut)
	require.Equal(t, 1, code, "a variable the template needs is missing")
	require.Contains(t, errOut.String(), `missing variable "planId"`)
}

// Issue 15 item 4: most of v1.0's docs write a TenantRegistry (and its
// templates) without metadata.namespace. Such a registry is namespaced
// (kubectl applies it to the current namespace); lint must not take it for
// a cluster-scoped one and demand spec.templateNamespace.
func TestLintRegistryWithoutNamespace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v1.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantRegistry
metadata: {name: customers}
spec:
  source:
    type: mysql
    syncInterval: 30s
    mysql: {host: mysql.default.svc, port: 3306, username: reader, passwordRef: {name: db, key: password}, database: saas, table: customers}
  valueMappings: {uid: id, hostOrUrl: url, activate: active}
---
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web}
spec:
  registryId: customers
  configMaps:
    - id: a
      nameTemplate: "{{ .uid }}-a"
      spec: {apiVersion: v1, kind: ConfigMap, data: {host: "{{ .host }}"}}
`), 0o644))
	problems, checked := Lint([]string{path}, nil)
	require.Empty(t, problems)
	require.Equal(t, 2, checked)

	// A ClusterTenantRegistry still needs templateNamespace.
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: operator.kubernetes-tenants.org/v1
kind: ClusterTenantRegistry
metadata: {name: customers}
spec:
  source: {type: static, static: {rows: []}}
  valueMappings: {uid: id, activate: active}
`), 0o644))
	problems, _ = Lint([]string{path}, nil)
	require.Contains(t, strings.Join(problems, "\n"), "spec.templateNamespace is required")
}
