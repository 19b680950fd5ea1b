package hooks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
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

// shardedRegistrySync is registrySync for a registry with spec.sharding:
// the same single read of the rows, answered as shards.
func (s *Server) shardedRegistrySync(ctx context.Context, r *wire.RegistryRequest, in render.RegistryInput) (answer, error) {
	reg, specErr := render.ParseRegistry(r.Parent)
	if specErr != nil {
		// Answering without the shards would let the garbage collector
		// delete every Tenant: keep everything and retry.
		return answer{}, &UnavailableError{Err: fmt.Errorf("registry %s: %v; a sharded registry is answered only with all its shards, so nothing is changed", object.ObjKey(object.Namespace(r.Parent), object.Name(r.Parent)), specErr)}
	}
	rows, err := s.readRows(ctx, reg, r.Related)
	if err != nil {
		// Unlike an unsharded registry, whose outage answer re-emits every
		// observed Tenant, a sharded registry cannot re-emit its shards
		// (their specs are not kept): a 503 keeps them all, and the shards
		// keep serving the Tenants of their last spec.
		return answer{}, &UnavailableError{Err: err}
	}
	in.Rows = rows
	start := time.Now()
	out, err := s.engine.SyncShardedRegistry(ctx, in)
	if err != nil {
		return answer{}, &UnavailableError{Err: err}
	}
	encoded, err := wire.EncodeShardedAnswer(out)
	s.metrics.RenderDuration.WithLabelValues("registry").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, err
	}
	if ctx.Err() != nil {
		return answer{}, &UnavailableError{Err: fmt.Errorf("registry %s: hook deadline passed while building the answer: %w", object.ObjKey(reg.Namespace, reg.Name), ctx.Err())}
	}
	s.metrics.RegistryTenants.WithLabelValues(reg.Namespace, reg.Name, "desired").Set(float64(out.Desired))
	s.metrics.RegistryTenants.WithLabelValues(reg.Namespace, reg.Name, "ready").Set(float64(out.Ready))
	s.metrics.RegistryTenants.WithLabelValues(reg.Namespace, reg.Name, "failed").Set(float64(out.Failed))
	s.metrics.RegistrySuccess.WithLabelValues(reg.Namespace, reg.Name).Set(float64(time.Now().Unix()))
	if out.GuardActivated {
		s.metrics.GuardActivations.WithLabelValues(reg.Namespace, reg.Name).Inc()
		s.log.Warn("mass-deletion guard kept Tenants in their shards", "registry", object.ObjKey(reg.Namespace, reg.Name), "blocked", out.BlockedDeletion)
	}
	return answer{body: encoded}, nil
}

// shardSync answers a TenantShard's Tenants from its spec. It reads no
// database: its request is the shard (≤ maxTenantsPerShard entries) and
// its observed Tenants, decoded as they stream in like a registry's.
func (s *Server) shardSync(ctx context.Context, _ *http.Request, body io.Reader) (answer, error) {
	r, err := wire.DecodeRegistryStream(body, s.cfg.RegistryBodyLimit)
	if err != nil {
		return answer{}, err
	}
	if r.Parent == nil {
		return answer{}, &wire.DecodeError{Err: errMissingParent}
	}
	in := render.ShardInput{Shard: r.Parent, Observed: r.Observed}
	for _, k := range ordered.Keys(r.Related[templateTypeKey]) {
		in.Templates = append(in.Templates, r.Related[templateTypeKey][k])
	}
	start := time.Now()
	out := s.engine.SyncShard(ctx, in)
	encoded, err := wire.EncodeRegistryAnswer(out)
	s.metrics.RenderDuration.WithLabelValues("shard").Observe(time.Since(start).Seconds())
	if err != nil {
		return answer{}, err
	}
	if ctx.Err() != nil {
		return answer{}, &UnavailableError{Err: fmt.Errorf("shard %s: hook deadline passed while building the answer: %w", object.ObjKey(object.Namespace(r.Parent), object.Name(r.Parent)), ctx.Err())}
	}
	ns, name := object.Namespace(r.Parent), object.Name(r.Parent)
	reg := object.String(r.Parent, "spec", "registry")
	s.metrics.ShardTenants.WithLabelValues(ns, reg, name, "desired").Set(float64(out.Desired))
	s.metrics.ShardTenants.WithLabelValues(ns, reg, name, "ready").Set(float64(out.Ready))
	s.metrics.ShardTenants.WithLabelValues(ns, reg, name, "failed").Set(float64(out.Failed))
	s.metrics.ShardTenants.WithLabelValues(ns, reg, name, "pending_deletion").Set(float64(out.BlockedDeletion))
	return answer{body: encoded}, nil
}

// shardCustomize asks for the TenantTemplates of the shard's registry: the
// shard computes its Tenants' claims from them.
func (s *Server) shardCustomize(_ context.Context, _ *http.Request, body []byte) (answer, error) {
	var req wire.CustomizeRequest
	if err := wire.DecodeBytes(body, &req); err != nil {
		return answer{}, err
	}
	if req.Parent == nil {
		return answer{}, &wire.DecodeError{Err: errMissingParent}
	}
	rules := []wire.RelatedRule{}
	if ns := object.String(req.Parent, "spec", "templateNamespace"); ns != "" {
		rules = append(rules, wire.RelatedRule{APIVersion: render.APIVersion, Resource: "tenanttemplates", Namespace: ns})
	}
	return answer{body: wire.CustomizeResponse{RelatedResources: rules}}, nil
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
