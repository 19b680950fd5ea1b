package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEngine() (*render.Engine, *clock) {
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	return render.New(render.Options{Templates: tmpl.Options{}, Now: c.Now}), c
}

func fromYAML(t testing.TB, s string) object.Obj {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(s))
	require.NoError(t, err)
	var o object.Obj
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&o))
	return o
}

func tenant(t testing.TB, values string) object.Obj {
	return fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: Tenant
metadata: {name: acme-web, namespace: saas, uid: tenant-uid-1}
spec:
  uid: acme
  templateRef: web
  registryId: customers
  values: `+values)
}

var namespaceObj = map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "saas", "uid": "ns-uid"}}

func input(t testing.TB, tpl object.Obj) render.TenantInput {
	return render.TenantInput{Tenant: tenant(t, `{uid: acme, hostOrUrl: "https://acme.example:8443/x", activate: "1", planId: pro}`), Template: tpl, Namespace: namespaceObj}
}

// chain builds a template of n Deployments, each depending on the previous.
func chain(t testing.TB, n int) object.Obj {
	var b strings.Builder
	b.WriteString("apiVersion: operator.kubernetes-tenants.org/v1\nkind: TenantTemplate\nmetadata: {name: web, namespace: saas, generation: 3}\nspec:\n  registryId: customers\n  deployments:\n")
	for i := 0; i < n; i++ {
		dep := ""
		if i > 0 {
			dep = fmt.Sprintf("      dependIds: [d%d]\n", i-1)
		}
		fmt.Fprintf(&b, "    - id: d%d\n      nameTemplate: \"{{ .uid }}-d%d\"\n%s      spec:\n        apiVersion: apps/v1\n        kind: Deployment\n        spec: {replicas: 1, selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: nginx}]}}}\n", i, i, dep)
	}
	return fromYAML(t, b.String())
}

func states(out []sim.Round, round int) map[string]string {
	m := map[string]string{}
	for _, r := range object.NestedSlice(out[round].Status, "resources") {
		rm := r.(map[string]any)
		m[rm["id"].(string)] = rm["state"].(string)
	}
	return m
}

func cond(status object.Obj, typ string) map[string]any {
	for _, c := range object.NestedSlice(status, "conditions") {
		if m := c.(map[string]any); m["type"] == typ {
			return m
		}
	}
	return nil
}

// A chain of depth N converges in N rounds: round k creates resource k once
// its predecessor is Ready; the answer after round N reports everything Ready
// and then nothing changes.
func TestChainConvergesInNRounds(t *testing.T) {
	for _, n := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e, _ := newEngine()
			c := sim.New("tenant-uid-1")
			rounds, err := sim.Converge(context.Background(), e, input(t, chain(t, n)), c, 3*n+3)
			require.NoError(t, err)
			for k := 0; k < n; k++ {
				require.Len(t, rounds[k].Children, k+1, "round %d emits %d objects", k+1, k+1)
			}
			require.Equal(t, n, c.Creates)
			final := rounds[n]
			require.Len(t, final.Children, n)
			require.Equal(t, "True", cond(final.Status, "Ready")["status"], final.Status)
			require.Equal(t, "False", cond(final.Status, "Progressing")["status"])
			require.Len(t, rounds, n+2, "round N+1 is Ready, round N+2 proves the fixpoint")
		})
	}
}

func diamond(t testing.TB) object.Obj {
	return fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  configMaps:
    - {id: a, nameTemplate: "{{ .uid }}-a", spec: {apiVersion: v1, kind: ConfigMap, data: {k: v}}}
    - {id: c, nameTemplate: "{{ .uid }}-c", spec: {apiVersion: v1, kind: ConfigMap}}
  deployments:
    - id: b
      dependIds: [a]
      nameTemplate: "{{ .uid }}-b"
      spec: {apiVersion: apps/v1, kind: Deployment, spec: {selector: {matchLabels: {app: b}}, template: {metadata: {labels: {app: b}}, spec: {containers: [{name: c, image: nginx}]}}}}
  services:
    - {id: d, dependIds: [b], nameTemplate: "{{ .uid }}-d", spec: {apiVersion: v1, kind: Service, spec: {ports: [{port: 80}]}}}
    - {id: e, dependIds: [c], nameTemplate: "{{ .uid }}-e", spec: {apiVersion: v1, kind: Service, spec: {ports: [{port: 80}]}}}
`)
}

