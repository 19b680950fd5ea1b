package sim

import (
	"context"
	"fmt"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The controllers of deploy/controllers as Parents controllers, calling the
// same render functions the hooks call.

// Source is what the registry hook reads: rows, or an error (an outage,
// which the hook answers non-200).
type Source func() (datasource.Result, error)

// RegistryController is tenantregistry-controller: TenantRegistry →
// Tenant and TenantShard. Sharded registries go through
// SyncShardedRegistry, others through SyncRegistry, as in the hook.
func RegistryController(e *render.Engine, templates []object.Obj, src Source) *Controller {
	return &Controller{
		Parent:   "TenantRegistry",
		Children: []string{"Tenant", "TenantShard"},
		Sync: func(parent object.Obj, children []object.Obj) ([]object.Obj, object.Obj, error) {
			rows, err := src()
			in := render.RegistryInput{Registry: parent, Templates: templates, Rows: rows}
			for _, c := range children {
				if render.IsShardKind(object.Kind(c)) {
					in.Observed = append(in.Observed, render.ObserveShard(c))
				} else {
					in.Observed = append(in.Observed, render.ObserveTenant(c))
				}
			}
			var out render.RegistryOutput
			shards := false
			for _, o := range in.Observed {
				shards = shards || o.Shard != nil
			}
			if shards && !render.IsSharded(parent) {
				return nil, nil, fmt.Errorf("registry has TenantShards but no spec.sharding: refused, as the hook does")
			}
			var outage *render.SourceOutage
			if err != nil {
				outage = &render.SourceOutage{Reason: "Unreachable", Message: err.Error()}
			}
			switch {
			case render.IsSharded(parent):
				// A sharded registry re-emits its shards as observed (hooks/shard.go).
				if out, err = e.SyncShardedRegistry(context.Background(), in, outage); err != nil {
					return nil, nil, err
				}
			case outage != nil:
				// An unsharded one re-emits every observed Tenant (hooks/registry.go).
				reg, _ := render.ParseRegistry(parent)
				out = render.KeepForOutage(in, reg, *outage)
			default:
				out = e.SyncRegistry(context.Background(), in)
			}
			return roundTrip(out.ChildList()), out.Status, nil
		},
	}
}

// ShardController is tenantshard-controller: TenantShard → Tenant; its
// customize delivers the templates, and it reads its registry's rows from
// the same source as the registry (hooks/shard.go: through the shared
// snapshot, here directly), keeping its part of them.
func ShardController(e *render.Engine, templates []object.Obj, src Source) *Controller {
	return &Controller{
		Parent:   "TenantShard",
		Children: []string{"Tenant"},
		Sync: func(parent object.Obj, children []object.Obj) ([]object.Obj, object.Obj, error) {
			in := render.ShardInput{Shard: parent, Templates: templates}
			for _, c := range children {
				in.Observed = append(in.Observed, render.ObserveTenant(c))
			}
			rows, err := src()
			if err != nil {
				in.Outage = &render.SourceOutage{Reason: "Unreachable", Message: err.Error()}
			} else if spec, perr := render.ParseShard(parent); perr == nil {
				in.Rows, in.Revision = render.ShardRows(rows, e.ShardTemplates(templates, spec), spec.Index, spec.Shards)
			}
			out := e.SyncShard(context.Background(), in)
			return roundTrip(out.ChildList()), out.Status, nil
		},
	}
}

// Handover runs the tenant-shard-handover decorator on every Tenant it
// selects; it returns how many it relabelled.
func Handover(w *Parents) int {
	n := 0
	for _, t := range w.List("Tenant") {
		if l := render.Handover(t); l != nil {
			w.Decorate(t, l)
			n++
		}
	}
	return n
}

// SettleTenants plays the tenant controller: every Tenant reports Ready.
func SettleTenants(w *Parents) {
	for _, t := range w.List("Tenant") {
		t["status"] = map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "AllResourcesReady"}}}
	}
}

// roundTrip gives objects the JSON shape the API server would store
// (json.RawMessage entries of a shard's spec become maps).
func roundTrip(objs []object.Obj) []object.Obj {
	out := make([]object.Obj, len(objs))
	for i, o := range objs {
		out[i] = normalize(o).(map[string]any)
	}
	return out
}
