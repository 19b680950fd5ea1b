package render

import "github.com/tenant-hooks/tenant-hooks/render/object"

// Label and annotation keys written by tenant-hooks. They are the API users
// select on (`kubectl get deploy -l kubernetes-tenants.org/tenant=acme-web`),
// so they never change meaning.
const (
	Prefix = "kubernetes-tenants.org/"

	LabelTenant          = Prefix + "tenant"
	LabelTenantNamespace = Prefix + "tenant-namespace"
	LabelRegistry        = Prefix + "registry"
	LabelTemplate        = Prefix + "template"
	LabelResourceID      = Prefix + "resource-id"
	LabelUID             = Prefix + "uid"
	LabelOrphaned        = Prefix + "orphaned"

	AnnotationDeletionPolicy = Prefix + "deletion-policy"
	AnnotationCreationPolicy = Prefix + "creation-policy"
	AnnotationLevel          = Prefix + "dependency-level"
	AnnotationOrphanedAt     = Prefix + "orphaned-at"
	AnnotationOrphanedFrom   = Prefix + "orphaned-from"
	AnnotationOrphanedReason = Prefix + "orphaned-reason"
	AnnotationAllowDeletion  = Prefix + "allow-deletion"
	// AnnotationTenant holds the Tenant's name on a child whose LabelTenant
	// had to be shortened (names of 64-253 characters kept from v1.0, see
	// names.TenantName); absent otherwise.
	AnnotationTenant = Prefix + "tenant"

	// Metacontroller's generated selector label.
	LabelControllerUID = "controller-uid"

	Group      = "operator.kubernetes-tenants.org"
	APIVersion = Group + "/v1"
)

// TenantOf is the name of the Tenant an object is labelled with: the
// AnnotationTenant annotation when there is one (the label is then a
// shortened form), else the LabelTenant label.
func TenantOf(o object.Obj) string {
	if n := object.String(o, "metadata", "annotations", AnnotationTenant); n != "" {
		return n
	}
	return object.String(o, "metadata", "labels", LabelTenant)
}
