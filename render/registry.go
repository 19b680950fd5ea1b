package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render/names"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Registry is a parsed TenantRegistry (or ClusterTenantRegistry) spec.
type Registry struct {
	Name, Namespace string
	Kind            string
	SourceType      string // "mysql" or "static"
	SyncInterval    time.Duration
	Mapping         datasource.Mapping
	MySQL           *MySQLSpec
	Static          *StaticSpec
	MaxDeletePct    int
	// TemplateNamespace is where the templates live: the registry's own
	// namespace, or spec.templateNamespace for a cluster-scoped registry.
	TemplateNamespace string
	AllowDeletion     string
}

// MySQLSpec is spec.source.mysql without the password, which lives in a Secret.
type MySQLSpec struct {
	Host, Username, Database, Table, TLS string
	Port                                 int
	QueryTimeout                         time.Duration
	PasswordSecret                       *SecretKeyRef
	// ValueFormat is spec.source.mysql.valueFormat: "v1" (the default,
	// v1.0's text for every column type) or "plain".
	ValueFormat string
}

// StaticSpec is spec.source.static.
type StaticSpec struct {
	Rows      []map[string]any
	ConfigMap *SecretKeyRef
}

// SecretKeyRef points at one key of a Secret or ConfigMap.
type SecretKeyRef struct{ Namespace, Name, Key string }

const (
	DefaultSyncInterval = 30 * time.Second // v1.0's default (its CRD and defaulting webhook)
	DefaultMaxDeletePct = 50
)

var intervalRE = regexp.MustCompile(`^([0-9]+)(s|m|h)$`)

// SpecError is a registry spec that cannot be used; it is reported in status.
type SpecError struct{ Problems []string }

func (e *SpecError) Error() string { return "invalid registry spec: " + strings.Join(e.Problems, "; ") }

