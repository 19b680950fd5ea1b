package hooks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Sharded registries (docs/sharding.md). A registry with spec.sharding
// answers TenantShards; each shard answers its Tenants; the handover
// decorator moves the Tenants of a registry that was not sharded before to
// their shards. Only registries that opt in ever reach this file.

// hasShards reports whether any observed child is a shard.
func hasShards(obs []render.ObservedTenant) bool {
	for _, o := range obs {
		if o.Shard != nil {
			return true
		}
	}
	return false
}

// Freshness of a sharded registry's rows (docs/sharding.md §1). The
// registry's sync reads them at most once per 0.9 × syncInterval, so that
// its periodic sync (resyncAfterSeconds = syncInterval) always reads while
// the syncs its shards' status changes cause in between reuse that read. A
// shard's sync reuses any read up to one syncInterval old whose rows match
// the revision its registry wrote into its spec; on a mismatch (the
// registry read newer rows, possibly on another replica) it reads again,
// but not more often than every shardRereadAfter, so that a source changing
// faster than the registry reads costs one query per registry per that
// period, whatever the shard count.
const (
	registryFreshness = 0.9
	shardRereadAfter  = 5 * time.Second
)

// shardedRegistrySync is registrySync for a registry with spec.sharding:
// the rows read once (shared with its shards), answered as shards. A
// failure to read them is a 200 that re-emits every shard as observed and
// says what failed, as an unsharded registry's outage answer does.
func (s *Server) shardedRegistrySync(ctx context.Context, r *wire.RegistryRequest, in render.RegistryInput) (answer, error) {
	reg, specErr := render.ParseRegistry(r.Parent)
	if specErr != nil {
		// Answering without the shards would let the garbage collector
		// delete every Tenant: keep everything and retry.
		return answer{}, &UnavailableError{Err: fmt.Errorf("registry %s: %v; a sharded registry is answered only with all its shards, so nothing is changed", object.ObjKey(object.Namespace(r.Parent), object.Name(r.Parent)), specErr)}
	}
	ref := object.ObjKey(reg.Namespace, reg.Name)
	rows, _, _, err := s.sharedRows(ctx, reg, r.Related, time.Duration(float64(reg.SyncInterval)*registryFreshness))
	outage, err := asOutage(ctx, err)
	if err != nil {
		return answer{}, err
	}
	in.Rows = rows
	start := time.Now()
	var so *render.SourceOutage
	if outage != nil {
		so = &render.SourceOutage{Reason: outage.reason, Message: outage.Error()}
	}
	out, err := s.engine.SyncShardedRegistry(ctx, in, so)
	if err != nil {
		return answer{}, &UnavailableError{Err: err}
	}
	encoded, err := wire.EncodeRegistryAnswer(out)
	s.metrics.RenderDuration.WithLabelValues("registry").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, err
	}
	if ctx.Err() != nil {
		return answer{}, &UnavailableError{Err: fmt.Errorf("registry %s: hook deadline passed while building the answer: %w", ref, ctx.Err())}
	}
	if outage != nil {
		s.metrics.DatasourceErrors.WithLabelValues(reg.SourceType).Add(float64(outage.uncounted))
		s.log.Warn("registry rows could not be read; every shard and Tenant is kept", "registry", ref,
			"reason", outage.reason, "error", outage.Error(), "retryAfter", out.ResyncAfter.String())
		return answer{body: encoded}, nil
	}
	s.metrics.RegistryTenants.WithLabelValues(reg.Namespace, reg.Name, "desired").Set(float64(out.Desired))
	s.metrics.RegistryTenants.WithLabelValues(reg.Namespace, reg.Name, "ready").Set(float64(out.Ready))
	s.metrics.RegistryTenants.WithLabelValues(reg.Namespace, reg.Name, "failed").Set(float64(out.Failed))
	s.metrics.RegistrySuccess.WithLabelValues(reg.Namespace, reg.Name).Set(float64(time.Now().Unix()))
	if out.GuardActivated {
		s.metrics.GuardActivations.WithLabelValues(reg.Namespace, reg.Name).Inc()
		s.log.Warn("mass-deletion guard kept Tenants in their shards", "registry", ref, "blocked", out.BlockedDeletion)
	}
	return answer{body: encoded}, nil
}

