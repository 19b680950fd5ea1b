package tmpl

// This file builds the function map, once per Engine. Everything a template
// can call is decided here: what comes from Sprig v3.3.0 unchanged, what is
// removed or refused and why, what is bounded, and what is added.
//
// Every Sprig source file was checked for time.Now/time.Since, math/rand,
// crypto/rand, os and net (see the tables below). Functions that read the
// clock, randomness, the environment or the network are replaced by stubs
// that fail with a reason; deterministic functions with a hidden clock or
// time-zone fallback are wrapped; every function whose result can be larger
// than its input is bounded, so that no single call, and no loop, can build a
// value larger than the limits.

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"
	_ "time/tzdata" // dateInZone: same zone data in every image, even distroless/scratch
	"unicode/utf8"

	"github.com/Masterminds/sprig/v3"
)

// Reasons shown to template authors.
const (
	reasonEnv    = "templates may not read the service's environment"
	reasonNet    = "templates may not use the network (a DNS lookup is slow, can fail, and answers differently between replicas and over time)"
	reasonClock  = "its output changes on every call and would rewrite the cluster on every resync"
	reasonRandom = "its output is random, changes on every call and would rewrite the cluster on every resync"
	reasonKey    = "it generates a new random key on every call, which would rewrite the cluster on every resync; create keys once and keep them in a Secret"
	reasonCert   = "it generates a new random key and serial number and takes the validity window from the clock on every call, which would rewrite the cluster on every resync; use cert-manager"
	reasonSalt   = "it uses a random salt, so its output changes on every call and would rewrite the cluster on every resync"
)

// removedFuncs give a template access to the service itself. They are not
// deleted from the map (the author would only see "not defined"); they are
// stubs that always fail with the reason, and Check/Render refuse them
// statically.
var removedFuncs = map[string]string{
	"env":           reasonEnv, // os.Getenv: would leak the service's credentials and config
	"expandenv":     reasonEnv, // os.ExpandEnv: same
	"getHostByName": reasonNet, // net.LookupHost, then returns a random address of the answer
}

// refusedFuncs are not deterministic: they read the clock or randomness, so a
// rendered object would differ on every resync and be rewritten every time.
var refusedFuncs = map[string]string{
	"now":                      reasonClock,  // time.Now
	"ago":                      reasonClock,  // time.Since
	"randAlpha":                reasonRandom, // goutils.CryptoRandomAlphabetic
	"randAlphaNum":             reasonRandom, // goutils.CryptoRandomAlphaNumeric
	"randAscii":                reasonRandom, // goutils.CryptoRandomAscii
	"randNumeric":              reasonRandom, // goutils.CryptoRandomNumeric
	"randBytes":                reasonRandom, // crypto/rand.Read
	"randInt":                  reasonRandom, // math/rand.Intn
	"uuidv4":                   reasonRandom, // uuid.New
	"shuffle":                  reasonRandom, // xstrings.Shuffle (math/rand)
	"genPrivateKey":            reasonKey,    // rsa/dsa/ecdsa/ed25519.GenerateKey(crypto/rand.Reader)
	"genCA":                    reasonCert,   // new key, rand serial, time.Now validity
	"genCAWithKey":             reasonCert,   // rand serial, time.Now validity
	"genSelfSignedCert":        reasonCert,   // same
	"genSelfSignedCertWithKey": reasonCert,   // same
	"genSignedCert":            reasonCert,   // same
	"genSignedCertWithKey":     reasonCert,   // same
	"bcrypt":                   reasonSalt,   // bcrypt.GenerateFromPassword: random salt
	"htpasswd":                 reasonSalt,   // bcrypt as above
	"encryptAES":               "it uses a random IV (crypto/rand), so its output changes on every call and would rewrite the cluster on every resync",
}

// Deterministic Sprig functions that were checked and are kept:
//
//   - date, dateInZone, date_in_zone, htmlDate, htmlDateInZone: kept but
//     wrapped (see formatDate below): Sprig formats time.Now() when the
//     argument is not a time or Unix seconds, and "Local" is the service's
//     TZ. toDate and mustToDate parse in time.Local: wrapped to use UTC.
//   - durationRound: wrapped, because for a time argument it computes
//     time.Since(t).
//   - dateModify, mustDateModify, duration, unixEpoch: pure functions of their
//     arguments.
//   - derivePassword (scrypt), decryptAES, buildCustomCert, sha*sum,
//     adler32sum: pure. derivePassword costs ≈ 32 MiB and 0.2-0.7 s per
//     call: at most two run at once (addStateful), and a loop over it stops
//     at the deadline.
//   - base, dir, clean, ext, isAbs, osBase, osClean, osDir, osExt, osIsAbs:
//     string operations on paths; nothing touches the file system. Sprig has
//     no file-reading function (no readFile, include, tpl).
//   - urlParse, urlJoin, semver, semverCompare, regex*, b64*/b32*: pure.

