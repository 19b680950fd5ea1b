package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/tenant-hooks/tenant-hooks/datasource"
	"hash"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Sharding (docs/sharding.md): a registry with spec.sharding answers
// TenantShards instead of Tenants; each shard answers its part of the
// Tenants. Everything here is additive: a registry without spec.sharding
// never reaches this file.

const (
	// LabelShard is the shard index a sharded registry's Tenant belongs to;
	// the handover decorator selects Tenants by it.
	LabelShard = Prefix + "shard"
	// AnnotationShardName names that shard.
	AnnotationShardName = Prefix + "shard-name"
	// LabelHandover marks a Tenant its registry owns from before it was
	// sharded; the handover decorator selects only these, and the shard's
	// first apply after adopting the Tenant removes the mark.
	LabelHandover = Prefix + "handover"
	// AnnotationHandoverTo is the uid of the shard the Tenant goes to.
	AnnotationHandoverTo = Prefix + "handover-to"

	DefaultMaxTenantsPerShard = 2000
	MaxMaxTenantsPerShard     = 5000
	MaxShards                 = 1024
)

// Sharding is spec.sharding of a registry.
type Sharding struct {
	Shards, MaxTenantsPerShard int
}

// ParseSharding reads spec.sharding; nil when the registry is not sharded.
func ParseSharding(o object.Obj) (*Sharding, error) {
	m := object.NestedMap(o, "spec", "sharding")
	if m == nil {
		return nil, nil
	}
	s := &Sharding{MaxTenantsPerShard: DefaultMaxTenantsPerShard}
	n, ok := object.Int64(m, "shards")
	if !ok || n < 1 || n > MaxShards {
		return nil, &SpecError{Problems: []string{fmt.Sprintf("spec.sharding.shards must be an integer in 1..%d", MaxShards)}}
	}
	s.Shards = int(n)
	if v, ok := object.Int64(m, "maxTenantsPerShard"); ok {
		if v < 1 || v > MaxMaxTenantsPerShard {
			return nil, &SpecError{Problems: []string{fmt.Sprintf("spec.sharding.maxTenantsPerShard must be in 1..%d", MaxMaxTenantsPerShard)}}
		}
		s.MaxTenantsPerShard = int(v)
	}
	return s, nil
}

// IsSharded reports whether a registry object asks for shards (whatever
// the rest of its spec says).
func IsSharded(o object.Obj) bool { return object.NestedMap(o, "spec", "sharding") != nil }

// ShardIndex is the shard of a Tenant name: stable while the count is.
// Colliding names share their base name, hence their shard.
func ShardIndex(tenantName string, shards int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(tenantName))
	return int(h.Sum32() % uint32(shards))
}

// ShardName is the name of a registry's shard.
func ShardName(registry string, index int) string {
	n := registry + "-shard-" + strconv.Itoa(index)
	if len(n) > 253 {
		return names.Sanitize(n, 253)
	}
	return n
}

// ShardKind is the shard kind of a registry scope.
func ShardKind(namespace string) string {
	if namespace == "" {
		return "ClusterTenantShard"
	}
	return "TenantShard"
}

// IsShardKind reports whether kind is one of the shard kinds.
func IsShardKind(kind string) bool { return kind == "TenantShard" || kind == "ClusterTenantShard" }

// ObservedShard is what a registry sync reads of one observed shard: its
// place in the layout, the revision of its rows and its status.
type ObservedShard struct {
	Name, UID                      string
	Index, Shards                  int
	Revision                       string // spec.rowsRevision: what its registry last read
	ReportedRevision               string // status.rowsRevision: what its last answer used
	Generation, ObservedGeneration int64
	Reported                       bool // has a status written by a shard sync
	Desired, Tenants, Observed     int
	Ready, Failed                  int
	Pending                        int
	PendingToken                   string
}