func TestFailedDependencyBlocksOnlyDependants(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	c.Fail = map[string]bool{"b": true}
	rounds, err := sim.Converge(context.Background(), e, input(t, diamond(t)), c, 10)
	require.NoError(t, err)
	last := len(rounds) - 1
	require.Equal(t, map[string]string{"a": "Ready", "b": "Failed", "c": "Ready", "d": "Pending", "e": "Ready"}, states(rounds, last))
	require.Equal(t, "True", cond(rounds[last].Status, "Degraded")["status"])
	require.Equal(t, "ResourcesFailed", cond(rounds[last].Status, "Ready")["reason"])
	var names []string
	for _, ch := range rounds[last].Children {
		names = append(names, object.Name(ch))
	}
	require.Equal(t, []string{"acme-a", "acme-c", "acme-b", "acme-e"}, names, "d is never emitted; sorted by type then key")
}

func TestDeterministicOutput(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, diamond(t))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	in.Observed = c.Objects()
	var first []byte
	for i := 0; i < 50; i++ {
		out, err := e.SyncTenant(context.Background(), in)
		require.NoError(t, err)
		b, err := json.Marshal(out)
		require.NoError(t, err)
		if first == nil {
			first = b
		}
		require.Equal(t, string(first), string(b))
	}
}

