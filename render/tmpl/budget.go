package tmpl

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
)

// ErrBudget is the cause (errors.Is) of an *Error returned when the templates
// of one request produced more than their Budget.
var ErrBudget = errors.New("template memory budget exhausted")

// Budget bounds the memory that the templates of one request produce:
// strings, lists and maps built by functions, and rendered output. The
// per-call limits (MaxOutputBytes, MaxListLen) bound one value; they do not
// bound a loop that keeps thousands of such values in a dict, nor a thousand
// leaves of 250 KB each. A Budget does.
//
// Every function that builds a value charges its estimated size (memSize)
// before the value can be kept anywhere. When a Render call ends, whatever it
// charged is given back except its output, which the caller keeps: the
// budget is therefore the outputs kept so far plus the intermediate values of
// the Render calls running now, an upper bound of the live memory templates
// hold for the request. It is safe for concurrent Render calls.
//
// A Budget travels in the context (WithBudget); Render without one charges
// nothing (the CLI, unit tests of other packages).
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes (limit <= 0: unlimited).
func NewBudget(limit int64) *Budget {
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	return &Budget{limit: limit}
}

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Used is what is charged now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Release gives back n bytes a caller kept and has since dropped (for
// example the outputs of a resource that failed as a whole). The caller must
// know that nothing else charged those bytes: call it only from the goroutine
// that rendered them, after those renders returned.
func (b *Budget) Release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// charge adds n bytes, failing when that goes over the limit. A failed charge
// stays counted until the Render call that made it ends and gives back all
// it charged.
func (b *Budget) charge(n int64) bool {
	return b.used.Add(n) <= b.limit
}

func (b *Budget) exceeded(fn string) *Error {
	what := "templates of this request"
	if fn != "" {
		what = fn + ": templates of this request"
	}
	return &Error{Func: fn, err: ErrBudget, Msg: fmt.Sprintf(
		"%s produced more than %d bytes in total (the per-request template memory budget, --template-memory); "+
			"build smaller values or fewer of them", what, b.limit)}
}

type budgetKey struct{}

// WithBudget returns a context whose Render calls charge b.
func WithBudget(ctx context.Context, b *Budget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// BudgetFrom returns the budget of ctx, or nil.
func BudgetFrom(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}

// Per-value overheads used by memSize: a slice element is an interface or
// string header (16 bytes), a map entry costs its key and value headers plus
// the map's own bookkeeping, about 64 bytes in practice.
const (
	memSlot     = 16
	memMapEntry = 64
	memValue    = 24
)

// memSize estimates the bytes a value holds, following nested lists and
// maps, and stops once the estimate passes limit (ok=false). Values shared
// by reference are counted each time they occur: an over-estimate.
func memSize(v any, limit int64) (int64, bool) {
	var n int64
	ok := walkMem(reflect.ValueOf(v), &n, limit)
	return n, ok
}

func walkMem(v reflect.Value, n *int64, limit int64) bool {
	switch v.Kind() {
	case reflect.String:
		*n += int64(v.Len()) + memSlot
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() && v.Kind() == reflect.Interface {
			return walkMem(v.Elem(), n, limit)
		}
		*n += memValue
	case reflect.Slice, reflect.Array:
		*n += memValue
		if v.Type().Elem().Kind() == reflect.Uint8 {
			*n += int64(v.Len())
			break
		}
		for i := range v.Len() {
			*n += memSlot
			if *n > limit || !walkMem(v.Index(i), n, limit) {
				return false
			}
		}
	case reflect.Map:
		*n += memValue
		it := v.MapRange()
		for it.Next() {
			*n += memMapEntry
			if *n > limit || !walkMem(it.Key(), n, limit) || !walkMem(it.Value(), n, limit) {
				return false
			}
		}
	default:
		*n += memValue
	}
	return *n <= limit
}

// shallowSize is the size of the container a function returned, not of the
// values inside it, which existed before the call (list, dict, concat, ...).
func shallowSize(v any) int64 {
	switch x := v.(type) {
	case nil:
		return 0
	case string:
		return int64(len(x)) + memSlot
	case []any:
		return memValue + memSlot*int64(len(x))
	case []string:
		n := memValue + memSlot*int64(len(x))
		for _, s := range x {
			n += int64(len(s))
		}
		return n
	case []int:
		return memValue + 8*int64(len(x))
	case map[string]any:
		n := memValue + memMapEntry*int64(len(x))
		for k := range x {
			n += int64(len(k))
		}
		return n
	case map[string]string:
		n := memValue + memMapEntry*int64(len(x))
		for k, s := range x {
			n += int64(len(k) + len(s))
		}
		return n
	case [][]any:
		n := memValue + memValue*int64(len(x))
		for _, l := range x {
			n += memSlot * int64(len(l))
		}
		return n
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return memValue + memSlot*int64(rv.Len())
	case reflect.Map:
		return memValue + memMapEntry*int64(rv.Len())
	}
	return memValue
}
