package dag

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// n is shorthand for a node in test tables.
func n(id string, deps ...string) Node { return Node{ID: id, DependsOn: deps} }

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		want  error
		msg   string
	}{
		{
			name:  "empty id",
			nodes: []Node{n("a"), n("")},
			want:  &EmptyIDError{Index: 1},
			msg:   "resource at index 1 has an empty ID",
		},
		{
			name:  "empty id reported before a later duplicate",
			nodes: []Node{n("a"), n(""), n("a")},
			want:  &EmptyIDError{Index: 1},
		},
		{
			name:  "duplicate id",
			nodes: []Node{n("cfg"), n("web"), n("cfg")},
			want:  &DuplicateIDError{ID: "cfg"},
			msg:   `duplicate resource ID "cfg"`,
		},
		{
			name:  "unknown dependency",
			nodes: []Node{n("web", "cfg")},
			want:  &UnknownDependencyError{ID: "web", Dependency: "cfg"},
			msg:   `resource "web" depends on unknown resource "cfg"`,
		},
		{
			name:  "empty dependency is unknown",
			nodes: []Node{n("web", "")},
			want:  &UnknownDependencyError{ID: "web", Dependency: ""},
		},
		{
			name:  "unknown dependency reported before a cycle",
			nodes: []Node{n("a", "a"), n("b", "zzz")},
			want:  &UnknownDependencyError{ID: "b", Dependency: "zzz"},
		},
		{
			name:  "self dependency is a cycle of length 1",
			nodes: []Node{n("a", "a")},
			want:  &CycleError{Path: []string{"a", "a"}},
			msg:   "dependency cycle: a -> a",
		},
		{
			name:  "cycle of length 2",
			nodes: []Node{n("a", "b"), n("b", "a")},
			want:  &CycleError{Path: []string{"a", "b", "a"}},
			msg:   "dependency cycle: a -> b -> a",
		},
		{
			name:  "cycle of length 3",
			nodes: []Node{n("a", "b"), n("b", "c"), n("c", "a")},
			want:  &CycleError{Path: []string{"a", "b", "c", "a"}},
			msg:   "dependency cycle: a -> b -> c -> a",
		},
		{
			name:  "cycle not involving the first node",
			nodes: []Node{n("ns"), n("web", "cfg", "ns"), n("cfg", "svc"), n("svc", "web")},
			want:  &CycleError{Path: []string{"web", "cfg", "svc", "web"}},
			msg:   "dependency cycle: web -> cfg -> svc -> web",
		},
		{
			name: "path starts where the back edge lands, not where the search started",
			// The search enters at a, walks a -> b -> c and closes c -> b.
			nodes: []Node{n("a", "b"), n("b", "c"), n("c", "b")},
			want:  &CycleError{Path: []string{"b", "c", "b"}},
		},
		{
			name: "dependencies are followed in input order, not DependsOn order",
			// x lists z before y, but y comes first in the input, so the
			// y cycle is found first.
			nodes: []Node{n("x", "z", "y"), n("y", "x"), n("z", "x")},
			want:  &CycleError{Path: []string{"x", "y", "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.nodes)
			require.Error(t, err)
			assert.Nil(t, g)
			assert.Equal(t, tt.want, err)
			if tt.msg != "" {
				assert.EqualError(t, err, tt.msg)
			}
		})
	}
}

func TestCycleErrorIsTyped(t *testing.T) {
	_, err := New([]Node{n("a", "b"), n("b", "a")})
	wrapped := fmt.Errorf("template web: %w", err)
	var ce *CycleError
	require.ErrorAs(t, wrapped, &ce)
	assert.Equal(t, []string{"a", "b", "a"}, ce.Path)
}

func TestNewDeduplicatesDependencies(t *testing.T) {
	g, err := New([]Node{n("cfg"), n("web", "cfg", "cfg", "cfg")})
	require.NoError(t, err)
	assert.Equal(t, []string{"cfg"}, g.DependsOn("web"))
	assert.Equal(t, []string{"web"}, g.Dependants("cfg"))
	assert.Equal(t, 1, g.Level("web"))
}

