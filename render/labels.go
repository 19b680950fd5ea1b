package render

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

	// Metacontroller's generated selector label.
	LabelControllerUID = "controller-uid"

	Group      = "operator.kubernetes-tenants.org"
	APIVersion = Group + "/v1"
)
