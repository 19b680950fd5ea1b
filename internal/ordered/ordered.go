// Package ordered walks maps in a stable order: answers must be
// byte-identical for equal input, and Go's map order is random. It is the
// one copy of that helper for every package of the module.
package ordered

import "slices"

// Keys returns m's keys in ascending order, in a slice of exactly their
// number (no growth on the hot paths that walk every map of a template).
func Keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