func TestNewDoesNotRetainInput(t *testing.T) {
	nodes := []Node{n("a"), n("b", "a")}
	g, err := New(nodes)
	require.NoError(t, err)
	nodes[0].ID = "changed"
	nodes[1].DependsOn[0] = "changed"
	assert.Equal(t, []string{"a", "b"}, g.Order())
	assert.Equal(t, []string{"a"}, g.DependsOn("b"))
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		want  []string
	}{
		{name: "empty", nodes: nil, want: []string{}},
		{name: "single", nodes: []Node{n("a")}, want: []string{"a"}},
		{
			name:  "no dependencies keeps input order",
			nodes: []Node{n("svc"), n("cfg"), n("web"), n("acct")},
			want:  []string{"svc", "cfg", "web", "acct"},
		},
		{
			name:  "dependency listed later moves earlier",
			nodes: []Node{n("web", "cfg"), n("cfg")},
			want:  []string{"cfg", "web"},
		},
		{
			name: "diamond",
			//    top
			//   /   \
			// left  right
			//   \   /
			//   bottom
			nodes: []Node{n("bottom", "left", "right"), n("right", "top"), n("left", "top"), n("top")},
			want:  []string{"top", "right", "left", "bottom"},
		},
		{
			name: "ties broken by input order, not by level",
			// c is a root but listed after b; b becomes free as soon as a
			// is placed and wins over c because it was listed first.
			nodes: []Node{n("a"), n("b", "a"), n("c")},
			want:  []string{"a", "b", "c"},
		},
		{
			name: "a node waits only for its own dependencies",
			// d (level 0) is listed last and must not jump ahead of b.
			nodes: []Node{n("b", "a"), n("a"), n("c", "b"), n("d")},
			want:  []string{"a", "b", "c", "d"},
		},
		{
			name: "the fixture template: web and svc depend on the config",
			nodes: []Node{
				n("config"), n("web", "config"), n("svc", "web"),
			},
			want: []string{"config", "web", "svc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.nodes)
			require.NoError(t, err)
			assert.Equal(t, tt.want, g.Order())
			assertTopological(t, g)
		})
	}
}

func TestLevels(t *testing.T) {
	g, err := New([]Node{
		n("svc", "web"),
		n("web", "cfg", "secret"),
		n("cfg"),
		n("worker", "cfg"),
		n("secret"),
		n("ingress", "svc"),
		n("alone"),
	})
	require.NoError(t, err)
	assert.Equal(t, [][]string{
		{"cfg", "secret", "alone"},
		{"web", "worker"},
		{"svc"},
		{"ingress"},
	}, g.Levels())
	for id, want := range map[string]int{"cfg": 0, "alone": 0, "web": 1, "worker": 1, "svc": 2, "ingress": 3} {
		assert.Equal(t, want, g.Level(id), id)
	}
	assert.Equal(t, -1, g.Level("nope"))
}

func TestLevelIsLongestPath(t *testing.T) {
	// d depends on a directly and on a through b and c; the long path wins.
	g, err := New([]Node{n("a"), n("b", "a"), n("c", "b"), n("d", "a", "c")})
	require.NoError(t, err)
	assert.Equal(t, 3, g.Level("d"))
}

func TestNeighbours(t *testing.T) {
	g, err := New([]Node{
		n("ingress", "svc"),
		n("svc", "web"),
		n("web", "secret", "cfg"),
		n("cfg"),
		n("secret"),
		n("worker", "cfg"),
		n("alone"),
	})
	require.NoError(t, err)

	assert.Equal(t, []string{"cfg", "secret"}, g.DependsOn("web"), "input order, not DependsOn order")
	assert.Equal(t, []string{"web", "worker"}, g.Dependants("cfg"))
	assert.Equal(t, []string{}, g.DependsOn("cfg"))
	assert.Equal(t, []string{}, g.Dependants("ingress"))
	assert.Nil(t, g.DependsOn("nope"))
	assert.Nil(t, g.Dependants("nope"))

	assert.Equal(t, []string{"cfg", "secret", "web", "svc"}, g.Ancestors("ingress"))
	// Order is cfg, secret, web, svc, ingress, worker, alone.
	assert.Equal(t, []string{"web", "svc", "ingress", "worker"}, g.Descendants("cfg"))
	assert.Equal(t, []string{}, g.Ancestors("alone"))
	assert.Equal(t, []string{}, g.Descendants("alone"))
	assert.Nil(t, g.Ancestors("nope"))
	assert.Nil(t, g.Descendants("nope"))

	// Ancestors and Descendants come back in the same relative order as Order.
	order := g.Order()
	for _, id := range g.IDs() {
		for _, list := range [][]string{g.Ancestors(id), g.Descendants(id)} {
			assert.True(t, slices.IsSortedFunc(list, func(a, b string) int {
				return slices.Index(order, a) - slices.Index(order, b)
			}), "%s: %v not in topological order", id, list)
		}
	}
}