// shardSync answers a TenantShard's Tenants. It reads its registry's rows
// (shared with the registry and the other shards, sharedRows) and keeps its
// part; its request is the shard, its observed Tenants (≤ maxTenantsPerShard)
// and the related templates and Secret — never the other shards' Tenants.
func (s *Server) shardSync(ctx context.Context, _ *http.Request, body io.Reader) (answer, error) {
	r, templates, err := s.decodeParent(body)
	if err != nil {
		return answer{}, err
	}
	in := render.ShardInput{Shard: r.Parent, Observed: r.Observed, Templates: templates}
	ns, name := object.Namespace(r.Parent), object.Name(r.Parent)
	regName := object.String(r.Parent, "spec", "registry")
	if spec, perr := render.ParseShard(r.Parent); perr == nil {
		// (an unusable spec is answered by SyncShard, keeping everything)
		if err := s.shardRows(ctx, spec, r.Related, &in); err != nil {
			return answer{}, err
		}
	}
	start := time.Now()
	out := s.engine.SyncShard(ctx, in)
	encoded, err := wire.EncodeRegistryAnswer(out)
	s.metrics.RenderDuration.WithLabelValues("shard").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, err
	}
	if ctx.Err() != nil {
		return answer{}, &UnavailableError{Err: fmt.Errorf("shard %s: hook deadline passed while building the answer: %w", object.ObjKey(ns, name), ctx.Err())}
	}
	if in.Outage != nil {
		s.log.Warn("shard rows could not be read; every Tenant of the shard is kept", "shard", object.ObjKey(ns, name),
			"reason", in.Outage.Reason, "error", in.Outage.Message, "retryAfter", out.ResyncAfter.String())
		return answer{body: encoded}, nil
	}
	s.metrics.ShardTenants.WithLabelValues(ns, regName, name, "desired").Set(float64(out.Desired))
	s.metrics.ShardTenants.WithLabelValues(ns, regName, name, "ready").Set(float64(out.Ready))
	s.metrics.ShardTenants.WithLabelValues(ns, regName, name, "failed").Set(float64(out.Failed))
	s.metrics.ShardTenants.WithLabelValues(ns, regName, name, "pending_deletion").Set(float64(out.BlockedDeletion))
	return answer{body: encoded}, nil
}

// shardRows fills in.Rows and in.Revision with the shard's part of its
// registry's rows, or in.Outage when they cannot be read. Only the hook's
// own deadline, or a failure that is not the source's, is an error (a 503).
func (s *Server) shardRows(ctx context.Context, spec *render.ShardSpec, related wire.ObjectMap, in *render.ShardInput) error {
	templates := s.engine.ShardTemplates(in.Templates, spec)
	for attempt := 0; ; attempt++ {
		maxAge := spec.Registry.SyncInterval
		if attempt > 0 {
			maxAge = shardRereadAfter
		}
		rows, age, memo, err := s.sharedRows(ctx, spec.Registry, related, maxAge)
		outage, err := asOutage(ctx, err)
		if err != nil {
			return err
		}
		if outage != nil {
			in.Outage = &render.SourceOutage{Reason: outage.reason, Message: outage.Error()}
			s.metrics.DatasourceErrors.WithLabelValues(spec.Registry.SourceType).Add(float64(outage.uncounted))
			return nil
		}
		// Every shard of the layout needs its part of the same rows: the
		// partition is computed once per snapshot and kept with it.
		layout := strconv.Itoa(spec.Shards) + "\x00" + strings.Join(templates, "\x00")
		part := memo.Do(layout, func() any { return render.PartitionShards(rows.Active, templates, spec.Shards) }).(*render.ShardPartition)
		in.Rows, in.Revision = part.Rows(spec.Index)
		if in.Revision == spec.Revision || spec.Revision == "" || attempt > 0 || age < shardRereadAfter {
			return nil
		}
	}
}

// shardCustomize asks for what the shard's registry asks for: its
// TenantTemplates (the shard computes its Tenants' claims from them) and
// the Secret or ConfigMap its source names (the shard reads the rows).
func (s *Server) shardCustomize(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	return customize(body, func(req *wire.CustomizeRequest) []wire.RelatedRule {
		return registryRelated(render.RegistryOf(req.Parent))
	})
}

// handoverSync is the tenant-shard-handover DecoratorController: it writes
// the controller-uid its owner asked for into a Tenant's labels
// (render.Handover).
func (s *Server) handoverSync(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	var r wire.DecoratorRequest
	if err := wire.DecodeBytes(body, &r); err != nil {
		return answer{}, err
	}
	if r.Object == nil {
		return answer{}, &wire.DecodeError{Err: errMissingObject}
	}
	labels := render.Handover(r.Object)
	if labels != nil {
		s.log.Info("handing a Tenant over to its shard", "tenant", object.ObjKey(object.Namespace(r.Object), object.Name(r.Object)), "shard", object.String(r.Object, "metadata", "annotations", render.AnnotationShardName))
	}
	return answer{body: wire.DecoratorResponse{Labels: labels, Attachments: []object.Obj{}}}, nil
}
