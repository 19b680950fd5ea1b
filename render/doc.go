// Package render is the pure core of tenant-hooks: given a parent object, the
// children Metacontroller observed and the related objects it fetched (plus,
// for registries, the rows a datasource returned), it computes the complete
// desired set of children and the parent's status.
//
// Nothing here does I/O, reads the clock behind the caller's back or keeps
// state between calls: the same input gives byte-identical output. The three
// front-ends — the HTTP hooks, the CLI and the golden tests — all call the
// same functions, so they cannot disagree.
//
// Sub-packages hold the single ideas the core is built from: tmpl (the
// template engine and its safe function map), dag (dependency order), readiness
// (when an observed object counts as ready), names (Kubernetes name rules) and
// object (unstructured helpers).
//
// A Tenant sync is spread over files, one concern each:
//
//	tenant.go           the input and output types and the entry (SyncTenant)
//	tenant_resource.go  the per-resource decision: render, wait, time out, fail
//	tenant_object.go    rendering one resource's object; locate, the one
//	                    answer to where it lives (also used by claims.go)
//	tenant_keep.go      keep: the rule that keeps what is observed, and every
//	                    path that applies it (render errors, Once, leftovers,
//	                    an unusable template)
//	tenant_conflict.go  pre-existing objects, Retain anchors and orphans
//	tenant_guard.go     the template's deletion guard
//	tenant_status.go    assembling the answer and its status
package render
