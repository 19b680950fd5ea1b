package tmpl

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"
	"text/template/parse"
)

// leafName is the name every leaf template is parsed under.
const leafName = "leaf"

// compiled is a parsed, checked template, cached by source.
type compiled struct {
	err error // *Error: parse or static-check failure (cached too)

	// shared is set when the template needs no per-render state; it is
	// executed concurrently as is.
	shared *template.Template

	// simple is set when the template is only text and top-level variables
	// ("{{ .uid }}-web"): see substitute.
	simple []segment

	// Otherwise instances are built from tree with names and reused.
	tree   *parse.Tree
	names  []string // functions the template uses (plus injected ones)
	spares [4]atomic.Pointer[instance]
}

// instance is a template bound to its own renderState.
type instance struct {
	tmpl *template.Template
	st   renderState
}

func (c *compiled) get(fs *funcSet) *instance {
	for i := range c.spares {
		if c.spares[i].Load() != nil {
			if inst := c.spares[i].Swap(nil); inst != nil {
				return inst
			}
		}
	}
	return newInstance(fs, c)
}

func (c *compiled) put(inst *instance) {
	for i := range c.spares {
		if c.spares[i].CompareAndSwap(nil, inst) {
			return
		}
	}
}

func newInstance(fs *funcSet, c *compiled) *instance {
	inst := &instance{}
	inst.st.lim = &fs.lim
	inst.tmpl = build(fs, c.tree, c.names, &inst.st)
	return inst
}

// build makes an executable template holding only the functions the tree
// uses. A template made with the whole Sprig map carries two maps of ~220
// entries, about 21 KB (4096 cached templates: ~90 MB); a cached leaf built
// here is about 2 KB.
func build(fs *funcSet, tree *parse.Tree, names []string, st *renderState) *template.Template {
	fm := make(template.FuncMap, len(names))
	for _, n := range names {
		if mk, ok := fs.stateful[n]; ok {
			fm[n] = mk(st)
		} else if mk, ok := fs.charged[n]; ok {
			fm[n] = mk(st)
		} else {
			fm[n] = fs.plain[n]
		}
	}
	t := template.New(leafName).Option("missingkey=error").Funcs(fm)
	t, _ = t.AddParseTree(leafName, tree) // cannot fail
	return t
}

// compile parses and checks src. The result, including an error, depends
// only on src and the Engine's options, so it is cached.
// Oversized sources are refused before the cache, which never holds them.
func (e *Engine) compile(src string) *compiled {
	if len(src) > e.opts.MaxTemplateBytes {
		return &compiled{err: &Error{Msg: fmt.Sprintf(
			"template is %d bytes, more than %d (MaxTemplateBytes)", len(src), e.opts.MaxTemplateBytes)}}
	}
	if c := e.cache.get(src); c != nil {
		return c
	}
	return e.cache.add(strings.Clone(src), e.parse(src))
}

func (e *Engine) parse(src string) *compiled {
	trees, err := parse.Parse(leafName, src, "", "", e.fs.parse, builtinNames)
	if err != nil {
		return &compiled{err: parseError(err)}
	}
	tree := trees[leafName]
	if tree == nil || len(trees) != 1 {
		return &compiled{err: &Error{Msg: "define and block are not allowed: a leaf is one template and cannot declare others"}}
	}
	w := walker{src: src, fs: e.fs, used: map[string]bool{}}
	w.list(tree.Root, true)
	if w.err != nil {
		return &compiled{err: w.err}
	}
	c := &compiled{tree: tree, simple: simpleSegments(tree)}
	stateful := false
	for n := range w.used {
		if _, ok := e.fs.stateful[n]; ok {
			stateful = true
		} else if _, ok := e.fs.charged[n]; ok {
			stateful = true
		} else if _, ok := e.fs.plain[n]; !ok {
			continue // a builtin that is not overridden
		}
		c.names = append(c.names, n)
	}
	slices.Sort(c.names)
	if !stateful {
		c.shared = build(e.fs, tree, c.names, nil)
	}
	return c
}

// walker checks a parse tree and rewrites it:
//
//   - {{ template }} (and so {{ block }}) is refused: a leaf has no other
//     templates to call, and without template calls recursion is impossible;
//   - removed and refused functions are reported with their line, even in a
//     branch that would not run, so a template fails the same way for every
//     row;
//   - every range body starts with an empty text node (iterationMark), so
//     that loops count against the iteration budget and notice cancellation;
//   - a printed pipeline whose value is not a known scalar and not a
//     top-level variable ends with guardFunc (see funcSet.printGuard).
type walker struct {
	src  string
	fs   *funcSet
	used map[string]bool
	err  *Error
}

func (w *walker) line(pos parse.Pos) int {
	return 1 + strings.Count(w.src[:min(int(pos), len(w.src))], "\n")
}

func (w *walker) fail(pos parse.Pos, e *Error) {
	if w.err == nil {
		e.Line = w.line(pos)
		w.err = e
	}
}

// list walks a list; root reports whether dot is still the variables map.
func (w *walker) list(l *parse.ListNode, root bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		w.node(n, root)
	}
}

