package readiness

import (
	"encoding/json"
	"math"
	"strings"
)

// The helpers below read a decoded object leniently: a missing or mistyped
// field reads as absent rather than failing, because a hook must answer for
// whatever Metacontroller observed, and "absent" is what every rule in this
// package already has a safe answer for.

func field(obj map[string]any, path ...string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

func str(obj map[string]any, path ...string) string {
	v, _ := field(obj, path...)
	s, _ := v.(string)
	return s
}

func boolean(obj map[string]any, path ...string) bool {
	v, _ := field(obj, path...)
	b, _ := v.(bool)
	return b
}

func integer(obj map[string]any, path ...string) (int64, bool) {
	v, ok := field(obj, path...)
	if !ok {
		return 0, false
	}
	return toInt64(v)
}

// intOr is integer with a default for absent fields. Kubernetes omits zero
// counters from status (omitempty), so most callers want 0 here.
func intOr(def int64, obj map[string]any, path ...string) int64 {
	if n, ok := integer(obj, path...); ok {
		return n
	}
	return def
}

// toInt64 accepts every shape a JSON or YAML decoder produces for an
// integer: float64 from encoding/json, json.Number with UseNumber, and the
// Go integer types from YAML decoders or hand-built objects. A float that is
// not a whole number is not an integer field's value and reads as absent.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return uintToInt64(uint64(n))
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return uintToInt64(n)
	case float32:
		return floatToInt64(float64(n))
	case float64:
		return floatToInt64(n)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil {
			return floatToInt64(f)
		}
	}
	return 0, false
}

func uintToInt64(u uint64) (int64, bool) {
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func floatToInt64(f float64) (int64, bool) {
	// 2^63 is exactly representable; anything at or above it overflows.
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func list(obj map[string]any, path ...string) []any {
	v, _ := field(obj, path...)
	switch l := v.(type) {
	case []any:
		return l
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out
	}
	return nil
}

// group returns the API group of an apiVersion: "apps" for "apps/v1" and ""
// for the core group's bare "v1".
func group(apiVersion string) string {
	g, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return ""
	}
	return g
}

type condition struct {
	Type, Status, Reason, Message string
	ObservedGeneration            int64
	HasObservedGeneration         bool
}

// findCondition returns the first condition of the given type. Duplicate
// types are invalid in Kubernetes, so first-wins is as good as any rule and
// keeps the answer stable.
func findCondition(obj map[string]any, typ string) (condition, bool) {
	for _, item := range list(obj, "status", "conditions") {
		m, ok := item.(map[string]any)
		if !ok || str(m, "type") != typ {
			continue
		}
		c := condition{
			Type:    typ,
			Status:  str(m, "status"),
			Reason:  str(m, "reason"),
			Message: str(m, "message"),
		}
		c.ObservedGeneration, c.HasObservedGeneration = integer(m, "observedGeneration")
		return c, true
	}
	return condition{}, false
}

func hasConditionTrue(obj map[string]any, typ string) (condition, bool) {
	c, ok := findCondition(obj, typ)
	return c, ok && c.Status == "True"
}
