package render

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// TestSpecPlanMatchesWalk holds walkPlan to walk: for each spec the same
// output, or the same error with the same path (of two bad fields, the one
// walk reports), and the same charge to the request's template budget.
func TestSpecPlanMatchesWalk(t *testing.T) {
	specs := []any{
		map[string]any{},
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"a": "{{ .uid }}-x", "b": "plain", "n": json.Number("3"), "t": true, "z": nil}},
		map[string]any{"x": []any{map[string]any{"b": "ok"}, map[string]any{"b": []any{"ok", "{{ .nope }}"}}}},
		map[string]any{"b": "{{ .nope }}", "a": map[string]any{"c": "{{ .alsoNope }}"}, "c": "{{ .uid }}"},
		map[string]any{"a": []any{}, "b": []any{[]any{"{{ .uid | upper }}", json.Number("1.5")}}, "c": "{{ .replicas | asInt }}"},
		map[string]any{"a": "{{ .uid", "b": "{{ printf \"%s/%s\" .registryId .uid | sha1sum | b64enc }}"},
		map[string]any{"big": "{{ repeat 300 .uid }}", "more": "{{ repeat 300 .uid }}"},
		map[string]any{"": "{{ .uid }}", "metadata": map[string]any{"labels": map[string]any{"k": "{{ .uid }}"}}},
	}
	// Specs 2, 3 (two bad fields), 5 (a parse error) and 6 (past the
	// budget) fail.
	fails := map[int]bool{2: true, 3: true, 5: true, 6: true}
	vars := map[string]any{"uid": "acme", "registryId": "customers", "replicas": "2"}
	for i, spec := range specs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			run := func(f func(tc *tenantCtx) (any, error)) (any, int64, error) {
				e := New(Options{Templates: tmpl.Options{}})
				b := tmpl.NewBudget(2000)
				tc := &tenantCtx{e: e, ctx: tmpl.WithBudget(context.Background(), b), vars: vars}
				out, err := f(tc)
				return out, b.Used(), err
			}
			want, wantUsed, wantErr := run(func(tc *tenantCtx) (any, error) { return tc.walk(spec) })
			got, gotUsed, gotErr := run(func(tc *tenantCtx) (any, error) { return tc.walkPlan(newSpecPlan(spec, 0)) })
			if (wantErr != nil) != fails[i] {
				t.Fatalf("walk's error %v; the case expects failure: %v", wantErr, fails[i])
			}
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
				t.Fatalf("errors differ: walk %v, plan %v", wantErr, gotErr)
			}
			if wantErr != nil && !reflect.DeepEqual(wantErr.(*walkError).rev, gotErr.(*walkError).rev) {
				t.Fatalf("error paths differ: walk %q, plan %q", wantErr.(*walkError).rev, gotErr.(*walkError).rev)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("outputs differ:\nwalk %#v\nplan %#v", want, got)
			}
			if wantUsed != gotUsed {
				t.Fatalf("budget charges differ: walk %d, plan %d", wantUsed, gotUsed)
			}
		})
	}
}
