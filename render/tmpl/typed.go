package tmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Typed output markers.
//
// A leaf's output is text. The typed-marker functions (asInt, asBool,
// asFloat, asJson) are the only way to give a leaf another type: each one
// stores its converted value in the render's state and prints a marker that
// refers to it. After execution, if the entire output is exactly one marker,
// Render returns the stored value; if a marker is mixed with other text, the
// render fails. A leaf that calls none of these functions always renders to a
// string, whatever its data contains, so a field meant to be a string can
// never change type by accident.
//
// The marker holds a NUL byte, which does not occur in YAML/JSON text authors
// write, and only indexes values that this very render stored, so data cannot
// forge a typed value.
const (
	markerPrefix = "\x00tenant-hooks:typed:"
	markerSuffix = "\x00"
)

type typedValue struct {
	fn string
	v  any
}

func (st *renderState) mark(fn string, v any) string {
	i := len(st.typed)
	st.typed = append(st.typed, typedValue{fn: fn, v: v})
	return markerPrefix + strconv.Itoa(i) + markerSuffix
}

// typedResult inspects the output of a render that called a typed-marker
// function. ok=false means the output holds no marker and is a plain string.
func (st *renderState) typedResult(out string) (tv typedValue, ok bool, err error) {
	first := strings.Index(out, markerPrefix)
	if first < 0 {
		return tv, false, nil
	}
	rest := out[first+len(markerPrefix):]
	end := strings.Index(rest, markerSuffix)
	idx, convErr := strconv.Atoi(rest[:max(end, 0)])
	if end < 0 || convErr != nil || idx < 0 || idx >= len(st.typed) {
		// Marker-like text that this render did not produce: plain data.
		return tv, false, nil
	}
	tv = st.typed[idx]
	if first == 0 && end+len(markerPrefix)+len(markerSuffix) == len(out) {
		return tv, true, nil
	}
	extra := stripMarkers(out)
	return tv, false, &Error{Func: tv.fn, Msg: fmt.Sprintf(
		"%s must produce the whole value (found extra text %s); "+
			"write the leaf as \"{{ ... | %s }}\" and trim whitespace with {{- -}}",
		tv.fn, excerpt(extra), tv.fn)}
}

// stripMarkers removes markers so an error message can show the other text.
func stripMarkers(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, markerPrefix)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+len(markerPrefix):]
		if j := strings.Index(s, markerSuffix); j >= 0 {
			s = s[j+len(markerSuffix):]
		}
	}
}

func excerpt(s string) string {
	const n = 40
	if len(s) > n {
		cut := n
		for cut > 0 && cut > n-4 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// asInt converts v to an int64. It accepts Go integers, integral floats,
// json.Number and strings holding an integer (or an integral number such as
// "3.0" or "1e3"); surrounding spaces are ignored.
func asInt(v any) (int64, error) {
	const fn = "asInt"
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, funcErr(fn, "%q is not an integer", x)
		}
		return floatToInt(fn, f, x)
	case json.Number:
		return asInt(string(x))
	case float32:
		return floatToInt(fn, float64(x), x)
	case float64:
		return floatToInt(fn, x, x)
	case bool, nil:
		return 0, funcErr(fn, "%s is not an integer", describe(v))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt64 {
			return int64(u), nil
		}
		return 0, funcErr(fn, "%d does not fit in a 64-bit signed integer", rv.Uint())
	}
	return 0, funcErr(fn, "%s is not an integer", describe(v))
}

func floatToInt(fn string, f float64, orig any) (int64, error) {
	if s, ok := orig.(string); ok {
		orig = strconv.Quote(s)
	}
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, funcErr(fn, "%v is not an integer", orig)
	}
	if f < -(1<<63) || f >= 1<<63 {
		return 0, funcErr(fn, "%v does not fit in a 64-bit signed integer", orig)
	}
	return int64(f), nil
}

// asBool accepts a Go bool, the strings "true"/"false" (any case) and
// "1"/"0", and the integers 1 and 0.
func asBool(v any) (bool, error) {
	const fn = "asBool"
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		switch {
		case strings.EqualFold(s, "true") || s == "1":
			return true, nil
		case strings.EqualFold(s, "false") || s == "0":
			return false, nil
		}
		return false, funcErr(fn, "%q is not a boolean (use true, false, 1 or 0)", x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if i := rv.Int(); i == 0 || i == 1 {
			return i == 1, nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u == 0 || u == 1 {
			return u == 1, nil
		}
	}
	return false, funcErr(fn, "%s is not a boolean (use true, false, 1 or 0)", describe(v))
}

// asFloat accepts Go numbers, json.Number and numeric strings. NaN and
// infinities are refused: JSON cannot represent them.
func asFloat(v any) (float64, error) {
	const fn = "asFloat"
	var f float64
	switch x := v.(type) {
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, funcErr(fn, "%q is not a number", x)
		}
	case json.Number:
		return asFloat(string(x))
	case bool, nil:
		return 0, funcErr(fn, "%s is not a number", describe(v))
	default:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f = float64(rv.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			f = float64(rv.Uint())
		case reflect.Float32, reflect.Float64:
			f = rv.Float()
		default:
			return 0, funcErr(fn, "%s is not a number", describe(v))
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, funcErr(fn, "%v cannot be represented in JSON", v)
	}
	return f, nil
}

// asJSON parses a JSON document into map[string]any, []any, string, int64
// (integral numbers that fit), float64, bool or nil. A non-string argument
// (say, a dict) is first encoded with encoding/json, so asJson also turns
// template-built values into plain JSON values.
func asJSON(v any, maxOut int) (any, error) {
	const fn = "asJson"
	var data []byte
	switch x := v.(type) {
	case string:
		data = []byte(x)
	case []byte:
		data = x
	default:
		if _, ok := sizeOf(v, slack*maxOut); !ok {
			return nil, funcErr(fn, "argument is too large to encode (over %d bytes; MaxOutputBytes is %d)", slack*maxOut, maxOut)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, funcErr(fn, "cannot encode %T as JSON: %v", v, err)
		}
		data = b
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, funcErr(fn, "invalid JSON: empty input")
		}
		return nil, funcErr(fn, "invalid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, funcErr(fn, "invalid JSON: extra data after the first value")
	}
	return normalizeNumbers(out), nil
}

// normalizeNumbers replaces json.Number with int64 when the number is
// integral and fits, float64 otherwise.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
			return int64(f)
		}
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// describe names a value for an error message without printing all of it.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil (a missing value or JSON null)"
	case string:
		return excerpt(x)
	case bool, int, int64, float64:
		return fmt.Sprintf("%T %v", v, v)
	}
	return fmt.Sprintf("a value of type %T", v)
}
