package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/hooks"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

type serveConfig struct {
	addr            string
	logLevel        string
	logFormat       string
	bodyLimit       string
	regBodyLimit    string
	templateMemory  string
	answerLimit     string
	regAnswerLimit  string
	readTimeout     time.Duration
	writeTimeout    time.Duration
	idleTimeout     time.Duration
	hookDeadline    time.Duration
	drainDelay      time.Duration
	shutdownTimeout time.Duration
	mysqlIdle       time.Duration
	mysqlMaxOpen    int
	cacheSize       int
	snapshotRows    int
	maxSourceBytes  string
	maxSourceLimit  int64
	snapshotMemory  string
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", ":8080", "listen address")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.bodyLimit, "body-limit", "64Mi", "largest accepted request body of every hook but the registry sync (bytes, or with Ki/Mi/Gi)")
	fs.StringVar(&c.regBodyLimit, "registry-body-limit", "256Mi", "largest accepted registry sync request, which carries every observed Tenant (≈ 4.5 KB each) and is decoded as it streams in (≈ 1 KB of memory per Tenant)")
	fs.StringVar(&c.templateMemory, "template-memory", "8Mi", "per-request budget for what templates build and keep (strings, lists, dicts, output); over it the resource being rendered fails and its existing object is kept")
	fs.StringVar(&c.answerLimit, "answer-limit", "64Mi", "largest answer of every hook but the registry sync; a larger one is a 503 that keeps every child")
	fs.StringVar(&c.regAnswerLimit, "registry-answer-limit", "256Mi", "largest answer of the registry sync; a larger one is a 503 that keeps every Tenant")
	fs.DurationVar(&c.readTimeout, "read-timeout", 15*time.Second, "HTTP server read timeout")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 15*time.Second, "HTTP server write timeout")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 90*time.Second, "HTTP keep-alive idle timeout")
	fs.DurationVar(&c.hookDeadline, "hook-deadline", 8*time.Second, "deadline of one hook request; keep it below Metacontroller's webhook timeout (10s)")
	fs.DurationVar(&c.drainDelay, "drain-delay", 5*time.Second, "on SIGTERM, how long /readyz reports not-ready before the listener closes")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight requests may take to finish on shutdown")
	fs.DurationVar(&c.mysqlIdle, "mysql-idle-timeout", 5*time.Minute, "close a registry's MySQL pool after this long unused")
	fs.IntVar(&c.mysqlMaxOpen, "mysql-max-open", 4, "open connections per MySQL target")
	fs.StringVar(&c.maxSourceBytes, "max-source-bytes", "256Mi", "memory one MySQL read may take (rows estimated at their text plus ≈ 0.3 KB); a larger table is refused as it streams in and its registry keeps every Tenant (DatabaseReachable=False, ResultTooLarge)")
	fs.IntVar(&c.cacheSize, "template-cache-size", 4096, "parsed template strings kept in memory")
	fs.IntVar(&c.snapshotRows, "snapshot-rows", hooks.DefaultSnapshotRows, "rows of sharded registries' sources kept in memory and shared by a registry's sync and its shards' syncs (≈ 0.2 KB each for five short columns; 0 reads the rows on every call)")
	fs.StringVar(&c.snapshotMemory, "snapshot-memory", "128Mi", "estimated memory those snapshots may hold, whatever a row holds")
	return fs, c
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs, c := serveFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := envDefaults(fs); err != nil {
		fmt.Fprintln(stderr, "tenant-hooks serve:", err)
		return 2
	}
	log, err := newLogger(stdout, c.logLevel, c.logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "tenant-hooks serve:", err)
		return 2
	}
	limit, err := parseSize(c.bodyLimit)
	if err != nil {
		fmt.Fprintln(stderr, "tenant-hooks serve: --body-limit:", err)
		return 2
	}
	regLimit, err := parseSize(c.regBodyLimit)
	if err != nil {
		fmt.Fprintln(stderr, "tenant-hooks serve: --registry-body-limit:", err)
		return 2
	}
	var sizes hooks.Config
	for _, f := range []struct {
		flag, val string
		dst       *int64
	}{{"--max-source-bytes", c.maxSourceBytes, &c.maxSourceLimit}, {"--snapshot-memory", c.snapshotMemory, &sizes.SnapshotMemory}, {"--template-memory", c.templateMemory, &sizes.TemplateMemory}, {"--answer-limit", c.answerLimit, &sizes.AnswerLimit}, {"--registry-answer-limit", c.regAnswerLimit, &sizes.RegistryAnswerLimit}} {
		if *f.dst, err = parseSize(f.val); err != nil {
			fmt.Fprintf(stderr, "tenant-hooks serve: %s: %v\n", f.flag, err)
			return 2
		}
	}
	if c.writeTimeout < c.hookDeadline+minWriteMargin {
		// The 503 for a missed deadline is written after the deadline; a
		// write timeout before that would turn it into an empty reply.
		fmt.Fprintf(stderr, "tenant-hooks serve: --write-timeout (%s) must be at least --hook-deadline (%s) + %s, so that the answer to a request that ran out of time can still be written\n",
			c.writeTimeout, c.hookDeadline, minWriteMargin)
		return 2
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		log.Error("listen", "addr", c.addr, "error", err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sizes.BodyLimit, sizes.RegistryBodyLimit = limit, regLimit
	sizes.SnapshotRows = c.snapshotRows
	if c.snapshotRows <= 0 {
		sizes.SnapshotRows = -1 // hooks.Config: 0 is the default, below 0 disables
	}
	if err := runServer(ctx, ln, c, sizes, log); err != nil {
		log.Error("server", "error", err.Error())
		return 1
	}
	return 0
}

// minWriteMargin is how long after the hook deadline a 503 may take to be
// written: the template function running at the deadline finishes first
// (each is bounded well under a second, render/tmpl/costly.go).
const minWriteMargin = 2 * time.Second

// runServer serves until ctx is done, then shuts down gracefully: readiness
// goes false, the drain delay lets the Service take the pod out of rotation,
// in-flight requests finish, pools close.
func runServer(ctx context.Context, ln net.Listener, c *serveConfig, cfg hooks.Config, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	engine := render.New(render.Options{Templates: tmpl.Options{CacheSize: c.cacheSize}})
	pools := mysql.NewPools(mysql.PoolOptions{IdleTimeout: c.mysqlIdle, MaxOpenPerTarget: c.mysqlMaxOpen, MaxResultBytes: c.maxSourceLimit})
	defer pools.Close()
	cfg.HookDeadline, cfg.Version = c.hookDeadline, version
	srv := hooks.New(cfg, log, engine, pools, reg)
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadTimeout:       c.readTimeout,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       c.idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("tenant-hooks serving", "addr", ln.Addr().String(), "version", version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: readiness false, draining", "drainDelay", c.drainDelay.String())
	srv.SetReady(false)
	time.Sleep(c.drainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return n * mult, nil
}