func unavailable(name, verb, reason string) *Error {
	return &Error{Func: name, Msg: fmt.Sprintf("function %q %s: %s", name, verb, reason)}
}

// refusal returns the static error for a removed or refused function.
func refusal(name string) (*Error, bool) {
	if r, ok := removedFuncs[name]; ok {
		return unavailable(name, "is not available", r), true
	}
	if r, ok := refusedFuncs[name]; ok {
		return unavailable(name, "is refused", r), true
	}
	return nil, false
}

// guardFunc is the internal function compile.go appends to printed
// pipelines. It is not in the parser's map, so a template cannot call it.
const guardFunc = "tenantHooksPrintGuard"

// builtinNames are text/template's builtins. The parser needs their names.
var builtinNames = map[string]any{
	"and": true, "call": true, "html": true, "index": true, "slice": true,
	"js": true, "len": true, "not": true, "or": true, "print": true,
	"printf": true, "println": true, "urlquery": true, "eq": true, "ge": true,
	"gt": true, "le": true, "lt": true, "ne": true,
}

// scalarBuiltins return a bounded scalar, so printing them needs no guard.
var scalarBuiltins = map[string]bool{
	"len": true, "not": true, "eq": true, "ne": true, "lt": true, "le": true,
	"gt": true, "ge": true,
}

// funcSet is an Engine's function map.
type funcSet struct {
	lim limits
	// plain functions are shared by all templates.
	plain map[string]any
	// stateful functions are created per template instance and bound to its
	// renderState (context, typed values, variables).
	stateful map[string]func(*renderState) any
	// charged are plain functions that build values, bound per instance so
	// that what they build is charged to the request's Budget (charge.go).
	charged map[string]func(*renderState) any
	// parse holds every name a template may use, for the parser.
	parse map[string]any
	// scalar names functions whose result is a string, bool or number;
	// printing them needs no guard (strings are already bounded).
	scalar map[string]bool
}

func newFuncSet(lim limits) *funcSet {
	fs := &funcSet{lim: lim, stateful: map[string]func(*renderState) any{}, charged: map[string]func(*renderState) any{}}
	sp := sprig.TxtFuncMap() // a fresh map; the originals are read from it
	m := make(map[string]any, len(sp)+16)
	for name, fn := range sp {
		m[name] = fn
	}

	// Removed and refused: stubs that always fail.
	for name := range removedFuncs {
		err, _ := refusal(name)
		m[name] = func(...any) (string, error) { return "", err }
	}
	for name := range refusedFuncs {
		err, _ := refusal(name)
		m[name] = func(...any) (string, error) { return "", err }
	}

	// Dates: no hidden clock, no dependence on the service's time zone.
	m["date"] = func(layout string, d any) (string, error) { return formatDate("date", layout, d, "UTC") }
	m["dateInZone"] = func(layout string, d any, zone string) (string, error) {
		return formatDate("dateInZone", layout, d, zone)
	}
	m["date_in_zone"] = func(layout string, d any, zone string) (string, error) {
		return formatDate("date_in_zone", layout, d, zone)
	}
	m["htmlDate"] = func(d any) (string, error) { return formatDate("htmlDate", "2006-01-02", d, "UTC") }
	m["htmlDateInZone"] = func(d any, zone string) (string, error) {
		return formatDate("htmlDateInZone", "2006-01-02", d, zone)
	}
	m["toDate"] = func(layout, value string) time.Time {
		t, _ := time.ParseInLocation(layout, value, time.UTC)
		return t
	}
	m["mustToDate"] = func(layout, value string) (time.Time, error) {
		return time.ParseInLocation(layout, value, time.UTC)
	}
	durationRound := sp["durationRound"].(func(any) string)
	m["durationRound"] = func(d any) (string, error) {
		switch d.(type) {
		case time.Time, *time.Time:
			return "", funcErr("durationRound", "of a time measures the time since then, which reads the clock; pass a duration string or nanoseconds")
		}
		return durationRound(d), nil
	}

	// Upstream's custom functions (Tenant Operator v1.0 §4.3), with fixes.
	m["toHost"] = toHost
	m["trunc63"] = trunc63
	m["sha1sum"] = sha1sum
	m["fromJson"] = fromJSON

	fs.addBounded(m, sp)
	fs.addStateful(sp)

	// Generic bound on every remaining function returning a string or list.
	for name, fn := range m {
		m[name] = fs.boundResult(name, fn)
	}
	// Stateful names must not shadow plain ones.
	for name := range fs.stateful {
		delete(m, name)
	}
	for name, fn := range m {
		if _, refused := refusal(name); refused || sharedResult[name] {
			continue
		}
		if mk := chargeWrap(name, fn); mk != nil {
			fs.charged[name] = mk
		}
	}

	fs.plain = m
	fs.parse = make(map[string]any, len(m)+len(fs.stateful))
	for name, fn := range m {
		fs.parse[name] = fn
	}
	for name := range fs.stateful {
		fs.parse[name] = true
	}
	// Internal, injected after parsing only.
	m[guardFunc] = fs.printGuard

	fs.scalar = map[string]bool{}
	probe := &renderState{}
	for name, fn := range m {
		fs.scalar[name] = scalarResult(reflect.TypeOf(fn))
	}
	for name, mk := range fs.stateful {
		fs.scalar[name] = scalarResult(reflect.TypeOf(mk(probe)))
	}
	for name := range scalarBuiltins {
		fs.scalar[name] = true
	}
	return fs
}