// ObserveShard summarises an observed shard for its registry's sync.
func ObserveShard(o object.Obj) ObservedTenant {
	s := &ObservedShard{Name: object.Name(o), UID: object.UID(o), Generation: object.Generation(o)}
	i := func(path ...string) int { v, _ := object.Int64(o, path...); return int(v) }
	s.Index, s.Shards = i("spec", "index"), i("spec", "shards")
	s.Revision = object.String(o, "spec", "rowsRevision")
	s.ReportedRevision = object.String(o, "status", "rowsRevision")
	st := object.NestedMap(o, "status")
	if st != nil {
		_, s.Reported = object.Int64(st, "observed")
	}
	s.ObservedGeneration, _ = object.Int64(o, "status", "observedGeneration")
	s.Desired, s.Tenants, s.Observed = i("status", "desired"), i("status", "tenants"), i("status", "observed")
	s.Ready, s.Failed = i("status", "ready"), i("status", "failed")
	s.Pending = i("status", "pendingDeletion", "count")
	s.PendingToken = object.String(o, "status", "pendingDeletion", "token")
	return ObservedTenant{Name: s.Name, Terminating: object.Terminating(o), Shard: s}
}

// ShardError is a sharded registry that cannot be answered without
// dropping a shard: the hook answers non-200 and Metacontroller keeps all.
type ShardError struct{ Msg string }

func (e *ShardError) Error() string { return e.Msg }

// tenantShard is the shard of a row × template: the index of its base name,
// before any collision hash, so that colliding Tenants share a shard and
// the shard resolves their names exactly as an unsharded registry does.
func tenantShard(uid, template string, shards int) int {
	return ShardIndex(names.TenantName(uid, template), shards)
}

// observedTenantShard is the shard of an observed Tenant: that of the row
// and template its spec names, or of its name when the spec names none.
func observedTenantShard(o ObservedTenant, shards int) int {
	if o.Kept != nil {
		t := o.Kept()
		uid, tpl := object.String(t, "spec", "uid"), object.String(t, "spec", "templateRef")
		if uid != "" && tpl != "" {
			return tenantShard(uid, tpl, shards)
		}
	}
	return ShardIndex(o.Name, shards)
}

// shardHasher folds the rows of one or every shard into their revisions:
// a row's uid, the templates whose Tenant of it falls into the shard, and
// its values. Rows arrive sorted by uid (datasource.Evaluate), so the
// revision of the same rows is the same string on every replica.
type shardHasher struct {
	templates []string
	shards    int
	idx       []int // per template, the shard of the current row's Tenant
	buf       []byte
}

func newShardHasher(templates []string, shards int) *shardHasher {
	return &shardHasher{templates: templates, shards: shards, idx: make([]int, len(templates))}
}

// place computes the shards of rec's Tenants.
func (h *shardHasher) place(rec datasource.Record) {
	for i, t := range h.templates {
		h.idx[i] = tenantShard(rec.UID, t, h.shards)
	}
}

// write folds rec's part in shard into w and returns how many of its
// Tenants are there.
func (h *shardHasher) write(w hash.Hash, rec datasource.Record, shard int) int {
	b := append(h.buf[:0], rec.UID...)
	b = append(b, 0)
	n := 0
	for i, t := range h.templates {
		if h.idx[i] == shard {
			b = append(b, t...)
			b = append(b, 1)
			n++
		}
	}
	for k, v := range rec.Values.All() { // in the byte order of the names
		b = append(b, k...)
		b = append(b, 2)
		b = append(b, v...)
		b = append(b, 3)
	}
	b = append(b, '\n')
	_, _ = w.Write(b)
	h.buf = b
	return n
}

func revision(w hash.Hash) string { return hex.EncodeToString(w.Sum(nil))[:16] }

// ShardPlan is what a sharded registry computes of its rows for every
// shard: how many Tenants it holds and the revision of its rows.
type ShardPlan struct {
	Counts    []int
	Revisions []string
}

// PlanShards walks the active rows once for every shard of a layout.
func PlanShards(active []datasource.Record, templates []string, shards int) ShardPlan {
	return partitionShards(active, templates, shards, false).ShardPlan
}

// ShardPartition is a layout's split of a registry's rows: each shard's
// rows and their revision, from one walk. Every shard sync of one snapshot
// of the rows needs its part; computed once per snapshot (the hooks keep it
// with the snapshot, datasource/snapshot.Memo), a shard sync costs its own
// rows instead of a walk over all of them.
type ShardPartition struct {
	ShardPlan
	active []datasource.Record
	rows   [][]int32 // per shard, indexes into active, ascending
}

// PartitionShards is PlanShards that also keeps which rows each shard has.
func PartitionShards(active []datasource.Record, templates []string, shards int) *ShardPartition {
	return partitionShards(active, templates, shards, true)
}

