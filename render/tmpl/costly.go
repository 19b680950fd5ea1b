package tmpl

// Functions whose cost grows faster than their input, rewritten so that a
// single call stays well inside the hook deadline and stops when the
// render's context is done. Sprig's uniq and without compare every element
// with every other one with reflect.DeepEqual (n²·m): uniq over 300 lists
// of 1,001 numbers ran 13 s of CPU in one call, which nothing could
// interrupt. Here elements of the JSON-like types templates handle (strings,
// numbers, booleans, nil, and lists and maps of those) are compared by a
// canonical key in one pass; anything else falls back to DeepEqual with the
// context checked before every comparison.

import (
	"math"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// deepKey appends a key of v to buf such that, for the types it accepts,
// two values have equal keys exactly when reflect.DeepEqual says they are
// equal. ok=false: v holds another type, or a NaN (never DeepEqual to
// itself), so v must be compared with DeepEqual.
func deepKey(buf []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(buf, 'N'), true
	case string:
		buf = append(buf, 'S')
		buf = strconv.AppendInt(buf, int64(len(x)), 10)
		return append(append(buf, ':'), x...), true
	case bool:
		if x {
			return append(buf, 'T'), true
		}
		return append(buf, 'F'), true
	case int:
		return strconv.AppendInt(append(buf, 'i'), int64(x), 10), true
	case int64:
		return strconv.AppendInt(append(buf, 'I'), x, 10), true
	case float64:
		if math.IsNaN(x) {
			return buf, false
		}
		if x == 0 {
			x = 0 // -0 == 0 for DeepEqual
		}
		return strconv.AppendUint(append(buf, 'D'), math.Float64bits(x), 16), true
	case []any:
		buf = listHead(buf, 'L', x == nil, len(x))
		for _, e := range x {
			var ok bool
			if buf, ok = deepKey(buf, e); !ok {
				return buf, false
			}
		}
		return buf, true
	case []string:
		buf = listHead(buf, 's', x == nil, len(x))
		for _, e := range x {
			buf, _ = deepKey(buf, e)
		}
		return buf, true
	case []int:
		buf = listHead(buf, 'n', x == nil, len(x))
		for _, e := range x {
			buf, _ = deepKey(buf, e)
		}
		return buf, true
	case map[string]any:
		buf = listHead(buf, 'M', x == nil, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			buf, _ = deepKey(buf, k)
			var ok bool
			if buf, ok = deepKey(buf, x[k]); !ok {
				return buf, false
			}
		}
		return buf, true
	}
	return buf, false
}

// listHead starts the key of a list or map: DeepEqual tells a nil one from
// an empty one.
func listHead(buf []byte, tag byte, isNil bool, n int) []byte {
	buf = append(buf, tag)
	if isNil {
		return append(buf, 'n', ';')
	}
	buf = strconv.AppendInt(buf, int64(n), 10)
	return append(buf, ';')
}

// elements returns the elements of a slice or array, or ok=false.
func elements(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out, true
	}
	return nil, false
}

// dedupSet holds values by key, and the values without a key in a list.
type dedupSet struct {
	keys   map[string]struct{}
	others []any
	buf    []byte
}

// add adds v and reports whether it was new.
func (d *dedupSet) add(st *renderState, fn string, v any) (bool, error) {
	if k, ok := deepKey(d.buf[:0], v); ok {
		d.buf = k
		if _, seen := d.keys[string(k)]; seen {
			return false, nil
		}
		if err := st.charge(fn, int64(len(k))+memMapEntry); err != nil {
			return false, err
		}
		d.keys[string(k)] = struct{}{}
		return true, nil
	}
	found, err := d.hasOther(st, v)
	if err != nil || found {
		return false, err
	}
	d.others = append(d.others, v)
	return true, nil
}

// has reports whether v was added.
func (d *dedupSet) has(st *renderState, v any) (bool, error) {
	if k, ok := deepKey(d.buf[:0], v); ok {
		d.buf = k
		_, seen := d.keys[string(k)]
		return seen, nil
	}
	return d.hasOther(st, v)
}

func (d *dedupSet) hasOther(st *renderState, v any) (bool, error) {
	for _, o := range d.others {
		if err := st.checkCtx(); err != nil {
			return false, err
		}
		if reflect.DeepEqual(o, v) {
			return true, nil
		}
	}
	return false, nil
}

