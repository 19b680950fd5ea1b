package hooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// dictAttack keeps 6,000 distinct 250 KB strings in a dict (issue 12: ≈ 1.4
// GB RSS for one request, which killed the process under a 512 MiB limit).
const dictAttack = `{{ $d := dict }}{{ range $i := until 6000 }}{{ $_ := set $d (printf "%d" $i) (printf "%s%d" (repeat 10000 "abcdefghijklmnopqrstuvwxy") $i) }}{{ end }}{{ len $d }}`

// 1,000 leaves of 250 KB each: a 200 with a 250 MB answer before the budget.
// Now the resource fails on the request's template memory budget, its
// observed object is kept, the resources after it render normally, and the
// answer stays small.
func TestManyLargeLeavesFailTheResourceNotTheAnswer(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{})
	body := labelChildren(t, tenantRequest(t, func(spec map[string]any) {
		cm := spec["configMaps"].([]any)[0].(map[string]any)
		data := object.NestedMap(cm, "spec", "data")
		for i := range 1000 {
			data[fmt.Sprintf("BIG_%04d", i)] = `{{ repeat 10000 "abcdefghijklmnopqrstuvwxy" }}`
		}
	}))
	code, hdr, raw := secPost(t, ts, "/hooks/tenants/sync", body)
	require.Equal(t, http.StatusOK, code, "%.2000s", raw)
	require.Less(t, len(raw), 1<<20, "the answer is small")
	require.Equal(t, hdr.Get("Content-Length"), fmt.Sprint(len(raw)))
	var ans map[string]any
	require.NoError(t, json.Unmarshal(raw, &ans))
	require.Equal(t, roundThreeChildren, childNames(t, ans), "every observed child is kept")
	st := resourceStatus(t, ans, "web-config")
	require.Equal(t, render.StateFailed, st["state"])
	require.Contains(t, st["message"], "templates of this request produced more than 8388608 bytes in total")
	require.Contains(t, st["message"], "keeping the existing object unchanged")
	require.NotContains(t, child(t, ans, "ConfigMap", "acme-web-config")["data"], "BIG_0000")
	// The budget the failed resource used is given back: the others render.
	for _, id := range []string{"web", "web-svc"} {
		require.NotEqual(t, render.StateFailed, resourceStatus(t, ans, id)["state"], id)
	}
}

// An answer over --answer-limit is a 503 that keeps every child, never a
// truncated or partial 200.
func TestAnswerLimit(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{AnswerLimit: 1 << 10, RegistryAnswerLimit: 1 << 10})
	code, hdr, raw := secPost(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round3-all-observed.json"))
	requireJSONError(t, code, hdr, raw, http.StatusServiceUnavailable, "more than 1024 (--answer-limit); every child is kept")
	require.Equal(t, "5", hdr.Get("Retry-After"))

	rows := []any{map[string]any{"id": "a", "on": true}, map[string]any{"id": "b", "on": true}}
	code, hdr, raw = secPost(t, ts, "/hooks/registries/sync", staticRegistry(rows, []string{"web", "worker"}, nil))
	requireJSONError(t, code, hdr, raw, http.StatusServiceUnavailable, "more than 1024 (--registry-answer-limit)")

	// Under the limit: unchanged.
	ts = newServer(t, mysql.PoolOptions{}, hooks.Config{})
	code, _, raw = secPost(t, ts, "/hooks/tenants/sync", fixture(t, "tenant-sync-round3-all-observed.json"))
	require.Equal(t, http.StatusOK, code, "%s", raw)
}

// The registry renders every resource's name (spec.claims) for every row:
// a nameTemplate that builds a huge dict is stopped by the budget (per
// Tenant), the claim is left out (the Tenant's own sync reports the error),
// and the answer is a prompt 200.
func TestRegistryNameTemplateBudget(t *testing.T) {
	ts := newServer(t, mysql.PoolOptions{}, hooks.Config{HookDeadline: 5 * time.Second})
	rows := []any{map[string]any{"id": "a", "on": true}, map[string]any{"id": "b", "on": true}}
	body := editJSON(t, staticRegistry(rows, []string{"web"}, nil), func(req map[string]any) {
		tpl := object.NestedMap(req, "related", "TenantTemplate."+render.APIVersion, "acme/web")
		object.SetNested(tpl, []any{
			map[string]any{"id": "huge", "nameTemplate": dictAttack,
				"spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}},
			map[string]any{"id": "fine", "nameTemplate": "{{ .uid }}-fine",
				"spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}},
		}, "spec", "configMaps")
	})
	start := time.Now()
	code, ans, _ := post(t, ts, "/hooks/registries/sync", body)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, http.StatusOK, code, ans)
	require.Equal(t, []string{"a-web", "b-web"}, tenantNames(t, ans))
	for _, c := range ans["children"].([]any) {
		claims := object.NestedSlice(c.(map[string]any), "spec", "claims")
		require.Len(t, claims, 1, "only the resource whose name renders is claimed")
		require.True(t, strings.HasSuffix(object.String(claims[0].(map[string]any), "name"), "-fine"))
	}
}