func scalarResult(t reflect.Type) bool {
	if t.Kind() != reflect.Func || t.NumOut() == 0 {
		return false
	}
	switch t.Out(0).Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// ---- bounds --------------------------------------------------------------

func (fs *funcSet) checkOut(fn string, n int) error {
	if n > fs.lim.maxOut {
		return funcErr(fn, "result would be %d bytes, more than %d (MaxOutputBytes)", n, fs.lim.maxOut)
	}
	return nil
}

func (fs *funcSet) checkList(fn string, n int) error {
	if n > fs.lim.maxList {
		return funcErr(fn, "result would have %d elements, more than %d (MaxListLen)", n, fs.lim.maxList)
	}
	return nil
}

// sized refuses to format values whose estimated printed size is far above
// MaxOutputBytes (see slack). This also stops exponential work: a value built
// by nesting one list into itself repeatedly prints in exponential time.
func (fs *funcSet) sized(fn string, vals ...any) error {
	limit := slack * fs.lim.maxOut
	total := 0
	for _, v := range vals {
		n, ok := sizeOf(v, limit-total)
		if !ok {
			return funcErr(fn, "argument is too large to format (over %d bytes; MaxOutputBytes is %d)", limit, fs.lim.maxOut)
		}
		total += n
	}
	return nil
}

// printGuard is appended to every printed pipeline whose value is not known
// to be a bounded scalar (see compile.go): it stops a nil value from printing
// as "<no value>" and a huge or self-nested value from being formatted.
func (fs *funcSet) printGuard(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, &Error{Msg: "a nil value was printed (a missing map entry from index, or a JSON null); use default, get, hasKey or dig"}
	case string:
		return x, fs.checkOut("print", len(x))
	}
	if err := fs.sized("print", v); err != nil {
		return nil, err
	}
	return v, nil
}

func listLen(v any) int {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	}
	return 0
}

