package tmpl

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
)

// Defaults for the zero Options fields. docs/templates.md explains each value.
const (
	DefaultCacheSize        = 4096
	DefaultMaxOutputBytes   = 256 << 10
	DefaultMaxTemplateBytes = 64 << 10
	DefaultMaxListLen       = 10000
)

// Options configures an Engine. A zero or negative field takes its default.
type Options struct {
	CacheSize        int // max parsed templates kept (CLOCK eviction); default 4096
	MaxOutputBytes   int // output of one Render call, and any single string value; default 256 KiB
	MaxTemplateBytes int // template source size; default 64 KiB
	MaxListLen       int // generated lists (until, untilStep, seq, append...), repeat count; default 10000
}

func (o Options) withDefaults() Options {
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MaxOutputBytes <= 0 {
		o.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if o.MaxTemplateBytes <= 0 {
		o.MaxTemplateBytes = DefaultMaxTemplateBytes
	}
	if o.MaxListLen <= 0 {
		o.MaxListLen = DefaultMaxListLen
	}
	return o
}

// Engine renders template leaves. It is safe for concurrent use; create one
// per process and share it.
type Engine struct {
	opts  Options
	fs    *funcSet
	cache *cache
	bufs  sync.Pool // *outWriter
}

// CacheStats reports the parsed-template cache.
type CacheStats struct {
	Hits, Misses uint64
	Size         int
}

// New returns an Engine. It builds the function map once.
func New(o Options) *Engine {
	o = o.withDefaults()
	lim := limits{
		maxOut:  o.MaxOutputBytes,
		maxList: o.MaxListLen,
		maxIter: rangeBudgetFactor * o.MaxListLen,
	}
	return &Engine{opts: o, fs: newFuncSet(lim), cache: newCache(o.CacheSize)}
}

// Stats returns cache counters. Hits and misses count Render, RenderString
// and Check calls that needed a parsed template.
func (e *Engine) Stats() CacheStats { return e.cache.stats() }

// Render renders one string leaf. src without "{{" is returned as is (fast
// path, no parse). The result is a string or, only when the whole output is
// one typed marker (asInt, asBool, asFloat, asJson), an int64, bool, float64
// or JSON value (map[string]any, []any, string, int64, float64, bool, nil).
//
// Render honours ctx: rendering stops with an error at the next write, loop
// iteration or list generator once ctx is done. text/template cannot be
// interrupted anywhere else, so a single function call runs to completion;
// callers should render a whole tenant under one deadline.
//
// Errors are *Error.
func (e *Engine) Render(ctx context.Context, src string, vars map[string]any) (any, error) {
	if !strings.Contains(src, "{{") {
		return src, nil
	}
	return e.renderAny(ctx, src, vars)
}

func (e *Engine) renderAny(ctx context.Context, src string, vars map[string]any) (any, error) {
	s, tv, typed, err := e.run(ctx, src, vars)
	if err != nil {
		return nil, err
	}
	if typed {
		return tv.v, nil
	}
	return s, nil
}

// RenderString is Render for fields that must be strings (names, labels,
// annotations): a typed marker is an error.
func (e *Engine) RenderString(ctx context.Context, src string, vars map[string]any) (string, error) {
	if !strings.Contains(src, "{{") {
		return src, nil
	}
	s, tv, typed, err := e.run(ctx, src, vars)
	if err != nil {
		return "", err
	}
	if typed {
		return "", &Error{Func: tv.fn, Msg: fmt.Sprintf(
			"%s produces a typed value (%T), but this field must be a string", tv.fn, tv.v)}
	}
	return s, nil
}

// Check parses src and applies the static checks (size, removed and refused
// functions, template calls) without executing it. src without "{{" is valid.
// Errors are *Error.
func (e *Engine) Check(src string) error {
	if !strings.Contains(src, "{{") {
		return nil
	}
	if c := e.compile(src); c.err != nil {
		return c.err
	}
	return nil
}

// renderState is the per-render state of a template instance.
type renderState struct {
	lim   *limits
	ctx   context.Context
	done  <-chan struct{}
	vars  map[string]any
	vmaps mapSet // maps reachable from vars, computed on first use
	typed []typedValue
	// budget is the request's (nil: none); charged is what this render
	// charged to it so far, given back when the render ends.
	budget  *Budget
	charged int64
}

func (st *renderState) begin(ctx context.Context, vars map[string]any, b *Budget) {
	st.ctx, st.done, st.vars, st.budget, st.charged = ctx, ctx.Done(), vars, b, 0
}

// end drops references so a pooled instance retains nothing of the render.
func (st *renderState) end() {
	clear(st.typed)
	st.ctx, st.done, st.vars, st.vmaps, st.typed, st.budget = nil, nil, nil, nil, st.typed[:0], nil
}

// charge accounts for n bytes that fn built. Every function that builds a
// value calls it, so it is also where a long render notices that its
// context is done, between any two such calls.
func (st *renderState) charge(fn string, n int64) error {
	if st.done != nil {
		select {
		case <-st.done:
			return abortErr(st.ctx.Err())
		default:
		}
	}
	if st.budget == nil {
		return nil
	}
	st.charged += n
	if !st.budget.charge(n) {
		return st.budget.exceeded(fn)
	}
	return nil
}

// noSubstitute turns substitute off, for the tests that compare it with
// text/template.
var noSubstitute atomic.Bool

// run executes src. typed reports that the whole output was one typed marker,
// whose value is tv.
func (e *Engine) run(ctx context.Context, src string, vars map[string]any) (out string, tv typedValue, typed bool, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return "", tv, false, abortErr(err)
	}
	c := e.compile(src)
	if c.err != nil {
		return "", tv, false, c.err
	}
	if c.simple != nil && !noSubstitute.Load() {
		if out, ok := substitute(c.simple, vars, e.opts.MaxOutputBytes); ok {
			// The output is charged to the request's budget as below; past
			// the budget, text/template runs and reports it as it always did.
			b := BudgetFrom(ctx)
			if b == nil {
				return out, tv, false, nil
			}
			keep := int64(len(out)) + memSlot
			if b.charge(keep) {
				return out, tv, false, nil
			}
			b.used.Add(-keep)
		}
	}

	w, _ := e.bufs.Get().(*outWriter)
	if w == nil {
		w = &outWriter{buf: make([]byte, 0, 256)}
	}
	w.max, w.ctx, w.done = e.opts.MaxOutputBytes, ctx, ctx.Done()
	w.iters, w.maxIters = e.fs.lim.maxIter, e.fs.lim.maxIter
	defer e.putWriter(w)

	b := BudgetFrom(ctx)
	t := c.shared
	var st *renderState
	if t == nil {
		inst := c.get(e.fs)
		defer c.put(inst)
		st = &inst.st
		st.begin(ctx, vars, b)
		defer st.end()
		t = inst.tmpl
	}
	err = execute(t, w, vars)
	if b != nil {
		// What the functions built is garbage now; the output is kept.
		var charged int64
		if st != nil {
			charged = st.charged
		}
		keep := int64(0)
		if err == nil {
			keep = int64(len(w.buf)) + memSlot
		}
		if delta := keep - charged; delta <= 0 {
			b.used.Add(delta)
		} else if !b.charge(delta) {
			b.used.Add(-keep) // charged + delta: all of this render
			err = b.exceeded("")
		}
	}
	if err != nil {
		if own, ok := err.(*Error); ok { // from the writer: already final
			return "", tv, false, own
		}
		return "", tv, false, execError(err, vars)
	}
	out = string(w.buf)
	if strings.Contains(out, "<no value>") {
		return "", tv, false, &Error{Msg: `output contains "<no value>": a missing or nil value was printed; use default, get or hasKey`}
	}
	if st != nil && len(st.typed) > 0 {
		tv, typed, err = st.typedResult(out)
		if err != nil {
			return "", tv, false, err
		}
	}
	return out, tv, typed, nil
}

// maxPooledBuf keeps one huge render from pinning its buffer in the pool.
const maxPooledBuf = 64 << 10

func (e *Engine) putWriter(w *outWriter) {
	if cap(w.buf) > maxPooledBuf {
		return
	}
	w.buf, w.ctx, w.done = w.buf[:0], nil, nil
	e.bufs.Put(w)
}

// execute runs t, turning any panic that escapes text/template (it already
// converts panics in functions into errors) into an *Error.
func execute(t *template.Template, w io.Writer, vars map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Msg: fmt.Sprintf("internal error while rendering: %v", r)}
		}
	}()
	return t.Execute(w, vars)
}
