package tmpl

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Error is the only error type returned by Render, RenderString and Check.
//
// Line, Func and Key are filled when known. Error() is a single line such as
//
//	line 1: missing variable "plan" (available: activate, host, hostOrUrl, uid)
//
// Callers add the registry, template, resource and uid context; this package
// does not know them.
type Error struct {
	Line int    // 1-based line in the template source, 0 if unknown
	Func string // function involved, if any
	Key  string // missing variable or map key, if any
	Msg  string // the message without the "line N: " prefix

	err error // cause, for errors.Is (context.Canceled, context.DeadlineExceeded)
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return "line " + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return e.Msg
}

// Unwrap returns the cause, if any: the context's error when a render was
// cancelled or ran past its deadline.
func (e *Error) Unwrap() error { return e.err }

// funcErr builds the error a template function returns. The line is filled in
// later from text/template's position information.
func funcErr(fn, format string, args ...any) *Error {
	return &Error{Func: fn, Msg: fn + ": " + fmt.Sprintf(format, args...)}
}

// abortErr is returned when the render's context is done.
func abortErr(cause error) *Error {
	return &Error{Msg: "rendering aborted: " + cause.Error(), err: cause}
}

// maxAvailable is how many variable names a missing-variable error lists.
const maxAvailable = 20

// availableVars lists the sorted variable names for a missing-variable error.
func availableVars(vars map[string]any) string {
	if len(vars) == 0 {
		return "no variables were provided"
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	more := 0
	if len(names) > maxAvailable {
		more = len(names) - maxAvailable
		names = names[:maxAvailable]
	}
	s := "available: " + strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" … and %d more", more)
	}
	return s
}

// helmOnly names functions that people bring over from Helm charts. They do
// not exist here: a leaf is a single string with no files, no other templates
// and no cluster access.
var helmOnly = map[string]bool{
	"include": true, "tpl": true, "required": true, "lookup": true,
	"toYaml": true, "fromYaml": true, "fromYamlArray": true, "toToml": true,
	"readFile": true, "files": true,
}

// parseError converts an error from text/template/parse.
//
// Format: `template: leaf:LINE: MESSAGE`.
func parseError(err error) *Error {
	line, rest := splitLocation(err.Error())
	e := &Error{Line: line, Msg: rest}
	if name, ok := strings.CutPrefix(rest, "function "); ok {
		if q, tail, ok := cutQuoted(name); ok && tail == " not defined" {
			e.Func = q
			e.Msg = fmt.Sprintf("function %q is not defined", q)
			if helmOnly[q] {
				e.Msg += " (it is a Helm function; a tenant template leaf has no files, no named templates and no cluster access)"
			}
		}
	}
	return e
}

// execError converts an error returned by (*template.Template).Execute.
//
// Errors raised by our own functions are *Error values wrapped by
// text/template ("error calling f: %w"); they are copied and given the line.
// A missing map key is recognised from text/template's message
// ("map has no entry for key %q") and turned into a missing-variable error.
func execError(err error, vars map[string]any) *Error {
	var own *Error
	if errors.As(err, &own) {
		e := *own // never mutate: stub errors are shared
		var ee template.ExecError
		if errors.As(err, &ee) {
			e.Line, _ = splitLocation(ee.Error())
		}
		return &e
	}
	var ee template.ExecError
	if !errors.As(err, &ee) {
		return &Error{Msg: err.Error(), err: err}
	}
	line, rest := splitLocation(ee.Error())
	ctx, msg := splitContext(rest)
	e := &Error{Line: line, Msg: msg}
	if tail, ok := strings.CutPrefix(msg, "map has no entry for key "); ok {
		if key, _, ok := cutQuoted(tail); ok {
			e.Key = key
			if isRootField(ctx, key) {
				if _, present := vars[key]; !present {
					e.Msg = fmt.Sprintf("missing variable %q (%s)", key, availableVars(vars))
					return e
				}
			}
			e.Msg = fmt.Sprintf("missing key %q (near {{ %s }}); use get, dig or hasKey for optional keys", key, ctx)
			return e
		}
	}
	if tail, ok := strings.CutPrefix(msg, "error calling "); ok {
		if i := strings.Index(tail, ": "); i > 0 {
			e.Func = tail[:i]
		}
	}
	if ctx != "" {
		e.Msg += " (in {{ " + ctx + " }})"
	}
	return e
}

// isRootField reports whether the failing node text looks like a top-level
// variable access (.key or $.key, optionally followed by more fields).
func isRootField(ctx, key string) bool {
	ctx = strings.TrimPrefix(ctx, "$")
	first, _, _ := strings.Cut(strings.TrimPrefix(ctx, "."), ".")
	return strings.HasPrefix(ctx, ".") && first == key
}

// splitLocation parses text/template's "template: NAME:LINE[:COL]: rest" and
// returns the line and the rest.
func splitLocation(s string) (line int, rest string) {
	s = strings.TrimPrefix(s, "template: ")
	s = strings.TrimPrefix(s, leafName+":")
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s
	}
	line, _ = strconv.Atoi(s[:i])
	s = s[i:]
	if strings.HasPrefix(s, ":") { // column
		j := 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > 1 {
			s = s[j:]
		}
	}
	return line, strings.TrimPrefix(s, ": ")
}

// splitContext splits `executing "leaf" at <CTX>: MSG` into CTX and MSG.
func splitContext(s string) (ctx, msg string) {
	const head = `executing "` + leafName + `" at <`
	rest, ok := strings.CutPrefix(s, head)
	if !ok {
		return "", s
	}
	if i := strings.Index(rest, ">: "); i >= 0 {
		return rest[:i], rest[i+3:]
	}
	return "", s
}

// cutQuoted reads a Go-quoted string at the start of s.
func cutQuoted(s string) (q, tail string, ok bool) {
	p, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", s, false
	}
	q, err = strconv.Unquote(p)
	if err != nil {
		return "", s, false
	}
	return q, s[len(p):], true
}
