// Package metrics defines every Prometheus metric tenant-hooks exports. All
// names share the prefix tenant_hooks_, durations are in seconds, and labels
// are bounded: controller and hook come from a fixed set, code from HTTP,
// registry names from the (operator-controlled) set of registries — never a
// tenant or row.
//
// Metrics are registered on a registry passed in, so tests use their own and
// nothing touches the global default registry by accident.
package metrics

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors.
type Metrics struct {
	HookRequests     *prometheus.CounterVec
	HookDuration     *prometheus.HistogramVec
	HookInFlight     *prometheus.GaugeVec
	RenderDuration   *prometheus.HistogramVec
	RenderErrors     *prometheus.CounterVec
	QueryDuration    *prometheus.HistogramVec
	DatasourceErrors *prometheus.CounterVec
	DatasourceRows   *prometheus.CounterVec
	RegistryTenants  *prometheus.GaugeVec
	RegistrySuccess  *prometheus.GaugeVec
	ShardTenants     *prometheus.GaugeVec
	RowSnapshots     *prometheus.CounterVec
	GuardActivations *prometheus.CounterVec
	NotModified      *prometheus.CounterVec
	BuildInfo        *prometheus.GaugeVec
}

// Buckets for hook latencies: from the sub-millisecond answers of a cached
// tenant sync up to Metacontroller's 10 s hook timeout.
var hookBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New creates the metrics and registers them (plus Go and process collectors)
// on reg.
func New(reg prometheus.Registerer, version string) *Metrics {
	const ns = "tenant_hooks"
	m := &Metrics{
		HookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "hook_requests_total",
			Help: "Hook requests answered, by controller, hook and HTTP status code."}, []string{"controller", "hook", "code"}),
		HookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "hook_duration_seconds",
			Help: "Server-side time to answer a hook request.", Buckets: hookBuckets}, []string{"controller", "hook"}),
		HookInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "hook_in_flight",
			Help: "Hook requests being answered."}, []string{"controller", "hook"}),
		RenderDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "render_duration_seconds",
			Help: "Time spent in the render core per request.", Buckets: hookBuckets}, []string{"controller"}),
		RenderErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "render_errors_total",
			Help: "Resources that failed to render (reported in status), by controller."}, []string{"controller"}),
		QueryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "datasource_query_duration_seconds",
			Help: "Time to read a registry's rows.", Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"type"}),
		DatasourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "datasource_errors_total",
			Help: "Failed attempts to read a registry's rows (each answered non-200)."}, []string{"type"}),
		DatasourceRows: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "datasource_rows_total",
			Help: "Rows read from datasources."}, []string{"type"}),
		RegistryTenants: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "registry_tenants",
			Help: "Tenants of a registry by state (desired, ready, failed) at its last successful sync."}, []string{"namespace", "registry", "state"}),
		ShardTenants: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "shard_tenants",
			Help: "Tenants of a TenantShard by state (desired, ready, failed, pending_deletion) at its last sync."}, []string{"namespace", "registry", "shard", "state"}),
		RowSnapshots: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "row_snapshot_requests_total",
			Help: "Reads of a sharded registry's rows by the registry and its shards, by outcome: hit (a recent enough read was reused), read (this request queried the source), shared (it waited for another request's query)."}, []string{"outcome"}),
		RegistrySuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "registry_last_success_timestamp_seconds",
			Help: "Unix time of a registry's last successful database sync."}, []string{"namespace", "registry"}),
		GuardActivations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "deletion_guard_activations_total",
			Help: "Syncs in which the mass-deletion guard kept Tenants that would have been deleted."}, []string{"namespace", "registry"}),
		NotModified: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "etag_not_modified_total",
			Help: "Hook requests answered 304 Not Modified from the ETag."}, []string{"controller", "hook"}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
			Help: "Build information; always 1."}, []string{"version", "goversion"}),
	}
	reg.MustRegister(m.HookRequests, m.HookDuration, m.HookInFlight, m.RenderDuration, m.RenderErrors,
		m.QueryDuration, m.DatasourceErrors, m.DatasourceRows, m.RegistryTenants, m.RegistrySuccess, m.ShardTenants, m.RowSnapshots,
		m.GuardActivations, m.NotModified, m.BuildInfo)
	// The runtime and process collectors get our prefix too, so that every
	// series of this service shares one prefix (tenant_hooks_go_goroutines,
	// tenant_hooks_process_resident_memory_bytes…).
	prometheus.WrapRegistererWithPrefix(ns+"_", reg).MustRegister(
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	return m
}

// QueryDone implements the datasource observer.
func (m *Metrics) QueryDone(typ string, d time.Duration, rows int, err error) {
	m.QueryDuration.WithLabelValues(typ).Observe(d.Seconds())
	if err != nil {
		m.DatasourceErrors.WithLabelValues(typ).Inc()
		return
	}
	m.DatasourceRows.WithLabelValues(typ).Add(float64(rows))
}