// ParseRegistry reads and validates a registry spec.
func ParseRegistry(o object.Obj) (*Registry, error) {
	r := &Registry{
		Name: object.Name(o), Namespace: object.Namespace(o), Kind: object.Kind(o),
		SyncInterval: DefaultSyncInterval, MaxDeletePct: DefaultMaxDeletePct,
		AllowDeletion: object.String(o, "metadata", "annotations", AnnotationAllowDeletion),
	}
	var problems []string
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	cluster := r.Namespace == ""
	// keyRef reads the reference at path to a key of a Secret or ConfigMap
	// (what). A namespaced registry reads only its own namespace's objects
	// (the CRD prunes the field; this holds whatever schema is installed):
	// nothing is asked for elsewhere.
	keyRef := func(ref map[string]any, path, what string) *SecretKeyRef {
		k := &SecretKeyRef{Namespace: object.String(ref, "namespace"), Name: object.String(ref, "name"), Key: object.String(ref, "key")}
		if k.Namespace == "" {
			k.Namespace = r.Namespace
		}
		if !cluster && k.Namespace != r.Namespace {
			bad("%s.namespace %q: a TenantRegistry can only use a %s in its own namespace %q", path, k.Namespace, what, r.Namespace)
			k.Namespace = r.Namespace
		}
		if k.Name == "" || k.Key == "" {
			bad("%s needs name and key", path)
		}
		return k
	}
	r.TemplateNamespace = r.Namespace
	if cluster {
		r.TemplateNamespace = object.String(o, "spec", "templateNamespace")
		if r.TemplateNamespace == "" {
			bad("spec.templateNamespace is required for a cluster-scoped registry")
		}
	}
	src := object.NestedMap(o, "spec", "source")
	r.SourceType = object.String(src, "type")
	if v, present := src["syncInterval"]; present && v != nil {
		if _, isString := v.(string); !isString {
			bad("spec.source.syncInterval must be a string like 30s, 1m or 1h, not %s", describe(v))
		}
	}
	if s := object.String(src, "syncInterval"); s != "" {
		m := intervalRE.FindStringSubmatch(s)
		if m == nil {
			bad("spec.source.syncInterval %q must look like 30s, 1m or 1h", s)
		} else {
			n, _ := strconv.Atoi(m[1])
			unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
			r.SyncInterval = time.Duration(n) * unit
			if r.SyncInterval < 5*time.Second {
				// A zero or tiny interval would hammer the database through
				// Metacontroller's queue; v1.0 took 0s as "never", which left
				// registries silently stale.
				r.SyncInterval = 5 * time.Second
			}
		}
	}
	vm := object.NestedMap(o, "spec", "valueMappings")
	r.Mapping = datasource.Mapping{
		UID: object.String(vm, "uid"), HostOrURL: object.String(vm, "hostOrUrl"), Activate: object.String(vm, "activate"),
	}
	if extra := object.NestedMap(o, "spec", "extraValueMappings"); len(extra) > 0 {
		r.Mapping.Extra = map[string]string{}
		for k, v := range extra {
			s, ok := v.(string)
			if !ok {
				bad("spec.extraValueMappings.%s must be a column name", k)
				continue
			}
			r.Mapping.Extra[k] = s
		}
	}
	if err := r.Mapping.Validate(); err != nil {
		bad("%v", err)
	}
	if pct, present, ok := intField(object.NestedMap(o, "spec", "deletionGuard"), "maxDeletePercent"); present {
		switch {
		case !ok:
			bad("spec.deletionGuard.maxDeletePercent must be an integer, not %s", describe(object.Nested(o, "spec", "deletionGuard", "maxDeletePercent")))
		case pct < 0 || pct > 100:
			bad("spec.deletionGuard.maxDeletePercent %d is outside 0..100", pct)
		default:
			r.MaxDeletePct = int(pct)
		}
	}
	switch r.SourceType {
	case "mysql":
		m := object.NestedMap(src, "mysql")
		if m == nil {
			bad("spec.source.mysql is required when type is mysql")
			break
		}
		spec := &MySQLSpec{
			Host: object.String(m, "host"), Username: object.String(m, "username"),
			Database: object.String(m, "database"), Table: object.String(m, "table"), TLS: object.String(m, "tls"),
			Port: 3306, QueryTimeout: 5 * time.Second,
		}
		// A value of the wrong type must not quietly become the default: a
		// port "1" or 3306.5 connecting to 3306 reads another database's
		// rows. Ranges are the CRD's, which may not be installed.
		if p, present, ok := intField(m, "port"); present {
			switch {
			case !ok:
				bad("spec.source.mysql.port must be an integer, not %s", describe(m["port"]))
			case p < 1 || p > 65535:
				bad("spec.source.mysql.port %d is outside 1..65535", p)
			default:
				spec.Port = int(p)
			}
		}
		// Checked here so that a bad name is a visible spec error in status
		// (it can never succeed on retry) rather than a 503 loop.
		if spec.Table != "" {
			if err := datasource.ValidateTable(spec.Table); err != nil {
				bad("spec.source.mysql.table: %v", err)
			}
		}
		if spec.Database != "" {
			if err := datasource.ValidateDatabase(spec.Database); err != nil {
				bad("spec.source.mysql.database: %v", err)
			}
		}
		for _, f := range []struct{ name, v string }{{"host", spec.Host}, {"username", spec.Username}, {"database", spec.Database}, {"table", spec.Table}} {
			if f.v == "" {
				bad("spec.source.mysql.%s is required", f.name)
			}
		}
		if t, present, ok := intField(m, "queryTimeoutSeconds"); present {
			switch {
			case !ok:
				bad("spec.source.mysql.queryTimeoutSeconds must be an integer, not %s", describe(m["queryTimeoutSeconds"]))
			case t < 1 || t > 60:
				bad("spec.source.mysql.queryTimeoutSeconds %d is outside 1..60", t)
			default:
				spec.QueryTimeout = time.Duration(t) * time.Second
			}
		}
		switch f := object.String(m, "valueFormat"); f {
		case "", "v1":
			spec.ValueFormat = "v1"
		case "plain":
			spec.ValueFormat = f
		default:
			bad("spec.source.mysql.valueFormat %q must be v1 or plain", f)
		}
		if ref := object.NestedMap(m, "passwordRef"); ref != nil {
			spec.PasswordSecret = keyRef(ref, "spec.source.mysql.passwordRef", "Secret")
			if spec.PasswordSecret.Namespace == "" {
				bad("spec.source.mysql.passwordRef.namespace is required for a cluster-scoped registry")
			}
		}
		r.MySQL = spec
	case "static":
		m := object.NestedMap(src, "static")
		spec := &StaticSpec{}
		for i, row := range object.NestedSlice(m, "rows") {
			rm, ok := row.(map[string]any)
			if !ok {
				bad("spec.source.static.rows[%d] must be an object", i)
				continue
			}
			spec.Rows = append(spec.Rows, rm)
		}
		if ref := object.NestedMap(m, "configMapRef"); ref != nil {
			spec.ConfigMap = keyRef(ref, "spec.source.static.configMapRef", "ConfigMap")
		}
		r.Static = spec
	case "":
		bad("spec.source.type is required (mysql or static)")
	default:
		bad("spec.source.type %q is not supported (mysql or static)", r.SourceType)
	}
	if len(problems) > 0 {
		return r, &SpecError{Problems: problems}
	}
	return r, nil
}

