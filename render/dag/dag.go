package dag

import "slices"

// Node is one resource as the user declared it.
type Node struct {
	ID        string
	DependsOn []string
}

// Graph is a validated, acyclic dependency graph. The zero value is an empty
// graph; use New to build a useful one.
type Graph struct {
	ids   []string
	index map[string]int

	// Edges are kept as input indices, sorted and deduplicated, so that every
	// walk over them is in input order without re-sorting.
	deps       [][]int
	dependants [][]int

	order  []int // input indices in topological order
	pos    []int // pos[i] is the position of node i in order
	level  []int
	levels [][]int
}

// New validates nodes and builds the graph. The nodes slice and its
// DependsOn slices are not retained.
func New(nodes []Node) (*Graph, error) {
	n := len(nodes)
	g := &Graph{
		ids:        make([]string, n),
		index:      make(map[string]int, n),
		deps:       make([][]int, n),
		dependants: make([][]int, n),
	}
	for i, node := range nodes {
		if node.ID == "" {
			return nil, &EmptyIDError{Index: i}
		}
		if _, dup := g.index[node.ID]; dup {
			return nil, &DuplicateIDError{ID: node.ID}
		}
		g.index[node.ID] = i
		g.ids[i] = node.ID
	}
	for i, node := range nodes {
		if len(node.DependsOn) == 0 {
			continue
		}
		deps := make([]int, 0, len(node.DependsOn))
		for _, d := range node.DependsOn {
			j, ok := g.index[d]
			if !ok {
				return nil, &UnknownDependencyError{ID: node.ID, Dependency: d}
			}
			deps = append(deps, j)
		}
		slices.Sort(deps)
		deps = slices.Compact(deps)
		g.deps[i] = slices.Clip(deps)
		for _, j := range deps {
			g.dependants[j] = append(g.dependants[j], i)
		}
	}
	// dependants are appended while i ascends, so they are already sorted.

	if !g.sort() {
		return nil, &CycleError{Path: g.findCycle()}
	}
	g.assignLevels()
	return g, nil
}

// sort is Kahn's algorithm with the ready set kept as a min-heap of input
// indices: whenever several nodes are free to go, the one the user listed
// first goes first. It reports false when some node could not be ordered,
// which happens exactly when the graph has a cycle.
func (g *Graph) sort() bool {
	n := len(g.ids)
	pending := make([]int, n)
	ready := make(minHeap, 0, n)
	for i := range n {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			// Ascending appends keep the heap property without sifting.
			ready = append(ready, i)
		}
	}
	g.order = make([]int, 0, n)
	for len(ready) > 0 {
		i := ready.pop()
		g.order = append(g.order, i)
		for _, d := range g.dependants[i] {
			pending[d]--
			if pending[d] == 0 {
				ready.push(d)
			}
		}
	}
	if len(g.order) != n {
		return false
	}
	g.pos = make([]int, n)
	for p, i := range g.order {
		g.pos[i] = p
	}
	return true
}

// findCycle runs a depth-first search from each node in input order,
// following dependencies in input order, and returns the path of the first
// back edge it meets. It is only called once sort has proven a cycle exists.
// The search is iterative so that a long chain cannot exhaust the stack.
func (g *Graph) findCycle() []string {
	const (
		white = iota // not visited
		grey         // on the current path
		black        // fully explored, cannot reach a cycle through here
	)
	type frame struct{ node, next int }

	n := len(g.ids)
	color := make([]uint8, n)
	var stack []frame
	for start := range n {
		if color[start] != white {
			continue
		}
		color[start] = grey
		stack = append(stack[:0], frame{node: start})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(g.deps[top.node]) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			d := g.deps[top.node][top.next]
			top.next++
			switch color[d] {
			case white:
				color[d] = grey
				stack = append(stack, frame{node: d})
			case grey:
				from := slices.IndexFunc(stack, func(f frame) bool { return f.node == d })
				path := make([]string, 0, len(stack)-from+1)
				for _, f := range stack[from:] {
					path = append(path, g.ids[f.node])
				}
				return append(path, g.ids[d])
			}
		}
	}
	// Unreachable when sort failed; kept so a logic error shows up as an
	// empty path in tests rather than a panic in production.
	return nil
}

