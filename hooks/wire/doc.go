// Package wire is Metacontroller's hook protocol (version v2) as bytes: the
// request and answer envelopes, and their codecs.
//
//   - protocol.go: the envelopes (CompositeRequest, DecoratorRequest,
//     CustomizeRequest and their answers), Decode/DecodeBytes (strict: an
//     unknown envelope key is a *DecodeError, a 400) and Encode (sorted keys,
//     byte-identical for equal answers);
//   - fastdecode.go, fastencode.go: fast paths behind DecodeBytes and Encode
//     that produce exactly encoding/json's result (fuzz-tested against it);
//     shared.go: the decoded TenantTemplates the fast decoder shares between
//     requests that carry the same bytes (immutable, like the parse cache's);
//   - registrystream.go, registryanswer.go: the registry sync, the one hook
//     whose request grows with the data, decoded as it streams in (each
//     observed Tenant summarised as a render.ObservedTenant) and answered in
//     chunks;
//   - shard.go: sharded registries (docs/sharding.md): observed TenantShards
//     summarised without building their specs, and a shard's Tenants,
//     already encoded by render, copied into the answer as they are;
//   - controller.go: the part of the controller object the handlers read.
//
// It sits between package hooks, which owns HTTP (routing, limits, error →
// status code, metrics) and stays thin, and package render, the pure core:
// wire knows the shapes Metacontroller sends and accepts, nothing about what
// the answers should contain. It is a sub-package of hooks, not a top-level
// one, because the protocol has no other user: the CLI and the tests reach
// the core through render and read answers with DecodeBytes.
package wire
