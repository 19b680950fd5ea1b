package tmpl

// This file binds every function that builds a value to the render that
// calls it, so that the value is charged to the request's Budget (and the
// render's context is checked) before the template can keep it. Functions
// with scalar results (numbers, booleans, dates) and those that return one
// of their arguments (first, default, get, ...) build nothing and stay
// shared.

// deepResults build a whole new tree: memSize, not shallowSize.
var deepResults = map[string]bool{
	"deepCopy": true, "mustDeepCopy": true, "fromJson": true, "mustFromJson": true, "asJson": true,
}

// chargeStr charges a built string.
func (st *renderState) chargeStr(fn string, s string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	if err := st.charge(fn, int64(len(s))+memSlot); err != nil {
		return "", err
	}
	return s, nil
}

// chargeVal charges a built container (shallowly: its elements existed
// before the call) or, for deepResults, the whole tree.
func chargeVal[T any](st *renderState, fn string, v T, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	var n int64
	if deepResults[fn] {
		limit := 64 * int64(st.lim.maxOut)
		var ok bool
		if n, ok = memSize(v, limit); !ok {
			n = limit
		}
	} else {
		n = shallowSize(v)
	}
	if err := st.charge(fn, n); err != nil {
		return zero, err
	}
	return v, nil
}

// chargeWrap returns the per-render maker of a charging fn, or nil when fn
// builds nothing worth charging. Every signature of the function map that
// returns a string, list or map is listed; TestEveryBuilderIsCharged keeps
// it that way.
func chargeWrap(name string, fn any) func(*renderState) any {
	switch f := fn.(type) {
	case func(...any) (string, error):
		return func(st *renderState) any {
			return func(a ...any) (string, error) { s, err := f(a...); return st.chargeStr(name, s, err) }
		}
	case func(string) (string, error):
		return func(st *renderState) any {
			return func(a string) (string, error) { s, err := f(a); return st.chargeStr(name, s, err) }
		}
	case func(string, string) (string, error):
		return func(st *renderState) any {
			return func(a, b string) (string, error) { s, err := f(a, b); return st.chargeStr(name, s, err) }
		}
	case func(string, string, string) (string, error):
		return func(st *renderState) any {
			return func(a, b, c string) (string, error) { s, err := f(a, b, c); return st.chargeStr(name, s, err) }
		}
	case func(string, string, int) (string, error):
		return func(st *renderState) any {
			return func(a, b string, c int) (string, error) { s, err := f(a, b, c); return st.chargeStr(name, s, err) }
		}
	case func(int, string) (string, error):
		return func(st *renderState) any {
			return func(a int, b string) (string, error) { s, err := f(a, b); return st.chargeStr(name, s, err) }
		}
	case func(int, int, string) (string, error):
		return func(st *renderState) any {
			return func(a, b int, c string) (string, error) { s, err := f(a, b, c); return st.chargeStr(name, s, err) }
		}
	case func(int, string, string) (string, error):
		return func(st *renderState) any {
			return func(a int, b, c string) (string, error) { s, err := f(a, b, c); return st.chargeStr(name, s, err) }
		}
	case func(any) (string, error):
		return func(st *renderState) any {
			return func(a any) (string, error) { s, err := f(a); return st.chargeStr(name, s, err) }
		}
	case func(any, string) (string, error):
		return func(st *renderState) any {
			return func(a any, b string) (string, error) { s, err := f(a, b); return st.chargeStr(name, s, err) }
		}
	case func(string, any) (string, error):
		return func(st *renderState) any {
			return func(a string, b any) (string, error) { s, err := f(a, b); return st.chargeStr(name, s, err) }
		}
	case func(string, any, string) (string, error):
		return func(st *renderState) any {
			return func(a string, b any, c string) (string, error) {
				s, err := f(a, b, c)
				return st.chargeStr(name, s, err)
			}
		}
	case func(string, ...any) (string, error):
		return func(st *renderState) any {
			return func(a string, b ...any) (string, error) { s, err := f(a, b...); return st.chargeStr(name, s, err) }
		}
	case func(map[string]any) (string, error):
		return func(st *renderState) any {
			return func(a map[string]any) (string, error) { s, err := f(a); return st.chargeStr(name, s, err) }
		}

	case func(...any) ([]any, error):
		return func(st *renderState) any {
			return func(a ...any) ([]any, error) { v, err := f(a...); return chargeVal(st, name, v, err) }
		}
	case func(...any) (any, error):
		return func(st *renderState) any {
			return func(a ...any) (any, error) { v, err := f(a...); return chargeVal(st, name, v, err) }
		}
	case func(...any) (map[string]any, error):
		return func(st *renderState) any {
			return func(a ...any) (map[string]any, error) { v, err := f(a...); return chargeVal(st, name, v, err) }
		}
	case func(...map[string]any) ([]string, error):
		return func(st *renderState) any {
			return func(a ...map[string]any) ([]string, error) { v, err := f(a...); return chargeVal(st, name, v, err) }
		}
	case func(int, any) ([][]any, error):
		return func(st *renderState) any {
			return func(a int, b any) ([][]any, error) { v, err := f(a, b); return chargeVal(st, name, v, err) }
		}
	case func(int, any) [][]any:
		return func(st *renderState) any {
			return func(a int, b any) ([][]any, error) { return chargeVal(st, name, f(a, b), nil) }
		}
	case func(any) ([]any, error):
		return func(st *renderState) any {
			return func(a any) ([]any, error) { v, err := f(a); return chargeVal(st, name, v, err) }
		}
	case func(any) []any:
		return func(st *renderState) any {
			return func(a any) ([]any, error) { return chargeVal(st, name, f(a), nil) }
		}
	case func(any) ([]string, error):
		return func(st *renderState) any {
			return func(a any) ([]string, error) { v, err := f(a); return chargeVal(st, name, v, err) }
		}
	case func(any) (any, error):
		return func(st *renderState) any {
			return func(a any) (any, error) { v, err := f(a); return chargeVal(st, name, v, err) }
		}
	case func(any, ...any) ([]any, error):
		return func(st *renderState) any {
			return func(a any, b ...any) ([]any, error) { v, err := f(a, b...); return chargeVal(st, name, v, err) }
		}
	case func(any, ...any) []any:
		return func(st *renderState) any {
			return func(a any, b ...any) ([]any, error) { return chargeVal(st, name, f(a, b...), nil) }
		}
	case func(any, ...any) (any, error):
		return func(st *renderState) any {
			return func(a any, b ...any) (any, error) { v, err := f(a, b...); return chargeVal(st, name, v, err) }
		}
	case func(any, any) ([]any, error):
		return func(st *renderState) any {
			return func(a, b any) ([]any, error) { v, err := f(a, b); return chargeVal(st, name, v, err) }
		}
	case func(map[string]any) ([]any, error):
		return func(st *renderState) any {
			return func(a map[string]any) ([]any, error) { v, err := f(a); return chargeVal(st, name, v, err) }
		}
	case func(map[string]any, ...string) map[string]any:
		return func(st *renderState) any {
			return func(a map[string]any, b ...string) (map[string]any, error) {
				return chargeVal(st, name, f(a, b...), nil)
			}
		}
	case func(string) (any, error):
		return func(st *renderState) any {
			return func(a string) (any, error) { v, err := f(a); return chargeVal(st, name, v, err) }
		}
	case func(string) map[string]any:
		return func(st *renderState) any {
			return func(a string) (map[string]any, error) { return chargeVal(st, name, f(a), nil) }
		}
	case func(string, ...map[string]any) ([]any, error):
		return func(st *renderState) any {
			return func(a string, b ...map[string]any) ([]any, error) {
				v, err := f(a, b...)
				return chargeVal(st, name, v, err)
			}
		}
	case func(string, int, string) (map[string]string, error):
		return func(st *renderState) any {
			return func(a string, b int, c string) (map[string]string, error) {
				v, err := f(a, b, c)
				return chargeVal(st, name, v, err)
			}
		}
	case func(string, string) ([]string, error):
		return func(st *renderState) any {
			return func(a, b string) ([]string, error) { v, err := f(a, b); return chargeVal(st, name, v, err) }
		}
	case func(string, string) (map[string]string, error):
		return func(st *renderState) any {
			return func(a, b string) (map[string]string, error) { v, err := f(a, b); return chargeVal(st, name, v, err) }
		}
	case func(string, string, int) ([]string, error):
		return func(st *renderState) any {
			return func(a, b string, c int) ([]string, error) { v, err := f(a, b, c); return chargeVal(st, name, v, err) }
		}
	}
	return nil
}

// sharedResult are functions whose result is one of their arguments (or a
// fixed-size value): nothing new to charge.
var sharedResult = map[string]bool{
	"first": true, "last": true, "mustFirst": true, "mustLast": true, "default": true, "coalesce": true,
	"ternary": true, "get": true, "dig": true, "slice": true, "mustSlice": true, "hello": true,
}