// addBounded replaces Sprig functions (and text/template builtins) whose
// result can be much larger than their input with versions that check the
// size before doing the work.
func (fs *funcSet) addBounded(m, sp map[string]any) {
	maxOut := fs.lim.maxOut

	// repeat: strings.Repeat allocates count×len at once (and panics on a
	// negative count).
	m["repeat"] = func(count int, s string) (string, error) {
		switch {
		case count < 0:
			return "", funcErr("repeat", "negative count %d", count)
		case count > fs.lim.maxList:
			return "", funcErr("repeat", "count %d is more than %d (MaxListLen)", count, fs.lim.maxList)
		case len(s) > 0 && count > maxOut/len(s):
			return "", fs.checkOut("repeat", count*len(s))
		}
		return strings.Repeat(s, count), nil
	}
	// indent/nindent: spaces × lines.
	indent := func(fn string, spaces int, v string, nl bool) (string, error) {
		if spaces < 0 {
			return "", funcErr(fn, "negative width %d", spaces)
		}
		if spaces > maxOut {
			return "", fs.checkOut(fn, spaces)
		}
		if err := fs.checkOut(fn, len(v)+spaces*(1+strings.Count(v, "\n"))); err != nil {
			return "", err
		}
		pad := strings.Repeat(" ", spaces)
		s := pad + strings.ReplaceAll(v, "\n", "\n"+pad)
		if nl {
			s = "\n" + s
		}
		return s, nil
	}
	m["indent"] = func(spaces int, v string) (string, error) { return indent("indent", spaces, v, false) }
	m["nindent"] = func(spaces int, v string) (string, error) { return indent("nindent", spaces, v, true) }
	// replace: an empty old string inserts new between every rune.
	m["replace"] = func(old, new, src string) (string, error) {
		n := 0
		if old == "" {
			n = utf8.RuneCountInString(src) + 1
		} else {
			n = strings.Count(src, old)
		}
		if err := fs.checkOut("replace", len(src)+n*(len(new)-len(old))); err != nil {
			return "", err
		}
		return strings.ReplaceAll(src, old, new), nil
	}
	// The other regular-expression functions: same results as Sprig's, with
	// the matching work bounded (compileRegex).
	m["regexMatch"] = func(regex, s string) (bool, error) {
		re, err := compileRegex("regexMatch", regex, len(s))
		if err != nil {
			if _, bad := regexp.Compile(regex); bad != nil {
				return false, nil // Sprig: an invalid pattern matches nothing
			}
			return false, err
		}
		return re.MatchString(s), nil
	}
	m["mustRegexMatch"] = func(regex, s string) (bool, error) {
		re, err := compileRegex("mustRegexMatch", regex, len(s))
		if err != nil {
			return false, err
		}
		return re.MatchString(s), nil
	}
	for _, name := range []string{"regexFind", "mustRegexFind"} {
		m[name] = func(regex, s string) (string, error) {
			re, err := compileRegex(name, regex, len(s))
			if err != nil {
				return "", err
			}
			return re.FindString(s), nil
		}
	}
	// has and deepEqual compare with reflect.DeepEqual: linear in the
	// printed size, which sized bounds.
	for _, name := range []string{"has", "mustHas"} {
		f := sp["mustHas"].(func(any, any) (bool, error))
		m[name] = func(needle, haystack any) (bool, error) {
			if err := fs.sized(name, needle, haystack); err != nil {
				return false, err
			}
			return f(needle, haystack)
		}
	}
	m["deepEqual"] = func(a, b any) (bool, error) {
		if err := fs.sized("deepEqual", a, b); err != nil {
			return false, err
		}
		return reflect.DeepEqual(a, b), nil
	}
	// wrapWith: inserts sep up to once per character.
	wrapWith := sp["wrapWith"].(func(int, string, string) string)
	m["wrapWith"] = func(l int, sep, str string) (string, error) {
		if (len(str)+1)*len(sep) > slack*maxOut {
			return "", fs.checkOut("wrapWith", len(str)+(len(str)+1)*len(sep))
		}
		s := wrapWith(l, sep, str)
		return s, fs.checkOut("wrapWith", len(s))
	}
	// join formats each element with fmt.
	toStrings := sp["toStrings"].(func(any) []string)
	m["join"] = func(sep string, v any) (string, error) {
		if err := fs.sized("join", v); err != nil {
			return "", err
		}
		ss := toStrings(v)
		n := len(sep) * max(len(ss)-1, 0)
		for _, s := range ss {
			n += len(s)
		}
		if err := fs.checkOut("join", n); err != nil {
			return "", err
		}
		return strings.Join(ss, sep), nil
	}
	m["toStrings"] = func(v any) ([]string, error) {
		if err := fs.sized("toStrings", v); err != nil {
			return nil, err
		}
		return toStrings(v), nil
	}
	// sortAlpha: Sprig sorts a []string argument in place, which would
	// modify the caller's variables. Sort a copy.
	m["sortAlpha"] = func(v any) ([]string, error) {
		if err := fs.sized("sortAlpha", v); err != nil {
			return nil, err
		}
		ss := slices.Clone(toStrings(v))
		slices.Sort(ss)
		return ss, nil
	}
	// Functions that format arbitrary values with fmt or encoding/json.
	for _, name := range []string{"cat", "quote", "squote"} {
		f := sp[name].(func(...any) string)
		m[name] = func(v ...any) (string, error) {
			if err := fs.sized(name, v...); err != nil {
				return "", err
			}
			s := f(v...)
			return s, fs.checkOut(name, len(s))
		}
	}
	for _, name := range []string{"toJson", "toPrettyJson", "toRawJson", "toString"} {
		f := sp[name].(func(any) string)
		m[name] = func(v any) (string, error) {
			if err := fs.sized(name, v); err != nil {
				return "", err
			}
			s := f(v)
			return s, fs.checkOut(name, len(s))
		}
	}
	for _, name := range []string{"mustToJson", "mustToPrettyJson", "mustToRawJson"} {
		f := sp[name].(func(any) (string, error))
		m[name] = func(v any) (string, error) {
			if err := fs.sized(name, v); err != nil {
				return "", err
			}
			s, err := f(v)
			if err != nil {
				return "", err
			}
			return s, fs.checkOut(name, len(s))
		}
	}
	urlJoin := sp["urlJoin"].(func(map[string]any) string)
	m["urlJoin"] = func(d map[string]any) (string, error) {
		if err := fs.sized("urlJoin", d); err != nil {
			return "", err
		}
		s := urlJoin(d)
		return s, fs.checkOut("urlJoin", len(s))
	}
	// dict formats non-string keys with fmt.
	dict := sp["dict"].(func(...any) map[string]any)
	m["dict"] = func(v ...any) (map[string]any, error) {
		for i := 0; i < len(v); i += 2 {
			if _, ok := v[i].(string); !ok {
				if err := fs.sized("dict", v[i]); err != nil {
					return nil, err
				}
			}
		}
		return dict(v...), nil
	}
	// deepCopy copies shared sub-values once per reference.
	deepCopy := sp["deepCopy"].(func(any) any)
	m["deepCopy"] = func(v any) (any, error) {
		if err := fs.sized("deepCopy", v); err != nil {
			return nil, err
		}
		return deepCopy(v), nil
	}
	mustDeepCopy := sp["mustDeepCopy"].(func(any) (any, error))
	m["mustDeepCopy"] = func(v any) (any, error) {
		if err := fs.sized("mustDeepCopy", v); err != nil {
			return nil, err
		}
		return mustDeepCopy(v)
	}
	// List growth: concat doubles a list per call in a loop; append/prepend
	// grow it by one.
	concat := sp["concat"].(func(...any) any)
	m["concat"] = func(lists ...any) (any, error) {
		n := 0
		for _, l := range lists {
			n += listLen(l)
		}
		if err := fs.checkList("concat", n); err != nil {
			return nil, err
		}
		return concat(lists...), nil
	}
	for _, name := range []string{"append", "push", "prepend"} {
		f := sp[name].(func(any, any) []any)
		m[name] = func(list, v any) ([]any, error) {
			if err := fs.checkList(name, listLen(list)+1); err != nil {
				return nil, err
			}
			return f(list, v), nil
		}
	}
	for _, name := range []string{"mustAppend", "mustPush", "mustPrepend"} {
		f := sp[name].(func(any, any) ([]any, error))
		m[name] = func(list, v any) ([]any, error) {
			if err := fs.checkList(name, listLen(list)+1); err != nil {
				return nil, err
			}
			return f(list, v)
		}
	}

	// text/template's string builtins, overridden (a FuncMap entry wins over
	// a builtin) so that a loop like {{ $s = printf "%s%s" $s $s }} cannot
	// double a string until memory runs out.
	m["print"] = func(args ...any) (string, error) {
		if err := fs.sized("print", args...); err != nil {
			return "", err
		}
		s := fmt.Sprint(args...)
		return s, fs.checkOut("print", len(s))
	}
	m["println"] = func(args ...any) (string, error) {
		if err := fs.sized("println", args...); err != nil {
			return "", err
		}
		s := fmt.Sprintln(args...)
		return s, fs.checkOut("println", len(s))
	}
	m["printf"] = func(format string, args ...any) (string, error) {
		if err := fs.sized("printf", args...); err != nil {
			return "", err
		}
		if len(format)+printfExtra(format, maxIntArg(args)) > slack*maxOut {
			return "", funcErr("printf", "format asks for more than %d bytes of padding (MaxOutputBytes is %d)", slack*maxOut, maxOut)
		}
		s := fmt.Sprintf(format, args...)
		return s, fs.checkOut("printf", len(s))
	}
	for name, f := range map[string]func(...any) string{
		"html": template.HTMLEscaper, "js": template.JSEscaper, "urlquery": template.URLQueryEscaper,
	} {
		m[name] = func(args ...any) (string, error) {
			if err := fs.sized(name, args...); err != nil {
				return "", err
			}
			s := f(args...)
			return s, fs.checkOut(name, len(s))
		}
	}
}

