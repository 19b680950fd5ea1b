package sim_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/sim"
)

// fleet is a registry with its rows in Parents, and the controllers of
// deploy/controllers.
type fleet struct {
	t      *testing.T
	w      *sim.Parents
	reg    object.Obj
	rows   []string
	outage bool
	// deleting: deletions are expected (checked by the test itself)
	deleting bool
	regCtl   *sim.Controller
	shardCtl *sim.Controller
}

func newFleet(t *testing.T, n int, sharding map[string]any) *fleet {
	f := &fleet{t: t, w: sim.NewParents()}
	for i := range n {
		f.rows = append(f.rows, fmt.Sprintf("c%05d", i))
	}
	spec := map[string]any{
		"source":        map[string]any{"type": "static", "static": map[string]any{"rows": []any{}}},
		"valueMappings": map[string]any{"uid": "id", "hostOrUrl": "url", "activate": "active"},
	}
	if sharding != nil {
		spec["sharding"] = sharding
	}
	f.reg = f.w.Create(map[string]any{"apiVersion": render.APIVersion, "kind": "TenantRegistry",
		"metadata": map[string]any{"name": "customers", "namespace": "saas"}, "spec": spec})
	tpl := map[string]any{"apiVersion": render.APIVersion, "kind": "TenantTemplate",
		"metadata": map[string]any{"name": "web", "namespace": "saas", "generation": 1},
		"spec": map[string]any{"registryId": "customers", "configMaps": []any{map[string]any{
			"id": "cfg", "nameTemplate": "{{ .uid }}-cfg", "spec": map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}}}}}
	e := render.New(render.Options{})
	f.regCtl = sim.RegistryController(e, []object.Obj{tpl}, f.source)
	f.shardCtl = sim.ShardController(e, []object.Obj{tpl}, f.source)
	return f
}

func (f *fleet) source() (datasource.Result, error) {
	if f.outage {
		return datasource.Result{}, errors.New("dial tcp: connection refused")
	}
	rows := make([]map[string]any, len(f.rows))
	for i, u := range f.rows {
		rows[i] = map[string]any{"id": u, "url": "https://" + u + ".example", "active": "1"}
	}
	m := datasource.Mapping{UID: "id", HostOrURL: "url", Activate: "active"}
	raw, err := datasource.NewStatic(rows).Rows(f.t.Context(), m.Columns())
	require.NoError(f.t, err)
	return datasource.Evaluate(m, raw), nil
}

// round is one pass of every controller in the given order; "between"
// runs the handover decorator between the registry's claim and apply —
// the interleaving in which the registry's apply meets a label the
// decorator has just written.
func (f *fleet) round(order string) {
	for _, step := range strings.Split(order, ",") {
		switch step {
		case "registry":
			_ = f.w.Sync(f.regCtl, f.reg)
		case "between":
			p := f.w.Begin(f.regCtl, f.reg)
			sim.Handover(f.w)
			_ = f.w.Apply(p)
		case "shards":
			f.w.SyncAll(f.shardCtl)
		case "handover":
			sim.Handover(f.w)
		case "settle":
			sim.SettleTenants(f.w)
		default:
			f.t.Fatalf("unknown step %q", step)
		}
		if !f.deleting {
			f.noTenantDeleted()
		}
	}
}

func (f *fleet) noTenantDeleted() {
	f.t.Helper()
	for _, k := range f.w.Deleted {
		require.False(f.t, strings.HasPrefix(k, "Tenant|"), "Tenant deleted: %s (all deletions: %v)", k, f.w.Deleted)
	}
}

func (f *fleet) uids() map[string]string {
	m := map[string]string{}
	for _, t := range f.w.List("Tenant") {
		m[object.Name(t)] = object.UID(t)
	}
	return m
}

func (f *fleet) wantNames() map[string]bool {
	m := map[string]bool{}
	for _, u := range f.rows {
		m[u+"-web"] = true
	}
	return m
}

// settled: every wanted Tenant exists, owned (reference and label) by the
// shard its name hashes to, and nothing else exists.
func (f *fleet) settled(shards int) bool {
	want := f.wantNames()
	ts := f.w.List("Tenant")
	if len(ts) != len(want) {
		return false
	}
	for _, t := range ts {
		if !want[object.Name(t)] {
			return false
		}
		s := f.w.Get("TenantShard", "saas", render.ShardName("customers", render.ShardIndex(object.Name(t), shards)))
		if s == nil || sim.ControllerOf(t) != object.UID(s) || object.String(t, "metadata", "labels", render.LabelControllerUID) != object.UID(s) {
			return false
		}
	}
	return true
}

