// Package sim plays Metacontroller's part in memory so that the render core
// can be driven through every round of a convergence without a cluster: it
// applies an answer the way Metacontroller would (create what is missing,
// update what changed, delete what was left out, stamp server fields and the
// controller-uid label), lets "the cluster" make objects ready by kind, and
// feeds the result back as the next request.
//
// The golden tests, the convergence tests, the CLI (`tenant-hooks render`
// shows the converged children) and `make bench-scale` all use it, so they
// measure and show the same thing.
package sim