// intField reads an integer member of m: present is false when it is absent
// or null, ok false when it is there but not an integer.
func intField(m map[string]any, key string) (n int64, present, ok bool) {
	v, there := m[key]
	if !there || v == nil {
		return 0, false, false
	}
	n, ok = object.ToInt64(v)
	return n, true, ok
}

// describe names a JSON value for a message: its type and, for a scalar,
// its text.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	}
	return fmt.Sprintf("%v", v)
}

// TenantKind is the child kind of a registry kind.
func (r *Registry) TenantKind() string {
	if r.Namespace == "" {
		return "ClusterTenant"
	}
	return "Tenant"
}

// RegistryInput is everything a registry sync depends on.
type RegistryInput struct {
	Registry object.Obj
	// Parsed is ParseRegistry(Registry) when the caller has parsed it
	// without error already (to read its rows), so the spec is parsed once
	// per sync; nil: SyncRegistry parses it.
	Parsed    *Registry
	Templates []object.Obj // every TenantTemplate delivered; filtered here
	Rows      datasource.Result
	Observed  []ObservedTenant
}

// ObservedTenant is what a registry sync reads of one observed Tenant. A
// registry's request carries every Tenant with all of Metacontroller's
// bookkeeping (≈ 4.5 KB each); the hook keeps only this, so that its memory
// grows with what it needs, not with the request (docs/performance.md).
type ObservedTenant struct {
	Name        string
	Terminating bool
	// Ready counts the Tenant's Ready conditions that are True, Failed
	// those that are not because something broke (see countTenant).
	Ready, Failed int
	// Owned lists the resources the Tenant's status reports as its own
	// children (status.resources[].owned), as ownedEntry strings joined; ""
	// when none. The registry claims no name for a Tenant that owns every
	// resource (see claimsFor).
	Owned string
	// Kept returns the Tenant as the registry answers it when it keeps it
	// (the mass-deletion guard, an invalid registry spec, a source outage;
	// the rule is written once, at tenantCtx.keep): the observed object
	// without the fields the API server owns. Called only then.
	Kept func() object.Obj
	// Shard is set when the child is a TenantShard or ClusterTenantShard
	// (a sharded registry's child; docs/sharding.md).
	Shard *ObservedShard
}

// ObserveTenant summarises a complete observed Tenant.
func ObserveTenant(o object.Obj) ObservedTenant {
	t := ObservedTenant{Name: object.Name(o), Terminating: object.Terminating(o)}
	t.Ready, t.Failed = countTenant(o)
	t.Owned = ownedResources(o)
	t.Kept = func() object.Obj { return object.StripServerFields(o) }
	return t
}