// boundResult wraps a function that returns a plain string, list or string
// map (no error) so that its result is checked against the limits. Results
// of functions with other signatures are bounded by construction (see
// TestEveryResultIsBounded).
func (fs *funcSet) boundResult(name string, fn any) any {
	s := func(v string) (string, error) { return v, fs.checkOut(name, len(v)) }
	l := func(v []string) ([]string, error) { return v, fs.checkList(name, len(v)) }
	switch f := fn.(type) {
	case func(string) string:
		return func(a string) (string, error) { return s(f(a)) }
	case func(string, string) string:
		return func(a, b string) (string, error) { return s(f(a, b)) }
	case func(string, string, string) string:
		return func(a, b, c string) (string, error) { return s(f(a, b, c)) }
	case func(int, string) string:
		return func(a int, b string) (string, error) { return s(f(a, b)) }
	case func(int, int, string) string:
		return func(a, b int, c string) (string, error) { return s(f(a, b, c)) }
	case func(string, string, int) string:
		return func(a, b string, c int) (string, error) { return s(f(a, b, c)) }
	case func(any) string:
		return func(a any) (string, error) { return s(f(a)) }
	case func(...any) []any:
		return func(a ...any) ([]any, error) { v := f(a...); return v, fs.checkList(name, len(v)) }
	case func(...map[string]any) []string:
		return func(a ...map[string]any) ([]string, error) { return l(f(a...)) }
	case func(map[string]any) []any:
		return func(a map[string]any) ([]any, error) { v := f(a); return v, fs.checkList(name, len(v)) }
	case func(string, ...map[string]any) []any:
		return func(a string, b ...map[string]any) ([]any, error) {
			v := f(a, b...)
			return v, fs.checkList(name, len(v))
		}
	case func(string, string) []string:
		return func(a, b string) ([]string, error) { return l(f(a, b)) }
	case func(string, string, int) []string:
		return func(a, b string, c int) ([]string, error) { return l(f(a, b, c)) }
	case func(string, string, int) ([]string, error):
		return func(a, b string, c int) ([]string, error) {
			v, err := f(a, b, c)
			if err != nil {
				return nil, err
			}
			return l(v)
		}
	case func(string, string) map[string]string:
		return func(a, b string) (map[string]string, error) {
			v := f(a, b)
			return v, fs.checkList(name, len(v))
		}
	case func(string, int, string) map[string]string:
		return func(a string, b int, c string) (map[string]string, error) {
			v := f(a, b, c)
			return v, fs.checkList(name, len(v))
		}
	}
	return fn
}

