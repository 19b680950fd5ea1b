package wire

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A fast encoder for the answers' generic trees (map[string]any, []any,
// strings, json.Number…). It writes exactly the bytes encoding/json writes
// with SetEscapeHTML(false) — map keys sorted, the same string escapes,
// invalid UTF-8 as \ufffd, U+2028/U+2029 escaped, floats as ES6 numbers —
// and gives up (ok=false) on any type it does not know, or on a value
// encoding/json would reject (NaN, an invalid json.Number); Encode then
// uses encoding/json for the whole answer. FuzzFastEncode checks the
// equivalence.

// appendJSON appends v's JSON to dst.
func appendJSON(dst []byte, v any) ([]byte, bool) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return appendJSONString(dst, t), true
	case bool:
		return strconv.AppendBool(dst, t), true
	case json.Number:
		s := string(t)
		if s == "" {
			s = "0"
		}
		if !validNumber(s) {
			return dst, false
		}
		return append(dst, s...), true
	case float64:
		return appendFloat(dst, t)
	case int:
		return strconv.AppendInt(dst, int64(t), 10), true
	case int64:
		return strconv.AppendInt(dst, t, 10), true
	case int32:
		return strconv.AppendInt(dst, int64(t), 10), true
	case map[string]any:
		if t == nil {
			return append(dst, "null"...), true
		}
		return appendMap(dst, t)
	case []any:
		return appendList(dst, t)
	case []object.Obj:
		return appendList(dst, t)
	case map[string]string:
		if t == nil {
			return append(dst, "null"...), true
		}
		return appendMap(dst, t)
	case []string:
		return appendList(dst, t)
	case CompositeResponse:
		return appendComposite(dst, &t)
	case *CompositeResponse:
		if t == nil {
			return append(dst, "null"...), true
		}
		return appendComposite(dst, t)
	}
	return dst, false
}

// appendComposite follows CompositeResponse's field order and tags.
func appendComposite(dst []byte, r *CompositeResponse) ([]byte, bool) {
	var ok bool
	dst = append(dst, `{"status":`...)
	if dst, ok = appendJSON(dst, r.Status); !ok {
		return dst, false
	}
	dst = append(dst, `,"children":`...)
	if dst, ok = appendJSON(dst, r.Children); !ok {
		return dst, false
	}
	if r.ResyncAfterSeconds != 0 {
		dst = append(dst, `,"resyncAfterSeconds":`...)
		if dst, ok = appendFloat(dst, r.ResyncAfterSeconds); !ok {
			return dst, false
		}
	}
	if r.Finalized {
		dst = append(dst, `,"finalized":true`...)
	}
	return append(dst, '}'), true
}

func appendMap[V any](dst []byte, m map[string]V) ([]byte, bool) {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = appendJSON(dst, m[k]); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// appendFloat is encoding/json's float64 encoding.
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		b := dst[start:]
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding without HTML escapes.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// validNumber is encoding/json's isValidNumber.
func validNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}

// encodeBufs recycles answer buffers up to 1 MiB.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledEncodeBuf = 1 << 20

// appendList writes a list as encoding/json does (nil is null).
func appendList[T any](dst []byte, l []T) ([]byte, bool) {
	if l == nil {
		return append(dst, "null"...), true
	}
	dst = append(dst, '[')
	for i, e := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = appendJSON(dst, e); !ok {
			return dst, false
		}
	}
	return append(dst, ']'), true
}
