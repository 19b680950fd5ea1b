package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/datasource/snapshot"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/metrics"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// Config holds the HTTP-level settings.
type Config struct {
	// BodyLimit caps the body of every hook but the registry sync. These
	// are read whole into memory; a tenant sync carries one Tenant's
	// observed children (≈ 35 KB for the basic example), so the default of
	// 64 MiB is far above any real one and bounds what a caller can pin.
	BodyLimit int64
	// RegistryBodyLimit caps a registry sync request, which is decoded as
	// it streams in and costs ≈ 1 KB of memory per observed Tenant (not
	// its ≈ 4.5 KB of JSON). The default of 256 MiB fits ≈ 58,000 Tenants
	// with Metacontroller's default apply; it is not higher because a
	// forged request made only of kept Tenants costs up to twice its size
	// (kept bytes, then the answer), which must stay inside the container's
	// 512 MiB (docs/performance.md, docs/security.md).
	RegistryBodyLimit int64
	// HookDeadline bounds the work of one request. It must stay below
	// Metacontroller's hook timeout (10 s by default) so that we answer 503
	// before Metacontroller gives up and logs a less useful timeout.
	HookDeadline time.Duration
	// TemplateMemory is each request's template memory budget
	// (tmpl.Budget): what the templates it renders may build and keep at
	// once, in bytes. Over it, the resource being rendered fails (its
	// observed object is kept); the process never runs out of memory for
	// it. docs/security.md has the measurements behind the default.
	TemplateMemory int64
	// AnswerLimit bounds the encoded answer of every hook but the registry
	// sync; RegistryAnswerLimit that of the registry sync. A larger answer
	// is a 503 (Metacontroller keeps every child), never sent.
	AnswerLimit         int64
	RegistryAnswerLimit int64
	// SnapshotRows bounds the rows the service keeps of sharded registries'
	// sources, shared by a registry's sync and its shards' syncs
	// (datasource/snapshot): ≈ 0.2 KB of memory per row held (192 B for five
	// short mapped columns, BenchmarkSnapshotRowBytes; snapshot.Size;
	// docs/sharding.md §1). A registry larger than the bound is still
	// served, its rows read per call. 0 is the default; below 0 disables
	// the snapshots.
	// SnapshotMemory bounds the same snapshots by their estimated memory
	// (snapshot.Size), whatever the size of a row.
	SnapshotRows   int
	SnapshotMemory int64
	// RetryAfter is sent with 503 answers; Metacontroller honours it only for
	// 429, but it documents our intent to other callers and load balancers.
	RetryAfter time.Duration
	Version    string
}

