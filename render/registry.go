package render

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenant-hooks/tenant-hooks/datasource"
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
}

// StaticSpec is spec.source.static.
type StaticSpec struct {
	Rows      []map[string]any
	ConfigMap *SecretKeyRef
}

// SecretKeyRef points at one key of a Secret or ConfigMap.
type SecretKeyRef struct{ Namespace, Name, Key string }

const (
	DefaultSyncInterval = time.Minute
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
	r.TemplateNamespace = r.Namespace
	if cluster {
		r.TemplateNamespace = object.String(o, "spec", "templateNamespace")
		if r.TemplateNamespace == "" {
			bad("spec.templateNamespace is required for a cluster-scoped registry")
		}
	}
	src := object.NestedMap(o, "spec", "source")
	r.SourceType = object.String(src, "type")
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
	if pct, ok := object.Int64(o, "spec", "deletionGuard", "maxDeletePercent"); ok {
		if pct < 0 || pct > 100 {
			bad("spec.deletionGuard.maxDeletePercent %d is outside 0..100", pct)
		} else {
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
		if p, ok := object.Int64(m, "port"); ok {
			spec.Port = int(p)
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
		if spec.Port < 1 || spec.Port > 65535 {
			bad("spec.source.mysql.port %d is outside 1..65535", spec.Port)
		}
		if t, ok := object.Int64(m, "queryTimeoutSeconds"); ok && t > 0 {
			spec.QueryTimeout = time.Duration(t) * time.Second
		}
		if ref := object.NestedMap(m, "passwordRef"); ref != nil {
			spec.PasswordSecret = &SecretKeyRef{Namespace: object.String(ref, "namespace"), Name: object.String(ref, "name"), Key: object.String(ref, "key")}
			if spec.PasswordSecret.Namespace == "" {
				spec.PasswordSecret.Namespace = r.Namespace
			}
			if !cluster && spec.PasswordSecret.Namespace != r.Namespace {
				// A namespaced registry reads only its own namespace's
				// Secrets (the CRD prunes the field; this holds whatever
				// schema is installed). Nothing is asked for elsewhere.
				bad("spec.source.mysql.passwordRef.namespace %q: a TenantRegistry can only use a Secret in its own namespace %q", spec.PasswordSecret.Namespace, r.Namespace)
				spec.PasswordSecret.Namespace = r.Namespace
			}
			if spec.PasswordSecret.Name == "" || spec.PasswordSecret.Key == "" {
				bad("spec.source.mysql.passwordRef needs name and key")
			}
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
			spec.ConfigMap = &SecretKeyRef{Namespace: object.String(ref, "namespace"), Name: object.String(ref, "name"), Key: object.String(ref, "key")}
			if spec.ConfigMap.Namespace == "" {
				spec.ConfigMap.Namespace = r.Namespace
			}
			if !cluster && spec.ConfigMap.Namespace != r.Namespace {
				bad("spec.source.static.configMapRef.namespace %q: a TenantRegistry can only use a ConfigMap in its own namespace %q", spec.ConfigMap.Namespace, r.Namespace)
				spec.ConfigMap.Namespace = r.Namespace
			}
			if spec.ConfigMap.Name == "" || spec.ConfigMap.Key == "" {
				bad("spec.source.static.configMapRef needs name and key")
			}
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

// TenantKind is the child kind of a registry kind.
func (r *Registry) TenantKind() string {
	if r.Namespace == "" {
		return "ClusterTenant"
	}
	return "Tenant"
}

// RegistryInput is everything a registry sync depends on.
type RegistryInput struct {
	Registry  object.Obj
	Templates []object.Obj // every TenantTemplate delivered; filtered here
	Rows      datasource.Result
	Observed  []object.Obj // observed Tenants
	// Full returns the complete object of an observed Tenant when Observed
	// holds summaries (identity, deletion time, status): the hook decodes
	// the whole Tenant only when the guard keeps it. Nil: Observed is complete.
	Full func(object.Obj) object.Obj
}

func (in *RegistryInput) full(o object.Obj) object.Obj {
	if in.Full == nil {
		return o
	}
	return in.Full(o)
}

// RegistryOutput is the hook's answer plus figures for metrics.
type RegistryOutput struct {
	Children        []object.Obj
	Status          object.Obj
	ResyncAfter     time.Duration
	Desired         int
	Ready, Failed   int
	GuardActivated  bool
	BlockedDeletion int
}

// SyncRegistry computes the desired Tenants of a registry: one per
// referencing template × active row, never fewer because of an error (the
// caller answers non-200 when rows could not be read) and never many fewer
// without an explicit allowance (the mass-deletion guard).
func (e *Engine) SyncRegistry(ctx context.Context, in RegistryInput) RegistryOutput {
	reg, err := ParseRegistry(in.Registry)
	if err != nil {
		return keepTenants(in, reg, "InvalidSpec", err.Error())
	}
	var templates []string
	parsed := map[string]*Template{}
	for _, t := range in.Templates {
		if object.String(t, "spec", "registryId") != reg.Name || object.Namespace(t) != reg.TemplateNamespace {
			continue
		}
		templates = append(templates, object.Name(t))
		if pt, err := e.Template(t); err == nil {
			parsed[object.Name(t)] = pt
		}
	}
	sort.Strings(templates)

	type want struct{ uid, template string }
	var wants []want
	for _, t := range templates {
		for _, rec := range in.Rows.Active {
			wants = append(wants, want{rec.UID, t})
		}
	}
	// Sanitised names may collide ("a-b"+"c" and "a"+"b-c"); every colliding
	// name gets a hash of its exact (uid, template) so no two rows share one.
	nameOf := make([]string, len(wants))
	count := map[string]int{}
	for i, w := range wants {
		nameOf[i] = names.TenantName(w.uid, w.template)
		count[nameOf[i]]++
	}
	for i, w := range wants {
		if count[nameOf[i]] > 1 {
			sum := sha256.Sum256([]byte(w.uid + "\x00" + w.template))
			nameOf[i] = names.Sanitize(nameOf[i], 54) + "-" + hex.EncodeToString(sum[:])[:8]
		}
	}

	values := make(map[string]map[string]any, len(in.Rows.Active))
	for _, rec := range in.Rows.Active {
		v := make(map[string]any, len(rec.Values))
		for k, s := range rec.Values {
			v[k] = s
		}
		values[rec.UID] = v
	}
	desired := map[string]bool{}
	children := make([]object.Obj, 0, len(wants))
	scope := Namespaced
	if reg.Namespace == "" {
		scope = Cluster
	}
	for i, w := range wants {
		desired[nameOf[i]] = true
		t := reg.tenant(nameOf[i], w.uid, w.template, values[w.uid])
		if pt := parsed[w.template]; pt != nil {
			if claims := e.Claims(ctx, pt, t, scope); len(claims) > 0 {
				t["spec"].(map[string]any)["claims"] = claims
				if hasForce(claims) {
					t["metadata"].(map[string]any)["labels"].(map[string]any)[LabelForceClaims] = "true"
				}
			}
		}
		children = append(children, t)
	}

	observed := map[string]object.Obj{}
	for _, o := range in.Observed {
		observed[object.Name(o)] = o
	}
	var toDelete []string
	for _, n := range sortedKeys(observed) {
		if !desired[n] && !object.Terminating(observed[n]) {
			toDelete = append(toDelete, n)
		}
	}
	out := RegistryOutput{ResyncAfter: reg.SyncInterval}
	var conds []any
	existing := len(observed)
	if len(toDelete) > 0 && existing > 0 {
		share := len(toDelete) * 100 / existing
		empty := len(in.Rows.Active) == 0 || len(templates) == 0
		// An active row without a uid may be the row of a Tenant about to
		// be deleted: the source cannot say which Tenants are gone.
		unidentified := in.Rows.Skipped > 0
		if empty || unidentified || share > reg.MaxDeletePct {
			token := deletionToken(toDelete)
			if reg.AllowDeletion != token {
				for _, n := range toDelete {
					children = append(children, object.StripServerFields(in.full(observed[n])))
				}
				why := fmt.Sprintf("%d of %d Tenants (%d%%) would be deleted, above the guard's %d%%", len(toDelete), existing, share, reg.MaxDeletePct)
				switch {
				case empty:
					why = fmt.Sprintf("the source returned no active rows (or no template references the registry) while %d Tenants exist", existing)
				case unidentified && share <= reg.MaxDeletePct:
					why = fmt.Sprintf("%d of %d Tenants would be deleted while %d active rows have a NULL or empty uid (see status.skippedRows), so any of them may be the row of a Tenant that would be deleted", len(toDelete), existing, in.Rows.Skipped)
				}
				conds = append(conds, condition("DeletionBlocked", "True", "MassDeletionGuard",
					fmt.Sprintf("%s; they are kept. If this is intended, allow it once with: kubectl annotate %s %s %s=%s --overwrite",
						why, strings.ToLower(reg.Kind), object.ObjKey("", reg.Name)+nsFlag(reg.Namespace), AnnotationAllowDeletion, token)))
				out.GuardActivated = true
				out.BlockedDeletion = len(toDelete)
			}
		}
	}
	if !out.GuardActivated {
		conds = append(conds, condition("DeletionBlocked", "False", "WithinGuard", ""))
	}
	sort.SliceStable(children, func(i, j int) bool { return object.Name(children[i]) < object.Name(children[j]) })
	out.Children = children

	ready, failed := countTenants(in.Observed)
	out.Desired, out.Ready, out.Failed = len(wants), ready, failed
	status := map[string]any{
		"referencingTemplates": len(templates),
		"desired":              len(wants),
		"ready":                ready,
		"failed":               failed,
		"rows": map[string]any{
			"total": in.Rows.Total, "active": len(in.Rows.Active), "inactive": in.Rows.Inactive,
			"skipped": in.Rows.Skipped, "duplicates": in.Rows.Duplicates,
		},
		"blockedDeletions": out.BlockedDeletion,
	}
	if len(in.Rows.SkippedExamples) > 0 {
		var ex []any
		for _, s := range in.Rows.SkippedExamples {
			ex = append(ex, map[string]any{"index": s.Index, "reason": s.Reason})
		}
		status["skippedRows"] = ex
	}
	if len(in.Rows.DuplicateUIDs) > 0 {
		status["duplicateUids"] = toAnySlice(in.Rows.DuplicateUIDs)
	}
	conds = append(conds, condition("DatabaseReachable", "True", "QuerySucceeded", fmt.Sprintf("%d rows read, %d active", in.Rows.Total, len(in.Rows.Active))))
	if in.Rows.Skipped > 0 || in.Rows.Duplicates > 0 {
		conds = append(conds, condition("RowsSkipped", "True", "InvalidRows",
			fmt.Sprintf("%d rows skipped (NULL or empty uid), %d duplicate uids (first row wins); see status.skippedRows and status.duplicateUids", in.Rows.Skipped, in.Rows.Duplicates)))
	} else {
		conds = append(conds, condition("RowsSkipped", "False", "AllRowsValid", ""))
	}
	switch {
	case len(templates) == 0:
		conds = append(conds, condition("Ready", "False", "NoTemplates", fmt.Sprintf("no TenantTemplate in namespace %q has spec.registryId %q", reg.TemplateNamespace, reg.Name)))
	case out.GuardActivated:
		conds = append(conds, condition("Ready", "False", "DeletionBlocked", "a mass deletion is waiting for approval (see DeletionBlocked)"))
	case failed > 0:
		conds = append(conds, condition("Ready", "False", "TenantsFailed", fmt.Sprintf("%d/%d Tenants ready, %d failed", ready, len(wants), failed)))
	case ready < len(wants):
		conds = append(conds, condition("Ready", "False", "TenantsNotReady", fmt.Sprintf("%d/%d Tenants ready", ready, len(wants))))
	default:
		conds = append(conds, condition("Ready", "True", "AllTenantsReady", fmt.Sprintf("%d/%d Tenants ready", ready, len(wants))))
	}
	sortConditions(conds)
	status["conditions"] = conds
	out.Status = status
	return out
}

func nsFlag(ns string) string {
	if ns == "" {
		return ""
	}
	return " -n " + ns
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
// Tenant is kept and the problem is shown in status.
func keepTenants(in RegistryInput, reg *Registry, reason, msg string) RegistryOutput {
	children := make([]object.Obj, 0, len(in.Observed))
	for _, o := range in.Observed {
		children = append(children, object.StripServerFields(in.full(o)))
	}
	sort.SliceStable(children, func(i, j int) bool { return object.Name(children[i]) < object.Name(children[j]) })
	ready, failed := countTenants(in.Observed)
	interval := DefaultSyncInterval
	if reg != nil && reg.SyncInterval > 0 {
		interval = reg.SyncInterval
	}
	conds := []any{condition("Ready", "False", reason, msg+"; existing Tenants are kept unchanged")}
	return RegistryOutput{
		Children: children, ResyncAfter: interval, Ready: ready, Failed: failed,
		Status: map[string]any{"ready": ready, "failed": failed, "conditions": conds},
	}
}

// countTenants counts observed Tenants by their Ready condition; a Tenant
// whose Ready is False is failed only when it is Degraded (something broke),
// not while it is still converging.
func countTenants(tenants []object.Obj) (ready, failed int) {
	for _, t := range tenants {
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
