package tmpl

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"unsafe"
)

// limits are the resolved Options that functions and the writer enforce.
type limits struct {
	maxOut  int // bytes: output of one Render call and any single string value
	maxList int // elements: any generated list, repeat count
	maxIter int // total range-loop iterations in one Render call
}

// rangeBudgetFactor sets the range-iteration budget of one Render call to
// rangeBudgetFactor × MaxListLen: a loop over a full-size list, ten times over.
const rangeBudgetFactor = 10

// slack is how far above MaxOutputBytes a function's *estimated* input may go
// before the function refuses to run. Estimates are rough (quotes, number
// widths, escaping), so the exact limit is enforced on the result instead; the
// estimate only stops a call from allocating far more than that.
const slack = 4

// outWriter is the per-Render output buffer. It enforces MaxOutputBytes and
// checks the render's context on every write.
//
// It also counts range iterations: compile.go puts an empty text node at the
// start of every range body, so text/template makes one empty write per
// iteration. (An empty printed value, {{ "" }}, counts too; that is harmless.)
// Without this, {{ range 1000000000000 }}{{ end }} would run for hours, and
// nothing could interrupt it.
type outWriter struct {
	buf      []byte
	max      int
	iters    int // range iterations left
	maxIters int
	ctx      context.Context
	done     <-chan struct{}
}

func (w *outWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		w.iters--
		if w.iters < 0 {
			return 0, &Error{Msg: fmt.Sprintf("range loops ran more than %d iterations in total (%d × MaxListLen)", w.maxIters, rangeBudgetFactor)}
		}
	}
	if w.done != nil {
		select {
		case <-w.done:
			return 0, abortErr(w.ctx.Err())
		default:
		}
	}
	if len(p) > w.max-len(w.buf) {
		return 0, &Error{Msg: fmt.Sprintf("output is larger than %d bytes (MaxOutputBytes)", w.max)}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// sizeOf estimates how many bytes fmt or encoding/json need to print v. It
// follows shared sub-values every time they occur (as printing does) and
// stops as soon as the estimate passes limit, so it costs at most about limit
// steps even for a value that references one list a million times.
func sizeOf(v any, limit int) (n int, ok bool) {
	ok = walkSize(reflect.ValueOf(v), &n, limit)
	return n, ok
}

var stringerType = reflect.TypeFor[fmt.Stringer]()

func walkSize(v reflect.Value, n *int, limit int) bool {
	switch v.Kind() {
	case reflect.Invalid:
		*n += 5
	case reflect.String:
		*n += v.Len() + 2
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			*n += 5
			break
		}
		if v.Kind() == reflect.Pointer && v.Type().Implements(stringerType) {
			*n += 64 // *semver.Version and friends
			break
		}
		return walkSize(v.Elem(), n, limit)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			*n += 2*v.Len() + 2
			break
		}
		*n += 2
		for i := range v.Len() {
			*n++
			if *n > limit || !walkSize(v.Index(i), n, limit) {
				return false
			}
		}
	case reflect.Map:
		*n += 2
		it := v.MapRange()
		for it.Next() {
			*n += 2
			if *n > limit || !walkSize(it.Key(), n, limit) || !walkSize(it.Value(), n, limit) {
				return false
			}
		}
	case reflect.Struct:
		if v.Type().Implements(stringerType) {
			*n += 64 // time.Time: do not walk its *Location tables
			break
		}
		*n += 2
		for i := range v.NumField() {
			*n++
			if *n > limit || !walkSize(v.Field(i), n, limit) {
				return false
			}
		}
	default: // numbers, bools, funcs, channels
		*n += 24
	}
	return *n <= limit
}

// mapSet is a set of map identities.
type mapSet map[unsafe.Pointer]struct{}

// collectMaps adds every map reachable from v to set. It gives up (ok=false)
// after about budget steps.
func collectMaps(v reflect.Value, set mapSet, budget *int) bool {
	*budget--
	if *budget < 0 {
		return false
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return collectMaps(v.Elem(), set, budget)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !collectMaps(v.Index(i), set, budget) {
				return false
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return true
		}
		p := v.UnsafePointer()
		if _, seen := set[p]; seen {
			return true
		}
		set[p] = struct{}{}
		it := v.MapRange()
		for it.Next() {
			if !collectMaps(it.Value(), set, budget) {
				return false
			}
		}
	}
	return true
}

