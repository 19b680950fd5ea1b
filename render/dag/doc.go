// Package dag orders the resources of one tenant by their dependIds.
//
// A template lists resources with an id and the ids they depend on. New
// checks that list and freezes it into a Graph that answers ordering
// questions: which resource comes first, which resources may be emitted
// together (Levels), and what sits upstream or downstream of a resource.
//
// # Why this exists instead of upstream's graph
//
// Tenant Operator v1.0 (reference §5) walked a Go map, so the order inside a
// dependency level changed from one reconcile to the next and a cycle was
// reported as the single edge that closed it ("A -> B"). Hooks answered by
// this service are compared by Metacontroller against what it observed, and
// humans read our errors in conditions, so both must be stable:
//
//   - Order is a topological order in which, among the resources that are
//     free to go next, the one listed first by the user goes first. For a
//     template without dependIds that is exactly the template order.
//   - A cycle is reported as the full path, found by a depth-first search
//     that starts from the nodes and follows their dependencies in input
//     order, so the same template always yields the same message.
//
// "Input order" means the order of the nodes passed to New, everywhere in
// this package. It is deliberately not the order in which a node spells its
// DependsOn list: writing dependIds: [b, a] or [a, b] means the same thing
// and must not change what is emitted or reported.
//
// # Errors
//
// New reports the first problem it finds, checking in this order: empty IDs
// (*EmptyIDError), duplicate IDs (*DuplicateIDError), references to IDs that
// do not exist (*UnknownDependencyError), then cycles (*CycleError). A node
// depending on itself is a cycle of length one. Listing the same dependency
// twice is accepted and counted once.
//
// # Concurrency
//
// A Graph is immutable once New returns and every accessor returns a fresh
// slice, so one Graph may be shared by any number of goroutines.
package dag
