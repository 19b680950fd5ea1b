// Package hooks is the HTTP front-end of tenant-hooks: it speaks
// Metacontroller's hook protocol (version v2) and nothing else.
//
// A handler decodes the request, fetches rows through a datasource where the
// registry needs them, hands everything to the pure render core and encodes
// the answer. Every decision about what the cluster should look like lives in
// package render; this package only translates HTTP ⇄ core and maps errors
// onto status codes that keep Metacontroller from deleting anything:
//
//	malformed request          400, JSON error body
//	body too large             413
//	database/Secret trouble    503 + Retry-After (Metacontroller keeps every child)
//	render deadline exceeded   503 + Retry-After
//	panic or other surprise    500
//
// Never a 200 with fewer children because of an error.
package hooks
