package steady_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

func handler() http.Handler {
	e := render.New(render.Options{Now: steady.Now})
	return hooks.New(hooks.Config{}, slog.New(slog.DiscardHandler), e, mysql.NewPools(mysql.PoolOptions{}), prometheus.NewRegistry()).Handler()
}

// The generated steady-state request is a true fixpoint: the hook answers
// exactly the status the Tenant already has and every child unchanged, with
// an ETag (nothing time-dependent), so Metacontroller would write nothing.
func TestSteadyStateIsFixpoint(t *testing.T) {
	for _, set := range []string{"basic", "basic30", "multi"} {
		t.Run(set, func(t *testing.T) {
			h := handler()
			e := render.New(render.Options{Now: steady.Now})
			body, err := steady.SteadyTenantRequest(context.Background(), e, steady.HandlerHook(h), set)
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodPost, "/hooks/tenants/sync", bytes.NewReader(body))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.NotEmpty(t, rec.Header().Get("ETag"))
			ans, err := steady.DecodeObj(rec.Body.Bytes())
			require.NoError(t, err)
			in, err := steady.DecodeObj(body)
			require.NoError(t, err)
			status := object.DeepCopyMap(object.NestedMap(in, "parent", "status"))
			delete(status, "observedGeneration")
			require.Equal(t, string(steady.Marshal(status)), string(steady.Marshal(ans["status"])))
			cond := object.NestedSlice(ans, "status", "conditions")[0].(map[string]any)
			require.Equal(t, "True", cond["status"], cond)
			n := 0
			for _, objs := range object.NestedMap(in, "children") {
				n += len(objs.(map[string]any))
			}
			require.Len(t, ans["children"], n, "every child observed")
			t.Logf("%s: request %d bytes, answer %d bytes, %d children", set, len(body), rec.Body.Len(), n)
			_, _ = io.Discard.Write(nil)
			var probe map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(body, &probe))
		})
	}
}
