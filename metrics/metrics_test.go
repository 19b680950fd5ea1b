package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/metrics"
)

// Every series the service exports carries the one prefix, and labels stay
// within their bounded sets.
func TestOnePrefix(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, "v-test")
	m.HookRequests.WithLabelValues("tenant", "sync", "200").Inc()
	m.QueryDone("mysql", time.Millisecond, 10, nil)
	families, err := reg.Gather()
	require.NoError(t, err)
	require.NotEmpty(t, families)
	seen := map[string]bool{}
	for _, f := range families {
		require.True(t, strings.HasPrefix(f.GetName(), "tenant_hooks_"), f.GetName())
		seen[f.GetName()] = true
	}
	for _, name := range []string{"tenant_hooks_build_info", "tenant_hooks_go_goroutines", "tenant_hooks_hook_requests_total", "tenant_hooks_datasource_rows_total"} {
		require.True(t, seen[name], name)
	}
}
