// Package deploy_test checks the facts the manifests in deploy/ must keep: what Metacontroller needs from the
// controllers and CRDs (docs: shared reference metacontroller.md §1–§3, §16), what the hook server serves, the
// service's security settings, and that every alert links to an existing runbook section.
//
// It parses the YAML files only; hack/e2e/run.sh applies them to a real API server.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

type obj = map[string]any

// hookPaths is every path the Go server answers for these controllers (hooks/server.go).
var hookPaths = map[string]bool{
	"/hooks/registries/customize": true,
	"/hooks/registries/sync":      true,
	"/hooks/tenants/customize":    true,
	"/hooks/tenants/sync":         true,
	"/hooks/tenants/finalize":     true,
	"/hooks/namespaces/customize": true,
	"/hooks/namespaces/sync":      true,
	"/hooks/adoption/customize":   true,
	"/hooks/adoption/sync":        true,
	"/hooks/shards/customize":     true,
	"/hooks/shards/sync":          true,
	"/hooks/handover/sync":        true,
}

// tenantChildren is exactly what the tenant controllers declare ("apiVersion resource"). A kind added here
// must be added to both tenant controllers (deploy/README.md, "Adding a child kind").
var tenantChildren = []string{
	"apps/v1 daemonsets",
	"apps/v1 deployments",
	"apps/v1 statefulsets",
	"batch/v1 cronjobs",
	"batch/v1 jobs",
	"networking.k8s.io/v1 ingresses",
	"v1 configmaps",
	"v1 persistentvolumeclaims",
	"v1 secrets",
	"v1 serviceaccounts",
	"v1 services",
}

// metricNames is the service's metric contract (docs/monitoring.md); alerts and the dashboard may use only these.
var metricNames = map[string]bool{
	"tenant_hooks_hook_requests_total":                     true,
	"tenant_hooks_hook_duration_seconds":                   true,
	"tenant_hooks_hook_in_flight":                          true,
	"tenant_hooks_render_duration_seconds":                 true,
	"tenant_hooks_render_errors_total":                     true,
	"tenant_hooks_datasource_query_duration_seconds":       true,
	"tenant_hooks_datasource_errors_total":                 true,
	"tenant_hooks_datasource_rows_total":                   true,
	"tenant_hooks_template_cache_hits_total":               true,
	"tenant_hooks_template_cache_misses_total":             true,
	"tenant_hooks_registry_tenants":                        true,
	"tenant_hooks_shard_tenants":                           true,
	"tenant_hooks_registry_last_success_timestamp_seconds": true,
	"tenant_hooks_deletion_guard_activations_total":        true,
	"tenant_hooks_etag_not_modified_total":                 true,
	"tenant_hooks_build_info":                              true,
}

const group = "operator.kubernetes-tenants.org"

// doc is one YAML document of a file under deploy/.
type doc struct {
	file string
	o    obj
}

