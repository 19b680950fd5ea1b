package hooks

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/datasource/mysql"
	"github.com/tenant-hooks/tenant-hooks/datasource/snapshot"
	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// registryCustomize asks for the templates that may reference the registry
// and for the Secret or ConfigMap its source names. The service never calls
// the Kubernetes API itself: everything arrives through Metacontroller.
func (s *Server) registryCustomize(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	return customize(body, func(req *wire.CustomizeRequest) []wire.RelatedRule { return registryRelated(req.Parent) })
}

// registryRelated is the customize answer of a registry.
func registryRelated(parent object.Obj) []wire.RelatedRule {
	reg, _ := render.ParseRegistry(parent) // an invalid spec still gets its templates
	rules := []wire.RelatedRule{}
	if reg.TemplateNamespace != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenanttemplates", Namespace: reg.TemplateNamespace})
	}
	if reg.MySQL != nil && reg.MySQL.PasswordSecret != nil && reg.MySQL.PasswordSecret.Name != "" && reg.MySQL.PasswordSecret.Namespace != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: "v1", Resource: "secrets", Namespace: reg.MySQL.PasswordSecret.Namespace, Names: []string{reg.MySQL.PasswordSecret.Name}})
	}
	if reg.Static != nil && reg.Static.ConfigMap != nil && reg.Static.ConfigMap.Name != "" && reg.Static.ConfigMap.Namespace != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: "v1", Resource: "configmaps", Namespace: reg.Static.ConfigMap.Namespace, Names: []string{reg.Static.ConfigMap.Name}})
	}
	return rules
}

// registrySync reads the registry's rows and answers its desired Tenants. A
// failure to read the rows (database, password Secret, rows ConfigMap) is a
// 200 that keeps every observed Tenant exactly as observed and says what
// failed in status, with a backoff (render.KeepForOutage): a 503 would keep
// the Tenants too, but leave the registry's old status — DatabaseReachable
// True — in place for as long as the outage lasts. Only the hook's own
// deadline is still a 503 (nothing would arrive in time). The request
// is decoded as it streams in and the answer encoded Tenant by Tenant
// (wire/registrystream.go), so a large registry costs ≈ 1 KB per Tenant, not the
// request's 4.5 KB plus the answer's maps.
func (s *Server) registrySync(ctx context.Context, _ *http.Request, body io.Reader) (answer, error) {
	r, templates, err := s.decodeParent(body)
	if err != nil {
		return answer{}, err
	}
	in := render.RegistryInput{Registry: r.Parent, Observed: r.Observed, Templates: templates}
	if render.IsSharded(r.Parent) {
		return s.shardedRegistrySync(ctx, r, in)
	}
	if hasShards(r.Observed) {
		// spec.sharding removed behind the CRD's back: answering Tenants
		// only would delete the shards and, through them, their Tenants.
		return answer{}, &UnavailableError{Err: fmt.Errorf("registry %s has TenantShards but no spec.sharding; put spec.sharding back (docs/sharding.md)", object.ObjKey(object.Namespace(r.Parent), object.Name(r.Parent)))}
	}
	reg, specErr := render.ParseRegistry(r.Parent)
	var outage *sourceError
	if specErr == nil {
		in.Parsed = reg
		rows, err := s.readRows(ctx, reg, r.Related)
		if outage, err = asOutage(ctx, err); err != nil {
			return answer{}, err
		}
		in.Rows = rows
	}
	start := time.Now()
	var out render.RegistryOutput
	if outage != nil {
		out = render.KeepForOutage(in, reg, render.SourceOutage{Reason: outage.reason, Message: outage.Error()})
	} else {
		out = s.engine.SyncRegistry(ctx, in)
	}
	encoded, err := wire.EncodeRegistryAnswer(out)
	s.metrics.RenderDuration.WithLabelValues("registry").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, err
	}
	if ctx.Err() != nil {
		// Tenants built after the deadline may lack claims: not an answer
		// (the caller turns this into a 503), and not a successful sync.
		return answer{}, &UnavailableError{Err: fmt.Errorf("registry %s: hook deadline passed while building the answer: %w", object.ObjKey(object.Namespace(r.Parent), object.Name(r.Parent)), ctx.Err())}
	}

	ns, name := object.Namespace(r.Parent), object.Name(r.Parent)
	if outage != nil {
		// Not a successful sync: tenant_hooks_registry_last_success_timestamp_seconds
		// stays where it was, so TenantHooksRegistryNotSynced still fires.
		s.metrics.DatasourceErrors.WithLabelValues(reg.SourceType).Add(float64(outage.uncounted))
		s.log.Warn("registry rows could not be read; every observed Tenant is kept", "registry", object.ObjKey(ns, name),
			"reason", outage.reason, "error", outage.Error(), "kept", out.NumChildren, "retryAfter", out.ResyncAfter.String())
		return answer{body: encoded}, nil
	}
	if specErr == nil {
		s.metrics.RegistryTenants.WithLabelValues(ns, name, "desired").Set(float64(out.Desired))
		s.metrics.RegistryTenants.WithLabelValues(ns, name, "ready").Set(float64(out.Ready))
		s.metrics.RegistryTenants.WithLabelValues(ns, name, "failed").Set(float64(out.Failed))
		s.metrics.RegistrySuccess.WithLabelValues(ns, name).Set(float64(time.Now().Unix()))
	}
	if out.GuardActivated {
		s.metrics.GuardActivations.WithLabelValues(ns, name).Inc()
		s.log.Warn("mass-deletion guard kept Tenants", "registry", object.ObjKey(ns, name), "blocked", out.BlockedDeletion)
	}
	return answer{body: encoded}, nil
}

