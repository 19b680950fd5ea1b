package hooks_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/internal/mysqltest"
	"github.com/tenant-hooks/tenant-hooks/internal/steady"
	"github.com/tenant-hooks/tenant-hooks/render"
)

// The service is stateless: any replica answers any request, so it scales
// out behind a plain Service (docs/performance.md). Three independent
// servers — separate engines, template caches and MySQL pools — give
// byte-identical answers (and ETags) for every captured request the tenant,
// registry and namespace hooks accept, and an ETag one replica handed out
// is honoured by another.
func TestScaleOutReplicasAnswerAlike(t *testing.T) {
	mysqltest.Admin(t)
	var replicas []*testServer
	for i := 0; i < 3; i++ {
		replicas = append(replicas, newServer(t, mysql.PoolOptions{Dial: mysqltest.Redirect(t)}, hooks.Config{}))
	}
	answers := goldenAnswers(t, replicas...)
	require.NotEmpty(t, answers[0])
	for i := 1; i < len(replicas); i++ {
		require.Equal(t, len(answers[0]), len(answers[i]), "replica %d accepted a different set of requests", i)
		for k, a := range answers[0] {
			b, ok := answers[i][k]
			require.True(t, ok, "replica %d did not accept %s", i, k)
			require.Equal(t, string(a.Body), string(b.Body), "replica %d answered %s differently", i, k)
			require.Equal(t, a.ETag, b.ETag, "replica %d tagged %s differently", i, k)
		}
	}

	// A steady-state Tenant (the basic example, everything ready): replica
	// 0's ETag gets a 304 from replicas 1 and 2.
	e := render.New(render.Options{Now: testClock})
	body, err := steady.SteadyTenantRequest(context.Background(), e, steady.HandlerHook(replicas[0].Config.Handler), "basic")
	require.NoError(t, err)
	code, first, etag := goldenPost(t, replicas[0].URL, replicas[0].Client(), "/hooks/tenants/sync", body)
	require.Equal(t, http.StatusOK, code)
	require.NotEmpty(t, etag)
	for _, r := range replicas[1:] {
		code, ans, tag := goldenPost(t, r.URL, r.Client(), "/hooks/tenants/sync", body)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, string(first), string(ans))
		require.Equal(t, etag, tag)
		req, err := http.NewRequest(http.MethodPost, r.URL+"/hooks/tenants/sync", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("If-None-Match", etag)
		resp, err := r.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotModified, resp.StatusCode)
	}
}