func TestIDsIndexLen(t *testing.T) {
	g, err := New([]Node{n("b", "a"), n("a")})
	require.NoError(t, err)
	assert.Equal(t, 2, g.Len())
	assert.Equal(t, []string{"b", "a"}, g.IDs())
	i, ok := g.Index("a")
	assert.True(t, ok)
	assert.Equal(t, 1, i)
	_, ok = g.Index("nope")
	assert.False(t, ok)
}

func TestAccessorsReturnCopies(t *testing.T) {
	g, err := New([]Node{n("a"), n("b", "a")})
	require.NoError(t, err)
	g.Order()[0] = "x"
	g.IDs()[0] = "x"
	g.Levels()[0][0] = "x"
	g.DependsOn("b")[0] = "x"
	g.Dependants("a")[0] = "x"
	g.Ancestors("b")[0] = "x"
	assert.Equal(t, []string{"a", "b"}, g.Order())
	assert.Equal(t, []string{"a", "b"}, g.IDs())
	assert.Equal(t, [][]string{{"a"}, {"b"}}, g.Levels())
	assert.Equal(t, []string{"a"}, g.DependsOn("b"))
	assert.Equal(t, []string{"b"}, g.Dependants("a"))
	assert.Equal(t, []string{"a"}, g.Ancestors("b"))
}

func TestZeroGraph(t *testing.T) {
	var g Graph
	assert.Equal(t, 0, g.Len())
	assert.Equal(t, []string{}, g.Order())
	assert.Empty(t, g.Levels())
	assert.Equal(t, -1, g.Level("a"))
}

func TestLongChain(t *testing.T) {
	const size = 1000
	// Listed leaf first, so every node has to wait for one listed after it.
	nodes := make([]Node, size)
	for i := range size {
		nodes[i] = n(fmt.Sprintf("n%04d", size-1-i))
		if i < size-1 {
			nodes[i].DependsOn = []string{fmt.Sprintf("n%04d", size-2-i)}
		}
	}
	g, err := New(nodes)
	require.NoError(t, err)
	order := g.Order()
	require.Len(t, order, size)
	for i, id := range order {
		require.Equal(t, fmt.Sprintf("n%04d", i), id)
		require.Equal(t, i, g.Level(id))
	}
	assert.Len(t, g.Levels(), size)
	assert.Len(t, g.Ancestors("n0999"), size-1)
	assertTopological(t, g)

	// Closing the chain into one big ring must report all 1000 hops.
	nodes[size-1].DependsOn = []string{"n0999"}
	_, err = New(nodes)
	var ce *CycleError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Path, size+1)
	assertRealCycle(t, nodes, ce.Path)
}

func TestDeterminism(t *testing.T) {
	nodes := []Node{
		n("ingress", "svc"), n("svc", "web"), n("web", "cfg", "secret", "pvc"),
		n("pvc"), n("cfg"), n("secret"), n("worker", "cfg", "secret"),
		n("job", "worker"), n("cron", "cfg"), n("sa"), n("role", "sa"), n("rb", "role", "sa"),
	}
	first, err := New(nodes)
	require.NoError(t, err)
	want, wantLevels := first.Order(), first.Levels()
	for range 100 {
		g, err := New(nodes)
		require.NoError(t, err)
		require.Equal(t, want, g.Order())
		require.Equal(t, wantLevels, g.Levels())
	}

	cyclic := append(slices.Clone(nodes), n("a", "b"), n("b", "c"), n("c", "a"), n("d", "d"))
	_, err = New(cyclic)
	require.Error(t, err)
	for range 100 {
		_, again := New(cyclic)
		require.Equal(t, err, again)
	}
}

func TestConcurrentReads(t *testing.T) {
	g, err := New([]Node{n("a"), n("b", "a"), n("c", "b"), n("d", "a")})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = g.Order()
				_ = g.Levels()
				_ = g.Ancestors("c")
				_ = g.Descendants("a")
				_ = g.Level("d")
			}
		})
	}
	wg.Wait()
}