// ---- stateful functions -------------------------------------------------

// addStateful registers the functions that need the render's state.
func (fs *funcSet) addStateful(sp map[string]any) {
	lim := fs.lim
	// List generators: bounded and cancellable.
	fs.stateful["until"] = func(st *renderState) any {
		return func(count int) ([]int, error) {
			if err := st.checkCtx(); err != nil {
				return nil, err
			}
			step := 1
			if count < 0 {
				step = -1
			}
			v, err := untilStep("until", 0, count, step, lim.maxList)
			return chargeVal(st, "until", v, err)
		}
	}
	fs.stateful["untilStep"] = func(st *renderState) any {
		return func(start, stop, step int) ([]int, error) {
			if err := st.checkCtx(); err != nil {
				return nil, err
			}
			v, err := untilStep("untilStep", start, stop, step, lim.maxList)
			return chargeVal(st, "untilStep", v, err)
		}
	}
	fs.stateful["seq"] = func(st *renderState) any {
		return func(params ...int) (string, error) {
			if err := st.checkCtx(); err != nil {
				return "", err
			}
			s, err := seq(lim.maxList, lim.maxOut, params...)
			return st.chargeStr("seq", s, err)
		}
	}

	// Regular expressions that find every match (costly.go): one scan per
	// match, the context checked between scans.
	for _, name := range []string{"regexFindAll", "mustRegexFindAll"} {
		fs.stateful[name] = func(st *renderState) any {
			return func(regex, s string, n int) ([]string, error) {
				re, err := compileRegex(name, regex, len(s))
				if err != nil {
					return nil, err
				}
				v, err := re.findAll(st, name, s, n)
				if err == nil {
					err = fs.checkList(name, len(v))
				}
				return chargeVal(st, name, v, err)
			}
		}
	}
	for _, name := range []string{"regexSplit", "mustRegexSplit"} {
		fs.stateful[name] = func(st *renderState) any {
			return func(regex, s string, n int) ([]string, error) {
				re, err := compileRegex(name, regex, len(s))
				if err != nil {
					return nil, err
				}
				v, err := re.split(st, name, s, n)
				if err == nil {
					err = fs.checkList(name, len(v))
				}
				return chargeVal(st, name, v, err)
			}
		}
	}
	// regexReplaceAll & co: an empty match inserts repl at every position,
	// so the result is checked as it grows.
	for _, name := range []string{"regexReplaceAll", "mustRegexReplaceAll", "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"} {
		literal := strings.HasSuffix(name, "Literal")
		fs.stateful[name] = func(st *renderState) any {
			return func(regex, s, repl string) (string, error) {
				re, err := compileRegex(name, regex, len(s))
				if err != nil {
					return "", err
				}
				out, err := re.replaceAll(st, name, s, repl, literal, lim.maxOut)
				if err == nil {
					err = fs.checkOut(name, len(out))
				}
				return st.chargeStr(name, out, err)
			}
		}
	}

	// n²·m list functions, rewritten (costly.go).
	for _, name := range []string{"uniq", "mustUniq"} {
		fs.stateful[name] = func(st *renderState) any {
			return func(list any) ([]any, error) { return fs.uniqList(st, name, list) }
		}
	}
	for _, name := range []string{"without", "mustWithout"} {
		fs.stateful[name] = func(st *renderState) any {
			return func(list any, omit ...any) ([]any, error) { return fs.withoutList(st, name, list, omit) }
		}
	}
	// derivePassword runs scrypt (N=32768, r=8, p=2): about 32 MiB and
	// 0.1-0.3 s of CPU per call, whatever its input. At most
	// scryptSlots calls run at once in the process, so concurrent requests
	// cannot stack up that memory; a waiting call gives up when its render's
	// context is done, and a loop of calls stops at the next one.
	derivePassword := sp["derivePassword"].(func(uint32, string, string, string, string) string)
	fs.stateful["derivePassword"] = func(st *renderState) any {
		return func(counter uint32, passwordType, password, user, site string) (string, error) {
			if err := st.checkCtx(); err != nil {
				return "", err
			}
			select {
			case scryptSlots <- struct{}{}:
			case <-st.done:
				return "", abortErr(st.ctx.Err())
			}
			s := derivePassword(counter, passwordType, password, user, site)
			<-scryptSlots
			return st.chargeStr("derivePassword", s, nil)
		}
	}

	// Typed output markers (typed.go).
	fs.stateful["asInt"] = func(st *renderState) any {
		return func(v any) (string, error) {
			i, err := asInt(v)
			if err != nil {
				return "", err
			}
			return st.mark("asInt", i), nil
		}
	}
	fs.stateful["asBool"] = func(st *renderState) any {
		return func(v any) (string, error) {
			b, err := asBool(v)
			if err != nil {
				return "", err
			}
			return st.mark("asBool", b), nil
		}
	}
	fs.stateful["asFloat"] = func(st *renderState) any {
		return func(v any) (string, error) {
			f, err := asFloat(v)
			if err != nil {
				return "", err
			}
			return st.mark("asFloat", f), nil
		}
	}
	fs.stateful["asJson"] = func(st *renderState) any {
		return func(v any) (string, error) {
			j, err := asJSON(v, lim.maxOut)
			if err != nil {
				return "", err
			}
			if _, err := chargeVal(st, "asJson", j, nil); err != nil {
				return "", err
			}
			return st.mark("asJson", j), nil
		}
	}

	// Map mutators. Sprig's set/unset/merge modify their first argument in
	// place. Upstream let {{ $_ := set . "uid" "x" }} rewrite the variables
	// of every later leaf of the tenant, and two leaves rendered at once
	// crashed the process with "concurrent map writes". Here a template may
	// only modify maps it built itself (dict, fromJson, deepCopy, ...), and
	// may not put a map inside itself (printing it would never end).
	fs.stateful["set"] = func(st *renderState) any {
		return func(d map[string]any, key string, value any) (map[string]any, error) {
			if err := st.checkMutable("set", d, false, value); err != nil {
				return nil, err
			}
			if err := st.charge("set", int64(len(key))+memMapEntry); err != nil {
				return nil, err
			}
			d[key] = value
			return d, nil
		}
	}
	fs.stateful["unset"] = func(st *renderState) any {
		return func(d map[string]any, key string) (map[string]any, error) {
			if err := st.checkMutable("unset", d, false); err != nil {
				return nil, err
			}
			delete(d, key)
			return d, nil
		}
	}
	for _, name := range []string{"merge", "mergeOverwrite"} {
		f := sp[name].(func(map[string]any, ...map[string]any) any)
		fs.stateful[name] = func(st *renderState) any {
			return func(dst map[string]any, srcs ...map[string]any) (any, error) {
				if err := st.checkMerge(name, dst, srcs); err != nil {
					return nil, err
				}
				if err := st.chargeMerge(name, srcs); err != nil {
					return nil, err
				}
				return f(dst, srcs...), nil
			}
		}
	}
	for _, name := range []string{"mustMerge", "mustMergeOverwrite"} {
		f := sp[name].(func(map[string]any, ...map[string]any) (any, error))
		fs.stateful[name] = func(st *renderState) any {
			return func(dst map[string]any, srcs ...map[string]any) (any, error) {
				if err := st.checkMerge(name, dst, srcs); err != nil {
					return nil, err
				}
				if err := st.chargeMerge(name, srcs); err != nil {
					return nil, err
				}
				return f(dst, srcs...)
			}
		}
	}
}