func (f *fleet) converge(shards int, order string, max int) int {
	f.t.Helper()
	for i := 1; i <= max; i++ {
		f.round(order)
		if f.settled(shards) {
			// one more round changes nothing
			f.round(order)
			require.True(f.t, f.settled(shards))
			return i
		}
	}
	f.t.Fatalf("not settled after %d rounds: %d Tenants, deletions %v", max, len(f.w.List("Tenant")), f.w.Deleted)
	return 0
}

func condition(o object.Obj, typ string) map[string]any {
	for _, c := range object.NestedSlice(o, "status", "conditions") {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

const order = "registry,shards,handover,settle"

func TestShardsCreateSharded(t *testing.T) {
	f := newFleet(t, 300, map[string]any{"shards": 4})
	rounds := f.converge(4, order, 6)
	require.LessOrEqual(t, rounds, 3)
	shards := f.w.List("TenantShard")
	require.Len(t, shards, 4)
	total := 0
	for _, s := range shards {
		n, _ := object.Int64(s, "status", "desired")
		total += int(n)
		require.Greater(t, n, int64(40), "hash spreads the Tenants")
		require.Equal(t, "True", condition(s, "Ready")["status"], object.Name(s))
	}
	require.Equal(t, 300, total)
	f.round(order)
	require.Equal(t, "True", condition(f.reg, "Ready")["status"], "%v", f.reg["status"])
	require.EqualValues(t, 300, f.reg["status"].(map[string]any)["ready"])
	require.Empty(t, f.w.Deleted)
}

// The switch of docs/sharding.md §5, round by round, under several
// interleavings of the registry, the shards and the handover decorator.
func TestShardsSwitchToShards(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shards int
		ssa    bool
		orders []string
	}{
		{"one shard", 1, true, []string{order}},
		{"seven shards", 7, true, []string{order}},
		{"decorator before everyone", 2, true, []string{"handover,shards,registry,settle"}},
		{"decorator between claim and apply (ssa)", 7, true, []string{"between,shards,settle"}},
		{"decorator between claim and apply, three-way merge, twice", 7, false, []string{"between,shards,settle", "between,shards,settle", order}},
		{"shards first", 3, false, []string{"shards,handover,registry,settle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t, 120, nil)
			f.w.SSA = tc.ssa
			for range 3 {
				f.round("registry,settle")
			}
			before := f.uids()
			require.Len(t, before, 120)
			f.w.Edit(f.reg, func(o object.Obj) {
				o["spec"].(map[string]any)["sharding"] = map[string]any{"shards": tc.shards}
			})
			settledAt := 0
			for i := 0; i < 12 && settledAt == 0; i++ {
				o := tc.orders[min(i, len(tc.orders)-1)]
				f.round(o)
				if f.settled(tc.shards) {
					settledAt = i + 1
				}
			}
			require.NotZero(t, settledAt, "never settled: %v", f.reg["status"])
			for range 2 {
				f.round(tc.orders[len(tc.orders)-1])
			}
			require.True(t, f.settled(tc.shards))
			require.Equal(t, before, f.uids(), "no Tenant was re-created")
			f.noTenantDeleted()
			require.Empty(t, f.w.Deleted)
			st := f.reg["status"].(map[string]any)
			require.EqualValues(t, 0, st["sharding"].(map[string]any)["unshardedTenants"])
			t.Logf("settled after %d rounds", settledAt)
		})
	}
}

func TestShardsGrowShrink(t *testing.T) {
	f := newFleet(t, 100, map[string]any{"shards": 3})
	f.converge(3, order, 6)
	before := f.uids()
	// grow
	for i := 100; i < 140; i++ {
		f.rows = append(f.rows, fmt.Sprintf("c%05d", i))
	}
	f.converge(3, order, 6)
	for n, u := range before {
		require.Equal(t, u, f.uids()[n])
	}
	// shrink by 20 rows (≈ 14 %, within the guard): exactly those go, through
	// the shards' pending deletions and the registry's approval.
	removed := map[string]bool{}
	var kept []string
	for i, u := range f.rows {
		if i%7 == 0 {
			removed[u+"-web"] = true
			continue
		}
		kept = append(kept, u)
	}
	f.rows = kept
	f.deleting = true
	for i := 0; i < 8 && !f.settled(3); i++ {
		f.w.Deleted = f.w.Deleted[:0]
		f.round(order)
		for _, k := range f.w.Deleted {
			name := k[strings.LastIndex(k, "/")+1:]
			require.True(t, strings.HasPrefix(k, "Tenant|") && removed[name], "unexpected deletion %s", k)
			delete(removed, name)
		}
	}
	require.True(t, f.settled(3))
	require.Empty(t, removed, "every removed row's Tenant was deleted")
}

func TestShardsGuard(t *testing.T) {
	f := newFleet(t, 100, map[string]any{"shards": 3})
	f.converge(3, order, 6)
	before := f.uids()
	for _, rows := range [][]string{f.rows[:20], nil} { // 80 % gone, then an empty source
		f.rows = rows
		for range 6 {
			f.round(order)
		}
		f.noTenantDeleted()
		require.Equal(t, before, f.uids())
		c := condition(f.reg, "DeletionBlocked")
		require.Equal(t, "True", c["status"], "%v", f.reg["status"])
		for _, s := range f.w.List("TenantShard") {
			require.Equal(t, "True", condition(s, "DeletionPending")["status"])
		}
	}
	// The one-time allowance from the message deletes exactly the pending set.
	f.rows = before2rows(before)[:20]
	for range 3 {
		f.round(order)
	}
	msg := condition(f.reg, "DeletionBlocked")["message"].(string)
	token := msg[strings.LastIndex(msg, "=")+1 : strings.LastIndex(msg, " --overwrite")]
	f.w.Edit(f.reg, func(o object.Obj) {
		object.SetNested(o, token, "metadata", "annotations", render.AnnotationAllowDeletion)
	})
	f.deleting = true
	for range 4 {
		f.round(order)
	}
	require.True(t, f.settled(3))
	require.Len(t, f.w.Deleted, 80)
	require.Equal(t, "False", condition(f.reg, "DeletionBlocked")["status"])
}

func before2rows(uids map[string]string) []string {
	var out []string
	for n := range uids {
		out = append(out, strings.TrimSuffix(n, "-web"))
	}
	// sorted, as newFleet made them
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestShardsOutage(t *testing.T) {
	f := newFleet(t, 90, nil)
	for range 3 {
		f.round("registry,settle")
	}
	before := f.uids()
	f.w.Edit(f.reg, func(o object.Obj) { o["spec"].(map[string]any)["sharding"] = map[string]any{"shards": 3} })
	f.round(order) // shards exist, the handover has started
	f.outage = true
	for range 5 {
		f.round(order)
	}
	f.noTenantDeleted()
	require.Equal(t, before, f.uids())
	f.outage = false
	f.converge(3, order, 6)
	require.Equal(t, before, f.uids())
	f.outage = true
	for range 3 {
		f.round(order)
	}
	require.True(t, f.settled(3), "the registry re-emits its shards and the shards keep their Tenants while nobody can read")
	require.Empty(t, f.w.Deleted)
	require.Equal(t, "False", condition(f.reg, "DatabaseReachable")["status"], "the registry says so: %v", f.reg["status"])
	for _, s := range f.w.List("TenantShard") {
		require.Equal(t, "False", condition(s, "DatabaseReachable")["status"], "and so does every shard")
	}
	f.outage = false
	f.converge(3, order, 4)
	require.Equal(t, before, f.uids())
	require.Equal(t, "True", condition(f.reg, "DatabaseReachable")["status"])
}

func TestShardsRelayoutRefused(t *testing.T) {
	f := newFleet(t, 90, map[string]any{"shards": 3})
	f.converge(3, order, 6)
	before := f.uids()
	// The CRD refuses this; the hook must be safe even when it arrives.
	f.w.Edit(f.reg, func(o object.Obj) { o["spec"].(map[string]any)["sharding"] = map[string]any{"shards": 5} })
	for range 4 {
		f.round(order)
	}
	require.True(t, f.settled(3))
	require.Equal(t, before, f.uids())
	require.Len(t, f.w.List("TenantShard"), 3)
	require.Equal(t, "LayoutChangeRefused", condition(f.reg, "ShardLayout")["reason"])
	require.Empty(t, f.w.Deleted)
}