func partitionShards(active []datasource.Record, templates []string, shards int, keep bool) *ShardPartition {
	p := &ShardPartition{ShardPlan: ShardPlan{Counts: make([]int, shards), Revisions: make([]string, shards)}, active: active}
	if keep {
		p.rows = make([][]int32, shards)
	}
	hs := make([]hash.Hash, shards)
	for i := range hs {
		hs[i] = sha256.New()
	}
	h := newShardHasher(templates, shards)
	seen := make([]int, shards) // last row index+1 written to each shard
	for r, rec := range active {
		h.place(rec)
		for _, idx := range h.idx {
			if seen[idx] == r+1 {
				continue
			}
			seen[idx] = r + 1
			p.Counts[idx] += h.write(hs[idx], rec, idx)
			if keep {
				p.rows[idx] = append(p.rows[idx], int32(r))
			}
		}
	}
	for i := range hs {
		p.Revisions[i] = revision(hs[i])
	}
	return p
}

// Rows is ShardRows(rows, templates, index, shards) for the rows and
// layout the partition was made from.
func (p *ShardPartition) Rows(index int) (datasource.Result, string) {
	sub := make([]datasource.Record, len(p.rows[index]))
	for i, r := range p.rows[index] {
		sub[i] = p.active[r]
	}
	return datasource.Result{Active: sub, Total: len(sub)}, p.Revisions[index]
}

// ShardRows keeps the rows with a Tenant in shard index of a layout of
// shards, and returns them (still sorted) with their revision — the same
// string PlanShards computes for that shard from the same rows. A shard
// hook compares it with its spec.rowsRevision to tell whether its rows are
// those its registry last read.
func ShardRows(rows datasource.Result, templates []string, index, shards int) (datasource.Result, string) {
	w := sha256.New()
	h := newShardHasher(templates, shards)
	var sub []datasource.Record
	for _, rec := range rows.Active {
		h.place(rec)
		if slices.Contains(h.idx, index) {
			h.write(w, rec, index)
			sub = append(sub, rec)
		}
	}
	return datasource.Result{Active: sub, Total: len(sub)}, revision(w)
}