// scryptSlots bounds the derivePassword calls running at once.
var scryptSlots = make(chan struct{}, 2)

// chargeMerge charges the entries merge may copy into its destination
// (mergo copies nested maps too; checkMerge bounded their size).
func (st *renderState) chargeMerge(fn string, srcs []map[string]any) error {
	var n int64
	for _, s := range srcs {
		m, _ := memSize(s, 64*int64(st.lim.maxOut))
		n += m
	}
	return st.charge(fn, n)
}

func (st *renderState) checkCtx() error {
	if st.done == nil {
		return nil
	}
	select {
	case <-st.done:
		return abortErr(st.ctx.Err())
	default:
		return nil
	}
}

// varMaps returns the maps reachable from the render's variables.
func (st *renderState) varMaps(fn string) (mapSet, error) {
	if st.vmaps == nil {
		set := mapSet{}
		budget := slack * st.lim.maxOut
		if !collectMaps(reflect.ValueOf(st.vars), set, &budget) {
			return nil, funcErr(fn, "the variables are too large to check")
		}
		st.vmaps = set
	}
	return st.vmaps, nil
}

// checkMutable allows fn to modify d (and, when deep, every map inside d)
// only if none of them belongs to the variables and none is reachable from
// the incoming values.
func (st *renderState) checkMutable(fn string, d map[string]any, deep bool, incoming ...any) error {
	if d == nil {
		return funcErr(fn, "cannot modify a nil map")
	}
	vm, err := st.varMaps(fn)
	if err != nil {
		return err
	}
	target := mapSet{}
	budget := slack * st.lim.maxOut
	if deep {
		if !collectMaps(reflect.ValueOf(d), target, &budget) {
			return funcErr(fn, "map is too large")
		}
	} else {
		target[reflect.ValueOf(d).UnsafePointer()] = struct{}{}
	}
	for p := range target {
		if _, ok := vm[p]; ok {
			return funcErr(fn, "may not modify the template variables; build a new map with dict, or copy with deepCopy")
		}
	}
	for _, v := range incoming {
		found, ok := reachesAny(reflect.ValueOf(v), target, &budget)
		if !ok {
			return funcErr(fn, "value is too large")
		}
		if found {
			return funcErr(fn, "would put a map inside itself")
		}
	}
	return nil
}

