package render

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// templateKey is the parse cache key of a TenantTemplate: the SHA-256 of a
// canonical encoding of what ParseTemplate reads (name, namespace,
// generation, spec). The encoding tags every value with its type and
// prefixes every string, map and list with its length, so it is injective:
// two templates share a key only if these inputs are equal value for value,
// and then their parses are equal. A value of a type the decoder never
// produces falls back to json.Marshal in a separate key space ('J' instead
// of 'C'), so the two encodings never collide and a value json.Marshal
// refuses (NaN) is refused with the same error as before.
func templateKey(o object.Obj) ([sha256.Size]byte, error) {
	bp := keyBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			keyBufs.Put(bp)
		}
	}()
	b := append((*bp)[:0], 'C')
	b = appendKeyString(b, object.Name(o))
	b = appendKeyString(b, object.Namespace(o))
	b = binary.AppendVarint(b, object.Generation(o))
	b, ok := appendKeyValue(b, o["spec"], 0)
	*bp = b
	if ok {
		return sha256.Sum256(b), nil
	}
	j, err := json.Marshal([]any{object.Name(o), object.Namespace(o), object.Generation(o), o["spec"]})
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(append([]byte{'J'}, j...)), nil
}

var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxKeyDepth bounds the recursion; deeper specs (which the decoders refuse
// long before) take the json.Marshal path.
const maxKeyDepth = 1000

func appendKeyString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type keyEntry struct {
	k string
	v any
}

// appendKeyValue appends v's canonical encoding; ok is false for a type or
// value it does not encode.
func appendKeyValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > maxKeyDepth {
		return b, false
	}
	switch t := v.(type) {
	case nil:
		return append(b, 'z'), true
	case string:
		return appendKeyString(append(b, 's'), t), true
	case json.Number:
		return appendKeyString(append(b, 'n'), string(t)), true
	case bool:
		if t {
			return append(b, 't'), true
		}
		return append(b, 'f'), true
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return b, false
		}
		return binary.BigEndian.AppendUint64(append(b, 'd'), math.Float64bits(t)), true
	case int64:
		return binary.AppendVarint(append(b, 'i'), t), true
	case int:
		return binary.AppendVarint(append(b, 'I'), int64(t)), true
	case []any:
		b = binary.AppendUvarint(append(b, 'l'), uint64(len(t)))
		for _, e := range t {
			var ok bool
			if b, ok = appendKeyValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return b, true
	case map[string]any:
		b = binary.AppendUvarint(append(b, 'm'), uint64(len(t)))
		// Entries sorted by key, values taken along (no second lookup).
		var arr [16]keyEntry
		entries := arr[:0]
		for k, v := range t {
			entries = append(entries, keyEntry{k, v})
		}
		slices.SortFunc(entries, func(x, y keyEntry) int { return strings.Compare(x.k, y.k) })
		for _, e := range entries {
			b = appendKeyString(b, e.k)
			var ok bool
			if b, ok = appendKeyValue(b, e.v, depth+1); !ok {
				return b, false
			}
		}
		return b, true
	}
	return b, false
}
