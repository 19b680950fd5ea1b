// Package steady builds realistic Metacontroller hook requests for
// benchmarks, load tests and scalability runs: a Tenant synced to its
// fixpoint (every child observed and ready, the Tenant's status written back)
// and registry syncs that carry every observed Tenant.
//
// Observed objects carry what the API server and Metacontroller add to them
// in a real cluster (uid, resourceVersion, creationTimestamp, finalizers,
// ownerReferences, managedFields and Metacontroller's last-applied
// annotation), modelled on the recorded requests in testdata/metacontroller
// at the repository's root, because that bookkeeping is most of a request's
// bytes.
package steady

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/internal/repo"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// Clock is the fixed time stamped into generated objects.
var Clock = time.Date(2026, 11, 25, 20, 40, 0, 0, time.UTC)

// Now returns Clock; pass it as render.Options.Now so answers are stable.
func Now() time.Time { return Clock }

// ReadObjects reads every YAML or JSON document of a file.
func ReadObjects(path string) ([]object.Obj, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []object.Obj
	for _, doc := range splitYAML(b) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		o, err := DecodeObj(j)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
	return out, nil
}

func splitYAML(b []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if bytes.Equal(bytes.TrimRight(line, "\r\n"), []byte("---")) {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

// DecodeObj decodes JSON with numbers kept as json.Number, like the hooks.
func DecodeObj(b []byte) (object.Obj, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var o object.Obj
	if err := dec.Decode(&o); err != nil {
		return nil, err
	}
	return o, nil
}

// Marshal encodes like the hooks (no HTML escaping, sorted keys, no newline).
func Marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// fakeUID is a deterministic RFC 4122-shaped uid for a name.
func fakeUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h := fmt.Sprintf("%x", sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// FieldsV1 is the managedFields "fieldsV1" tree of a value, as the API
// server records it for the manager that wrote the value.
func FieldsV1(v any) map[string]any {
	out := map[string]any{}
	m, ok := v.(map[string]any)
	if !ok {
		return out
	}
	for k, e := range m {
		switch t := e.(type) {
		case map[string]any:
			sub := FieldsV1(t)
			sub["."] = map[string]any{}
			out["f:"+k] = sub
		case []any:
			sub := map[string]any{".": map[string]any{}}
			for i, it := range t {
				im, ok := it.(map[string]any)
				if !ok {
					sub["v:"+string(Marshal(it))] = map[string]any{}
					continue
				}
				key := fmt.Sprintf(`k:{"index":%d}`, i)
				if n, ok := im["name"].(string); ok {
					key = `k:{"name":` + strconv.Quote(n) + `}`
				}
				item := FieldsV1(im)
				item["."] = map[string]any{}
				sub[key] = item
			}
			out["f:"+k] = sub
		default:
			out["f:"+k] = map[string]any{}
		}
	}
	return out
}

func managedField(apiVersion, manager, operation, subresource string, fields map[string]any) map[string]any {
	m := map[string]any{
		"apiVersion": apiVersion, "fieldsType": "FieldsV1", "fieldsV1": fields,
		"manager": manager, "operation": operation, "time": Clock.Add(-time.Hour).Format(time.RFC3339),
	}
	if subresource != "" {
		m["subresource"] = subresource
	}
	return m
}

// Observe turns a desired object, as a hook returned it, into the object a
// controller observes once Metacontroller created it: server metadata,
// Metacontroller's controller reference, selector label and last-applied
// annotation, and the managedFields of both writers. status, when non-nil,
// is the object's status.
func Observe(desired object.Obj, owner object.Obj, seq int, status map[string]any) object.Obj {
	o := object.DeepCopyMap(desired)
	md := object.Map(o, "metadata")
	if md == nil {
		md = map[string]any{}
		o["metadata"] = md
	}
	labels, _ := md["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		md["labels"] = labels
	}
	labels["controller-uid"] = object.UID(owner)
	applied := object.DeepCopyMap(o)
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann[object.LastAppliedAnnotation] = string(Marshal(applied))
	refs, _ := md["ownerReferences"].([]any)
	md["ownerReferences"] = append([]any{map[string]any{
		"apiVersion": object.APIVersion(owner), "kind": object.Kind(owner), "name": object.Name(owner),
		"uid": object.UID(owner), "controller": true, "blockOwnerDeletion": true,
	}}, refs...)
	md["uid"] = fakeUID(object.Kind(o), object.Namespace(o), object.Name(o))
	md["resourceVersion"] = strconv.Itoa(1000 + seq)
	md["creationTimestamp"] = Clock.Add(-2 * time.Hour).Format(time.RFC3339)
	if _, ok := md["generation"]; !ok {
		md["generation"] = json.Number("1")
	}
	fields := FieldsV1(applied)
	mfs := []any{managedField(object.APIVersion(o), "metacontroller", "Update", "", fields)}
	if status != nil {
		o["status"] = status
		mfs = append(mfs, managedField(object.APIVersion(o), controllerFor(object.Kind(o)), "Update", "status",
			map[string]any{"f:status": FieldsV1(status)}))
	}
	md["managedFields"] = mfs
	return o
}

func controllerFor(kind string) string {
	switch kind {
	case "Tenant", "ClusterTenant":
		return "metacontroller"
	case "Deployment":
		return "kube-controller-manager"
	}
	return "kube-controller-manager"
}

// ServerDefaults adds the fields the API server defaults on the kinds of the
// examples, as an observed object carries them.
func ServerDefaults(o object.Obj) {
	setDefault := func(m map[string]any, k string, v any) {
		if m == nil {
			return
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	spec := object.Map(o, "spec")
	switch object.Kind(o) {
	case "Deployment":
		setDefault(spec, "progressDeadlineSeconds", json.Number("600"))
		setDefault(spec, "revisionHistoryLimit", json.Number("10"))
		setDefault(spec, "strategy", map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}})
		pod := object.NestedMap(o, "spec", "template", "spec")
		setDefault(pod, "dnsPolicy", "ClusterFirst")
		setDefault(pod, "restartPolicy", "Always")
		setDefault(pod, "schedulerName", "default-scheduler")
		setDefault(pod, "securityContext", map[string]any{})
		setDefault(pod, "terminationGracePeriodSeconds", json.Number("30"))
		for _, c := range object.NestedSlice(pod, "containers") {
			cm, _ := c.(map[string]any)
			setDefault(cm, "imagePullPolicy", "IfNotPresent")
			setDefault(cm, "terminationMessagePath", "/dev/termination-log")
			setDefault(cm, "terminationMessagePolicy", "File")
			for _, p := range object.NestedSlice(cm, "ports") {
				setDefault(p.(map[string]any), "protocol", "TCP")
			}
		}
	case "Service":
		ip := "10.96.0." + strconv.Itoa(10+len(object.Name(o))%200)
		setDefault(spec, "clusterIP", ip)
		setDefault(spec, "clusterIPs", []any{ip})
		setDefault(spec, "internalTrafficPolicy", "Cluster")
		setDefault(spec, "ipFamilies", []any{"IPv4"})
		setDefault(spec, "ipFamilyPolicy", "SingleStack")
		setDefault(spec, "sessionAffinity", "None")
		setDefault(spec, "type", "ClusterIP")
		for _, p := range object.NestedSlice(spec, "ports") {
			setDefault(p.(map[string]any), "protocol", "TCP")
		}
		setDefault(o, "status", map[string]any{"loadBalancer": map[string]any{}})
	case "Ingress":
		setDefault(o, "status", map[string]any{"loadBalancer": map[string]any{}})
	}
}

// deploymentStatus is what the deployment controller reports once the
// rollout finished (as in tenant-sync-deployment-available.json).
func deploymentStatus(o object.Obj) map[string]any {
	gen, _ := object.Int64(o, "metadata", "generation")
	rep := int64(1)
	if r, ok := object.Int64(o, "spec", "replicas"); ok {
		rep = r
	}
	n := func(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }
	ts := Clock.Add(-90 * time.Minute).Format(time.RFC3339)
	return map[string]any{
		"availableReplicas": n(rep), "readyReplicas": n(rep), "replicas": n(rep), "updatedReplicas": n(rep),
		"terminatingReplicas": n(0), "observedGeneration": n(gen),
		"conditions": []any{
			map[string]any{"lastTransitionTime": ts, "lastUpdateTime": ts, "message": "Deployment has minimum availability.",
				"reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
			map[string]any{"lastTransitionTime": ts, "lastUpdateTime": ts,
				"message": fmt.Sprintf("ReplicaSet %q has successfully progressed.", object.Name(o)+"-77884b58b6"),
				"reason":  "NewReplicaSetAvailable", "status": "True", "type": "Progressing"},
		},
	}
}

// ---------------------------------------------------------------------------
// Templates and Tenants

// StampTemplate gives a TenantTemplate what the API server adds, so the
// engine caches its parse by uid and resourceVersion as in a cluster.
func StampTemplate(t object.Obj, namespace string) object.Obj {
	t = object.DeepCopyMap(t)
	md := object.Map(t, "metadata")
	md["namespace"] = namespace
	spec := object.DeepCopyMap(object.Map(t, "spec"))
	applied := map[string]any{"apiVersion": t["apiVersion"], "kind": t["kind"], "metadata": map[string]any{"name": md["name"], "namespace": md["namespace"]}, "spec": spec}
	md["uid"] = fakeUID("TenantTemplate", object.Namespace(t), object.Name(t))
	md["resourceVersion"] = "300"
	md["generation"] = json.Number("1")
	md["creationTimestamp"] = Clock.Add(-3 * time.Hour).Format(time.RFC3339)
	md["annotations"] = map[string]any{"kubectl.kubernetes.io/last-applied-configuration": string(Marshal(applied)) + "\n"}
	md["managedFields"] = []any{managedField(object.APIVersion(t), "kubectl-client-side-apply", "Update", "", FieldsV1(map[string]any{"spec": spec}))}
	return t
}

// Replicate builds a template with copies×(the template's resources): each
// copy's ids and names get a "-<i>" suffix and its dependencies stay inside
// the copy. With the 6-resource basic example, copies=5 gives 30 resources.
func Replicate(t object.Obj, name string, copies int) object.Obj {
	out := object.DeepCopyMap(t)
	object.SetNested(out, name, "metadata", "name")
	spec := object.Map(out, "spec")
	for _, list := range render.ResourceLists {
		items, ok := spec[list].([]any)
		if !ok {
			continue
		}
		var next []any
		for i := 1; i <= copies; i++ {
			for _, it := range items {
				r := object.DeepCopyMap(it.(map[string]any))
				suffix := "-" + strconv.Itoa(i)
				r["id"] = r["id"].(string) + suffix
				if n, ok := r["nameTemplate"].(string); ok {
					r["nameTemplate"] = n + suffix
				}
				if deps, ok := r["dependIds"].([]any); ok {
					nd := make([]any, len(deps))
					for j, d := range deps {
						nd[j] = d.(string) + suffix
					}
					r["dependIds"] = nd
				}
				next = append(next, r)
			}
		}
		spec[list] = next
	}
	return out
}

// Row is one source row of the basic example's schema.
type Row struct {
	UID, Domain, Plan string
	Replicas          int
}

// RowN is the i-th synthetic row.
func RowN(i int) Row {
	return Row{
		UID:      fmt.Sprintf("cust-%06d", i),
		Domain:   fmt.Sprintf("https://shop-%06d.tenants.example", i),
		Plan:     []string{"free", "basic", "pro"}[i%3],
		Replicas: 1 + i%2,
	}
}

// Registry is the TenantRegistry of the generated requests. Host, user and
// database point at a MySQL server (no passwordRef); rows nil means a
// MySQL source, otherwise a static source with those rows.
func Registry(namespace, name, host string, port int, user, database, table string, rows []Row) object.Obj {
	spec := map[string]any{
		"valueMappings":      map[string]any{"uid": "customer_id", "hostOrUrl": "domain", "activate": "is_active"},
		"extraValueMappings": map[string]any{"planId": "plan", "replicas": "replicas"},
	}
	if rows == nil {
		spec["source"] = map[string]any{"type": "mysql", "syncInterval": "1m", "mysql": map[string]any{
			"host": host, "port": json.Number(strconv.Itoa(port)), "username": user, "database": database, "table": table,
		}}
	} else {
		list := make([]any, len(rows))
		for i, r := range rows {
			list[i] = map[string]any{"customer_id": r.UID, "domain": r.Domain, "is_active": "1", "plan": r.Plan, "replicas": strconv.Itoa(r.Replicas)}
		}
		spec["source"] = map[string]any{"type": "static", "syncInterval": "1m", "static": map[string]any{"rows": list}}
	}
	reg := map[string]any{
		"apiVersion": render.APIVersion, "kind": "TenantRegistry",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     spec,
	}
	md := reg["metadata"].(map[string]any)
	md["uid"] = fakeUID("TenantRegistry", namespace, name)
	md["resourceVersion"] = "322"
	md["generation"] = json.Number("1")
	md["creationTimestamp"] = Clock.Add(-3 * time.Hour).Format(time.RFC3339)
	md["managedFields"] = []any{managedField(render.APIVersion, "kubectl-create", "Update", "", FieldsV1(map[string]any{"spec": spec}))}
	return reg
}

// DesiredTenants runs the registry render (static rows) and returns the
// Tenants the registry hook would answer for rows × templates.
func DesiredTenants(ctx context.Context, e *render.Engine, namespace string, templates []object.Obj, rows []Row) ([]object.Obj, object.Obj, error) {
	reg := Registry(namespace, "customers", "", 0, "", "", "", rows)
	parsed, err := render.ParseRegistry(reg)
	if err != nil {
		return nil, nil, err
	}
	raw, err := datasource.NewStatic(parsed.Static.Rows).Rows(ctx, parsed.Mapping.Columns())
	if err != nil {
		return nil, nil, err
	}
	out := e.SyncRegistry(ctx, render.RegistryInput{Registry: reg, Parsed: parsed, Templates: templates, Rows: datasource.Evaluate(parsed.Mapping, raw)})
	return out.ChildList(), reg, nil
}

// ---------------------------------------------------------------------------
// Controllers

// TenantController is the tenant-controller's CompositeController object, as
// Metacontroller sends it in every request, declaring these child types
// (TypeKeys such as "Deployment.apps/v1").
func TenantController(childTypes []string) json.RawMessage {
	var crs []any
	for _, tk := range childTypes {
		apiVersion, kind, _ := object.SplitTypeKey(tk)
		crs = append(crs, map[string]any{"apiVersion": apiVersion, "resource": render.ResourceOf(kind),
			"updateStrategy": map[string]any{"method": "InPlace", "statusChecks": map[string]any{}}})
	}
	return controller("tenant-controller", "tenants", crs, true)
}

// RegistryController is the tenantregistry-controller object.
func RegistryController() json.RawMessage {
	return controller("tenantregistry-controller", "tenantregistries", []any{map[string]any{
		"apiVersion": render.APIVersion, "resource": "tenants",
		"updateStrategy": map[string]any{"method": "InPlace", "statusChecks": map[string]any{}},
	}}, false)
}

func controller(name, parent string, childResources []any, finalize bool) json.RawMessage {
	hook := func(h string) map[string]any {
		return map[string]any{"version": "v2", "webhook": map[string]any{"url": "http://tenant-hooks.tenant-hooks.svc/hooks/" + parent + "/" + h, "timeout": "10s"}}
	}
	hooks := map[string]any{"customize": hook("customize"), "sync": hook("sync")}
	if finalize {
		hooks["finalize"] = hook("finalize")
	}
	spec := map[string]any{
		"parentResource": map[string]any{"apiVersion": render.APIVersion, "resource": parent, "ignoreStatusChanges": true},
		"childResources": childResources, "hooks": hooks, "generateSelector": true,
	}
	c := map[string]any{
		"kind": "CompositeController", "apiVersion": "metacontroller.k8s.io/v1alpha1",
		"metadata": map[string]any{
			"name": name, "uid": fakeUID("CompositeController", name), "resourceVersion": "294", "generation": json.Number("1"),
			"creationTimestamp": Clock.Add(-4 * time.Hour).Format(time.RFC3339),
			"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": string(Marshal(map[string]any{
				"apiVersion": "metacontroller.k8s.io/v1alpha1", "kind": "CompositeController",
				"metadata": map[string]any{"annotations": map[string]any{}, "name": name}, "spec": spec})) + "\n"},
			"managedFields": []any{managedField("metacontroller.k8s.io/v1alpha1", "kubectl-client-side-apply", "Update", "", FieldsV1(map[string]any{"spec": spec}))},
		},
		"spec":   spec,
		"status": map[string]any{},
	}
	return Marshal(c)
}

// ChildTypes lists the TypeKeys a template's resources produce, sorted.
func ChildTypes(templates ...object.Obj) []string {
	seen := map[string]bool{}
	for _, t := range templates {
		spec := object.Map(t, "spec")
		for _, list := range render.ResourceLists {
			items, _ := spec[list].([]any)
			for _, it := range items {
				s := object.NestedMap(it.(map[string]any), "spec")
				seen[object.TypeKey(object.APIVersion(s), object.Kind(s))] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// Tenant sync

// TenantState is one Tenant and its in-memory cluster, driven through the
// sync hook round by round the way Metacontroller drives it.
type TenantState struct {
	Tenant     object.Obj // observed Tenant (status written back every round)
	Template   object.Obj // stamped TenantTemplate
	Namespace  object.Obj
	ChildTypes []string
	Controller json.RawMessage
	Cluster    *sim.Cluster
	applied    map[string]object.Obj // child key → desired object last applied
	Rounds     int
}

// NewTenantState prepares a desired Tenant (as the registry hook answered it)
// as Metacontroller creates it under its registry.
func NewTenantState(desired, registry, template object.Obj, seq int) *TenantState {
	tenant := Observe(desired, registry, seq, nil)
	object.SetNested(tenant, []any{"metacontroller.io/compositecontroller-tenant-controller"}, "metadata", "finalizers")
	types := ChildTypes(template)
	ns := object.Namespace(tenant)
	return &TenantState{
		Tenant:     tenant,
		Template:   template,
		Namespace:  namespaceObj(ns),
		ChildTypes: types,
		Controller: TenantController(types),
		Cluster:    sim.New(object.UID(tenant)),
		applied:    map[string]object.Obj{},
	}
}

func namespaceObj(ns string) object.Obj {
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name": ns, "uid": fakeUID("Namespace", ns), "resourceVersion": "12",
		"creationTimestamp": Clock.Add(-5 * time.Hour).Format(time.RFC3339),
		"labels":            map[string]any{"kubernetes.io/metadata.name": ns},
		"managedFields": []any{managedField("v1", "kubectl-create", "Update", "",
			map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}, "f:kubernetes.io/metadata.name": map[string]any{}}}})},
	}, "spec": map[string]any{"finalizers": []any{"kubernetes"}}, "status": map[string]any{"phase": "Active"}}
}

func childKey(o object.Obj) string {
	return object.TypeKey(object.APIVersion(o), object.Kind(o)) + "|" + object.ObjKey(object.Namespace(o), object.Name(o))
}

// Request is the sync request Metacontroller would send now.
func (s *TenantState) Request() []byte {
	children := map[string]any{}
	for _, tk := range s.ChildTypes {
		children[tk] = map[string]any{}
	}
	for i, o := range s.Cluster.Objects() {
		tk := object.TypeKey(object.APIVersion(o), object.Kind(o))
		m, ok := children[tk].(map[string]any)
		if !ok {
			m = map[string]any{}
			children[tk] = m
		}
		desired := s.applied[childKey(o)]
		if desired == nil {
			desired = object.StripServerFields(o)
		}
		var status map[string]any
		if st, ok := o["status"].(map[string]any); ok {
			status = st
			if object.Kind(o) == "Deployment" {
				status = deploymentStatus(o)
			}
		}
		obs := Observe(desired, s.Tenant, i, status)
		ServerDefaults(obs)
		object.SetNested(obs, o["metadata"].(map[string]any)["generation"], "metadata", "generation")
		m[object.ObjKey(object.Namespace(o), object.Name(o))] = obs
	}
	related := map[string]any{
		object.TypeKey(render.APIVersion, "TenantTemplate"): map[string]any{object.ObjKey(object.Namespace(s.Template), object.Name(s.Template)): s.Template},
		"Namespace.v1": map[string]any{object.Name(s.Namespace): s.Namespace},
	}
	for _, tk := range s.ChildTypes {
		if _, ok := related[tk]; !ok {
			related[tk] = map[string]any{}
		}
	}
	req := map[string]any{
		"controller": s.Controller, "parent": s.Tenant, "children": children, "related": related, "finalizing": false,
	}
	return Marshal(req)
}

// Answer is the part of a composite answer the driver reads.
type Answer struct {
	Status             object.Obj   `json:"status"`
	Children           []object.Obj `json:"children"`
	ResyncAfterSeconds float64      `json:"resyncAfterSeconds"`
}

// Apply feeds an answer back: children are applied to the cluster, the
// cluster settles (everything becomes ready), the status is written to the
// Tenant with observedGeneration as Metacontroller does.
func (s *TenantState) Apply(ans *Answer) {
	for _, c := range ans.Children {
		s.applied[childKey(c)] = c
	}
	s.Cluster.Apply(ans.Children)
	s.Cluster.Settle()
	st := object.DeepCopyMap(ans.Status)
	if st == nil {
		st = map[string]any{}
	}
	st["observedGeneration"] = json.Number("1")
	s.Tenant["status"] = st
	s.Rounds++
}

// Hook is a handler call: request body in, answer body out, timed.
type Hook func(path string, body []byte) (int, []byte, time.Duration)

// HandlerHook calls an http.Handler in process, the way the HTTP server
// would, and times ServeHTTP alone.
func HandlerHook(h http.Handler) Hook {
	return func(path string, body []byte) (int, []byte, time.Duration) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		return rec.Code, rec.Body.Bytes(), d
	}
}

