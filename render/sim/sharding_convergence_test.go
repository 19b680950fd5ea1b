package sim_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// convergence is what a registry converging from nothing costs, per parent.
type convergence struct {
	rounds int
	// per parent kind|name
	calls, writes map[string]int
	// parallel[i]: parents that wrote children in round i — the parents
	// Metacontroller can work on at once (one worker each).
	parallel []int
}

func converge(t *testing.T, rows int, sharding map[string]any, shards int) convergence {
	f := newFleet(t, rows, sharding)
	c := convergence{calls: map[string]int{}, writes: map[string]int{}}
	steps := "registry,settle"
	if shards > 0 {
		steps = order
	}
	for c.rounds = 1; c.rounds <= 10; c.rounds++ {
		before := map[string]int{}
		for k, v := range f.w.Writes {
			before[k] = v
		}
		f.round(steps)
		busy := 0
		for k, v := range f.w.Writes {
			if v > before[k] {
				busy++
			}
		}
		c.parallel = append(c.parallel, busy)
		if busy == 0 {
			break
		}
	}
	require.Len(t, f.w.List("Tenant"), rows)
	require.Empty(t, f.w.Deleted)
	for k, v := range f.w.Calls {
		c.calls[k] = v
	}
	for k, v := range f.w.Writes {
		c.writes[k] = v
	}
	return c
}

// TestShardsConvergence10k counts, for a 10,000-row registry converging from
// nothing, the hook calls and child writes of every parent and how many
// parents have work at once (docs/performance.md, "Sharding"). Unsharded,
// one parent makes all 10,000 writes, which Metacontroller applies one
// after another on one worker; with N shards the registry writes N shards
// and the N shards write the Tenants, N at once.
func TestShardsConvergence10k(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000-row convergence: run without -short")
	}
	const rows = 10000
	plain := converge(t, rows, nil, 0)
	require.Equal(t, rows, plain.writes["TenantRegistry|saas/customers"])
	require.Equal(t, 1, plain.parallel[0])
	t.Logf("unsharded: rounds %d, registry calls %d, writes %d, parallel parents per round %v",
		plain.rounds, plain.calls["TenantRegistry|saas/customers"], plain.writes["TenantRegistry|saas/customers"], plain.parallel)

	for _, n := range []int{5, 20} {
		c := converge(t, rows, map[string]any{"shards": n, "maxTenantsPerShard": rows / n * 2}, n)
		var shardWrites []int
		for k, v := range c.writes {
			if strings.HasPrefix(k, "TenantShard|") {
				shardWrites = append(shardWrites, v)
				require.LessOrEqual(t, c.calls[k], 4, "%s hook calls", k)
			}
		}
		sort.Ints(shardWrites)
		require.Len(t, shardWrites, n)
		sum := 0
		for _, w := range shardWrites {
			sum += w
		}
		require.Equal(t, rows, sum, "every Tenant written once, by its shard")
		require.Equal(t, n, c.writes["TenantRegistry|saas/customers"], "the registry writes its shards only")
		// round 1: the registry writes its shards, then every shard writes its
		// Tenants — N parents with work at the same time.
		require.Equal(t, n+1, c.parallel[0], "the registry and its shards")
		t.Logf("%d shards: rounds %d, registry calls %d writes %d; shard calls %s; Tenant writes per shard min %d max %d; parallel parents per round %v",
			n, c.rounds, c.calls["TenantRegistry|saas/customers"], c.writes["TenantRegistry|saas/customers"],
			callsOf(c, "TenantShard|"), shardWrites[0], shardWrites[len(shardWrites)-1], c.parallel)
	}
}

func callsOf(c convergence, prefix string) string {
	m := map[int]int{}
	for k, v := range c.calls {
		if strings.HasPrefix(k, prefix) {
			m[v]++
		}
	}
	var parts []string
	for v, n := range m {
		parts = append(parts, fmt.Sprintf("%d×%d", n, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