// uniqList is Sprig's mustUniq: the elements of list, first occurrences
// only, in order, with reflect.DeepEqual's equality.
func (fs *funcSet) uniqList(st *renderState, fn string, list any) ([]any, error) {
	if err := fs.sized(fn, list); err != nil {
		return nil, err
	}
	l, ok := elements(list)
	if !ok {
		return nil, funcErr(fn, "needs a list, got %s", kindName(list))
	}
	d := dedupSet{keys: make(map[string]struct{}, len(l))}
	out := []any{}
	for _, e := range l {
		isNew, err := d.add(st, fn, e)
		if err != nil {
			return nil, err
		}
		if isNew {
			out = append(out, e)
		}
	}
	return chargeVal(st, fn, out, nil)
}

// withoutList is Sprig's mustWithout: the elements of list that are not
// DeepEqual to any of omit, in order.
func (fs *funcSet) withoutList(st *renderState, fn string, list any, omit []any) ([]any, error) {
	if err := fs.sized(fn, list, omit); err != nil {
		return nil, err
	}
	l, ok := elements(list)
	if !ok {
		return nil, funcErr(fn, "needs a list, got %s", kindName(list))
	}
	d := dedupSet{keys: make(map[string]struct{}, len(omit))}
	for _, o := range omit {
		if _, err := d.add(st, fn, o); err != nil {
			return nil, err
		}
	}
	out := []any{}
	for _, e := range l {
		found, err := d.has(st, e)
		if err != nil {
			return nil, err
		}
		if !found {
			out = append(out, e)
		}
	}
	return chargeVal(st, fn, out, nil)
}

func kindName(v any) string {
	if v == nil {
		return "invalid"
	}
	return reflect.TypeOf(v).Kind().String()
}

// maxRegexWork bounds one scan of a regular expression over its input: the
// compiled program's size times the input's length, which is what Go's
// linear-time matcher costs at worst (2^24 steps: about 0.3 s on a slow
// core, BenchmarkRegexAtTheBound). Real templates use patterns of tens of
// instructions on strings of a few kilobytes, ~10^5.
const maxRegexWork = 1 << 24

// boundedRegex is a compiled pattern with what its cost depends on.
type boundedRegex struct {
	*regexp.Regexp
	insts int
	// suffixSafe: the pattern asserts nothing about the text before the
	// position it is tried at (no ^, \b or \B), so matching at an offset is
	// matching the suffix there.
	suffixSafe bool
	// anchored: the pattern can only match at the start of the text.
	anchored bool
}

// compileRegex compiles pattern for a call on input of n bytes, refusing
// a call whose one scan is over maxRegexWork.
func compileRegex(fn, pattern string, n int) (*boundedRegex, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, funcErr(fn, "%v", err)
	}
	p, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, funcErr(fn, "%v", err)
	}
	p = p.Simplify()
	prog, err := syntax.Compile(p)
	if err != nil {
		return nil, funcErr(fn, "%v", err)
	}
	if work := int64(len(prog.Inst)) * int64(n+1); work > maxRegexWork {
		return nil, funcErr(fn, "pattern of %d instructions on %d bytes of input may cost %d steps, more than %d; use a shorter pattern or input",
			len(prog.Inst), n, work, maxRegexWork)
	}
	return &boundedRegex{Regexp: re, insts: len(prog.Inst), suffixSafe: !looksBehind(p),
		anchored: prog.StartCond()&syntax.EmptyBeginText != 0}, nil
}

func looksBehind(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpBeginText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	for _, sub := range re.Sub {
		if looksBehind(sub) {
			return true
		}
	}
	return false
}

// The functions below find every match the way package regexp does, one
// scan per match. regexp's own FindAll and ReplaceAll cannot be interrupted,
// and one call can rescan the rest of the input for every match: a pattern
// like (?:[^z]*z)|a on 200 KB of "a" is 200,000 scans of up to 200 KB. Here
// the context is checked between scans. Patterns that look behind their
// starting position cannot be scanned in a suffix; for them regexp's own
// function runs, within a bound of its quadratic worst case.