// Defaults fills zero fields.
func (c *Config) Defaults() {
	if c.BodyLimit <= 0 {
		c.BodyLimit = 64 << 20
	}
	if c.RegistryBodyLimit <= 0 {
		c.RegistryBodyLimit = 256 << 20
	}
	if c.HookDeadline <= 0 {
		c.HookDeadline = 8 * time.Second
	}
	if c.TemplateMemory <= 0 {
		c.TemplateMemory = DefaultTemplateMemory
	}
	if c.AnswerLimit <= 0 {
		c.AnswerLimit = 64 << 20
	}
	if c.RegistryAnswerLimit <= 0 {
		c.RegistryAnswerLimit = 256 << 20
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
	if c.SnapshotRows == 0 {
		c.SnapshotRows = DefaultSnapshotRows
	}
	if c.SnapshotMemory == 0 {
		c.SnapshotMemory = DefaultSnapshotMemory
	}
}

// DefaultSnapshotRows holds the rows of a 200,000-row sharded registry, or
// of several smaller ones: ≈ 37 MiB at the measured 192 B per row of five
// short columns (BenchmarkSnapshotRowBytes in datasource/mysql; longer
// values cost their text more, which DefaultSnapshotMemory bounds), inside
// the 512 MiB container with the template budgets of 16 concurrent
// requests (docs/sharding.md §1).
const DefaultSnapshotRows = 200_000

// DefaultSnapshotMemory bounds the snapshots whatever their rows hold
// (long values): with --max-source-bytes (256 MiB) for the one read in
// flight, the two stay inside the 512 MiB container.
const DefaultSnapshotMemory = 128 << 20

// DefaultTemplateMemory is the default per-request template memory budget.
// Real tenants render well under 1 MiB; 16 concurrent requests at the full
// budget stay inside a 512 MiB container (docs/security.md).
const DefaultTemplateMemory = 8 << 20

// Server answers Metacontroller's hooks.
type Server struct {
	cfg     Config
	log     *slog.Logger
	engine  *render.Engine
	pools   *mysql.Pools
	metrics *metrics.Metrics
	gather  prometheus.Gatherer
	// snapshots shares a sharded registry's rows between its sync and its
	// shards' syncs.
	snapshots *snapshot.Cache
	ready     atomic.Bool
}

// New builds a Server. reg receives the service's metrics.
func New(cfg Config, log *slog.Logger, engine *render.Engine, pools *mysql.Pools, reg *prometheus.Registry) *Server {
	cfg.Defaults()
	s := &Server{cfg: cfg, log: log, engine: engine, pools: pools, metrics: metrics.New(reg, cfg.Version), gather: reg,
		snapshots: snapshot.New(cfg.SnapshotRows, cfg.SnapshotMemory)}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "tenant_hooks", Name: "template_cache_hits_total",
			Help: "Template parses served from the cache."}, func() float64 { return float64(engine.T.Stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "tenant_hooks", Name: "template_cache_misses_total",
			Help: "Template parses that missed the cache."}, func() float64 { return float64(engine.T.Stats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tenant_hooks", Name: "row_snapshot_rows",
			Help: "Rows of sharded registries' sources held in memory for their shards (bounded by --snapshot-rows)."}, func() float64 { return float64(s.snapshots.Rows()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "tenant_hooks", Name: "row_snapshot_bytes",
			Help: "Estimated memory of those rows (bounded by --snapshot-memory)."}, func() float64 { return float64(s.snapshots.Bytes()) }),
	)
	s.ready.Store(true)
	return s
}

// SetReady flips /readyz; shutdown sets it false first so the Service stops
// sending new requests while in-flight ones finish.
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

// Handler is the HTTP router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	r.Handle("/metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))

	r.Post("/hooks/tenants/customize", s.hook("tenant", "customize", s.tenantCustomize))
	r.Post("/hooks/tenants/sync", s.hook("tenant", "sync", s.tenantSync))
	r.Post("/hooks/tenants/finalize", s.hook("tenant", "finalize", s.tenantSync))
	r.Post("/hooks/registries/customize", s.hook("registry", "customize", s.registryCustomize))
	r.Post("/hooks/registries/sync", s.streamHook("registry", "sync", s.cfg.RegistryBodyLimit, "--registry-body-limit", s.cfg.RegistryAnswerLimit, "--registry-answer-limit", s.registrySync))
	r.Post("/hooks/namespaces/customize", s.hook("namespace", "customize", s.namespaceCustomize))
	r.Post("/hooks/namespaces/sync", s.hook("namespace", "sync", s.namespaceSync))
	r.Post("/hooks/adoption/customize", s.hook("adoption", "customize", s.adoptionCustomize))
	r.Post("/hooks/adoption/sync", s.hook("adoption", "sync", s.adoptionSync))
	r.Post("/hooks/shards/customize", s.hook("shard", "customize", s.shardCustomize))
	r.Post("/hooks/shards/sync", s.streamHook("shard", "sync", s.cfg.RegistryBodyLimit, "--registry-body-limit", s.cfg.AnswerLimit, "--answer-limit", s.shardSync))
	r.Post("/hooks/handover/sync", s.hook("handover", "sync", s.handoverSync))
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no hook at %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; hooks are POST", req.Method, req.URL.Path))
	})
	return r
}

// handlerFunc is one hook's logic: body in, answer out.
type handlerFunc func(ctx context.Context, req *http.Request, body []byte) (answer, error)

// streamFunc is a hook that reads its body as it arrives (the registry
// sync, whose body grows with the registry). Read errors must come back
// wrapped in a *wire.ReadError.
type streamFunc func(ctx context.Context, req *http.Request, body io.Reader) (answer, error)

// answer is what a handler returns on success.
type answer struct {
	body any
	etag string
	// notModified: the caller's If-None-Match equals etag, which was computed
	// from the inputs alone, so nothing was rendered.
	notModified bool
}

// UnavailableError is a temporary failure to compute a trustworthy answer
// (the hook deadline). It becomes a 503: Metacontroller keeps every child and
// retries with backoff. A registry's source failing is not one: it is
// answered with every Tenant kept and the failure in status (registry.go).
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

func (s *Server) hook(controller, hook string, fn handlerFunc) http.HandlerFunc {
	return s.streamHook(controller, hook, s.cfg.BodyLimit, "--body-limit", s.cfg.AnswerLimit, "--answer-limit", func(ctx context.Context, req *http.Request, r io.Reader) (answer, error) {
		body, err := readBody(r, req.ContentLength, s.cfg.BodyLimit)
		if err != nil {
			return answer{}, &wire.ReadError{Err: err}
		}
		return fn(ctx, req, body)
	})
}