func TestRenderedChild(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  deployments:
    - id: app
      nameTemplate: "{{ .uid }}-app"
      labelsTemplate: {plan: "{{ .planId }}"}
      annotationsTemplate: {"example.com/host": "{{ .host }}"}
      spec:
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          labels: {team: "{{ .registryId }}"}
          namespace: somewhere-else
        spec:
          replicas: "{{ .replicas | default \"3\" | asInt }}"
          paused: false
          selector: {matchLabels: {app: "{{ .tenant }}"}}
          template:
            metadata: {labels: {app: "{{ .tenant }}"}}
            spec: {containers: [{name: c, image: "nginx", env: [{name: NS, value: "{{ .namespace }}"}, {name: T, value: "{{ .templateRef }}"}]}]}
`)
	in := input(t, tpl)
	// A NULL column arrives as ""; default fills it. (A variable that is not
	// mapped at all is an error, see TestMissingVariable.)
	object.SetNested(in.Tenant, "", "spec", "values", "replicas")
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, out.Children, 1, "%v", out.Status)
	d := out.Children[0]
	require.Equal(t, "acme-app", object.Name(d))
	require.Equal(t, "saas", object.Namespace(d), "a namespaced Tenant's children live in its namespace")
	require.Equal(t, int64(3), object.Nested(d, "spec", "replicas"), "asInt gives a number")
	require.Equal(t, false, object.Nested(d, "spec", "paused"))
	require.Equal(t, map[string]string{
		"team": "customers", "plan": "pro",
		render.LabelTenant: "acme-web", render.LabelRegistry: "customers", render.LabelTemplate: "web", render.LabelResourceID: "app",
	}, object.StringMap(d, "metadata", "labels"))
	ann := object.StringMap(d, "metadata", "annotations")
	require.Equal(t, "acme.example", ann["example.com/host"])
	require.Equal(t, "Delete", ann[render.AnnotationDeletionPolicy])
	env := object.NestedSlice(d, "spec", "template", "spec", "containers")[0].(map[string]any)["env"].([]any)
	require.Equal(t, "saas", env[0].(map[string]any)["value"])
	require.Equal(t, "web", env[1].(map[string]any)["value"])
}

// A bad value in one resource fails that resource only, keeps its observed
// object exactly, and names template, resource and uid.
func TestRenderErrorKeepsObservedObject(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, diamond(t))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	before := c.Objects()

	broken := diamond(t)
	cm := object.NestedSlice(broken, "spec", "configMaps")[0].(map[string]any)
	object.SetNested(cm, "{{ .missing }}", "spec", "data", "k")
	in.Template = broken
	in.Observed = c.Objects()
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, out.Children, 5, "nothing is dropped")
	var got object.Obj
	for _, ch := range out.Children {
		if object.Name(ch) == "acme-a" {
			got = ch
		}
	}
	require.Equal(t, "v", object.String(got, "data", "k"), "the observed value is kept")
	for _, r := range object.NestedSlice(out.Status, "resources") {
		m := r.(map[string]any)
		if m["id"] == "a" {
			require.Equal(t, "Failed", m["state"])
			require.Equal(t, "RenderError", m["reason"])
			require.Contains(t, m["message"], `template saas/web, resource "a", uid "acme"`)
			require.Contains(t, m["message"], "missing")
		}
	}
	c.Apply(out.Children)
	for i, o := range c.Objects() {
		require.Equal(t, object.String(before[i], "metadata", "resourceVersion"), object.String(o, "metadata", "resourceVersion"), "no object was rewritten: %s", object.Name(o))
	}
}

func TestReadinessTimeout(t *testing.T) {
	e, clk := newEngine()
	tpl := chain(t, 2)
	object.NestedSlice(tpl, "spec", "deployments")[0].(map[string]any)["timeoutSeconds"] = json.Number("60")
	c := sim.New("tenant-uid-1")
	c.Hold = map[string]bool{"d0": true}
	in := input(t, tpl)
	rounds, err := sim.Converge(context.Background(), e, in, c, 5)
	require.NoError(t, err)
	last := rounds[len(rounds)-1]
	require.Equal(t, map[string]string{"d0": "Waiting", "d1": "Pending"}, states(rounds, len(rounds)-1))
	rs := object.NestedSlice(last.Status, "resources")[0].(map[string]any)
	require.Equal(t, "2026-11-25T12:00:00Z", rs["waitingSince"])

	clk.Add(61 * time.Second)
	in.Tenant = object.DeepCopyMap(in.Tenant)
	in.Tenant["status"] = last.Status
	in.Observed = c.Objects()
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range object.NestedSlice(out.Status, "resources") {
		m := r.(map[string]any)
		got[m["id"].(string)] = m["state"].(string) + "/" + m["reason"].(string)
	}
	require.Equal(t, map[string]string{"d0": "Failed/Timeout", "d1": "Pending/DependencyFailed"}, got, "dependants of a timed-out resource stay blocked")
	require.Len(t, out.Children, 1, "the timed-out Deployment itself is still emitted")
	require.Equal(t, "True", cond(out.Status, "Degraded")["status"])
}

func TestWaitForReadyFalse(t *testing.T) {
	e, _ := newEngine()
	tpl := chain(t, 2)
	object.NestedSlice(tpl, "spec", "deployments")[0].(map[string]any)["waitForReady"] = false
	out, err := e.SyncTenant(context.Background(), input(t, tpl))
	require.NoError(t, err)
	require.Len(t, out.Children, 2, "the dependant goes on at once")
}

func TestNamespacedTenantCannotOwnNamespace(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, `
apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantTemplate
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  manifests:
    - {id: ns, nameTemplate: "tenant-{{ .uid }}", spec: {apiVersion: v1, kind: Namespace}}
    - {id: cm, nameTemplate: "{{ .uid }}", spec: {apiVersion: v1, kind: ConfigMap}}
`)
	out, err := e.SyncTenant(context.Background(), input(t, tpl))
	require.NoError(t, err)
	require.Len(t, out.Children, 1)
	rs := object.NestedSlice(out.Status, "resources")[0].(map[string]any)
	require.Equal(t, "Failed", rs["state"])
	require.Contains(t, rs["message"], "a namespaced Tenant cannot own the cluster-scoped Namespace")
}

func TestUndeclaredChildType(t *testing.T) {
	e, _ := newEngine()
	in := input(t, diamond(t))
	in.ChildTypes = map[string]bool{"ConfigMap.v1": true, "Service.v1": true}
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	for _, r := range object.NestedSlice(out.Status, "resources") {
		m := r.(map[string]any)
		if m["id"] == "b" {
			require.Equal(t, "Failed", m["state"])
			require.Contains(t, m["message"], "Deployment.apps/v1 is not a child type of this controller")
		}
	}
}

func TestInvalidTemplates(t *testing.T) {
	for name, tc := range map[string]struct{ spec, want string }{
		"cycle":      {`deployments: [{id: a, dependIds: [b], spec: {apiVersion: v1, kind: ConfigMap}}, {id: b, dependIds: [a], spec: {apiVersion: v1, kind: ConfigMap}}]`, "a -> b -> a"},
		"unknown":    {`configMaps: [{id: a, dependIds: [zzz], spec: {apiVersion: v1, kind: ConfigMap}}]`, `"zzz"`},
		"duplicate":  {"configMaps: [{id: a, spec: {apiVersion: v1, kind: ConfigMap}}]\n  secrets: [{id: a, spec: {apiVersion: v1, kind: Secret}}]", "duplicate resource id"},
		"no kind":    {`configMaps: [{id: a, spec: {apiVersion: v1}}]`, "apiVersion and kind"},
		"bad policy": {`configMaps: [{id: a, creationPolicy: Sometimes, spec: {apiVersion: v1, kind: ConfigMap}}]`, `creationPolicy "Sometimes"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render.ParseTemplate(fromYAML(t, "metadata: {name: web, namespace: saas}\nspec:\n  registryId: r\n  "+tc.spec))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestConcurrentRenders(t *testing.T) {
	e, _ := newEngine()
	in := input(t, diamond(t))
	want, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	wantJSON, _ := json.Marshal(want)
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				out, err := e.SyncTenant(context.Background(), in)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := json.Marshal(out)
				if string(b) != string(wantJSON) {
					t.Error("concurrent render differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A render error names the field that failed by its path in the resource,
// lists included.
func TestRenderErrorPath(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, `
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  configMaps:
    - {id: cfg, nameTemplate: "{{ .uid }}-cfg", spec: {apiVersion: v1, kind: ConfigMap, data: {a: ok}, x: [{b: ok}, {b: [ok, "{{ .nope }}"]}]}}
`)
	out, err := e.SyncTenant(context.Background(), input(t, tpl))
	require.NoError(t, err)
	rs := object.NestedSlice(out.Status, "resources")[0].(map[string]any)
	require.Equal(t, "RenderError", rs["reason"])
	require.Contains(t, rs["message"], `spec.x[1].b[1]: `)
	require.Contains(t, rs["message"], `missing variable "nope"`)
}

func TestMissingVariable(t *testing.T) {
	e, _ := newEngine()
	tpl := fromYAML(t, `
metadata: {name: web, namespace: saas}
spec:
  registryId: customers
  configMaps:
    - {id: cfg, nameTemplate: "{{ .uid }}-cfg", spec: {apiVersion: v1, kind: ConfigMap, data: {region: "{{ .region }}"}}}
`)
	out, err := e.SyncTenant(context.Background(), input(t, tpl))
	require.NoError(t, err)
	require.Empty(t, out.Children)
	rs := object.NestedSlice(out.Status, "resources")[0].(map[string]any)
	require.Equal(t, "RenderError", rs["reason"])
	require.Contains(t, rs["message"], `resource "cfg", uid "acme"`)
	require.Contains(t, rs["message"], `missing variable "region"`)
	require.NotContains(t, rs["message"], "<no value>")
}

// The parsed-template cache is keyed by content: a request that claims a
// template's uid and resourceVersion with other content cannot make later
// renders of the genuine template use it.
func TestTemplateCacheKeyedByContent(t *testing.T) {
	e, _ := newEngine()
	genuine := diamond(t)
	object.SetNested(genuine, "tpl-uid", "metadata", "uid")
	object.SetNested(genuine, "42", "metadata", "resourceVersion")
	forged := object.DeepCopyMap(genuine)
	object.SetNested(object.NestedSlice(forged, "spec", "configMaps")[0].(map[string]any), "forged", "spec", "data", "k")

	_, err := e.SyncTenant(context.Background(), input(t, forged))
	require.NoError(t, err)
	out, err := e.SyncTenant(context.Background(), input(t, genuine))
	require.NoError(t, err)
	require.Equal(t, "v", object.String(find(out.Children, "acme-a"), "data", "k"))
}

// A resource whose spec.kind is not the kind of its list (a Secret under
// configMaps) fails with a message naming template, resource and uid; the
// object it created before is kept unchanged, never deleted or turned into
// another kind (issue 12). manifests still take any kind.
func TestKindMustMatchItsList(t *testing.T) {
	e, _ := newEngine()
	c := sim.New("tenant-uid-1")
	in := input(t, diamond(t))
	_, err := sim.Converge(context.Background(), e, in, c, 10)
	require.NoError(t, err)
	before := c.Objects()

	broken := diamond(t)
	cm := object.NestedSlice(broken, "spec", "configMaps")[0].(map[string]any)
	object.SetNested(cm, "Secret", "spec", "kind")
	in.Template = broken
	in.Observed = c.Objects()
	out, err := e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	require.Len(t, out.Children, len(before), "nothing is dropped")
	for _, ch := range out.Children {
		require.NotEqual(t, "Secret", object.Kind(ch), "no Secret is made from the configMaps list")
	}
	var failed map[string]any
	for _, r := range object.NestedSlice(out.Status, "resources") {
		if m := r.(map[string]any); m["id"] == "a" {
			failed = m
		}
	}
	require.Equal(t, "Failed", failed["state"])
	require.Equal(t, "RenderError", failed["reason"])
	require.Contains(t, failed["message"], `template saas/web, resource "a", uid "acme", spec.kind: "Secret" does not belong in spec.configMaps, which holds ConfigMap objects`)
	require.Contains(t, failed["message"], "keeping the existing object unchanged")
	require.Equal(t, "ConfigMap", failed["kind"], "status names the object actually kept")
	c.Apply(out.Children)
	for i, o := range c.Objects() {
		require.Equal(t, object.String(before[i], "metadata", "resourceVersion"), object.String(o, "metadata", "resourceVersion"), "no object was rewritten: %s", object.Name(o))
	}

	// The same resource under manifests is fine.
	moved := diamond(t)
	spec := moved["spec"].(map[string]any)
	res := object.NestedSlice(moved, "spec", "configMaps")[0].(map[string]any)
	object.SetNested(res, "Secret", "spec", "kind")
	spec["manifests"] = []any{res}
	spec["configMaps"] = object.NestedSlice(moved, "spec", "configMaps")[1:]
	_, err = render.ParseTemplate(moved)
	require.NoError(t, err)
	in.Template = moved
	out, err = e.SyncTenant(context.Background(), in)
	require.NoError(t, err)
	for _, r := range object.NestedSlice(out.Status, "resources") {
		if m := r.(map[string]any); m["id"] == "a" {
			require.NotEqual(t, "Failed", m["state"], m)
			require.Equal(t, "Secret", m["kind"])
		}
	}
}
