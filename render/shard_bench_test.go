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
// (rows → row reports, every shard's count and rows revision); the HTTP
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
				out, err := e.SyncShardedRegistry(context.Background(), in, nil)
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
// request does not grow with the registry; its rows are picked from the
// registry's 100,000 (ShardRows, included) as the hook does.
func BenchmarkSyncShard(b *testing.B) {
	e, _ := newEngine()
	uids := make([]string, 100000)
	for i := range uids {
		uids[i] = fmt.Sprintf("c%07d", i)
	}
	reg := fromYAML(b, registryYAML)
	object.SetNested(reg, map[string]any{"shards": json.Number("50")}, "spec", "sharding")
	tpl := fromYAML(b, webTemplateYAML)
	rows := rowsOf(b, uids...)
	out, err := e.SyncShardedRegistry(context.Background(), render.RegistryInput{Registry: reg, Templates: []object.Obj{tpl}, Rows: rows}, nil)
	require.NoError(b, err)
	shard := roundTripObj(b, out.ChildList()[0])
	spec, err := render.ParseShard(shard)
	require.NoError(b, err)
	tpls := []object.Obj{tpl}
	sub, rev := render.ShardRows(rows, e.ShardTemplates(tpls, spec), spec.Index, spec.Shards)
	first := e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Templates: tpls, Rows: sub, Revision: rev})
	var observed []render.ObservedTenant
	for _, t := range first.ChildList() {
		observed = append(observed, render.ObserveTenant(t))
	}
	want := len(observed)
	require.InDelta(b, 2000, want, 300)
	for b.Loop() {
		sub, rev := render.ShardRows(rows, e.ShardTemplates(tpls, spec), spec.Index, spec.Shards)
		res := e.SyncShard(context.Background(), render.ShardInput{Shard: shard, Templates: tpls, Observed: observed, Rows: sub, Revision: rev})
		require.Equal(b, want, res.NumChildren)
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

// BenchmarkShardRows: the walk over all its registry's rows that a shard
// sync would make to keep its own (one template; 2,000 Tenants per shard);
// the hooks make it once per snapshot for all shards instead
// (BenchmarkShardPartition).
func BenchmarkShardRows(b *testing.B) {
	for _, rows := range []int{100000, 1000000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			uids := make([]string, rows)
			for i := range uids {
				uids[i] = fmt.Sprintf("c%07d", i)
			}
			res := rowsOf(b, uids...)
			shards := rows / 2000
			for b.Loop() {
				sub, _ := render.ShardRows(res, []string{"web"}, 0, shards)
				require.InDelta(b, 2000, len(sub.Active), 300)
			}
		})
	}
}

// BenchmarkShardPartition: what the hooks do instead of ShardRows on every
// shard sync — the partition once per snapshot (partition), then one
// shard's part of it per sync (rows-of-one-shard).
func BenchmarkShardPartition(b *testing.B) {
	for _, rows := range []int{100000, 1000000} {
		uids := make([]string, rows)
		for i := range uids {
			uids[i] = fmt.Sprintf("c%07d", i)
		}
		res := rowsOf(b, uids...)
		shards := rows / 2000
		b.Run(fmt.Sprintf("rows=%d/partition", rows), func(b *testing.B) {
			for b.Loop() {
				render.PartitionShards(res.Active, []string{"web"}, shards)
			}
		})
		p := render.PartitionShards(res.Active, []string{"web"}, shards)
		b.Run(fmt.Sprintf("rows=%d/rows-of-one-shard", rows), func(b *testing.B) {
			for b.Loop() {
				sub, _ := p.Rows(0)
				require.InDelta(b, 2000, len(sub.Active), 300)
			}
		})
	}
}