func (st *renderState) checkMerge(fn string, dst map[string]any, srcs []map[string]any) error {
	in := make([]any, len(srcs))
	for i, s := range srcs {
		in[i] = s
	}
	if err := st.checkMutable(fn, dst, true, in...); err != nil {
		return err
	}
	// mergo walks the sources deeply.
	limit := slack * st.lim.maxOut
	for _, s := range srcs {
		if _, ok := sizeOf(s, limit); !ok {
			return funcErr(fn, "argument is too large (over %d bytes)", limit)
		}
	}
	return nil
}

// ---- custom functions ----------------------------------------------------

// toHost has upstream's exact semantics: parse s as a URL; if that fails or
// the URL has no host, return s cut at the first ':' (or s unchanged);
// otherwise return the host name without port or brackets, case preserved.
func toHost(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if i := strings.IndexByte(s, ':'); i >= 0 {
			return s[:i]
		}
		return s
	}
	return u.Hostname()
}

// trunc63 returns at most the first 63 bytes of s, the longest a Kubernetes
// label value or DNS label may be. Unlike upstream, it never splits a UTF-8
// character: the cut moves back to the start of the character that would be
// split, so the result may be 60-63 bytes. Like upstream, a trailing '-' or
// '.' is kept (use trimSuffix).
func trunc63(s string) string {
	const n = 63
	if len(s) <= n {
		return s
	}
	i := n
	for k := 0; k < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(s[i]); k++ {
		i--
	}
	if !utf8.RuneStart(s[i]) { // not valid UTF-8 here anyway
		i = n
	}
	return s[:i]
}

// sha1sum is the lower-case hex SHA-1 of s (the same as Sprig's).
func sha1sum(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// fromJSON decodes s like json.Unmarshal into any (numbers are float64).
// Unlike upstream, which returned an empty map, invalid JSON is an error.
func fromJSON(s string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		if strings.TrimSpace(s) == "" {
			return nil, funcErr("fromJson", "invalid JSON: empty input (a NULL column is the empty string; use fromJson (.x | default \"{}\"))")
		}
		return nil, funcErr("fromJson", "invalid JSON: %v", err)
	}
	return v, nil
}

// formatDate is Sprig's dateInZone without hidden inputs: an argument that is
// not a time or Unix seconds is an error (Sprig formatted time.Now()), "Local"
// means UTC (Sprig used the service's TZ), and an unknown zone is an error
// (Sprig silently used UTC).
func formatDate(fn, layout string, d any, zone string) (string, error) {
	var t time.Time
	switch x := d.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "", funcErr(fn, "nil time")
		}
		t = *x
	case int64:
		t = time.Unix(x, 0)
	case int:
		t = time.Unix(int64(x), 0)
	case int32:
		t = time.Unix(int64(x), 0)
	default:
		return "", funcErr(fn, "needs a time (from toDate) or Unix seconds, got %s", describe(d))
	}
	loc, err := location(zone)
	if err != nil {
		return "", funcErr(fn, "unknown time zone %q", zone)
	}
	return t.In(loc).Format(layout), nil
}

var locations sync.Map // zone name -> *time.Location

// location loads a zone once; time.LoadLocation reads the zone file on every
// call.
func location(zone string) (*time.Location, error) {
	if zone == "" || zone == "UTC" || zone == "Local" {
		return time.UTC, nil
	}
	if l, ok := locations.Load(zone); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(zone)
	if err != nil {
		return nil, err
	}
	locations.Store(zone, l)
	return l, nil
}