// Converge drives the Tenant through the sync hook until the request stops
// changing (Metacontroller would then only resync). It returns the number of
// hook calls and their summed handler time.
func (s *TenantState) Converge(hook Hook, maxRounds int) (calls int, hookTime time.Duration, err error) {
	var prev []byte
	for i := 0; i < maxRounds; i++ {
		req := s.Request()
		if prev != nil && bytes.Equal(req, prev) {
			return calls, hookTime, nil
		}
		prev = req
		code, body, d := hook("/hooks/tenants/sync", req)
		calls++
		hookTime += d
		if code != http.StatusOK {
			return calls, hookTime, fmt.Errorf("tenant %s: sync answered %d: %s", object.Name(s.Tenant), code, body)
		}
		var ans Answer
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&ans); err != nil {
			return calls, hookTime, err
		}
		s.Apply(&ans)
	}
	return calls, hookTime, fmt.Errorf("tenant %s: no fixpoint after %d rounds", object.Name(s.Tenant), maxRounds)
}

// ---------------------------------------------------------------------------
// Set-ups shared by the benchmarks and tools

// Namespace is where the generated registry, templates and Tenants live.
const Namespace = "saas"

// BasicTemplate is examples/basic-webapp/template.yaml, stamped.
func BasicTemplate() (object.Obj, error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	objs, err := ReadObjects(filepath.Join(root, "examples", "basic-webapp", "template.yaml"))
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if object.Kind(o) == "TenantTemplate" {
			return StampTemplate(o, Namespace), nil
		}
	}
	return nil, fmt.Errorf("examples/basic-webapp/template.yaml has no TenantTemplate")
}