func (g *Graph) assignLevels() {
	n := len(g.ids)
	g.level = make([]int, n)
	top := -1
	for _, i := range g.order {
		l := 0
		for _, d := range g.deps[i] {
			l = max(l, g.level[d]+1)
		}
		g.level[i] = l
		top = max(top, l)
	}
	g.levels = make([][]int, top+1)
	for i := range n {
		g.levels[g.level[i]] = append(g.levels[g.level[i]], i)
	}
}

// Len returns the number of nodes.
func (g *Graph) Len() int { return len(g.ids) }

// IDs returns every ID in input order.
func (g *Graph) IDs() []string { return slices.Clone(g.ids) }

// Index returns the input position of id.
func (g *Graph) Index(id string) (int, bool) {
	i, ok := g.index[id]
	return i, ok
}

// Order returns every ID so that each comes after all of its dependencies;
// among IDs that are free to go at the same time, input order decides.
func (g *Graph) Order() []string { return g.names(g.order) }

// Level returns 0 for a node without dependencies and otherwise one more
// than the highest level among its dependencies, or -1 for an unknown id.
// Nodes on the same level never depend on each other.
func (g *Graph) Level(id string) int {
	i, ok := g.index[id]
	if !ok {
		return -1
	}
	return g.level[i]
}

// Levels returns the IDs grouped by Level, each group in input order.
func (g *Graph) Levels() [][]string {
	out := make([][]string, len(g.levels))
	for l, idx := range g.levels {
		out[l] = g.names(idx)
	}
	return out
}

// DependsOn returns the direct dependencies of id, deduplicated and in input
// order, or nil for an unknown id.
func (g *Graph) DependsOn(id string) []string {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return g.names(g.deps[i])
}

// Dependants returns the nodes that directly depend on id, in input order,
// or nil for an unknown id.
func (g *Graph) Dependants(id string) []string {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	return g.names(g.dependants[i])
}

// Ancestors returns everything id depends on, directly or not, in
// topological order, or nil for an unknown id.
func (g *Graph) Ancestors(id string) []string { return g.reach(id, g.deps) }

// Descendants returns everything that depends on id, directly or not, in
// topological order, or nil for an unknown id.
func (g *Graph) Descendants(id string) []string { return g.reach(id, g.dependants) }

func (g *Graph) reach(id string, edges [][]int) []string {
	start, ok := g.index[id]
	if !ok {
		return nil
	}
	seen := make([]bool, len(g.ids))
	var found []int
	queue := []int{start}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, j := range edges[i] {
			if !seen[j] {
				seen[j] = true
				found = append(found, j)
				queue = append(queue, j)
			}
		}
	}
	slices.SortFunc(found, func(a, b int) int { return g.pos[a] - g.pos[b] })
	return g.names(found)
}

func (g *Graph) names(idx []int) []string {
	if len(idx) == 0 {
		return []string{}
	}
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = g.ids[i]
	}
	return out
}

// minHeap is a binary min-heap of input indices, hand-rolled so that New
// does not box every index into an interface as container/heap would.
type minHeap []int

func (h *minHeap) push(x int) {
	s := append(*h, x)
	for c := len(s) - 1; c > 0; {
		p := (c - 1) / 2
		if s[p] <= s[c] {
			break
		}
		s[p], s[c] = s[c], s[p]
		c = p
	}
	*h = s
}

func (h *minHeap) pop() int {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= len(s) {
			break
		}
		if c+1 < len(s) && s[c+1] < s[c] {
			c++
		}
		if s[p] <= s[c] {
			break
		}
		s[p], s[c] = s[c], s[p]
		p = c
	}
	*h = s
	return top
}