// reachesAny reports whether a map in set is reachable from v. ok=false means
// it gave up after about budget steps.
func reachesAny(v reflect.Value, set mapSet, budget *int) (found, ok bool) {
	*budget--
	if *budget < 0 {
		return false, false
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			return reachesAny(v.Elem(), set, budget)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if f, ok := reachesAny(v.Index(i), set, budget); f || !ok {
				return f, ok
			}
		}
	case reflect.Map:
		if v.IsNil() {
			return false, true
		}
		if _, hit := set[v.UnsafePointer()]; hit {
			return true, true
		}
		it := v.MapRange()
		for it.Next() {
			if f, ok := reachesAny(it.Value(), set, budget); f || !ok {
				return f, ok
			}
		}
	}
	return false, true
}

// stepCount is how many elements Sprig's untilStep(start, stop, step) yields,
// computed without looping (Sprig's own loop overflows and never ends for
// e.g. untilStep 0 9223372036854775807 4611686018427387904).
func stepCount(start, stop, step int) uint64 {
	var diff, s uint64
	switch {
	case stop < start && step < 0:
		diff, s = uint64(start)-uint64(stop), -uint64(step)
	case stop > start && step > 0:
		diff, s = uint64(stop)-uint64(start), uint64(step)
	default:
		return 0
	}
	n := diff / s
	if diff%s != 0 {
		n++
	}
	return n
}

// untilStep is Sprig's untilStep with the length checked before allocating.
func untilStep(fn string, start, stop, step, maxList int) ([]int, error) {
	n := stepCount(start, stop, step)
	if n > uint64(maxList) {
		return nil, funcErr(fn, "would produce %d elements, more than %d (MaxListLen)", n, maxList)
	}
	v := make([]int, n)
	i := start
	for k := range v {
		v[k] = i
		i += step
	}
	return v, nil
}

// seq is Sprig's seq (same argument forms and results) with bounded length.
func seq(maxList, maxOut int, params ...int) (string, error) {
	const fn = "seq"
	var start, stop, step int
	switch len(params) {
	case 1, 2:
		start, stop = 1, params[0]
		if len(params) == 2 {
			start, stop = params[0], params[1]
		}
		step = 1
		if stop < start {
			step = -1
		}
	case 3:
		start, step, stop = params[0], params[1], params[2]
		if stop < start && step > 0 {
			return "", nil
		}
	default:
		return "", nil
	}
	inc := 1 // Sprig's seq is inclusive: it calls untilStep(start, stop±1, step)
	if stop < start {
		inc = -1
	}
	if (inc > 0 && stop == int(^uint(0)>>1)) || (inc < 0 && stop == -int(^uint(0)>>1)-1) {
		return "", funcErr(fn, "end %d is out of range", stop)
	}
	list, err := untilStep(fn, start, stop+inc, step, maxList)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, 8*len(list))
	for i, v := range list {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = strconv.AppendInt(buf, int64(v), 10)
		if len(buf) > maxOut {
			return "", funcErr(fn, "would produce more than %d bytes (MaxOutputBytes)", maxOut)
		}
	}
	return string(buf), nil
}

// printfExtra estimates the padding a format string asks for: the sum of its
// explicit widths and precisions, plus maxStar for each '*'. fmt itself caps
// a width at 1e6, but a format may hold thousands of verbs.
func printfExtra(format string, maxStar int) int {
	extra := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) {
			c := format[i]
			switch {
			case c >= '0' && c <= '9':
				j := i
				for j < len(format) && format[j] >= '0' && format[j] <= '9' && j-i < 8 {
					j++
				}
				w, _ := strconv.Atoi(format[i:j])
				extra += w
				i = j
				continue
			case c == '*':
				extra += maxStar
			case c == '+' || c == '-' || c == '#' || c == ' ' || c == '.' || c == '[' || c == ']':
			default:
				goto verb
			}
			i++
		}
	verb:
		extra += 32 // a number's own digits
	}
	return extra
}

// maxIntArg is the largest int among args, capped at fmt's own width limit.
func maxIntArg(args []any) int {
	const fmtMax = 1e6
	m := 0
	for _, a := range args {
		if v, ok := a.(int); ok && v > m {
			m = min(v, fmtMax)
		}
	}
	return m
}