func assertTopological(t *testing.T, g *Graph) {
	t.Helper()
	order := g.Order()
	require.Len(t, order, g.Len())
	seen := make(map[string]bool, len(order))
	for _, id := range order {
		require.False(t, seen[id], "%s emitted twice", id)
		for _, d := range g.DependsOn(id) {
			require.True(t, seen[d], "%s emitted before its dependency %s", id, d)
		}
		seen[id] = true
	}
}

func assertRealCycle(t *testing.T, nodes []Node, path []string) {
	t.Helper()
	require.GreaterOrEqual(t, len(path), 2)
	require.Equal(t, path[0], path[len(path)-1], "cycle must be closed")
	edges := map[[2]string]bool{}
	for _, nd := range nodes {
		for _, d := range nd.DependsOn {
			edges[[2]string{nd.ID, d}] = true
		}
	}
	for i := range len(path) - 1 {
		require.True(t, edges[[2]string{path[i], path[i+1]}], "%s does not depend on %s", path[i], path[i+1])
	}
	inner := slices.Clone(path[:len(path)-1])
	slices.Sort(inner)
	require.Equal(t, len(inner), len(slices.Compact(inner)), "cycle %v repeats a node", path)
}

func FuzzNew(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 1, 2, 1, 0, 2, 1})
	f.Add([]byte{3, 0, 1, 2, 0, 1, 1, 2, 2, 0})
	f.Add([]byte{2, 0, 0})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{4, 0, 1, 8, 3, 0, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes := fuzzNodes(data)
		g, err := New(nodes)
		if err == nil {
			require.NotNil(t, g)
			require.Equal(t, len(nodes), g.Len())
			assertTopological(t, g)
			for _, nd := range nodes {
				for _, d := range nd.DependsOn {
					require.Greater(t, g.Level(nd.ID), g.Level(d))
				}
			}
			return
		}
		require.Nil(t, g)
		var (
			ce *CycleError
			ee *EmptyIDError
			de *DuplicateIDError
			ue *UnknownDependencyError
		)
		switch {
		case errors.As(err, &ce):
			assertRealCycle(t, nodes, ce.Path)
		case errors.As(err, &ee), errors.As(err, &de), errors.As(err, &ue):
		default:
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

// fuzzNodes turns bytes into a small graph: the first byte picks the node
// count, the next ones pick IDs from a pool that includes "" and allows
// duplicates, and the remaining pairs add edges, sometimes to unknown IDs.
func fuzzNodes(data []byte) []Node {
	pool := []string{"a", "b", "c", "d", "e", "f", "g", "h", "", "zz"}
	if len(data) == 0 {
		return nil
	}
	count := int(data[0] % 9)
	data = data[1:]
	nodes := make([]Node, 0, count)
	for i := range count {
		id := pool[i]
		if len(data) > 0 {
			// Mostly distinct IDs so that cycles are reachable; a high byte
			// swaps in an arbitrary pool entry to hit the other errors.
			if data[0] >= 0xF0 {
				id = pool[int(data[0])%len(pool)]
			}
			data = data[1:]
		}
		nodes = append(nodes, Node{ID: id})
	}
	for len(data) >= 2 && count > 0 {
		from := int(data[0]) % count
		to := pool[int(data[1])%len(pool)]
		if int(data[1])%len(pool) < count {
			to = nodes[int(data[1])%len(pool)].ID
		}
		nodes[from].DependsOn = append(nodes[from].DependsOn, to)
		data = data[2:]
	}
	return nodes
}

func BenchmarkNewOrder(b *testing.B) {
	for _, size := range []int{30, 1000} {
		// A layered graph like a big template: each node depends on up to
		// three nodes listed before it.
		nodes := make([]Node, size)
		for i := range size {
			nodes[i].ID = fmt.Sprintf("res-%d", i)
			for _, back := range []int{1, 7, 13} {
				if i-back >= 0 && i%back == 0 {
					nodes[i].DependsOn = append(nodes[i].DependsOn, fmt.Sprintf("res-%d", i-back))
				}
			}
		}
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g, err := New(nodes)
				if err != nil {
					b.Fatal(err)
				}
				_ = g.Order()
			}
		})
	}
}