func (d doc) kind() string { return str(d.o, "kind") }
func (d doc) name() string { return str(d.o, "metadata", "name") }

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// loadAll parses every *.yaml under deploy/ (this directory).
func loadAll(t *testing.T) []doc {
	t.Helper()
	var docs []doc
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, part := range docSep.Split(string(raw), -1) {
			if strings.TrimSpace(stripComments(part)) == "" {
				continue
			}
			var o obj
			if err := yaml.UnmarshalStrict([]byte(part), &o); err != nil {
				t.Errorf("%s document %d: %v", path, i+1, err)
				continue
			}
			docs = append(docs, doc{file: path, o: o})
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func byKind(docs []doc, kinds ...string) []doc {
	var out []doc
	for _, d := range docs {
		for _, k := range kinds {
			if d.kind() == k {
				out = append(out, d)
			}
		}
	}
	return out
}

func find(t *testing.T, docs []doc, kind, name string) doc {
	t.Helper()
	for _, d := range docs {
		if d.kind() == kind && d.name() == name {
			return d
		}
	}
	t.Fatalf("no %s %s under deploy/", kind, name)
	return doc{}
}

// ---- accessors ------------------------------------------------------------------------------------------------

func get(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(obj)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func str(o any, path ...string) string { s, _ := get(o, path...).(string); return s }
func list(o any, path ...string) []any { l, _ := get(o, path...).([]any); return l }
func mapOf(o any, path ...string) obj  { m, _ := get(o, path...).(obj); return m }

// ---- the base kustomization -----------------------------------------------------------------------------------

// baseFiles returns the resources of deploy/kustomization.yaml.
func baseFiles(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("kustomization.yaml")
	require.NoError(t, err)
	var k obj
	require.NoError(t, yaml.Unmarshal(raw, &k))
	var files []string
	for _, r := range list(k, "resources") {
		files = append(files, r.(string))
	}
	return files
}

func TestKustomizationListsEveryBaseFile(t *testing.T) {
	files := baseFiles(t)
	listed := map[string]bool{}
	for _, f := range files {
		_, err := os.Stat(f)
		assert.NoError(t, err, "kustomization.yaml lists %s", f)
		listed[filepath.Clean(f)] = true
	}
	for _, dir := range []string{"crds", "controllers", "service"} { // every file of these directories
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".yaml") {
				assert.True(t, listed[filepath.Join(dir, e.Name())], "%s/%s is not in kustomization.yaml", dir, e.Name())
			}
		}
	}
	assert.True(t, listed["namespace.yaml"])
	for _, f := range files {
		for _, optional := range []string{"monitoring", "metacontroller", "components"} {
			assert.False(t, strings.HasPrefix(f, optional), "%s must stay out of the base", f)
		}
	}
}

func TestNoRBACAnywhere(t *testing.T) {
	for _, d := range loadAll(t) {
		switch d.kind() {
		case "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
			t.Errorf("%s: %s %s — the service needs no API permissions", d.file, d.kind(), d.name())
		}
	}
}

// ---- controllers ----------------------------------------------------------------------------------------------

func controllers(t *testing.T) []doc {
	t.Helper()
	cs := byKind(loadAll(t), "CompositeController", "DecoratorController")
	for _, c := range cs {
		assert.Equal(t, "metacontroller.k8s.io/v1alpha1", str(c.o, "apiVersion"), c.name())
	}
	return cs
}

func TestControllersExist(t *testing.T) {
	var names []string
	for _, c := range controllers(t) {
		names = append(names, c.kind()+"/"+c.name())
	}
	sort.Strings(names)
	assert.Equal(t, []string{
		"CompositeController/clustertenant-controller",
		"CompositeController/clustertenantregistry-controller",
		"CompositeController/clustertenantshard-controller",
		"CompositeController/tenant-controller",
		"CompositeController/tenantregistry-controller",
		"CompositeController/tenantshard-controller",
		"DecoratorController/tenant-force-adoption",
		"DecoratorController/tenant-namespace-decorator",
		"DecoratorController/tenant-retained-adoption",
		"DecoratorController/tenant-shard-handover",
	}, names)
}

func TestEveryHook(t *testing.T) {
	n := 0
	for _, c := range controllers(t) {
		hooks := mapOf(c.o, "spec", "hooks")
		require.NotEmpty(t, hooks, c.name())
		require.Contains(t, hooks, "sync", "%s: a controller without a sync hook errors on every parent", c.name())
		for name, h := range hooks {
			n++
			where := c.name() + " hook " + name
			assert.Equal(t, "v2", str(h, "version"), where)
			assert.Empty(t, str(h, "webhook", "url"), "%s: use service+path, not url", where)
			assert.Equal(t, obj{"name": "tenant-hooks", "namespace": "tenant-hooks", "port": float64(80)},
				mapOf(h, "webhook", "service"), where)
			path := str(h, "webhook", "path")
			assert.True(t, hookPaths[path], "%s: path %q is not served by the hook server", where, path)
			assert.True(t, strings.HasSuffix(path, "/"+name), "%s: path %q does not end in /%s", where, path, name)
			assert.Equal(t, "10s", str(h, "webhook", "timeout"), where)
		}
	}
	assert.Equal(t, 21, n, "hooks in all controllers")
}

func TestCompositeControllers(t *testing.T) {
	for _, c := range byKind(controllers(t), "CompositeController") {
		spec := mapOf(c.o, "spec")
		assert.Equal(t, true, spec["generateSelector"], "%s: generateSelector", c.name())
		assert.Equal(t, true, get(spec, "parentResource", "ignoreStatusChanges"), "%s: ignoreStatusChanges", c.name())
		assert.Equal(t, group+"/v1", str(spec, "parentResource", "apiVersion"), c.name())
		children := list(spec, "childResources")
		assert.NotEmpty(t, children, c.name())
		for _, ch := range children {
			assert.Equal(t, "InPlace", str(ch, "updateStrategy", "method"), "%s child %s", c.name(), str(ch, "resource"))
		}
	}
}

func TestDecoratorControllers(t *testing.T) {
	for _, c := range byKind(controllers(t), "DecoratorController") {
		for _, r := range list(c.o, "spec", "resources") {
			assert.Equal(t, true, get(r, "ignoreStatusChanges"), "%s resource %s", c.name(), str(r, "resource"))
		}
		for _, a := range list(c.o, "spec", "attachments") {
			assert.Equal(t, "InPlace", str(a, "updateStrategy", "method"), "%s attachment %s", c.name(), str(a, "resource"))
		}
	}
	dec := find(t, controllers(t), "DecoratorController", "tenant-namespace-decorator")
	res := list(dec.o, "spec", "resources")
	require.Len(t, res, 1)
	assert.Equal(t, "v1", str(res[0], "apiVersion"))
	assert.Equal(t, "namespaces", str(res[0], "resource"))
	assert.Equal(t, []any{obj{"key": "kubernetes-tenants.org/tenant", "operator": "Exists"}},
		list(res[0], "labelSelector", "matchExpressions"))
	assert.ElementsMatch(t, []string{"networking.k8s.io/v1 networkpolicies", "v1 limitranges", "v1 resourcequotas"},
		resources(list(dec.o, "spec", "attachments")))
	assert.ElementsMatch(t, []string{"customize", "sync"}, keys(mapOf(dec.o, "spec", "hooks")))
}

func resources(l []any) []string {
	var out []string
	for _, r := range l {
		out = append(out, str(r, "apiVersion")+" "+str(r, "resource"))
	}
	sort.Strings(out)
	return out
}

func keys(m obj) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestTenantControllers(t *testing.T) {
	cs := controllers(t)
	for _, tc := range []struct {
		name, parent string
		children     []string
	}{
		{"tenant-controller", "tenants", tenantChildren},
		{"clustertenant-controller", "clustertenants", append([]string{"v1 namespaces"}, tenantChildren...)},
	} {
		c := find(t, cs, "CompositeController", tc.name)
		assert.Equal(t, tc.parent, str(c.o, "spec", "parentResource", "resource"), tc.name)
		want := append([]string(nil), tc.children...)
		sort.Strings(want)
		assert.Equal(t, want, resources(list(c.o, "spec", "childResources")), "%s child kinds", tc.name)
		assert.Equal(t, float64(30), get(c.o, "spec", "resyncPeriodSeconds"), "%s resyncPeriodSeconds", tc.name)
		assert.ElementsMatch(t, []string{"customize", "finalize", "sync"}, keys(mapOf(c.o, "spec", "hooks")), tc.name)
		assert.Equal(t, "/hooks/tenants/finalize", str(c.o, "spec", "hooks", "finalize", "webhook", "path"))
	}
}

// TestAdoptionDecorators: retained objects are offered back for every tenant child kind (in the base); the Force
// takeover decorator (optional component deploy/components/force-adoption) sees every object of those kinds.
func TestAdoptionDecorators(t *testing.T) {
	cs := controllers(t)
	retained := find(t, cs, "DecoratorController", "tenant-retained-adoption")
	assert.Equal(t, filepath.Join("controllers", "tenant-retained-adoption.yaml"), retained.file)
	assert.Equal(t, tenantChildren, resources(list(retained.o, "spec", "resources")))
	for _, r := range list(retained.o, "spec", "resources") {
		assert.Equal(t, obj{"kubernetes-tenants.org/orphaned": "true"}, mapOf(r, "labelSelector", "matchLabels"),
			"%s: only retained objects", str(r, "resource"))
	}
	force := find(t, cs, "DecoratorController", "tenant-force-adoption")
	assert.Equal(t, filepath.Join("components", "force-adoption", "decorator.yaml"), force.file)
	forced := resources(list(force.o, "spec", "resources"))
	for _, k := range tenantChildren {
		assert.Contains(t, forced, k, "force adoption must cover every tenant child kind")
	}
	for _, r := range list(force.o, "spec", "resources") {
		assert.Nil(t, get(r, "labelSelector"), "pre-existing objects carry none of our labels")
	}
	for _, c := range []doc{retained, force} {
		assert.Empty(t, list(c.o, "spec", "attachments"), c.name())
		assert.Equal(t, "/hooks/adoption/customize", str(c.o, "spec", "hooks", "customize", "webhook", "path"))
		assert.Equal(t, "/hooks/adoption/sync", str(c.o, "spec", "hooks", "sync", "webhook", "path"))
		assert.NotContains(t, mapOf(c.o, "spec", "hooks"), "finalize", c.name())
	}
}

func TestRegistryControllers(t *testing.T) {
	cs := controllers(t)
	for _, tc := range []struct{ name, parent, child, shard string }{
		{"tenantregistry-controller", "tenantregistries", "tenants", "tenantshards"},
		{"clustertenantregistry-controller", "clustertenantregistries", "clustertenants", "clustertenantshards"},
	} {
		c := find(t, cs, "CompositeController", tc.name)
		assert.Equal(t, tc.parent, str(c.o, "spec", "parentResource", "resource"), tc.name)
		// Tenants stay a child type next to the shards: a registry switched to shards keeps the Tenants it owns
		// until they are handed over (docs/sharding.md §5).
		assert.Equal(t, []string{group + "/v1 " + tc.child, group + "/v1 " + tc.shard}, resources(list(c.o, "spec", "childResources")), tc.name)
		assert.Equal(t, float64(60), get(c.o, "spec", "resyncPeriodSeconds"), "%s: safety-net resync", tc.name)
		assert.ElementsMatch(t, []string{"customize", "sync"}, keys(mapOf(c.o, "spec", "hooks")), tc.name)
		assert.Equal(t, "/hooks/registries/sync", str(c.o, "spec", "hooks", "sync", "webhook", "path"))
	}
}

// TestShardControllers: a shard owns Tenants, asks only for its templates and is never finalized (deleting a shard is
// its registry's decision); the handover decorator sees only Tenants marked for the handover.
func TestShardControllers(t *testing.T) {
	cs := controllers(t)
	for _, tc := range []struct{ name, parent, child string }{
		{"tenantshard-controller", "tenantshards", "tenants"},
		{"clustertenantshard-controller", "clustertenantshards", "clustertenants"},
	} {
		c := find(t, cs, "CompositeController", tc.name)
		assert.Equal(t, tc.parent, str(c.o, "spec", "parentResource", "resource"), tc.name)
		assert.Equal(t, []string{group + "/v1 " + tc.child}, resources(list(c.o, "spec", "childResources")), tc.name)
		assert.Equal(t, []string{"customize", "sync"}, keys(mapOf(c.o, "spec", "hooks")), tc.name)
		assert.Equal(t, "/hooks/shards/sync", str(c.o, "spec", "hooks", "sync", "webhook", "path"))
	}
	h := find(t, cs, "DecoratorController", "tenant-shard-handover")
	assert.Equal(t, []string{group + "/v1 clustertenants", group + "/v1 tenants"}, resources(list(h.o, "spec", "resources")))
	for _, r := range list(h.o, "spec", "resources") {
		assert.Equal(t, obj{"kubernetes-tenants.org/handover": "true"}, mapOf(r, "labelSelector", "matchLabels"))
	}
	assert.Empty(t, list(h.o, "spec", "attachments"))
	assert.Equal(t, []string{"sync"}, keys(mapOf(h.o, "spec", "hooks")))

	// The layout cannot change and sharding cannot be removed (the CRD refuses both).
	for _, name := range []string{"tenantregistries", "clustertenantregistries"} {
		crd := find(t, loadAll(t), "CustomResourceDefinition", name+"."+group)
		spec := mapOf(list(crd.o, "spec", "versions")[0], "schema", "openAPIV3Schema", "properties", "spec")
		assert.Equal(t, "!has(oldSelf.sharding) || has(self.sharding)", str(list(spec, "x-kubernetes-validations")[0], "rule"), name)
		sh := mapOf(spec, "properties", "sharding")
		assert.Equal(t, "self.shards == oldSelf.shards", str(list(sh, "x-kubernetes-validations")[0], "rule"), name)
		assert.Equal(t, float64(2000), get(sh, "properties", "maxTenantsPerShard", "default"), name)
	}
}

// ---- CRDs -----------------------------------------------------------------------------------------------------

func TestCRDs(t *testing.T) {
	crds := byKind(loadAll(t), "CustomResourceDefinition")
	want := map[string]string{
		"tenantregistries":        "Namespaced",
		"tenanttemplates":         "Namespaced",
		"tenants":                 "Namespaced",
		"clustertenantregistries": "Cluster",
		"clustertenants":          "Cluster",
		"tenantshards":            "Namespaced",
		"clustertenantshards":     "Cluster",
	}
	require.Len(t, crds, len(want))
	for _, c := range crds {
		plural := str(c.o, "spec", "names", "plural")
		scope, ok := want[plural]
		require.True(t, ok, "unexpected CRD %s", c.name())
		assert.Equal(t, plural+"."+group, c.name())
		assert.Equal(t, group, str(c.o, "spec", "group"))
		assert.Equal(t, scope, str(c.o, "spec", "scope"), plural)
		versions := list(c.o, "spec", "versions")
		require.Len(t, versions, 1, plural)
		v := versions[0]
		assert.Equal(t, "v1", str(v, "name"))
		assert.Equal(t, true, get(v, "served"))
		assert.Equal(t, true, get(v, "storage"))
		assert.Equal(t, obj{}, get(v, "subresources", "status"), "%s: status subresource", plural)
		status := mapOf(v, "schema", "openAPIV3Schema", "properties", "status")
		require.NotNil(t, status, "%s: status schema", plural)
		assert.Equal(t, true, status["x-kubernetes-preserve-unknown-fields"], "%s: status must not prune", plural)
		og := mapOf(status, "properties", "observedGeneration")
		assert.Equal(t, "integer", og["type"], "%s: status.observedGeneration", plural)
		cond := mapOf(status, "properties", "conditions", "items")
		assert.NotContains(t, list(cond, "required"), "lastTransitionTime", plural)
		for _, f := range []string{"type", "status", "reason", "message"} {
			assert.Contains(t, mapOf(cond, "properties"), f, "%s: conditions[].%s", plural, f)
		}
		assert.NotEmpty(t, list(v, "additionalPrinterColumns"), plural)
	}
}

// TestTResourceSchema: the TenantTemplate lists keep v1.0's defaults and validation and stay plain lists.
func TestTResourceSchema(t *testing.T) {
	tpl := find(t, loadAll(t), "CustomResourceDefinition", "tenanttemplates."+group)
	spec := mapOf(list(tpl.o, "spec", "versions")[0], "schema", "openAPIV3Schema", "properties", "spec")
	lists := []string{"serviceAccounts", "deployments", "statefulSets", "daemonSets", "services", "ingresses",
		"configMaps", "secrets", "persistentVolumeClaims", "jobs", "cronJobs", "namespaces", "manifests"}
	for _, l := range append(lists, "namespaceDefaults") {
		arr := mapOf(spec, "properties", l)
		require.Equal(t, "array", arr["type"], l)
		assert.NotContains(t, arr, "x-kubernetes-list-type", "%s: keep a plain list so v1.0 YAML applies", l)
		item := mapOf(arr, "items")
		assert.ElementsMatch(t, []any{"id", "spec"}, list(item, "required"), l)
		p := mapOf(item, "properties")
		assert.Equal(t, obj{"description": get(p, "spec", "description"), "type": "object",
			"x-kubernetes-preserve-unknown-fields": true, "x-kubernetes-embedded-resource": false}, mapOf(p, "spec"), l)
		assert.Equal(t, "WhenNeeded", get(p, "creationPolicy", "default"))
		assert.Equal(t, "Delete", get(p, "deletionPolicy", "default"))
		assert.Equal(t, "Stuck", get(p, "conflictPolicy", "default"))
		assert.Equal(t, "apply", get(p, "patchStrategy", "default"))
		assert.Equal(t, true, get(p, "waitForReady", "default"))
		assert.Equal(t, float64(300), get(p, "timeoutSeconds", "default"))
		assert.Equal(t, float64(1), get(p, "timeoutSeconds", "minimum"))
		assert.Equal(t, float64(3600), get(p, "timeoutSeconds", "maximum"))
	}
	assert.Contains(t, mapOf(spec, "properties"), "namespaceDefaults")
	guard := mapOf(spec, "properties", "deletionGuard", "properties", "maxDeletePercent")
	assert.Equal(t, float64(50), guard["default"])
	assert.Equal(t, float64(0), guard["minimum"])
	assert.Equal(t, float64(100), guard["maximum"])
	assert.Len(t, mapOf(spec, "properties"), len(lists)+3, "registryId, the lists, namespaceDefaults and deletionGuard, nothing else")

	reg := find(t, loadAll(t), "CustomResourceDefinition", "tenantregistries."+group)
	source := get(list(reg.o, "spec", "versions")[0], "schema", "openAPIV3Schema", "properties", "spec", "properties", "source")
	assert.Equal(t, "^[0-9]+(s|m|h)$", get(source, "properties", "syncInterval", "pattern"))
	assert.Equal(t, "30s", get(source, "properties", "syncInterval", "default"), "v1.0's default")
	port := get(source, "properties", "mysql", "properties", "port")
	assert.Equal(t, float64(3306), get(port, "default"))
	assert.Equal(t, float64(1), get(port, "minimum"))
	assert.Equal(t, float64(65535), get(port, "maximum"))
}

// ---- the service ----------------------------------------------------------------------------------------------

func TestDeployment(t *testing.T) {
	docs := loadAll(t)
	d := find(t, docs, "Deployment", "tenant-hooks")
	assert.Equal(t, "tenant-hooks", str(d.o, "metadata", "namespace"))
	assert.Equal(t, float64(2), get(d.o, "spec", "replicas"))
	pod := mapOf(d.o, "spec", "template", "spec")
	assert.Equal(t, false, pod["automountServiceAccountToken"])
	assert.Equal(t, "tenant-hooks", pod["serviceAccountName"])
	assert.Equal(t, float64(30), pod["terminationGracePeriodSeconds"])
	assert.Equal(t, true, get(pod, "securityContext", "runAsNonRoot"))
	assert.Equal(t, float64(65532), get(pod, "securityContext", "runAsUser"))
	assert.Equal(t, "RuntimeDefault", get(pod, "securityContext", "seccompProfile", "type"))
	assert.NotEmpty(t, list(pod, "topologySpreadConstraints"))

	containers := list(pod, "containers")
	require.Len(t, containers, 1)
	c := containers[0]
	assert.Equal(t, "ghcr.io/tenant-hooks/tenant-hooks:latest", str(c, "image"))
	assert.Equal(t, []any{"serve"}, list(c, "args"))
	assert.Equal(t, []any{obj{"name": "http", "containerPort": float64(8080), "protocol": "TCP"}}, list(c, "ports"))
	sc := mapOf(c, "securityContext")
	assert.Equal(t, true, sc["runAsNonRoot"])
	assert.Equal(t, float64(65532), sc["runAsUser"])
	assert.Equal(t, true, sc["readOnlyRootFilesystem"])
	assert.Equal(t, false, sc["allowPrivilegeEscalation"])
	assert.Equal(t, []any{"ALL"}, list(sc, "capabilities", "drop"))
	assert.Equal(t, "RuntimeDefault", get(sc, "seccompProfile", "type"))
	assert.Equal(t, "/readyz", str(c, "readinessProbe", "httpGet", "path"))
	assert.Equal(t, "http", str(c, "readinessProbe", "httpGet", "port"))
	assert.Equal(t, "/healthz", str(c, "livenessProbe", "httpGet", "path"))
	assert.Equal(t, "http", str(c, "livenessProbe", "httpGet", "port"))
	assert.Equal(t, obj{"requests": obj{"cpu": "100m", "memory": "128Mi"}, "limits": obj{"cpu": "1", "memory": "512Mi"}},
		mapOf(c, "resources"))
	env := map[string]string{}
	for _, e := range list(c, "env") {
		env[str(e, "name")] = str(e, "value")
	}
	assert.Equal(t, "json", env["TENANT_HOOKS_LOG_FORMAT"])

	sa := find(t, docs, "ServiceAccount", "tenant-hooks")
	assert.Equal(t, false, get(sa.o, "automountServiceAccountToken"))

	svc := find(t, docs, "Service", "tenant-hooks")
	assert.Equal(t, "tenant-hooks", str(svc.o, "metadata", "namespace"))
	ports := list(svc.o, "spec", "ports")
	require.Len(t, ports, 1)
	assert.Equal(t, float64(80), get(ports[0], "port"))
	assert.Equal(t, "http", get(ports[0], "targetPort"))
	assert.Equal(t, "http", get(ports[0], "name"), "the ServiceMonitor selects the port by name")
	assert.Equal(t, mapOf(d.o, "spec", "selector", "matchLabels"), mapOf(svc.o, "spec", "selector"),
		"the Service must select the Deployment's pods")

	pdb := find(t, docs, "PodDisruptionBudget", "tenant-hooks")
	assert.Equal(t, float64(1), get(pdb.o, "spec", "minAvailable"))
	assert.Equal(t, mapOf(d.o, "spec", "selector"), mapOf(pdb.o, "spec", "selector"))
}

func TestMetacontrollerComponent(t *testing.T) {
	p := find(t, loadAll(t), "StatefulSet", "metacontroller")
	assert.Equal(t, "metacontroller", str(p.o, "metadata", "namespace"))
	cs := list(p.o, "spec", "template", "spec", "containers")
	require.Len(t, cs, 1)
	assert.Equal(t, "metacontroller", str(cs[0], "name"))
	var args []string
	for _, a := range list(cs[0], "args") {
		args = append(args, a.(string))
	}
	for _, want := range []string{"--apply-strategy=server-side-apply", "--workers=16", "--client-go-qps=100",
		"--client-go-burst=200", "--discovery-interval=20s"} {
		assert.Contains(t, args, want)
	}
}

// ---- monitoring -----------------------------------------------------------------------------------------------

var metricRef = regexp.MustCompile(`tenant_hooks_[a-z_]+`)

func checkMetricNames(t *testing.T, where, expr string) {
	t.Helper()
	for _, m := range metricRef.FindAllString(expr, -1) {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(m, suffix) && metricNames[strings.TrimSuffix(m, suffix)] {
				base = strings.TrimSuffix(m, suffix)
			}
		}
		assert.True(t, metricNames[base], "%s uses unknown metric %s", where, m)
	}
}