// RegistryOutput is the hook's answer plus figures for metrics.
type RegistryOutput struct {
	// Children yields the answer's Tenants in name order, building each
	// when it is asked for: a registry of 10,000 rows answers 20,000
	// Tenants, which an encoder can write one by one without ever holding
	// them all. Iterating twice yields the same Tenants.
	Children        iter.Seq[object.Obj]
	NumChildren     int
	Status          object.Obj
	ResyncAfter     time.Duration
	Desired         int
	Ready, Failed   int
	GuardActivated  bool
	BlockedDeletion int
}

// ChildList collects Children.
func (o RegistryOutput) ChildList() []object.Obj {
	out := make([]object.Obj, 0, o.NumChildren)
	for c := range o.Children {
		out = append(out, c)
	}
	return out
}

// SyncRegistry computes the desired Tenants of a registry: one per
// referencing template × active row, never fewer because of an error (the
// caller answers non-200 when rows could not be read) and never many fewer
// without an explicit allowance (the mass-deletion guard).
func (e *Engine) SyncRegistry(ctx context.Context, in RegistryInput) RegistryOutput {
	reg, err := in.Parsed, error(nil)
	if reg == nil {
		reg, err = ParseRegistry(in.Registry)
	}
	if err != nil {
		return keepTenants(in, reg, "InvalidSpec", err.Error())
	}
	templates, parsed := e.referencing(in.Templates, reg)

	// One answer entry per desired Tenant (row × template) and per kept
	// observed Tenant; the Tenants themselves are built by the iterator.
	type entry struct {
		name     string
		row      int    // index into in.Rows.Active, or -1 for a kept Tenant
		template string // of a desired Tenant
		observed int    // index into in.Observed of a kept Tenant
	}
	active := in.Rows.Active
	observed := observedByName(in.Observed)
	named := nameTenants(active, templates, in.Observed, observed, nil)
	entries := make([]entry, len(named), len(named)+8)
	for i, n := range named {
		entries[i] = entry{name: n.name, row: n.row, template: n.template}
	}
	desired := make(map[string]bool, len(entries))
	for _, en := range entries {
		desired[en.name] = true
	}
	wanted := len(entries)

	var toDelete []string
	for _, n := range ordered.Keys(observed) {
		if !desired[n] && !in.Observed[observed[n]].Terminating {
			toDelete = append(toDelete, n)
		}
	}
	out := RegistryOutput{ResyncAfter: reg.SyncInterval}
	var conds []any
	existing := len(observed)
	if len(toDelete) > 0 && existing > 0 {
		empty := len(active) == 0 || len(templates) == 0
		if why := massDeletion(reg, len(toDelete), existing, empty, in.Rows.Skipped); why != "" {
			token := deletionToken(toDelete)
			if reg.AllowDeletion != token {
				for _, n := range toDelete {
					entries = append(entries, entry{name: n, row: -1, observed: observed[n]})
				}
				conds = append(conds, guardCondition(reg, why+"; they are kept", token))
				out.GuardActivated = true
				out.BlockedDeletion = len(toDelete)
			}
		}
	}
	if !out.GuardActivated {
		conds = append(conds, condition("DeletionBlocked", "False", "WithinGuard", ""))
	}
	// Names are unique: desired ones by construction, kept ones are not desired.
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	out.NumChildren = len(entries)
	out.Children = func(yield func(object.Obj) bool) {
		for _, en := range entries {
			if en.row < 0 {
				if !yield(in.Observed[en.observed].Kept()) {
					return
				}
				continue
			}
			t := e.claimedTenant(ctx, reg, active[en.row], en.name, parsed[en.template], en.template, observedAt(in.Observed, observed, en.name))
			if !yield(t) {
				return
			}
		}
	}

	ready, failed := countTenants(in.Observed)
	out.Desired, out.Ready, out.Failed = wanted, ready, failed
	status, report := rowReport(in.Rows, len(templates))
	status["desired"], status["ready"], status["failed"] = wanted, ready, failed
	status["blockedDeletions"] = out.BlockedDeletion
	conds = append(conds, report...)
	switch {
	case len(templates) == 0:
		conds = append(conds, noTemplates(reg))
	case out.GuardActivated:
		conds = append(conds, condition("Ready", "False", "DeletionBlocked", "a mass deletion is waiting for approval (see DeletionBlocked)"))
	case failed > 0:
		conds = append(conds, condition("Ready", "False", "TenantsFailed", fmt.Sprintf("%d/%d Tenants ready, %d failed", ready, wanted, failed)))
	case ready < wanted:
		conds = append(conds, condition("Ready", "False", "TenantsNotReady", fmt.Sprintf("%d/%d Tenants ready", ready, wanted)))
	default:
		conds = append(conds, condition("Ready", "True", "AllTenantsReady", fmt.Sprintf("%d/%d Tenants ready", ready, wanted)))
	}
	sortConditions(conds)
	status["conditions"] = conds
	out.Status = status
	return out
}