// allIndex is regexp's allMatches (FindAllStringSubmatchIndex(s, n)).
func (re *boundedRegex) allIndex(st *renderState, fn, s string, n int) ([][]int, error) {
	if n < 0 {
		n = len(s) + 1
	}
	if !re.suffixSafe {
		if err := re.checkQuadratic(fn, len(s)); err != nil {
			return nil, err
		}
		return re.FindAllStringSubmatchIndex(s, n), nil
	}
	var out [][]int
	for pos, i, prevMatchEnd := 0, 0, -1; i < n && pos <= len(s); {
		if err := st.checkCtx(); err != nil {
			return nil, err
		}
		m := re.FindStringSubmatchIndex(s[pos:])
		if m == nil {
			break
		}
		for k := range m {
			if m[k] >= 0 {
				m[k] += pos
			}
		}
		accept := true
		if m[1] == pos {
			if m[0] == prevMatchEnd {
				accept = false
			}
			if _, width := utf8.DecodeRuneInString(s[pos:]); width > 0 {
				pos += width
			} else {
				pos = len(s) + 1
			}
		} else {
			pos = m[1]
		}
		prevMatchEnd = m[1]
		if accept {
			out = append(out, m)
			i++
		}
	}
	return out, nil
}

// checkQuadratic bounds regexp's own all-matches functions: up to one scan
// of the rest of the input per position.
func (re *boundedRegex) checkQuadratic(fn string, n int) error {
	if re.anchored {
		return nil // one scan at the start, nothing after
	}
	if work := int64(re.insts) * int64(n+1) * int64(n+1); work > maxRegexWork {
		return funcErr(fn, "a pattern with ^, \\b or \\B, of %d instructions, on %d bytes of input may cost %d steps, more than %d; use a shorter input or a pattern without them",
			re.insts, n, work, maxRegexWork)
	}
	return nil
}

// findAll is FindAllString.
func (re *boundedRegex) findAll(st *renderState, fn, s string, n int) ([]string, error) {
	ms, err := re.allIndex(st, fn, s, n)
	if err != nil || ms == nil {
		return nil, err
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = s[m[0]:m[1]]
	}
	return out, nil
}

// split is Split.
func (re *boundedRegex) split(st *renderState, fn, s string, n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	if len(re.String()) > 0 && len(s) == 0 {
		return []string{""}, nil
	}
	ms, err := re.allIndex(st, fn, s, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ms))
	beg, end := 0, 0
	for _, m := range ms {
		if n > 0 && len(out) == n-1 {
			break
		}
		end = m[0]
		if m[1] != 0 {
			out = append(out, s[beg:end])
		}
		beg = m[1]
	}
	if end != len(s) {
		out = append(out, s[beg:])
	}
	return out, nil
}

// replaceAll is ReplaceAllString (literal: ReplaceAllLiteralString).
// The result is refused once it grows past maxOut.
func (re *boundedRegex) replaceAll(st *renderState, fn, src, repl string, literal bool, maxOut int) (string, error) {
	tooLarge := func(n int) error {
		return funcErr(fn, "result would be %d bytes, more than %d (MaxOutputBytes)", n, maxOut)
	}
	if !re.suffixSafe {
		if err := re.checkQuadratic(fn, len(src)); err != nil {
			return "", err
		}
		if repl != "" {
			// Each match adds repl; each $ reference adds at most the match
			// itself, and matches do not overlap.
			n := len(re.FindAllStringIndex(src, -1))
			refs := 0
			if !literal {
				refs = strings.Count(repl, "$")
			}
			if est := len(src) + n*len(repl) + refs*len(src); est > maxOut {
				return "", tooLarge(est)
			}
		}
		if literal {
			return re.ReplaceAllLiteralString(src, repl), nil
		}
		return re.ReplaceAllString(src, repl), nil
	}
	var buf []byte
	lastMatchEnd, searchPos := 0, 0
	for searchPos <= len(src) {
		if err := st.checkCtx(); err != nil {
			return "", err
		}
		a := re.FindStringSubmatchIndex(src[searchPos:])
		if a == nil {
			break
		}
		for k := range a {
			if a[k] >= 0 {
				a[k] += searchPos
			}
		}
		buf = append(buf, src[lastMatchEnd:a[0]]...)
		if a[1] > lastMatchEnd || a[0] == 0 {
			if literal {
				buf = append(buf, repl...)
			} else {
				buf = re.ExpandString(buf, repl, src, a)
			}
		}
		if len(buf) > maxOut {
			return "", tooLarge(len(buf) + len(src) - a[1])
		}
		lastMatchEnd = a[1]
		_, width := utf8.DecodeRuneInString(src[searchPos:])
		switch {
		case searchPos+width > a[1]:
			searchPos += width
		case searchPos+1 > a[1]:
			searchPos++
		default:
			searchPos = a[1]
		}
	}
	buf = append(buf, src[lastMatchEnd:]...)
	return string(buf), nil
}