// SyncShardedRegistry is the registry sync of a sharded registry: the same
// rows, row reports and counts as SyncRegistry, answered as one TenantShard
// per shard, plus every Tenant the registry still owns from before it was
// sharded, labelled for the handover (never deleted here). A shard carries
// a copy of the registry's spec and the revision of its rows, not its
// Tenants: it reads the rows itself (docs/sharding.md §1), so no request
// grows with the row count. The mass-deletion guard is applied to the
// whole registry from the shards' reported pending deletions (§4). With
// outage set, the rows could not be read: every shard is answered as
// observed (its revision unchanged), nothing is approved, and the status
// says what failed.
func (e *Engine) SyncShardedRegistry(ctx context.Context, in RegistryInput, outage *SourceOutage) (RegistryOutput, error) {
	reg, err := ParseRegistry(in.Registry)
	if err != nil {
		return RegistryOutput{}, &ShardError{Msg: fmt.Sprintf("registry %s: %v; a sharded registry is answered only with every shard, so nothing is changed", ObjRef(in.Registry), err)}
	}
	sh, err := ParseSharding(in.Registry)
	if err != nil || sh == nil {
		return RegistryOutput{}, &ShardError{Msg: fmt.Sprintf("registry %s: %v", ObjRef(in.Registry), err)}
	}
	var legacy []ObservedTenant
	shards := map[int]*ObservedShard{}
	layout := sh.Shards
	for _, o := range in.Observed {
		if o.Shard == nil {
			legacy = append(legacy, o)
			continue
		}
		if o.Shard.Shards > 0 && o.Shard.Shards != sh.Shards {
			layout = o.Shard.Shards
		}
	}
	var conds []any
	if layout != sh.Shards {
		conds = append(conds, condition("ShardLayout", "False", "LayoutChangeRefused",
			fmt.Sprintf("spec.sharding.shards is %d but the registry's shards were laid out for %d; the layout is kept (changing it would move Tenants between parents)", sh.Shards, layout)))
	} else {
		conds = append(conds, condition("ShardLayout", "True", "Stable", fmt.Sprintf("%d shards", layout)))
	}
	for _, o := range in.Observed {
		if o.Shard == nil {
			continue
		}
		s := o.Shard
		if s.Shards != layout || s.Index < 0 || s.Index >= layout || s.Name != ShardName(reg.Name, s.Index) {
			// Dropping it would let the garbage collector delete its Tenants.
			return RegistryOutput{}, &ShardError{Msg: fmt.Sprintf("registry %s: observed shard %s (index %d of %d) is not part of the layout of %d shards; refusing to answer without it", ObjRef(in.Registry), s.Name, s.Index, s.Shards, layout)}
		}
		shards[s.Index] = s
	}

	// The guard's and the counts' inputs from the shards' reports.
	existing, pending := 0, 0
	var tokens []string
	for _, o := range legacy {
		if !o.Terminating {
			existing++
		}
	}
	ready, failed := countTenants(legacy)
	reported, observedDesired := 0, 0
	for i := 0; i < layout; i++ {
		if s := shards[i]; s != nil {
			existing += s.Observed
			ready += s.Ready
			failed += s.Failed
			observedDesired += s.Desired
			if s.Reported {
				reported++
			}
			if s.Pending > 0 {
				pending += s.Pending
				tokens = append(tokens, s.Name+"="+s.PendingToken)
			}
		}
	}

	out := RegistryOutput{ResyncAfter: reg.SyncInterval}
	allow := map[int]string{}
	revisions := make([]string, layout)
	var status map[string]any
	largest := 0
	wanted := observedDesired
	if outage != nil {
		// Nothing is known of the rows: every shard keeps its revision, so
		// no shard is told to re-read, and no deletion is approved.
		for i, s := range shards {
			revisions[i] = s.Revision
		}
		failures := failuresAfter(in.Registry)
		out.ResyncAfter = OutageBackoff(failures)
		status = map[string]any{"desired": wanted, StatusConsecutiveFailures: failures}
		conds = append(conds, condition("DatabaseReachable", "False", outage.Reason, outage.Message),
			condition("Ready", "False", "SourceUnavailable", "the rows could not be read (see DatabaseReachable); every shard and Tenant is kept unchanged"))
	} else {
		// Every row × template is one Tenant (colliding names are hashed
		// apart, never merged), so the count needs no names: naming the
		// registry's Tenants is each shard's work, for its own.
		templates, _ := e.referencing(in.Templates, reg)
		plan := PlanShards(in.Rows.Active, templates, layout)
		copy(revisions, plan.Revisions)
		for _, c := range plan.Counts {
			largest = max(largest, c)
		}
		wanted = len(templates) * len(in.Rows.Active)
		var report []any
		status, report = rowReport(in.Rows, len(templates))
		status["desired"] = wanted

		// The guard, over the whole registry.
		if pending > 0 {
			empty := wanted == 0
			why := massDeletion(reg, pending, existing, empty, in.Rows.Skipped)
			if token := deletionToken(tokens); why != "" && reg.AllowDeletion != token {
				conds = append(conds, guardCondition(reg, why+"; their shards keep them", token))
				out.GuardActivated = true
				out.BlockedDeletion = pending
			} else {
				// A shard's pending set is what its own read of the rows and
				// templates no longer asks for. It is approved only when that
				// read is the registry's: the revision covers the shard's rows
				// and the templates of its Tenants, so equal revisions mean the
				// registry wants none of those Tenants either. A shard that read
				// other rows (a snapshot of another time, a template not yet
				// delivered to it) keeps them until the two agree.
				for i, s := range shards {
					if s.Pending > 0 && s.ReportedRevision == revisions[i] {
						allow[i] = s.PendingToken
					}
				}
			}
		}
		if !out.GuardActivated {
			conds = append(conds, condition("DeletionBlocked", "False", "WithinGuard", ""))
		}
		if largest > sh.MaxTenantsPerShard {
			conds = append(conds, condition("ShardsOverCapacity", "True", "ShardTooLarge",
				fmt.Sprintf("the largest shard has %d Tenants, above spec.sharding.maxTenantsPerShard %d; every Tenant is still answered, but the registry needs more shards (docs/sharding.md)", largest, sh.MaxTenantsPerShard)))
		} else {
			conds = append(conds, condition("ShardsOverCapacity", "False", "WithinCapacity", ""))
		}
		// Status: the registry's own row report, counts summed over the shards.
		conds = append(conds, report...)
		switch {
		case len(templates) == 0:
			conds = append(conds, noTemplates(reg))
		case out.GuardActivated:
			conds = append(conds, condition("Ready", "False", "DeletionBlocked", "a mass deletion is waiting for approval (see DeletionBlocked)"))
		case failed > 0:
			conds = append(conds, condition("Ready", "False", "TenantsFailed", fmt.Sprintf("%d/%d Tenants ready, %d failed", ready, wanted, failed)))
		case pending > 0:
			conds = append(conds, condition("Ready", "False", "DeletionsPending", fmt.Sprintf("%d Tenants whose rows are gone are being deleted by their shards", pending)))
		case ready < wanted || len(legacy) > 0:
			conds = append(conds, condition("Ready", "False", "TenantsNotReady", fmt.Sprintf("%d/%d Tenants ready, %d still to be handed over to their shards", ready, wanted, len(legacy))))
		default:
			conds = append(conds, condition("Ready", "True", "AllTenantsReady", fmt.Sprintf("%d/%d Tenants ready", ready, wanted)))
		}
	}
	status["ready"], status["failed"] = ready, failed
	status["blockedDeletions"] = out.BlockedDeletion
	status["pendingDeletions"] = pending
	behind := 0
	for i, s := range shards {
		if s.Reported && s.ReportedRevision != revisions[i] {
			behind++
		}
	}
	status["sharding"] = map[string]any{"shards": layout, "maxTenantsPerShard": sh.MaxTenantsPerShard, "largestShard": largest, "reporting": reported,
		"unshardedTenants": len(legacy), "shardsOnOtherRows": behind}
	sortConditions(conds)
	status["conditions"] = conds
	out.Status = status
	out.Desired, out.Ready, out.Failed = wanted, ready, failed

	sort.Slice(legacy, func(i, j int) bool { return legacy[i].Name < legacy[j].Name })
	out.NumChildren = layout + len(legacy)
	regSpec := object.DeepCopyMap(object.NestedMap(in.Registry, "spec"))
	delete(regSpec, "sharding")
	out.Children = func(yield func(object.Obj) bool) {
		for i := 0; i < layout; i++ {
			if !yield(reg.shard(i, layout, regSpec, revisions[i], allow[i])) {
				return
			}
		}
		for _, o := range legacy {
			t := o.Kept()
			// Hand the Tenant to its shard once that exists: the decorator
			// turns its controller-uid into the shard's, Metacontroller then
			// releases it here and the shard adopts it (docs/sharding.md §5).
			if s := shards[observedTenantShard(o, layout)]; s != nil && s.UID != "" && !o.Terminating {
				object.SetNested(t, "true", "metadata", "labels", LabelHandover)
				object.SetNested(t, s.UID, "metadata", "annotations", AnnotationHandoverTo)
			}
			if !yield(t) {
				return
			}
		}
	}
	return out, nil
}

