// Package object holds the small set of helpers every other package needs to
// read and write Kubernetes objects kept as unstructured JSON maps.
//
// Objects stay map[string]any on purpose: typed Kubernetes structs would emit
// zero values ("replicas: 0", empty strings) that apply semantics treat as
// "set this field", and would drop fields our structs do not know about.
// Numbers are decoded as json.Number so that every integer round-trips to the
// exact bytes it came in as.
package object