// decodeParent decodes the sync request of a registry or a shard as it
// streams in, and lists its related TenantTemplates in key order.
func (s *Server) decodeParent(body io.Reader) (*wire.RegistryRequest, []object.Obj, error) {
	r, err := wire.DecodeRegistryStream(body, s.cfg.RegistryBodyLimit)
	if err != nil {
		return nil, nil, err
	}
	if r.Parent == nil {
		return nil, nil, &wire.DecodeError{Err: errMissingParent}
	}
	var templates []object.Obj
	for _, k := range ordered.Keys(r.Related[templateTypeKey]) {
		templates = append(templates, r.Related[templateTypeKey][k])
	}
	return r, templates, nil
}

// asOutage sorts the error of a read of the rows: none (nil, nil); a
// failure of the source, answered with everything kept (the outage, nil);
// or the hook's own deadline or something not about the source, a 503
// (nil, the error to answer).
func asOutage(ctx context.Context, err error) (*sourceError, error) {
	var outage *sourceError
	switch {
	case err == nil:
		return nil, nil
	case ctx.Err() != nil || !errors.As(err, &outage):
		return nil, &UnavailableError{Err: err}
	}
	return outage, nil
}

// sourceError is a failure to read a registry's rows: the source is down or
// refuses, or what it holds cannot be read. The registry answers it with
// every observed Tenant kept and the failure in status (render.KeepForOutage).
// Its text never holds the password: the MySQL source scrubs its errors,
// and the messages built here name Secrets and keys, never values.
type sourceError struct {
	reason    string // DatabaseReachable's reason
	err       error
	uncounted int // 1 when the datasource error metric has not counted it yet
}

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// failedSource builds a sourceError from a message (the Secret and ConfigMap
// checks, which the query metrics do not see).
func failedSource(reason, format string, args ...any) error {
	return &sourceError{reason: reason, err: fmt.Errorf(format, args...), uncounted: 1}
}

// mysqlReasons are DatabaseReachable's reasons for the MySQL source's
// error kinds.
var mysqlReasons = map[mysql.ErrorKind]string{
	mysql.KindConfig:     "InvalidConfiguration",
	mysql.KindConnect:    "ConnectFailed",
	mysql.KindAuth:       "AuthFailed",
	mysql.KindQuery:      "QueryFailed",
	mysql.KindTimeout:    "QueryTimeout",
	mysql.KindCanceled:   "Canceled",
	mysql.KindConnLost:   "ConnectionLost",
	mysql.KindPoolClosed: "ShuttingDown",
	mysql.KindTooLarge:   "ResultTooLarge",
}

func reasonOf(err error, fallback string) string {
	if r, ok := mysqlReasons[mysql.KindOf(err)]; ok {
		return r
	}
	return fallback
}

// readRows builds the registry's source from its spec and the related Secret
// or ConfigMap, reads the mapped columns and evaluates activation. Any
// failure is a *sourceError.
func (s *Server) readRows(ctx context.Context, reg *render.Registry, related wire.ObjectMap) (datasource.Result, error) {
	src, _, err := s.sourceOf(reg, related)
	if err != nil {
		return datasource.Result{}, err
	}
	return s.readFrom(ctx, reg, src)
}

