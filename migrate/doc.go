// Package migrate plans the switch-over of a live Tenant Operator v1.0
// installation to tenant-hooks under Metacontroller (docs/migrating.md).
//
// It reads the objects `kubectl get … -o json` prints (registries, templates,
// Tenants, their children and the Namespaces) and answers, for every object,
// what happens to it and the JSON patch that makes it so. It never talks to an
// API server: the output is a script a person reviews and runs.
//
// The switch must be a non-event for the tenants: nothing deleted or
// re-created, no Deployment or StatefulSet rolled out, every Tenant Ready
// again, retained objects still retained. Metacontroller only manages what
// its generated selector (label controller-uid=<parent uid>) matches: it
// releases a controlled object without that label, silently ignores creating
// one that exists, and deletes a selected child missing from a 200 answer. So
// the plan labels every v1.0 object for its parent before any controller
// runs, and proves with the real render core (the registry sync on rows
// rebuilt from v1.0's Tenants, the tenant sync on the observed children) that
// every labelled object is in the desired set, with the same name and with a
// desired state that changes nothing but tenant-hooks' bookkeeping metadata.
// Whatever it cannot prove is a Problem, and a plan with problems is refused.
package migrate