func (r *Registry) shard(i, n int, regSpec map[string]any, rev, allow string) object.Obj {
	spec := map[string]any{"registry": r.Name, "index": i, "shards": n, "templateNamespace": r.TemplateNamespace,
		"registrySpec": object.DeepCopyMap(regSpec)}
	if rev != "" {
		spec["rowsRevision"] = rev
	}
	if allow != "" {
		spec["allowDeletion"] = allow
	}
	md := map[string]any{"name": ShardName(r.Name, i), "labels": map[string]any{LabelRegistry: names.LabelValue(r.Name), LabelShard: strconv.Itoa(i)}}
	if r.Namespace != "" {
		md["namespace"] = r.Namespace
	}
	return map[string]any{"apiVersion": APIVersion, "kind": ShardKind(r.Namespace), "metadata": md, "spec": spec}
}

// ShardSpec is a shard's place in its registry's layout and the registry
// it reads its rows for, rebuilt from the copy of the registry's spec.
type ShardSpec struct {
	Registry      *Registry
	Index, Shards int
	Revision      string // the revision of the rows its registry last read
	AllowDeletion string
}

// RegistryOf is the registry object a shard stands for: its registry's name
// and scope, and the copy of its spec (spec.registrySpec).
func RegistryOf(shard object.Obj) object.Obj {
	md := map[string]any{"name": object.String(shard, "spec", "registry")}
	kind := "ClusterTenantRegistry"
	if ns := object.Namespace(shard); ns != "" {
		md["namespace"] = ns
		kind = "TenantRegistry"
	}
	spec := object.NestedMap(shard, "spec", "registrySpec")
	if spec == nil {
		spec = map[string]any{}
	}
	return map[string]any{"apiVersion": APIVersion, "kind": kind, "metadata": md, "spec": spec}
}