func TestAlerts(t *testing.T) {
	rules := byKind(loadAll(t), "PrometheusRule")
	require.Len(t, rules, 1)
	anchors := runbookAnchors(t)
	seen := map[string]bool{}
	for _, g := range list(rules[0].o, "spec", "groups") {
		for _, r := range list(g, "rules") {
			name := str(r, "alert")
			require.NotEmpty(t, name, "only alerting rules here")
			seen[name] = true
			assert.Contains(t, []string{"critical", "warning", "info"}, str(r, "labels", "severity"), name)
			assert.NotEmpty(t, str(r, "annotations", "summary"), name)
			url := str(r, "annotations", "runbook_url")
			require.Contains(t, url, "docs/runbooks.md#", name)
			anchor := url[strings.LastIndex(url, "#")+1:]
			assert.True(t, anchors[anchor], "%s: runbook_url anchor #%s is not a section of docs/runbooks.md", name, anchor)
			checkMetricNames(t, "alert "+name, str(r, "expr"))
		}
	}
	for _, want := range []string{"TenantHooksHighErrorRate", "TenantHooksHighLatency", "TenantHooksDatasourceErrors",
		"TenantHooksDeletionGuardActive", "TenantHooksTenantsDegraded", "TenantHooksRegistryNotSynced"} {
		assert.True(t, seen[want], "alert %s", want)
	}
}