// claimedTenant is the desired Tenant of a row and template, named name,
// with the claims of its template (tpl; nil when it does not parse): the
// one Tenant an unsharded registry and a shard both answer. The claims
// depend on what the Tenant already owns (prev, its observed summary, nil
// when it is not observed).
func (e *Engine) claimedTenant(ctx context.Context, reg *Registry, rec datasource.Record, name string, tpl *Template, template string, prev *ObservedTenant) object.Obj {
	values := make(map[string]any, rec.Values.Len())
	for k, s := range rec.Values.All() {
		values[k] = s
	}
	t := reg.tenant(name, rec.UID, template, values)
	scope := Namespaced
	if reg.Namespace == "" {
		scope = Cluster
	}
	claims := e.claimsFor(ctx, tpl, t, scope, prev)
	t["spec"].(map[string]any)["claims"] = claims
	if hasForce(claims) {
		t["metadata"].(map[string]any)["labels"].(map[string]any)[LabelForceClaims] = "true"
	}
	return t
}

// observedAt is the observed Tenant of that name, or nil.
func observedAt(obs []ObservedTenant, byName map[string]int, name string) *ObservedTenant {
	if i, ok := byName[name]; ok {
		return &obs[i]
	}
	return nil
}

// rowReport is what a registry's status says of its read of the rows: the
// counts, the first skipped rows and duplicate uids, DatabaseReachable and
// RowsSkipped — the same for an unsharded and a sharded registry.
func rowReport(rows datasource.Result, templates int) (map[string]any, []any) {
	status := map[string]any{
		"referencingTemplates": templates,
		"rows": map[string]any{
			"total": rows.Total, "active": len(rows.Active), "inactive": rows.Inactive,
			"skipped": rows.Skipped, "duplicates": rows.Duplicates,
		},
	}
	if len(rows.SkippedExamples) > 0 {
		var ex []any
		for _, s := range rows.SkippedExamples {
			ex = append(ex, map[string]any{"index": s.Index, "reason": s.Reason})
		}
		status["skippedRows"] = ex
	}
	if len(rows.DuplicateUIDs) > 0 {
		status["duplicateUids"] = toAnySlice(rows.DuplicateUIDs)
	}
	conds := []any{condition("DatabaseReachable", "True", "QuerySucceeded", fmt.Sprintf("%d rows read, %d active", rows.Total, len(rows.Active)))}
	if rows.Skipped > 0 || rows.Duplicates > 0 {
		conds = append(conds, condition("RowsSkipped", "True", "InvalidRows",
			fmt.Sprintf("%d rows skipped (NULL or empty uid), %d duplicate uids (first row wins); see status.skippedRows and status.duplicateUids", rows.Skipped, rows.Duplicates)))
	} else {
		conds = append(conds, condition("RowsSkipped", "False", "AllRowsValid", ""))
	}
	return status, conds
}

func noTemplates(reg *Registry) map[string]any {
	return condition("Ready", "False", "NoTemplates", fmt.Sprintf("no TenantTemplate in namespace %q has spec.registryId %q", reg.TemplateNamespace, reg.Name))
}

