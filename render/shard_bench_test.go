package render_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// BenchmarkSyncShardedRegistry: the render half of a sharded registry's sync
// (rows → shards with their Tenants' specs), without claims; the HTTP
// numbers with MariaDB are hack/regscale -shard-size (docs/performance.md).
func BenchmarkSyncShardedRegistry(b *testing.B) {
	for _, rows := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			e, _ := newEngine()
			uids := make([]string, rows)
			for i := range uids {
				uids[i] = fmt.Sprintf("c%07d", i)
			}
			reg := fromYAML(b, registryYAML)
			object.SetNested(reg, map[string]any{"shards": json.Number(fmt.Sprint((rows + 1999) / 2000))}, "spec", "sharding")
			in := render.RegistryInput{Registry: reg, Templates: []object.Obj{fromYAML(b, webTemplateYAML)}, Rows: rowsOf(b, uids...)}
			for b.Loop() {
				out, err := e.SyncShardedRegistry(context.Background(), in)
				require.NoError(b, err)
				n := 0
				for range out.Children {
					n++
				}
				require.Equal(b, (rows+1999)/2000, n)
			}
		})
	}
}

// BenchmarkSyncShard: one shard of 2,000 Tenants, all observed — its
// request does not grow with the registry.
func BenchmarkSyncShard(b *testing.B) {
	e, _ := newEngine()
	uids := make([]string, 2000)
	for i := range uids {
		uids[i] = fmt.Sprintf("c%07d", i)
	}
	reg := fromYAML(b, registryYAML)
	object.SetNested(reg, map[string]any{"shards": json.Number("1")}, "spec", "sharding")
	tpl := fromYAML(b, webTemplateYAML)
	out, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rowsOf(b, uids...)})
	require.NoError(b, err)
	shard := roundTripObj(b, out.ChildList()[0])
	first := e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Templates: []object.Obj{tpl}})
	var observed []render.ObservedTenant
	for _, t := range first.ChildList() {
		observed = append(observed, render.ObserveTenant(t))
	}
	in := render.ShardInput{Shard: shard, Templates: []object.Obj{tpl}, Observed: observed}
	for b.Loop() {
		res := e.SyncShard(context.Background(), in)
		require.Equal(b, 2000, res.NumChildren)
		for range res.Children {
		}
	}
}

func roundTripObj(t testing.TB, o object.Obj) object.Obj {
	raw, err := json.Marshal(o)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}
