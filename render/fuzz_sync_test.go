package render_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// fuzzKinds are the child types of the fuzzed Tenant (all declared).
var fuzzKinds = [][2]string{{"v1", "ConfigMap"}, {"v1", "Secret"}, {"apps/v1", "Deployment"}, {"v1", "Service"}}

// fuzzTemplate is a TenantTemplate whose leaves carry the fuzzed template
// text src in every position that matters: a data value, a label, an
// annotation, a name, a typed field, a Once and a Retain resource, and
// dependencies between them.
func fuzzTemplate(src string) object.Obj {
	cm := func(id, name string, extra map[string]any) map[string]any {
		r := map[string]any{"id": id, "nameTemplate": name,
			"spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": src, "fixed": "{{ .uid }}"}}}
		for k, v := range extra {
			r[k] = v
		}
		return r
	}
	return object.Obj{
		"apiVersion": render.APIVersion, "kind": "TenantTemplate",
		"metadata": map[string]any{"name": "web", "namespace": "acme", "generation": json.Number("2")},
		"spec": map[string]any{
			"registryId": "customers",
			"configMaps": []any{
				cm("cfg", "{{ .tenant }}-cfg", nil),
				cm("named", src, nil),
				cm("labelled", "{{ .tenant }}-labelled", map[string]any{"labelsTemplate": map[string]any{"plan": src}}),
				cm("ret", "{{ .tenant }}-ret", map[string]any{"deletionPolicy": "Retain", "annotationsTemplate": map[string]any{"note": src}}),
			},
			"secrets": []any{map[string]any{
				"id": "once", "nameTemplate": "{{ .tenant }}-once", "creationPolicy": "Once", "dependIds": []any{"cfg"},
				"spec": map[string]any{"apiVersion": "v1", "kind": "Secret", "stringData": map[string]any{"token": src}},
			}},
			"deployments": []any{map[string]any{
				"id": "dep", "nameTemplate": "{{ .tenant }}", "dependIds": []any{"cfg", "labelled"}, "timeoutSeconds": json.Number("60"),
				"spec": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "spec": map[string]any{
					"replicas": "{{ .replicas | default \"1\" | asInt }}",
					"template": map[string]any{"metadata": map[string]any{"annotations": map[string]any{"x": src}}},
				}},
			}},
			"services": []any{map[string]any{
				"id": "svc", "nameTemplate": "{{ .tenant }}", "dependIds": []any{"dep"},
				"spec": map[string]any{"apiVersion": "v1", "kind": "Service", "spec": map[string]any{"ports": []any{map[string]any{"port": json.Number("80")}}}},
			}},
		},
	}
}

var (
	fuzzNames = []string{"acme-web-cfg", "acme-web", "acme-web-ret", "acme-web-once", "acme-web-labelled", "a-old", "zz-old", ""}
	fuzzIDs   = []string{"cfg", "named", "labelled", "ret", "once", "dep", "svc", "gone", ""}
)

// fuzzObserved builds observed children from data, three bytes each: type,
// name (an empty name means the fuzzed template text itself) and resource
// id, with flags in the high bits of the third byte (Retain annotation,
// last-applied annotation, Available status).
func fuzzObserved(data []byte, src string) []object.Obj {
	seen := map[string]bool{}
	var out []object.Obj
	for i := 0; i+2 < len(data) && len(out) < 16; i += 3 {
		typ := fuzzKinds[int(data[i])%len(fuzzKinds)]
		name := fuzzNames[int(data[i+1])%len(fuzzNames)]
		if name == "" {
			name = src
		}
		id := fuzzIDs[int(data[i+2]&0x0f)%len(fuzzIDs)]
		labels := map[string]any{render.LabelTenant: "acme-web", "controller-uid": "tenant-uid"}
		if id != "" {
			labels[render.LabelResourceID] = id
		}
		ann := map[string]any{}
		if data[i+2]&0x10 != 0 {
			ann[render.AnnotationDeletionPolicy] = render.DeletionRetain
		}
		o := object.Obj{
			"apiVersion": typ[0], "kind": typ[1],
			"metadata": map[string]any{"name": name, "namespace": "acme", "uid": fmt.Sprintf("uid-%d", i), "resourceVersion": "7",
				"labels": labels, "annotations": ann,
				"ownerReferences": []any{map[string]any{"apiVersion": render.APIVersion, "kind": "Tenant", "name": "acme-web", "uid": "tenant-uid", "controller": true}}},
		}
		if data[i+2]&0x20 != 0 {
			last, _ := json.Marshal(map[string]any{"apiVersion": typ[0], "kind": typ[1], "metadata": map[string]any{"name": name, "namespace": "acme"}, "data": map[string]any{"old": "1"}})
			ann[object.LastAppliedAnnotation] = string(last)
		}
		if data[i+2]&0x40 != 0 && typ[1] == "Deployment" {
			o["status"] = map[string]any{"observedGeneration": json.Number("1"), "replicas": json.Number("1"), "availableReplicas": json.Number("1"), "updatedReplicas": json.Number("1"),
				"conditions": []any{map[string]any{"type": "Available", "status": "True"}}}
			o["metadata"].(map[string]any)["generation"] = json.Number("1")
		}
		key := typ[1] + "|" + name
		if seen[key] {
			continue // Metacontroller's map has one object per key
		}
		seen[key] = true
		out = append(out, o)
	}
	return out
}

