package render

import (
	"fmt"
	"strconv"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// guardDeletions holds an answer that would delete more than the template's
// spec.deletionGuard.maxDeletePercent of the Tenant's children (default
// 50 %), or any child when the template declares no resources at all — a
// template whose spec was emptied, misspelt and pruned, or broken by an
// overlay would otherwise delete every object of every Tenant of it, with
// Ready=True. Like the registry's mass-deletion guard, the children are kept
// unchanged and the returned DeletionBlocked condition prints the one
// annotation that allows it: a token for this generation of the template, so
// one approval covers all its Tenants and the next change of the template
// needs a new one. nil when nothing is held.
func (tc *tenantCtx) guardDeletions() map[string]any {
	if len(tc.observed) == 0 || tc.in.Template == nil {
		return nil
	}
	answered := make(map[string]bool, len(tc.children))
	for _, c := range tc.children {
		answered[object.Key(c)] = true
	}
	var gone []string
	for _, k := range ordered.Keys(tc.observed) {
		if !answered[k] && !object.Terminating(tc.observed[k]) {
			gone = append(gone, k)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	share := len(gone) * 100 / len(tc.observed)
	empty := len(tc.tpl.Resources) == 0
	if !empty && share <= tc.tpl.MaxDeletePct {
		return nil
	}
	token := TemplateDeletionToken(tc.in.Template)
	if object.String(tc.in.Template, "metadata", "annotations", AnnotationAllowDeletion) == token {
		return nil
	}
	for _, k := range gone {
		tc.keep(tc.observed[k], nil)
	}
	why := fmt.Sprintf("%d of %d objects (%d%%) would be deleted, above the template's %d%% (spec.deletionGuard.maxDeletePercent)",
		len(gone), len(tc.observed), share, tc.tpl.MaxDeletePct)
	if empty {
		why = fmt.Sprintf("template %s declares no resources while this Tenant has %d objects", ObjRef(tc.in.Template), len(tc.observed))
	}
	return condition("DeletionBlocked", "True", "MassDeletionGuard",
		fmt.Sprintf("%s; they are kept unchanged. If this is intended, allow it once for this version of the template with: kubectl annotate tenanttemplate %s%s %s=%s --overwrite",
			why, object.Name(tc.in.Template), nsFlag(object.Namespace(tc.in.Template)), AnnotationAllowDeletion, token))
}

// TemplateDeletionToken names one version (generation) of one template, for
// the allow-deletion annotation of its deletion guard.
func TemplateDeletionToken(tpl object.Obj) string {
	return deletionToken([]string{"TenantTemplate", ObjRef(tpl), object.UID(tpl), strconv.FormatInt(object.Generation(tpl), 10)})
}