// sourceOf builds the registry's source, and the key under which its rows
// may be shared (sharedRows): every setting that changes what a read
// returns — the MySQL target, the password's hash, the mapping — and
// nothing that names the password. Only MySQL sources have a key: a static
// source's rows arrive with the request.
func (s *Server) sourceOf(reg *render.Registry, related wire.ObjectMap) (datasource.Source, string, error) {
	ref := object.ObjKey(reg.Namespace, reg.Name)
	switch reg.SourceType {
	case "mysql":
		cfg := mysql.Config{
			Host: reg.MySQL.Host, Port: reg.MySQL.Port, User: reg.MySQL.Username,
			Database: reg.MySQL.Database, Table: reg.MySQL.Table, TLS: reg.MySQL.TLS, QueryTimeout: reg.MySQL.QueryTimeout,
			Values: mysql.ValueFormat(reg.MySQL.ValueFormat),
		}
		if p := reg.MySQL.PasswordSecret; p != nil {
			secret := related["Secret.v1"][object.ObjKey(p.Namespace, p.Name)]
			if secret == nil {
				return nil, "", failedSource("SecretMissing", "registry %s: Secret %s/%s (spec.source.mysql.passwordRef) was not delivered; does it exist?", ref, p.Namespace, p.Name)
			}
			pw, err := secretValue(secret, p.Key)
			if err != nil {
				return nil, "", failedSource("SecretUnreadable", "registry %s: Secret %s/%s: %v", ref, p.Namespace, p.Name, err)
			}
			cfg.Password = pw
		}
		src, err := s.pools.Source(cfg)
		if err != nil {
			return nil, "", &sourceError{reason: reasonOf(err, "InvalidConfiguration"), err: fmt.Errorf("registry %s: %w", ref, err), uncounted: 1}
		}
		pw := sha256.Sum256([]byte(cfg.Password))
		key := fmt.Sprintf("mysql\x00%q\x00%d\x00%q\x00%q\x00%q\x00%v\x00%v\x00%q\x00%x\x00%#v",
			cfg.Host, cfg.Port, cfg.User, cfg.Database, cfg.Table, cfg.TLS, cfg.QueryTimeout, cfg.Values, pw, reg.Mapping)
		return src, key, nil
	case "static":
		rows := reg.Static.Rows
		if cm := reg.Static.ConfigMap; cm != nil {
			obj := related["ConfigMap.v1"][object.ObjKey(cm.Namespace, cm.Name)]
			if obj == nil {
				return nil, "", failedSource("ConfigMapMissing", "registry %s: ConfigMap %s/%s (spec.source.static.configMapRef) was not delivered; does it exist?", ref, cm.Namespace, cm.Name)
			}
			data := object.String(obj, "data", cm.Key)
			if data == "" {
				return nil, "", failedSource("ConfigMapUnreadable", "registry %s: ConfigMap %s/%s has no key %q", ref, cm.Namespace, cm.Name, cm.Key)
			}
			more, err := datasource.ParseStaticRows([]byte(data))
			if err != nil {
				return nil, "", failedSource("InvalidRows", "registry %s: ConfigMap %s/%s key %q: %v", ref, cm.Namespace, cm.Name, cm.Key, err)
			}
			rows = append(append([]map[string]any{}, rows...), more...)
		}
		return datasource.NewStatic(rows), "", nil
	default:
		return nil, "", fmt.Errorf("registry %s: unsupported source type %q", ref, reg.SourceType)
	}
}

// readFrom reads the mapped columns of src and evaluates activation. A
// source that streams its rows (MySQL) is evaluated as it is read, so the
// raw rows — a map per row, as much memory again as the Result of a large
// registry — are never all held at once.
func (s *Server) readFrom(ctx context.Context, reg *render.Registry, src datasource.Source) (datasource.Result, error) {
	start := time.Now()
	var (
		res datasource.Result
		n   int
		err error
	)
	if st, ok := src.(datasource.RowStreamer); ok {
		ev := datasource.NewEvaluator(reg.Mapping, 0)
		n, err = st.EachRow(ctx, reg.Mapping.Columns(), ev.Add)
		if err == nil {
			res = ev.Result()
		} else {
			n = 0
		}
	} else {
		var raw []datasource.RawRow
		raw, err = src.Rows(ctx, reg.Mapping.Columns())
		n = len(raw)
		if err == nil {
			res = datasource.Evaluate(reg.Mapping, raw)
		}
	}
	s.metrics.QueryDone(reg.SourceType, time.Since(start), n, err) // counts the error
	if err != nil {
		fallback := "QueryFailed"
		if reg.SourceType == "static" {
			fallback = "InvalidRows"
		}
		return datasource.Result{}, &sourceError{reason: reasonOf(err, fallback), err: fmt.Errorf("registry %s: reading rows: %w", object.ObjKey(reg.Namespace, reg.Name), err)}
	}
	return res, nil
}

// sharedRows is readRows for the registry and the shards of a sharded
// registry: rows read at most maxAge ago by any of them (on this replica)
// are reused, and concurrent calls share one query (datasource/snapshot).
// It returns how old the rows are, and the snapshot's Memo for what is
// derived from them (nil when they are not held).
func (s *Server) sharedRows(ctx context.Context, reg *render.Registry, related wire.ObjectMap, maxAge time.Duration) (datasource.Result, time.Duration, *snapshot.Memo, error) {
	src, key, err := s.sourceOf(reg, related)
	if err != nil {
		return datasource.Result{}, 0, nil, err
	}
	if key == "" {
		res, err := s.readFrom(ctx, reg, src)
		return res, 0, nil, err
	}
	res, age, how, memo, err := s.snapshots.Get(ctx, key, maxAge, func(ctx context.Context) (datasource.Result, error) {
		return s.readFrom(ctx, reg, src)
	})
	s.metrics.RowSnapshots.WithLabelValues(string(how)).Inc()
	return res, age, memo, err
}

var errNoKey = errors.New("key not found")

// secretValue decodes one key of a Secret. The value is never logged or put
// into an error.
func secretValue(secret object.Obj, key string) (string, error) {
	if s := object.String(secret, "stringData", key); s != "" {
		return s, nil
	}
	enc, ok := object.NestedMap(secret, "data")[key].(string)
	if !ok {
		return "", fmt.Errorf("key %q: %w", key, errNoKey)
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("key %q is not valid base64", key)
	}
	return string(b), nil
}