// Templates returns the templates of a named set: "basic" (6 resources),
// "basic30" (the basic example replicated to 30 resources) or "multi"
// (examples/multi-template: 2 templates).
func Templates(set string) ([]object.Obj, error) {
	switch set {
	case "basic":
		t, err := BasicTemplate()
		if err != nil {
			return nil, err
		}
		return []object.Obj{t}, nil
	case "basic30":
		t, err := BasicTemplate()
		if err != nil {
			return nil, err
		}
		return []object.Obj{StampTemplate(Replicate(t, "web30", 5), Namespace)}, nil
	case "multi":
		root, err := repo.Root()
		if err != nil {
			return nil, err
		}
		objs, err := ReadObjects(filepath.Join(root, "examples", "multi-template", "templates.yaml"))
		if err != nil {
			return nil, err
		}
		var out []object.Obj
		for _, o := range objs {
			if object.Kind(o) == "TenantTemplate" {
				object.SetNested(o, "customers", "spec", "registryId")
				out = append(out, StampTemplate(o, Namespace))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown template set %q (basic, basic30, multi)", set)
}

// TenantStates prepares one TenantState per row × template, as the registry
// hook would create the Tenants.
func TenantStates(ctx context.Context, e *render.Engine, templates []object.Obj, rows []Row) ([]*TenantState, error) {
	tenants, reg, err := DesiredTenants(ctx, e, Namespace, templates, rows)
	if err != nil {
		return nil, err
	}
	byName := map[string]object.Obj{}
	for _, t := range templates {
		byName[object.Name(t)] = t
	}
	out := make([]*TenantState, len(tenants))
	for i, t := range tenants {
		tpl := byName[object.String(t, "spec", "templateRef")]
		if tpl == nil {
			return nil, fmt.Errorf("tenant %s: no template", object.Name(t))
		}
		out[i] = NewTenantState(t, reg, tpl, i)
	}
	return out, nil
}

// SteadyTenantRequest converges the first row's Tenant of a template set
// through hook and returns the request Metacontroller sends from then on
// (every child observed and ready, status written back).
func SteadyTenantRequest(ctx context.Context, e *render.Engine, hook Hook, set string) ([]byte, error) {
	templates, err := Templates(set)
	if err != nil {
		return nil, err
	}
	states, err := TenantStates(ctx, e, templates[:1], []Row{RowN(1)})
	if err != nil {
		return nil, err
	}
	s := states[0]
	if _, _, err := s.Converge(hook, 20); err != nil {
		return nil, err
	}
	return s.Request(), nil
}

// SmallTenantRequestFile is the small tenant sync of the benchmarks and
// `make load`, relative to the module root: the README's first sync of a
// new Tenant (its template and Namespace related, no child yet).
const SmallTenantRequestFile = "examples/requests/tenant-sync-first.json"

// SmallTenantRequest is SmallTenantRequestFile compacted as Metacontroller
// sends it (≈ 4.6 KB; its answer, three children and the status, ≈ 3 KB).
// On a request this small the fixed cost of a request — HTTP, routing,
// metrics, the ETag, the template cache lookup — weighs most against the
// bytes decoded and encoded (docs/performance.md, section 3).
func SmallTenantRequest() ([]byte, error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, SmallTenantRequestFile))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("%s: %w", SmallTenantRequestFile, err)
	}
	return b.Bytes(), nil
}