// streamHook serves one hook: limits, deadline, metrics, the mapping of
// errors onto status codes, and the answer.
func (s *Server) streamHook(controller, hook string, limit int64, limitFlag string, answerLimit int64, answerFlag string, fn streamFunc) http.HandlerFunc {
	inFlight := s.metrics.HookInFlight.WithLabelValues(controller, hook)
	duration := s.metrics.HookDuration.WithLabelValues(controller, hook)
	// Children resolved once, on first use (a series appears when it is
	// first counted, as before), not per request.
	requests := &codeCounters{vec: s.metrics.HookRequests, controller: controller, hook: hook}
	notModified := sync.OnceValue(func() prometheus.Counter { return s.metrics.NotModified.WithLabelValues(controller, hook) })
	return func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		inFlight.Inc()
		code := http.StatusInternalServerError
		defer func() {
			if p := recover(); p != nil {
				// A panic is a bug; it must never become a 200. The request
				// body is not logged: it may carry a Secret.
				s.log.Error("panic in hook", "controller", controller, "hook", hook, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal error (see the service log)")
				code = http.StatusInternalServerError
			}
			inFlight.Dec()
			duration.Observe(time.Since(start).Seconds())
			requests.inc(code)
		}()

		ctx, cancel := context.WithTimeout(req.Context(), s.cfg.HookDeadline)
		defer cancel()
		ctx = tmpl.WithBudget(ctx, tmpl.NewBudget(s.cfg.TemplateMemory))
		if req.ContentLength > limit {
			code = http.StatusRequestEntityTooLarge
			writeError(w, code, tooLarge(limit, limitFlag))
			return
		}
		ans, err := fn(ctx, req, http.MaxBytesReader(w, req.Body, limit))
		var budget *wire.BudgetError
		if errors.As(err, &budget) {
			code = http.StatusRequestEntityTooLarge
			writeError(w, code, budget.Error())
			return
		}
		var rerr *wire.ReadError
		if errors.As(err, &rerr) {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				code = http.StatusRequestEntityTooLarge
				writeError(w, code, tooLarge(limit, limitFlag))
				return
			}
			code = http.StatusBadRequest
			writeError(w, code, rerr.Error())
			return
		}
		if err == nil && ctx.Err() != nil {
			err = &UnavailableError{Err: fmt.Errorf("hook deadline of %s exceeded", s.cfg.HookDeadline)}
		}
		if err != nil {
			code = s.errorCode(err)
			attrs := []any{"controller", controller, "hook", hook, "code", code, "error", err.Error()}
			if code >= 500 {
				s.log.Warn("hook failed; Metacontroller keeps every child and retries", attrs...)
			} else {
				s.log.Info("hook request rejected", attrs...)
			}
			if code == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
			}
			writeError(w, code, err.Error())
			return
		}
		if ans.etag != "" {
			w.Header().Set("ETag", ans.etag)
		}
		if ans.notModified {
			code = http.StatusNotModified
			notModified().Inc()
			w.WriteHeader(code)
			return
		}
		chunks, ok := ans.body.(wire.Chunks)
		if !ok {
			b, put, err := wire.Encoded(ans.body)
			if err != nil {
				s.log.Error("encoding hook answer", "controller", controller, "hook", hook, "error", err.Error())
				code = http.StatusInternalServerError
				writeError(w, code, "internal error encoding the answer (see the service log)")
				return
			}
			defer put()
			chunks = wire.Chunks{b}
		}
		n := 0
		for _, c := range chunks {
			n += len(c)
		}
		if int64(n) > answerLimit {
			// Sending fewer children would delete the rest: a 503 keeps them.
			code = http.StatusServiceUnavailable
			msg := fmt.Sprintf("the answer is %d bytes, more than %d (%s); every child is kept", n, answerLimit, answerFlag)
			s.log.Warn("hook failed; Metacontroller keeps every child and retries", "controller", controller, "hook", hook, "code", code, "error", msg)
			w.Header().Set("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
			writeError(w, code, msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		code = http.StatusOK
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				s.log.Warn("writing hook answer", "controller", controller, "hook", hook, "error", err.Error())
				break
			}
		}
	}
}

// codeCounters is one hook's request counter per status code, each child
// resolved once: the codes a hook answers are few.
type codeCounters struct {
	vec              *prometheus.CounterVec
	controller, hook string
	byCode           sync.Map // int → prometheus.Counter
}

func (c *codeCounters) inc(code int) {
	if v, ok := c.byCode.Load(code); ok {
		v.(prometheus.Counter).Inc()
		return
	}
	v, _ := c.byCode.LoadOrStore(code, c.vec.WithLabelValues(c.controller, c.hook, strconv.Itoa(code)))
	v.(prometheus.Counter).Inc()
}

func (s *Server) errorCode(err error) int {
	var dec *wire.DecodeError
	var un *UnavailableError
	switch {
	case errors.As(err, &dec):
		return http.StatusBadRequest
	case errors.As(err, &un), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = wire.Encode(w, map[string]string{"error": msg})
}

func tooLarge(limit int64, flag string) string {
	return fmt.Sprintf("request body larger than %d bytes (%s)", limit, flag)
}

// readBody reads a body (already behind http.MaxBytesReader) up to limit.
// With a Content-Length the buffer is allocated once at its final size:
// growing it by doubling would briefly hold up to three times a large body.
func readBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	if n := contentLength; n > 0 && n <= limit {
		buf := make([]byte, n, n+1)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		// Anything beyond the announced length is an error, as ReadAll
		// would have read it and the decoder rejected it.
		var one [1]byte
		if m, _ := r.Read(one[:]); m > 0 {
			return nil, fmt.Errorf("body longer than its Content-Length")
		}
		return buf, nil
	}
	return io.ReadAll(r)
}