// referencing returns the names (sorted) of the delivered templates that
// reference the registry, and those of them that parse.
func (e *Engine) referencing(delivered []object.Obj, reg *Registry) ([]string, map[string]*Template) {
	var templates []string
	parsed := map[string]*Template{}
	for _, t := range delivered {
		if object.String(t, "spec", "registryId") != reg.Name || object.Namespace(t) != reg.TemplateNamespace {
			continue
		}
		templates = append(templates, object.Name(t))
		if pt, err := e.Template(t); err == nil {
			parsed[object.Name(t)] = pt
		}
	}
	sort.Strings(templates)
	return templates, parsed
}

// namedTenant is one desired Tenant: a row × template and its final name.
type namedTenant struct {
	name     string
	row      int // index into the active rows
	template string
}

// nameTenants names the Tenants of active × templates, keeping only those
// whose base name keep accepts (nil: all). Names may collide ("a-b"+"c" and
// "a"+"b-c"); every colliding name gets a hash of its exact (uid, template)
// so no two rows share one, except that an observed Tenant of that name
// keeps it for the row and template it was made for (its spec.uid and
// spec.templateRef): v1.0 created one of two colliding Tenants, and a new
// row must not rename an existing Tenant either (a rename deletes it and
// its children). Colliding names share their base name, so a filter on the
// base name (a shard's) sees every rival of a name it keeps.
func nameTenants(active []datasource.Record, templates []string, obs []ObservedTenant, observed map[string]int, keep func(base string) bool) []namedTenant {
	entries := make([]namedTenant, 0, len(templates)*len(active))
	for _, t := range templates {
		for i, rec := range active {
			base := names.TenantName(rec.UID, t)
			if keep == nil || keep(base) {
				entries = append(entries, namedTenant{name: base, row: i, template: t})
			}
		}
	}
	count := make(map[string]int, len(entries))
	for _, en := range entries {
		count[en.name]++
	}
	holders := map[string][2]string{} // colliding name -> (uid, template) of its observed Tenant
	for name, n := range count {
		if i, ok := observed[name]; ok && n > 1 && obs[i].Kept != nil {
			o := obs[i].Kept()
			holders[name] = [2]string{object.String(o, "spec", "uid"), object.String(o, "spec", "templateRef")}
		}
	}
	for i, en := range entries {
		if count[en.name] > 1 {
			if h, ok := holders[en.name]; ok && h == [2]string{active[en.row].UID, en.template} {
				continue
			}
			sum := sha256.Sum256([]byte(active[en.row].UID + "\x00" + en.template))
			entries[i].name = names.Sanitize(en.name, 54) + "-" + hex.EncodeToString(sum[:])[:8]
		}
	}
	return entries
}

// observedByName indexes observed Tenants by name; of two with one name (two
// child types, which a registry controller does not declare) the later wins,
// as the map of complete objects did.
func observedByName(obs []ObservedTenant) map[string]int {
	m := make(map[string]int, len(obs))
	for i, o := range obs {
		m[o.Name] = i
	}
	return m
}

func nsFlag(ns string) string {
	if ns == "" {
		return ""
	}
	return " -n " + ns
}

// massDeletion is the mass-deletion guard's rule (docs/policies.md), for a
// registry and a sharded one alike: deleting pending of existing Tenants
// needs the one-time allowance when the source returned nothing (empty),
// while active rows have no uid — any of them may be the row of a Tenant
// about to be deleted, the source cannot say which are gone — or when the
// share is above the limit. It says why, or "" when the deletion may go on.
func massDeletion(reg *Registry, pending, existing int, empty bool, skipped int) string {
	share := 100
	if existing > 0 {
		share = pending * 100 / existing
	}
	switch {
	case empty:
		return fmt.Sprintf("the source returned no active rows (or no template references the registry) while %d Tenants exist", existing)
	case skipped > 0 && share <= reg.MaxDeletePct:
		return fmt.Sprintf("%d of %d Tenants would be deleted while %d active rows have a NULL or empty uid (see status.skippedRows), so any of them may be the row of a Tenant that would be deleted", pending, existing, skipped)
	case share > reg.MaxDeletePct:
		return fmt.Sprintf("%d of %d Tenants (%d%%) would be deleted, above the guard's %d%%", pending, existing, share, reg.MaxDeletePct)
	}
	return ""
}

