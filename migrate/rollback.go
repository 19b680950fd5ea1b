package migrate

import (
	"fmt"
	"sort"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Rollback plans the way back to v1.0, from the objects as they are now
// (migrated, and possibly managed by tenant-hooks for a while). It assumes
// the tenant-hooks controllers were deleted first (docs/migrating.md), so
// nothing selects anything any more:
//
//   - registries get v1.0's finalizer back;
//   - Tenants lose the controller-uid label, get v1.0's finalizer back in
//     place of Metacontroller's, and their template-generation annotation is
//     set to "0", which makes v1.0's registry re-render their spec (v1.0
//     keeps the template's lists in the Tenant; tenant-hooks does not);
//   - children lose the controller-uid label.
//
// Ownership is not touched: Metacontroller's controller ownerReferences are
// the same as v1.0's. Objects tenant-hooks retained (label orphaned=true)
// keep their markers. Nothing is deleted; pod templates are not touched.
func Rollback(objs []object.Obj) *Plan {
	p := &Plan{}
	seen := map[string]bool{}
	tenants := map[string]bool{}
	var list []object.Obj
	for _, o := range objs {
		if u := object.UID(o); u != "" && !seen[u] {
			seen[u] = true
			list = append(list, o)
			if object.APIVersion(o) == render.APIVersion && object.Kind(o) == "Tenant" {
				tenants[u] = true
			}
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return object.Key(list[i]) < object.Key(list[j]) })
	add := func(o object.Obj, detail string, ops []Op) {
		action := ActionMigrate
		if len(ops) == 0 {
			action, detail = ActionUnchanged, "already as v1.0 wants it"
		} else {
			ops = append(guard(o, ops), ops...)
		}
		p.Items = append(p.Items, Item{APIVersion: object.APIVersion(o), Kind: object.Kind(o), Namespace: object.Namespace(o),
			Name: object.Name(o), UID: object.UID(o), Action: action, Detail: detail, Patch: ops})
	}
	for _, o := range list {
		kind := object.Kind(o)
		ours := object.APIVersion(o) == render.APIVersion
		switch {
		case ours && kind == "TenantRegistry":
			fs := finalizers(o)
			add(o, "v1.0's finalizer "+V1RegistryFinalizer+" back", finalizerOps(o, swapFinalizer(fs, V1RegistryFinalizer, V1RegistryFinalizer)))
		case ours && kind == "Tenant":
			ops := labelRemoveOps(o, "labels", render.LabelControllerUID)
			ops = append(ops, finalizerOps(o, swapFinalizer(finalizers(o), MCTenantFinalizer, V1TenantFinalizer))...)
			if object.String(o, "metadata", "annotations", V1AnnotationTemplateGeneration) != "0" {
				ops = append(ops, labelOps(o, "annotations", map[string]string{V1AnnotationTemplateGeneration: "0"})...)
			}
			add(o, fmt.Sprintf("label %s removed; finalizer %s instead of %s; annotation %s=0 so v1.0's registry re-renders its spec",
				render.LabelControllerUID, V1TenantFinalizer, MCTenantFinalizer, V1AnnotationTemplateGeneration), ops)
		default:
			c := controllerRef(o)
			if c == nil || !tenants[object.String(c, "uid")] {
				continue
			}
			add(o, "label "+render.LabelControllerUID+" removed (v1.0 selects children by ownerReference)", labelRemoveOps(o, "labels", render.LabelControllerUID))
		}
	}
	sort.SliceStable(p.Items, func(i, j int) bool { return itemOrder(p.Items[i]) > itemOrder(p.Items[j]) })
	return p
}