func fuzzInput(src, value string, data []byte) render.TenantInput {
	in := render.TenantInput{
		Tenant: object.Obj{
			"apiVersion": render.APIVersion, "kind": "Tenant",
			"metadata": map[string]any{"name": "acme-web", "namespace": "acme", "uid": "tenant-uid"},
			"spec": map[string]any{"uid": "acme", "templateRef": "web", "registryId": "customers",
				"values": map[string]any{"uid": "acme", "v": value, "hostOrUrl": value, "replicas": value}},
		},
		Template:   fuzzTemplate(src),
		Namespace:  object.Obj{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "acme", "uid": "ns-uid"}},
		ChildTypes: map[string]bool{},
		Observed:   fuzzObserved(data, src),
	}
	if len(data) > 0 && data[0]&0x80 != 0 {
		in.Finalizing = true
		in.Tenant["metadata"].(map[string]any)["deletionTimestamp"] = "2026-11-25T20:00:00Z"
	}
	for _, k := range fuzzKinds {
		in.ChildTypes[object.TypeKey(k[0], k[1])] = true
	}
	return in
}

func fuzzKey(o object.Obj) string {
	return object.Kind(o) + "|" + object.ObjKey(object.Namespace(o), object.Name(o))
}

// FuzzSyncTenant renders a Tenant from arbitrary template text, an
// arbitrary row value and observed children built from fuzz bytes. The
// answer must be deterministic, must not modify its input, and must never
// drop an observed child because of an error:
//
//   - every observed child that has the name and kind one of the template's
//     resources renders (or rendered before, when it failed) is kept;
//   - every observed child labelled with the id of a resource that failed to
//     render, or is blocked by a failed dependency, is kept;
//   - every observed child with deletionPolicy Retain is kept;
//   - a finalize answer keeps every Retain child and is finalized only when
//     no Delete child is observed.
func FuzzSyncTenant(f *testing.F) {
	for _, s := range []struct {
		src, value string
		data       []byte
	}{
		{`{{ .v }}`, "pro", nil},
		{`{{ .v }}`, "pro", []byte{0, 0, 0, 2, 1, 5, 0, 4, 2}},
		{`{{ .v | upper }}`, "x", []byte{0, 0, 0x20, 1, 3, 0x34, 2, 1, 0x45, 3, 1, 6}},
		{`{{ .nope }}`, "x", []byte{0, 0, 0, 0, 5, 0, 1, 3, 4, 2, 1, 5, 3, 1, 6}},
		{`{{ .nope }}`, "x", []byte{0, 6, 0, 0, 0, 0, 2, 1, 5}},
		{`{{ fail "x" }}`, "", []byte{0, 0, 2, 0, 4, 3, 0, 2, 0x13}},
		{`{{ range until 100000000 }}x{{ end }}`, "", []byte{0, 2, 0x13, 1, 3, 4}},
		{`{{ env "HOME" }}{{ now }}`, "", []byte{0x80, 0, 0, 2, 1, 5, 0, 2, 0x13}},
		{`Bad_Name!!`, "x", []byte{0, 7, 1}},
		{`{{ .v }}`, "acme-web-extra", []byte{0, 7, 1, 0, 0, 0}},
		{`{{ .v | asInt }}`, "3", []byte{2, 1, 0x45}},
		{`{{ .v | asJson }}`, `{"a":[1,{"b":null}]}`, []byte{0x81, 1, 5, 0, 2, 0x13}},
		{`{{ printf "%s" . }}`, "x", []byte{0, 0, 0}},
		{"{{ .v }}\n{{ .uid | trunc63 }}", "🚀", []byte{3, 1, 6}},
	} {
		f.Add(s.src, s.value, s.data)
	}
	clock := func() time.Time { return time.Date(2026, 11, 25, 20, 40, 0, 0, time.UTC) }
	opts := render.Options{Templates: tmpl.Options{MaxOutputBytes: 16 << 10, MaxListLen: 1000, CacheSize: 512}, Now: clock, TemplateCacheSize: 64}
	// Two engines with their own caches and histories: the same input must
	// get the same answer from both, and again from the first.
	shared, other := render.New(opts), render.New(opts)
	f.Fuzz(func(t *testing.T, src, value string, data []byte) {
		// Templates and values reach the render core through JSON, which
		// never yields invalid UTF-8 (and the parse cache is keyed by it).
		src, value = strings.ToValidUTF8(src, "\uFFFD"), strings.ToValidUTF8(value, "\uFFFD")
		run := func(e *render.Engine, checkInput bool) (render.TenantOutput, []byte, bool) {
			in := fuzzInput(src, value, data)
			var before []byte
			if checkInput {
				before, _ = json.Marshal(in)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			out, err := e.SyncTenant(ctx, in)
			if checkInput {
				if after, _ := json.Marshal(in); string(after) != string(before) {
					t.Fatalf("SyncTenant modified its input:\nbefore %s\nafter  %s", before, after)
				}
			}
			if err != nil {
				if ctx.Err() == nil {
					t.Fatalf("error without an expired deadline: %v", err)
				}
				return out, nil, false
			}
			b, err := json.Marshal(out)
			if err != nil {
				t.Fatalf("the answer does not encode: %v", err)
			}
			return out, b, true
		}
		out, first, ok := run(shared, true)
		if !ok {
			return
		}
		if _, again, ok := run(other, false); ok && string(again) != string(first) {
			t.Fatalf("not deterministic (two engines):\n%s\n%s", first, again)
		}
		if out.Children == nil {
			t.Fatal("children is nil: it would be encoded as null")
		}
		in := fuzzInput(src, value, data)
		kept := map[string]bool{}
		for _, c := range out.Children {
			if kept[fuzzKey(c)] {
				t.Fatalf("child %s appears twice\n%s", fuzzKey(c), first)
			}
			kept[fuzzKey(c)] = true
		}
		observedByKey := map[string]object.Obj{}
		for _, o := range in.Observed {
			observedByKey[fuzzKey(o)] = o
			if object.String(o, "metadata", "annotations", render.AnnotationDeletionPolicy) == render.DeletionRetain && !kept[fuzzKey(o)] {
				t.Fatalf("Retain child %s dropped\n%s", fuzzKey(o), first)
			}
		}
		if in.Finalizing {
			if out.Finalized {
				for _, o := range in.Observed {
					if object.String(o, "metadata", "annotations", render.AnnotationDeletionPolicy) != render.DeletionRetain {
						t.Fatalf("finalized while Delete child %s is observed\n%s", fuzzKey(o), first)
					}
				}
			}
			return
		}
		failed := map[string]bool{}
		for _, r := range object.NestedSlice(out.Status, "resources") {
			m := r.(map[string]any)
			id, state, reason := object.String(m, "id"), object.String(m, "state"), object.String(m, "reason")
			if state == render.StateFailed && reason == "RenderError" || state == render.StatePending && reason == "DependencyFailed" {
				failed[id] = true
			}
			// A failed render reports the name of the object it kept (by
			// its id label, whatever its kind); the loop below checks it.
			if name := object.String(m, "name"); name != "" && reason != "RenderError" {
				k := object.String(m, "kind") + "|" + object.ObjKey(object.String(m, "namespace"), name)
				if _, ok := observedByKey[k]; ok && !kept[k] {
					t.Fatalf("observed %s (resource %s, %s/%s) dropped\n%s", k, id, state, reason, first)
				}
			}
		}
		for _, o := range in.Observed {
			id := object.String(o, "metadata", "labels", render.LabelResourceID)
			if failed[id] && !kept[fuzzKey(o)] {
				t.Fatalf("observed %s of resource %q dropped although that resource failed\n%s", fuzzKey(o), id, first)
			}
		}
	})
}
