package render

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

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
// place in the layout and its status, never its (large) spec.
type ObservedShard struct {
	Name, UID                      string
	Index, Shards                  int
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

// SyncShardedRegistry is the registry sync of a sharded registry: the same
// rows, names, claims and row reports as SyncRegistry, answered as one
// TenantShard per shard, plus every Tenant the registry still owns from
// before it was sharded, labelled for the handover (never deleted here).
// The mass-deletion guard is applied to the whole registry from the
// shards' reported pending deletions (docs/sharding.md §4).
func (e *Engine) SyncShardedRegistry(ctx context.Context, in RegistryInput) (RegistryOutput, error) {
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

	base := e.SyncRegistry(ctx, RegistryInput{Registry: in.Registry, Templates: in.Templates, Rows: in.Rows, NoClaims: true})
	// Split the desired Tenants by shard, each shard's list kept as one
	// compact JSON array of {name, uid, template, values}: a registry of
	// 100,000 Tenants holds their bytes, not 100,000 maps.
	per := make([][]byte, layout)
	counts := make([]int, layout)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for t := range base.Children {
		name := object.Name(t)
		idx := ShardIndex(name, layout)
		// Only what the shard cannot derive: the rest of the Tenant is
		// rebuilt by the same Registry.tenant (SyncShard).
		entry := map[string]any{"name": name, "uid": object.String(t, "spec", "uid"),
			"template": object.String(t, "spec", "templateRef"), "values": object.NestedMap(t, "spec", "values")}
		buf.Reset()
		if err := enc.Encode(entry); err != nil {
			return RegistryOutput{}, fmt.Errorf("registry %s: encoding Tenant %s: %w", ObjRef(in.Registry), name, err)
		}
		if counts[idx] == 0 {
			per[idx] = append(per[idx], '[')
		} else {
			per[idx] = append(per[idx], ',')
		}
		per[idx] = append(per[idx], bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		counts[idx]++
	}
	for i := range per {
		if counts[i] == 0 {
			per[i] = []byte("[]")
		} else {
			per[i] = append(per[i], ']')
		}
	}

	// The guard, over the whole registry.
	existing, pending := 0, 0
	var tokens []string
	for _, o := range legacy {
		if !o.Terminating {
			existing++
		}
	}
	for i := 0; i < layout; i++ {
		if s := shards[i]; s != nil {
			existing += s.Observed
			if s.Pending > 0 {
				pending += s.Pending
				tokens = append(tokens, s.Name+"="+s.PendingToken)
			}
		}
	}
	allow := map[int]string{}
	out := RegistryOutput{ResyncAfter: reg.SyncInterval}
	if pending > 0 {
		share := 100
		if existing > 0 {
			share = pending * 100 / existing
		}
		empty := len(in.Rows.Active) == 0 || base.Desired == 0
		unidentified := in.Rows.Skipped > 0
		token := deletionToken(tokens)
		if (empty || unidentified || share > reg.MaxDeletePct) && reg.AllowDeletion != token {
			why := fmt.Sprintf("%d of %d Tenants (%d%%) would be deleted, above the guard's %d%%", pending, existing, share, reg.MaxDeletePct)
			switch {
			case empty:
				why = fmt.Sprintf("the source returned no active rows (or no template references the registry) while %d Tenants exist", existing)
			case unidentified && share <= reg.MaxDeletePct:
				why = fmt.Sprintf("%d of %d Tenants would be deleted while %d active rows have a NULL or empty uid (see status.skippedRows)", pending, existing, in.Rows.Skipped)
			}
			conds = append(conds, condition("DeletionBlocked", "True", "MassDeletionGuard",
				fmt.Sprintf("%s; their shards keep them. If this is intended, allow it once with: kubectl annotate %s %s %s=%s --overwrite",
					why, strings.ToLower(reg.Kind), object.ObjKey("", reg.Name)+nsFlag(reg.Namespace), AnnotationAllowDeletion, token)))
			out.GuardActivated = true
			out.BlockedDeletion = pending
		} else {
			for i, s := range shards {
				if s.Pending > 0 {
					allow[i] = s.PendingToken
				}
			}
		}
	}
	if !out.GuardActivated {
		conds = append(conds, condition("DeletionBlocked", "False", "WithinGuard", ""))
	}

	ready, failed := countTenants(legacy)
	largest, reported := 0, 0
	for i := 0; i < layout; i++ {
		largest = max(largest, counts[i])
		if s := shards[i]; s != nil {
			ready += s.Ready
			failed += s.Failed
			if s.Reported {
				reported++
			}
		}
	}
	if largest > sh.MaxTenantsPerShard {
		conds = append(conds, condition("ShardsOverCapacity", "True", "ShardTooLarge",
			fmt.Sprintf("the largest shard has %d Tenants, above spec.sharding.maxTenantsPerShard %d; every Tenant is still answered, but the registry needs more shards (docs/sharding.md)", largest, sh.MaxTenantsPerShard)))
	} else {
		conds = append(conds, condition("ShardsOverCapacity", "False", "WithinCapacity", ""))
	}

	// Status: the registry's own row report, counts summed over the shards.
	status := base.Status
	status["ready"], status["failed"] = ready, failed
	status["blockedDeletions"] = out.BlockedDeletion
	status["pendingDeletions"] = pending
	status["sharding"] = map[string]any{"shards": layout, "maxTenantsPerShard": sh.MaxTenantsPerShard, "largestShard": largest, "reporting": reported, "unshardedTenants": len(legacy)}
	wanted := base.Desired
	for _, c := range object.NestedSlice(base.Status, "conditions") {
		if m, ok := c.(map[string]any); ok && (m["type"] == "DatabaseReachable" || m["type"] == "RowsSkipped") {
			conds = append(conds, m)
		}
	}
	switch {
	case object.String(conditionOf(base.Status, "Ready"), "reason") == "NoTemplates":
		conds = append(conds, conditionOf(base.Status, "Ready"))
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
	sortConditions(conds)
	status["conditions"] = conds
	out.Status = status
	out.Desired, out.Ready, out.Failed = wanted, ready, failed

	sort.Slice(legacy, func(i, j int) bool { return legacy[i].Name < legacy[j].Name })
	out.NumChildren = layout + len(legacy)
	// Children may be iterated once: each shard's bytes are released as it
	// is yielded, so an encoder never holds them twice.
	out.Children = func(yield func(object.Obj) bool) {
		for i := 0; i < layout; i++ {
			raw := per[i]
			per[i] = nil
			if raw == nil {
				panic("SyncShardedRegistry's Children iterated twice")
			}
			if !yield(reg.shard(i, layout, raw, allow[i])) {
				return
			}
		}
		for _, o := range legacy {
			t := o.Kept()
			// Hand the Tenant to its shard once that exists: the decorator
			// turns its controller-uid into the shard's, Metacontroller then
			// releases it here and the shard adopts it (docs/sharding.md §5).
			if s := shards[ShardIndex(o.Name, layout)]; s != nil && s.UID != "" && !o.Terminating {
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

func conditionOf(status object.Obj, typ string) map[string]any {
	for _, c := range object.NestedSlice(status, "conditions") {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			return m
		}
	}
	return nil
}

// RawJSON is a value already encoded as compact JSON by this package (a
// shard's spec.tenants); encoders copy it as it is.
type RawJSON []byte

// MarshalJSON returns the bytes.
func (r RawJSON) MarshalJSON() ([]byte, error) { return r, nil }

func (r *Registry) shard(i, n int, tenants []byte, allow string) object.Obj {
	spec := map[string]any{"registry": r.Name, "index": i, "shards": n, "templateNamespace": r.TemplateNamespace, "tenants": RawJSON(tenants)}
	if allow != "" {
		spec["allowDeletion"] = allow
	}
	md := map[string]any{"name": ShardName(r.Name, i), "labels": map[string]any{LabelRegistry: names.LabelValue(r.Name), LabelShard: strconv.Itoa(i)}}
	if r.Namespace != "" {
		md["namespace"] = r.Namespace
	}
	return map[string]any{"apiVersion": APIVersion, "kind": ShardKind(r.Namespace), "metadata": md, "spec": spec}
}

// ShardInput is a shard sync's request.
type ShardInput struct {
	Shard     object.Obj
	Templates []object.Obj // the TenantTemplates delivered; filtered here
	Observed  []ObservedTenant
}

// SyncShard answers a shard's Tenants: those of its spec, with the claims
// of their templates, plus observed ones its spec no longer holds unless
// the registry approved exactly that set of deletions (spec.allowDeletion).
// It reads no database, so its request is bounded by the shard's size.
func (e *Engine) SyncShard(ctx context.Context, in ShardInput) RegistryOutput {
	ns := object.Namespace(in.Shard)
	idx, _ := object.Int64(in.Shard, "spec", "index")
	shardName := object.Name(in.Shard)
	allow := object.String(in.Shard, "spec", "allowDeletion")
	scope := Namespaced
	if ns == "" {
		scope = Cluster
	}
	registry := object.String(in.Shard, "spec", "registry")
	tplNS := object.String(in.Shard, "spec", "templateNamespace")
	parsed := map[string]*Template{}
	for _, t := range in.Templates {
		if object.String(t, "spec", "registryId") != registry || object.Namespace(t) != tplNS {
			continue
		}
		if pt, err := e.Template(t); err == nil {
			parsed[object.Name(t)] = pt
		}
	}
	var problems []string
	desired := map[string]object.Obj{}
	reg := &Registry{Name: registry, Namespace: ns, TemplateNamespace: tplNS}
	observed := observedByName(in.Observed)
	for k, entry := range object.NestedSlice(in.Shard, "spec", "tenants") {
		m, ok := entry.(map[string]any)
		name, uid, template := object.String(m, "name"), object.String(m, "uid"), object.String(m, "template")
		if !ok || name == "" || template == "" {
			problems = append(problems, fmt.Sprintf("spec.tenants[%d] needs name and template", k))
			continue
		}
		if _, dup := desired[name]; dup {
			problems = append(problems, fmt.Sprintf("spec.tenants[%d]: Tenant %s is listed twice", k, name))
			continue
		}
		values := map[string]any{}
		for vk, vv := range object.NestedMap(m, "values") {
			values[vk] = vv
		}
		// The Tenant SyncRegistry builds for an unsharded registry (the
		// hooks and render tests hold the two to identical Tenants), plus
		// its shard's marks.
		t := reg.tenant(name, uid, template, values)
		md := t["metadata"].(map[string]any)
		labels := md["labels"].(map[string]any)
		labels[LabelShard] = strconv.FormatInt(idx, 10)
		md["annotations"] = map[string]any{AnnotationShardName: shardName}
		// As SyncRegistry does for an unsharded registry: the claims depend
		// on what the Tenant already owns (its observed status).
		var prev *ObservedTenant
		if i, ok := observed[name]; ok {
			prev = &in.Observed[i]
		}
		claims := e.claimsFor(ctx, parsed[template], t, scope, prev)
		t["spec"].(map[string]any)["claims"] = claims
		if hasForce(claims) {
			labels[LabelForceClaims] = "true"
		}
		desired[name] = t
	}
	ready, failed := countTenants(in.Observed)
	live := 0
	for _, o := range in.Observed {
		if !o.Terminating {
			live++
		}
	}
	if len(problems) > 0 {
		// An unusable spec keeps every observed Tenant.
		out := keepTenants(in.ToRegistryInput(), nil, "InvalidSpec", "invalid shard spec: "+strings.Join(problems, "; "))
		out.ResyncAfter = 0
		out.Status["observed"] = live
		return out
	}
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
		approved = allow == token
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
	var conds []any
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
	case failed > 0:
		conds = append(conds, condition("Ready", "False", "TenantsFailed", fmt.Sprintf("%d/%d Tenants ready, %d failed", ready, len(desired), failed)))
	case ready < len(desired):
		conds = append(conds, condition("Ready", "False", "TenantsNotReady", fmt.Sprintf("%d/%d Tenants ready", ready, len(desired))))
	default:
		conds = append(conds, condition("Ready", "True", "AllTenantsReady", fmt.Sprintf("%d/%d Tenants ready", ready, len(desired))))
	}
	sortConditions(conds)
	out := RegistryOutput{
		NumChildren: len(order), Desired: len(desired), Ready: ready, Failed: failed,
		Status: map[string]any{
			"desired": len(desired), "tenants": len(order), "observed": live, "ready": ready, "failed": failed,
			"pendingDeletion": pend, "conditions": conds,
		},
	}
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