// runbookAnchors returns GitHub's anchors for the headings of docs/runbooks.md (and explicit <a id/name>).
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "runbooks.md"))
	require.NoError(t, err)
	anchors := map[string]bool{}
	count := map[string]int{}
	inFence := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if m := regexp.MustCompile(`<a (?:id|name)="([^"]+)"`).FindStringSubmatch(line); m != nil {
			anchors[m[1]] = true
		}
		if !strings.HasPrefix(line, "#") {
			continue
		}
		slug := githubSlug(strings.TrimLeft(line, "# "))
		if n := count[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		count[slug]++
	}
	return anchors
}

var notSlug = regexp.MustCompile(`[^\p{L}\p{N}\- _]`)

func githubSlug(heading string) string {
	s := strings.ToLower(strings.TrimSpace(heading))
	s = notSlug.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, " ", "-")
}

func TestRunbookSlug(t *testing.T) {
	assert.Equal(t, "tenanthookshigherrorrate", githubSlug("TenantHooksHighErrorRate"))
	assert.Equal(t, "timeouts-and-deadlines", githubSlug("Timeouts and deadlines"))
	assert.Equal(t, "tuning-metacontroller-server-side-apply-workers-api-rate",
		githubSlug("Tuning Metacontroller (server-side apply, workers, API rate)"))
}

