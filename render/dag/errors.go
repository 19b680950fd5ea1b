package dag

import (
	"fmt"
	"strings"
)

// EmptyIDError reports a node without an ID. The index is all we can point
// the user at, since the node has no name.
type EmptyIDError struct {
	Index int
}

func (e *EmptyIDError) Error() string {
	return fmt.Sprintf("resource at index %d has an empty ID", e.Index)
}

// DuplicateIDError reports an ID used by more than one node.
type DuplicateIDError struct {
	ID string
}

func (e *DuplicateIDError) Error() string {
	return fmt.Sprintf("duplicate resource ID %q", e.ID)
}

// UnknownDependencyError reports a dependency on an ID that no node has.
type UnknownDependencyError struct {
	ID         string
	Dependency string
}

func (e *UnknownDependencyError) Error() string {
	return fmt.Sprintf("resource %q depends on unknown resource %q", e.ID, e.Dependency)
}

// CycleError reports a dependency cycle as the full path, each element
// depending on the next, with the first ID repeated at the end so that the
// closing edge is visible: [a b c a] reads "a depends on b depends on c
// depends on a". A self-dependency is [a a].
type CycleError struct {
	Path []string
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}