// ParseShard reads a shard's spec.
func ParseShard(shard object.Obj) (*ShardSpec, error) {
	var problems []string
	idx, okI := object.Int64(shard, "spec", "index")
	n, okN := object.Int64(shard, "spec", "shards")
	if !okN || n < 1 || n > MaxShards {
		problems = append(problems, fmt.Sprintf("spec.shards must be an integer in 1..%d", MaxShards))
	} else if !okI || idx < 0 || idx >= n {
		problems = append(problems, "spec.index must be an integer in 0..spec.shards-1")
	}
	if object.String(shard, "spec", "registry") == "" {
		problems = append(problems, "spec.registry is required")
	}
	if object.NestedMap(shard, "spec", "registrySpec") == nil {
		problems = append(problems, "spec.registrySpec is required (written by the registry's sync)")
	}
	if len(problems) > 0 {
		return nil, &SpecError{Problems: problems}
	}
	reg, err := ParseRegistry(RegistryOf(shard))
	if err != nil {
		return nil, err
	}
	return &ShardSpec{Registry: reg, Index: int(idx), Shards: int(n),
		Revision: object.String(shard, "spec", "rowsRevision"), AllowDeletion: object.String(shard, "spec", "allowDeletion")}, nil
}

// ShardTemplates is the sorted names of the delivered templates that
// reference the shard's registry: what ShardRows needs to place rows.
func (e *Engine) ShardTemplates(delivered []object.Obj, s *ShardSpec) []string {
	names, _ := e.referencing(delivered, s.Registry)
	return names
}

// ShardInput is a shard sync's request.
type ShardInput struct {
	Shard     object.Obj
	Templates []object.Obj // the TenantTemplates delivered; filtered here
	Observed  []ObservedTenant
	// Rows are the registry's rows as the shard's hook read them: all, or
	// ShardRows' part of them (SyncShard keeps the Tenants of its index).
	Rows datasource.Result
	// Revision is ShardRows' revision of Rows, shown in status.
	Revision string
	// Outage is set when the rows could not be read: every observed Tenant
	// is kept.
	Outage *SourceOutage
}

