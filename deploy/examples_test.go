package deploy_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// parseFile reads every document of a YAML file outside deploy/.
func parseFile(t *testing.T, path string) []obj {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []obj
	for i, part := range docSep.Split(string(raw), -1) {
		if strings.TrimSpace(stripComments(part)) == "" {
			continue
		}
		var v any
		require.NoError(t, yaml.Unmarshal([]byte(part), &v), "%s document %d", path, i+1)
		if o, ok := v.(obj); ok {
			out = append(out, o) // row lists and other non-objects are not manifests
		}
	}
	return out
}

// declared returns "apiVersion resource" of a controller's children.
func declared(t *testing.T, docs []doc, name string) map[string]bool {
	t.Helper()
	c := find(t, docs, "CompositeController", name)
	out := map[string]bool{}
	for _, r := range c.o["spec"].(obj)["childResources"].([]any) {
		m := r.(obj)
		out[m["apiVersion"].(string)+" "+m["resource"].(string)] = true
	}
	return out
}

// plural is the resource name Kubernetes uses for the kinds our examples produce.
var plural = map[string]string{
	"ConfigMap": "configmaps", "Secret": "secrets", "ServiceAccount": "serviceaccounts", "Service": "services",
	"PersistentVolumeClaim": "persistentvolumeclaims", "Deployment": "deployments", "StatefulSet": "statefulsets",
	"DaemonSet": "daemonsets", "Job": "jobs", "CronJob": "cronjobs", "Ingress": "ingresses", "Namespace": "namespaces",
	"Tenant": "tenants", "ClusterTenant": "clustertenants",
}

// Every object the examples render — the children the sync hook returns and
// the Tenants the registry hook returns — is of a type its controller
// declares, with exactly the declared apiVersion. A kind a template produces
// but the controller does not declare would be created once and never
// managed; another apiVersion would churn (metacontroller.md §9.3).
func TestExamplesProduceDeclaredChildTypes(t *testing.T) {
	docs := loadAll(t)
	controllers := map[bool]map[string]string{
		false: {"children": "tenant-controller", "tenants": "tenantregistry-controller"},
		true:  {"children": "clustertenant-controller", "tenants": "clustertenantregistry-controller"},
	}
	dirs, err := filepath.Glob("../examples/*/expected")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	checked := 0
	for _, dir := range dirs {
		tenants := parseFile(t, filepath.Join(dir, "tenants.yaml"))
		require.NotEmpty(t, tenants, dir)
		cluster := tenants[0]["kind"] == "ClusterTenant"
		for file, ctl := range map[string]string{"tenants.yaml": controllers[cluster]["tenants"], "children.yaml": controllers[cluster]["children"]} {
			want := declared(t, docs, ctl)
			for _, o := range parseFile(t, filepath.Join(dir, file)) {
				kind, apiVersion := o["kind"].(string), o["apiVersion"].(string)
				res, ok := plural[kind]
				require.True(t, ok, "%s: unknown kind %s", dir, kind)
				require.True(t, want[apiVersion+" "+res], "%s/%s: %s %s is not a child type of %s (declared: %v)", dir, file, apiVersion, kind, ctl, setKeys(want))
				checked++
			}
		}
	}
	require.Greater(t, checked, 20)
}

// The examples' templates only use kinds the controllers declare, whatever the list they sit in.
func TestExampleTemplatesUseDeclaredKinds(t *testing.T) {
	docs := loadAll(t)
	ns := declared(t, docs, "tenant-controller")
	cl := declared(t, docs, "clustertenant-controller")
	files, err := filepath.Glob("../examples/*/*.yaml")
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		for _, o := range parseFile(t, f) {
			if o["kind"] != "TenantTemplate" {
				continue
			}
			spec := o["spec"].(obj)
			for list, v := range spec {
				items, ok := v.([]any)
				if !ok || list == "namespaceDefaults" {
					continue
				}
				for _, it := range items {
					s := it.(obj)["spec"].(obj)
					key := s["apiVersion"].(string) + " " + plural[s["kind"].(string)]
					require.True(t, ns[key] || cl[key], "%s: %s", f, key)
					n++
				}
			}
		}
	}
	require.Greater(t, n, 10)
}

func setKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