func (w *walker) node(n parse.Node, root bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		w.pipe(n.Pipe)
		if len(n.Pipe.Decl) == 0 && w.needsGuard(n.Pipe, root) {
			n.Pipe.Cmds = append(n.Pipe.Cmds, call(guardFunc, n.Pos))
			w.used[guardFunc] = true
		}
	case *parse.IfNode:
		w.pipe(n.Pipe)
		w.list(n.List, root)
		w.list(n.ElseList, root)
	case *parse.WithNode:
		w.pipe(n.Pipe)
		w.list(n.List, false)
		w.list(n.ElseList, root)
	case *parse.RangeNode:
		w.pipe(n.Pipe)
		w.list(n.List, false)
		w.list(n.ElseList, root)
		n.List.Nodes = slices.Insert(n.List.Nodes, 0, parse.Node(iterationMark(n.Pos)))
	case *parse.TemplateNode:
		w.fail(n.Pos, &Error{Msg: fmt.Sprintf(
			"{{ template %q }} is not allowed: a leaf cannot call other templates", n.Name)})
	case *parse.ListNode:
		w.list(n, root)
	}
}

func (w *walker) pipe(p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			w.arg(a)
		}
	}
}

func (w *walker) arg(a parse.Node) {
	switch a := a.(type) {
	case *parse.IdentifierNode:
		if e, refused := refusal(a.Ident); refused {
			w.fail(a.Pos, e)
		}
		w.used[a.Ident] = true
	case *parse.PipeNode:
		w.pipe(a)
	case *parse.ChainNode:
		w.arg(a.Node)
	}
}

// needsGuard reports whether printing p's value needs printGuard.
func (w *walker) needsGuard(p *parse.PipeNode, root bool) bool {
	last := p.Cmds[len(p.Cmds)-1]
	switch a := last.Args[0].(type) {
	case *parse.IdentifierNode:
		return !w.fs.scalar[a.Ident]
	case *parse.FieldNode:
		return !root // a top-level variable: caller data
	case *parse.VariableNode:
		return !(a.Ident[0] == "$" && len(a.Ident) > 1) // $.uid: caller data
	case *parse.StringNode, *parse.NumberNode, *parse.BoolNode:
		return false
	}
	return true
}

// call builds the command node `name` at pos. The nodes built here have no
// back-pointer to their tree; text/template then reports positions against
// the template's own tree, which is the same text.
func call(name string, pos parse.Pos) *parse.CommandNode {
	return &parse.CommandNode{
		NodeType: parse.NodeCommand,
		Pos:      pos,
		Args:     []parse.Node{parse.NewIdentifier(name).SetPos(pos)},
	}
}

// iterationMark is an empty text node. text/template writes it (zero bytes)
// at the start of every range iteration, which lets the output writer count
// iterations and check the context at a cost of one method call.
func iterationMark(pos parse.Pos) *parse.TextNode {
	return &parse.TextNode{NodeType: parse.NodeText, Pos: pos}
}

// segment is a piece of a simple template: literal text, or (field set)
// the value of a top-level variable, or (hasDef) that value piped into
// default with a literal string (printed instead of an empty value).
type segment struct {
	text   string
	field  string
	def    string
	hasDef bool
}

// simpleSegments returns the pieces of a template made only of text,
// {{ .name }} and {{ .name | default "literal" }} actions (no other
// pipeline, function, variable or control structure), or nil. The walker
// has already appended its print guard to the second form.
func simpleSegments(tree *parse.Tree) []segment {
	if tree == nil || tree.Root == nil || len(tree.Root.Nodes) == 0 {
		return nil
	}
	segs := make([]segment, 0, len(tree.Root.Nodes))
	for _, n := range tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			segs = append(segs, segment{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) != 0 || p.IsAssign || len(p.Cmds) == 0 || len(p.Cmds[0].Args) != 1 {
				return nil
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) != 1 {
				return nil
			}
			seg := segment{field: f.Ident[0]}
			switch len(p.Cmds) {
			case 1:
			case 3:
				def, guard := p.Cmds[1].Args, p.Cmds[2].Args
				if len(def) != 2 || !isIdent(def[0], "default") || len(guard) != 1 || !isIdent(guard[0], guardFunc) {
					return nil
				}
				lit, ok := def[1].(*parse.StringNode)
				if !ok {
					return nil
				}
				seg.def, seg.hasDef = lit.Text, true
			default:
				return nil
			}
			segs = append(segs, seg)
		default:
			return nil
		}
	}
	return segs
}

func isIdent(n parse.Node, name string) bool {
	id, ok := n.(*parse.IdentifierNode)
	return ok && id.Ident == name
}

// substitute renders a simple template without text/template when every
// variable it prints is a string, which is then printed as is (or, empty
// and piped into default, the default): exactly text/template's and
// Sprig's output. Anything else — a missing or non-string
// variable, an output over max or one containing "<no value>" — reports
// false, and the template runs through text/template, which gives the
// answer or the error it always gave.
func substitute(segs []segment, vars map[string]any, max int) (string, bool) {
	n := 0
	for i := range segs {
		if segs[i].field == "" {
			n += len(segs[i].text)
			continue
		}
		s, ok := vars[segs[i].field].(string)
		if !ok {
			return "", false
		}
		if s == "" && segs[i].hasDef {
			s = segs[i].def
		}
		n += len(s)
	}
	if n > max {
		return "", false
	}
	var b strings.Builder
	b.Grow(n)
	for i := range segs {
		switch s := segs[i]; {
		case s.field == "":
			b.WriteString(s.text)
		case s.hasDef && vars[s.field].(string) == "":
			b.WriteString(s.def)
		default:
			b.WriteString(vars[s.field].(string))
		}
	}
	out := b.String()
	if strings.Contains(out, "<no value>") {
		return "", false
	}
	return out, true
}
