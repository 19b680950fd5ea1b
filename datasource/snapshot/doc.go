// Package snapshot shares one read of a registry's rows among the hook calls
// that need it.
//
// A sharded registry's rows are needed by the registry's sync (row reports,
// counts, each shard's rows revision) and by every one of its shards' syncs
// (their Tenants), which Metacontroller calls on different workers, at
// different times, for different reasons. Reading the database once per
// call would multiply the registry's queries by its shard count on every
// event; a snapshot lets them share one query per freshness window
// (docs/sharding.md §1).
//
// A snapshot is soft state: every caller states how old a snapshot it
// accepts, a miss reads the source, and an answer computed from a snapshot
// is the answer computed from the same rows read directly. So the service
// stays stateless in what matters — any replica answers any call — and the
// cache only saves queries. It is bounded by the rows it holds, least
// recently used first out, and it never holds a failed read.
package snapshot