func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("monitoring", "grafana-dashboard.json"))
	require.NoError(t, err)
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	require.NoError(t, dec.Decode(&dash))
	assert.Equal(t, "tenant-hooks", dash.UID)
	used := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			checkMetricNames(t, "panel "+p.Title, tg.Expr)
			for _, m := range metricRef.FindAllString(tg.Expr, -1) {
				used[m] = true
			}
		}
	}
	for _, want := range []string{"tenant_hooks_hook_requests_total", "tenant_hooks_hook_duration_seconds_bucket",
		"tenant_hooks_render_duration_seconds_bucket", "tenant_hooks_datasource_query_duration_seconds_bucket",
		"tenant_hooks_datasource_errors_total", "tenant_hooks_datasource_rows_total",
		"tenant_hooks_template_cache_hits_total", "tenant_hooks_template_cache_misses_total",
		"tenant_hooks_registry_tenants", "tenant_hooks_deletion_guard_activations_total", "tenant_hooks_build_info"} {
		assert.True(t, used[want], "dashboard has no panel using %s", want)
	}

	kraw, err := os.ReadFile(filepath.Join("monitoring", "kustomization.yaml"))
	require.NoError(t, err)
	var k obj
	require.NoError(t, yaml.Unmarshal(kraw, &k))
	gens := list(k, "configMapGenerator")
	require.Len(t, gens, 1)
	assert.Equal(t, "1", str(gens[0], "options", "labels", "grafana_dashboard"))

	sm := find(t, loadAll(t), "ServiceMonitor", "tenant-hooks")
	eps := list(sm.o, "spec", "endpoints")
	require.Len(t, eps, 1)
	assert.Equal(t, "http", str(eps[0], "port"))
	assert.Equal(t, "/metrics", str(eps[0], "path"))
	assert.Equal(t, "30s", str(eps[0], "interval"))
}
