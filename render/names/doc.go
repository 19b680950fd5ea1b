// Package names checks Kubernetes object names, label keys and values and
// annotation keys, and turns arbitrary strings (tenant uids from a database
// row, template names) into names the API server accepts.
//
// # Validation
//
// ValidateName follows the rule the API server applies to the given kind,
// because a name that is valid for a ConfigMap can be rejected for a
// Service, and we would rather say so when a template is rendered than when
// Metacontroller's apply fails with an event nobody reads:
//
//   - Namespace, Service, StatefulSet: RFC 1123 label (at most 63
//     characters). StatefulSet names become pod hostnames, which is why the
//     API server tightened them from subdomains.
//   - Role, ClusterRole, RoleBinding, ClusterRoleBinding: path segment (not
//     "." or "..", no '/' or '%'), which is why names such as
//     "system:aggregate-to-edit" are legal there.
//   - Job: RFC 1123 subdomain of at most 63 characters, because the name is
//     copied into a label on its pods.
//   - CronJob: RFC 1123 subdomain of at most 52 characters, because the
//     CronJob controller appends an 11-character suffix for each Job.
//   - everything else, custom resources included: RFC 1123 subdomain (at
//     most 253 characters). Like the API server, the dot-separated parts are
//     not limited to 63 characters each.
//
// Service names: API servers before Kubernetes 1.36 (RelaxedServiceNameValidation
// off) require an RFC 1035 label, which must also start with a letter. We
// validate the relaxed rule, which matches current clusters; a name such as
// "42-web" (a numeric tenant uid) passes here and is refused by older ones.
//
// All errors are *InvalidError and name the rule that was broken and the
// first place it was broken.
//
// # Sanitising
//
// Tenant Operator v1.0 named Tenants "<uid>-<template>" with no sanitising,
// so a uid such as "Acme Corp" failed to create and was only logged
// (reference §2.2). TenantName keeps v1.0's name whenever v1.0 could create
// it (a valid RFC 1123 subdomain: dots allowed, up to 253 characters), so
// that a v1.0 installation switched to tenant-hooks keeps its Tenants, and
// sanitises only the rest. Sanitize and LabelValue map anything onto the
// allowed alphabet, and whenever that changes the input or has to shorten
// it they append "-" and the first 8 hex digits of the SHA-256 of the
// original string. The suffix is what keeps "ACME", "acme" and "a.c.m.e"
// apart: "acme" is already valid and kept as is, the other two become
// "acme-<hash>" and "a-c-m-e-<hash>".
//
// Two changed inputs collide only if they sanitise to the same text and
// their hashes agree: one chance in 2^32 per such pair, though inputs that
// are cut short to the same prefix (long uids sharing their first 50-odd
// characters) all compete on the hash alone. Nor can the suffix stop
// someone from choosing an input that is literally another input's
// sanitised form. Callers that must be certain still compare the names they
// produce.
//
// TenantName keeps upstream's "<uid>-<template>" shape, so ("a-b", "c") and
// ("a", "b-c") give the same name, exactly as upstream did; the registry is
// the place to detect such duplicates, since only it sees all rows (it
// hashes every colliding name except the one an observed Tenant already
// holds for its own uid and template). A kept
// v1.0 name never contains a character that Sanitize would change, so a
// sanitised name meets a kept one only when a uid is chosen to be another
// row's sanitised name; the registry's duplicate check covers that too.
//
// Names of 64 to 253 characters are valid Tenant names but not label
// values: TenantLabel is what labels and selectors carry for them.
package names