// guardCondition is DeletionBlocked=True with the one-time command that
// allows exactly the deletion the token names.
func guardCondition(reg *Registry, why, token string) map[string]any {
	return condition("DeletionBlocked", "True", "MassDeletionGuard",
		fmt.Sprintf("%s. If this is intended, allow it once with: kubectl annotate %s %s %s=%s --overwrite",
			why, strings.ToLower(reg.Kind), object.ObjKey("", reg.Name)+nsFlag(reg.Namespace), AnnotationAllowDeletion, token))
}

// deletionToken names one exact set of deletions, so an allowance given for
// it cannot approve a different mass deletion later.
func deletionToken(names []string) string {
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(sum[:])[:12]
}

func (r *Registry) tenant(name, uid, template string, values map[string]any) object.Obj {
	md := map[string]any{
		"name": name,
		"labels": map[string]any{
			LabelRegistry: names.LabelValue(r.Name),
			LabelUID:      names.LabelValue(uid),
			LabelTemplate: names.LabelValue(template),
		},
	}
	spec := map[string]any{"uid": uid, "templateRef": template, "registryId": r.Name, "values": values}
	if r.Namespace != "" {
		md["namespace"] = r.Namespace
	} else {
		spec["templateNamespace"] = r.TemplateNamespace
	}
	return map[string]any{"apiVersion": APIVersion, "kind": r.TenantKind(), "metadata": md, "spec": spec}
}

// keepTenants answers when the registry spec is unusable: every observed
// Tenant is kept (the rule at tenantCtx.keep) and the problem is shown in
// status.
func keepTenants(in RegistryInput, reg *Registry, reason, msg string) RegistryOutput {
	byName := observedByName(in.Observed)
	order := ordered.Keys(byName)
	ready, failed := countTenants(in.Observed)
	interval := DefaultSyncInterval
	if reg != nil && reg.SyncInterval > 0 {
		interval = reg.SyncInterval
	}
	conds := []any{condition("Ready", "False", reason, msg+"; existing Tenants are kept unchanged")}
	return RegistryOutput{
		Children: func(yield func(object.Obj) bool) {
			for _, n := range order {
				if !yield(in.Observed[byName[n]].Kept()) {
					return
				}
			}
		},
		NumChildren: len(order), ResyncAfter: interval, Ready: ready, Failed: failed,
		Status: map[string]any{"ready": ready, "failed": failed, "conditions": conds},
	}
}

func countTenants(tenants []ObservedTenant) (ready, failed int) {
	for _, t := range tenants {
		ready += t.Ready
		failed += t.Failed
	}
	return ready, failed
}

// countTenant counts a Tenant's Ready conditions; one whose Ready is False
// is failed only when it is Degraded (something broke), not while it is
// still converging.
func countTenant(t object.Obj) (ready, failed int) {
	for _, c := range object.NestedSlice(t, "status", "conditions") {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != "Ready" {
			continue
		}
		if m["status"] == "True" {
			ready++
		} else if object.String(m, "reason") == "ResourcesFailed" || degraded(t) {
			failed++
		}
	}
	return ready, failed
}

func degraded(t object.Obj) bool {
	for _, c := range object.NestedSlice(t, "status", "conditions") {
		if m, ok := c.(map[string]any); ok && m["type"] == "Degraded" && m["status"] == "True" {
			return true
		}
	}
	return false
}

func sortConditions(conds []any) {
	sort.SliceStable(conds, func(i, j int) bool {
		return conds[i].(map[string]any)["type"].(string) < conds[j].(map[string]any)["type"].(string)
	})
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