// SyncShard answers a shard's Tenants: those of its registry's rows whose
// base name hashes to its index, named and claimed exactly as SyncRegistry
// does for an unsharded registry (the holder rule of colliding names
// included: colliding Tenants share a shard), plus observed ones it no
// longer wants unless the registry approved exactly that set of deletions
// (spec.allowDeletion). Its request is bounded by the shard's size.
func (e *Engine) SyncShard(ctx context.Context, in ShardInput) RegistryOutput {
	live := 0
	for _, o := range in.Observed {
		if !o.Terminating {
			live++
		}
	}
	spec, err := ParseShard(in.Shard)
	if err != nil {
		// An unusable spec keeps every observed Tenant.
		out := keepTenants(in.ToRegistryInput(), nil, "InvalidSpec", "invalid shard spec: "+err.Error())
		out.ResyncAfter = 0
		out.Status["observed"] = live
		return out
	}
	if in.Outage != nil {
		failures := failuresAfter(in.Shard)
		out := keepTenants(in.ToRegistryInput(), spec.Registry, "SourceUnavailable", "the rows could not be read (see DatabaseReachable)")
		out.ResyncAfter = OutageBackoff(failures)
		conds := append(out.Status["conditions"].([]any), condition("DatabaseReachable", "False", in.Outage.Reason, in.Outage.Message))
		sortConditions(conds)
		out.Status["conditions"] = conds
		out.Status["observed"] = live
		out.Status["tenants"] = out.NumChildren
		out.Status[StatusConsecutiveFailures] = failures
		return out
	}
	reg := spec.Registry
	templates, parsed := e.referencing(in.Templates, reg)
	observed := observedByName(in.Observed)
	shardName := object.Name(in.Shard)
	index := strconv.Itoa(spec.Index)
	named := nameTenants(in.Rows.Active, templates, in.Observed, observed, func(base string) bool {
		return ShardIndex(base, spec.Shards) == spec.Index
	})
	desired := make(map[string]object.Obj, len(named))
	for _, en := range named {
		// The Tenant an unsharded registry answers, plus its shard's marks.
		t := e.claimedTenant(ctx, reg, in.Rows.Active[en.row], en.name, parsed[en.template], en.template, observedAt(in.Observed, observed, en.name))
		md := t["metadata"].(map[string]any)
		md["labels"].(map[string]any)[LabelShard] = index
		md["annotations"] = map[string]any{AnnotationShardName: shardName}
		desired[en.name] = t
	}
	ready, failed := countTenants(in.Observed)
	var pending []string
	for _, n := range ordered.Keys(observed) {
		if desired[n] == nil && !in.Observed[observed[n]].Terminating {
			pending = append(pending, n)
		}
	}
	token := ""
	approved := false
	if len(pending) > 0 {
		token = deletionToken(pending)
		approved = spec.AllowDeletion == token
	}
	keep := map[string]bool{}
	if !approved {
		for _, n := range pending {
			keep[n] = true
		}
	}
	order := make([]string, 0, len(desired)+len(keep))
	for n := range desired {
		order = append(order, n)
	}
	for n := range keep {
		order = append(order, n)
	}
	sort.Strings(order)
	conds := []any{condition("DatabaseReachable", "True", "QuerySucceeded", fmt.Sprintf("%d rows with Tenants in this shard", len(in.Rows.Active)))}
	pend := map[string]any{"count": 0}
	switch {
	case approved:
		conds = append(conds, condition("DeletionPending", "False", "Approved", fmt.Sprintf("%d Tenants deleted as approved by the registry", len(pending))))
	case len(pending) > 0:
		pend = map[string]any{"count": len(pending), "token": token}
		conds = append(conds, condition("DeletionPending", "True", "AwaitingRegistry", fmt.Sprintf("%d Tenants are no longer wanted; they are kept until the registry's mass-deletion guard approves exactly this set", len(pending))))
	default:
		conds = append(conds, condition("DeletionPending", "False", "NothingPending", ""))
	}
	switch {
	case len(templates) == 0:
		conds = append(conds, condition("Ready", "False", "NoTemplates", fmt.Sprintf("no TenantTemplate in namespace %q has spec.registryId %q", reg.TemplateNamespace, reg.Name)))
	case failed > 0:
		conds = append(conds, condition("Ready", "False", "TenantsFailed", fmt.Sprintf("%d/%d Tenants ready, %d failed", ready, len(desired), failed)))
	case ready < len(desired):
		conds = append(conds, condition("Ready", "False", "TenantsNotReady", fmt.Sprintf("%d/%d Tenants ready", ready, len(desired))))
	default:
		conds = append(conds, condition("Ready", "True", "AllTenantsReady", fmt.Sprintf("%d/%d Tenants ready", ready, len(desired))))
	}
	sortConditions(conds)
	status := map[string]any{
		"desired": len(desired), "tenants": len(order), "observed": live, "ready": ready, "failed": failed,
		"pendingDeletion": pend, "conditions": conds,
	}
	if in.Revision != "" {
		status["rowsRevision"] = in.Revision
	}
	out := RegistryOutput{NumChildren: len(order), Desired: len(desired), Ready: ready, Failed: failed, Status: status}
	if !approved {
		out.BlockedDeletion = len(pending)
	}
	out.Children = func(yield func(object.Obj) bool) {
		for _, n := range order {
			var t object.Obj
			if d := desired[n]; d != nil {
				t = object.DeepCopyMap(d)
			} else {
				t = in.Observed[observed[n]].Kept()
			}
			if !yield(t) {
				return
			}
		}
	}
	return out
}

// ToRegistryInput lets a shard reuse the registry's keep-everything answer.
func (in ShardInput) ToRegistryInput() RegistryInput {
	return RegistryInput{Registry: in.Shard, Observed: in.Observed}
}

// Handover is the handover decorator's answer for a Tenant: the label
// change that makes Metacontroller release it from its registry and its
// shard adopt it, or nil when there is nothing to change. It only copies
// what the Tenant's owner wrote into the Tenant's own annotation, so it
// grants nothing that editing the Tenant's labels would not.
func Handover(tenant object.Obj) map[string]*string {
	if object.String(tenant, "metadata", "labels", LabelHandover) != "true" || object.Terminating(tenant) {
		return nil
	}
	to := object.String(tenant, "metadata", "annotations", AnnotationHandoverTo)
	if to == "" || object.String(tenant, "metadata", "labels", LabelControllerUID) == to {
		return nil
	}
	return map[string]*string{LabelControllerUID: &to}
}
