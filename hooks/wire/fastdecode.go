package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A fast decoder for CompositeRequest, the envelope of the tenant and
// registry sync hooks, whose bodies are large (every observed child with
// Metacontroller's bookkeeping) and arrive on every resync.
//
// It produces exactly what Decode produces — map[string]any objects, []any
// lists, json.Number numbers, strings unescaped as encoding/json does
// (invalid UTF-8 and lone surrogates become U+FFFD) — with two differences
// that no answer can see:
//
//   - metadata.managedFields of the parent and of every child is kept as the
//     json.RawMessage of its bytes instead of being decoded: no hook reads it
//     there (it is server-owned and every path that returns an observed
//     object strips it), and it is the largest part of most objects.
//     Related objects are decoded in full (the conflict policy names their
//     field managers); a TenantTemplate among them is decoded once and its
//     value shared by every request carrying the same bytes (shared.go).
//   - strings of the children share a few large allocations instead of one
//     each (the parent's and related objects' do not: they end up in metric
//     labels and template caches, which must not pin a request's strings).
//
// Anything unusual — a syntax error, a type that does not fit, an unknown or
// differently cased envelope key, a key twice in any object, trailing data,
// extreme nesting — makes it give up, and the caller runs Decode, which then
// produces the very same result or error as always (for a duplicate key, a
// *DuplicateKeyError). FuzzFastDecode checks the equivalence against
// encoding/json.

// maxFastDepth stays below encoding/json's nesting limit (10000): deeper
// input goes to Decode, which reports it.
const maxFastDepth = 9000

// decodeCompositeFast fills r from b and reports whether it could; on false
// r is garbage and the caller must decode again with Decode.
func decodeCompositeFast(b []byte, r *CompositeRequest) bool {
	return decodeEnvelopeFast(b, r, func(p *fastParser) (ObjectMap, bool) { return p.objectMap(true) })
}

// decodeEnvelopeFast reads the envelope; children decodes the children map
// (in full for the tenant hooks, as summaries for the registry).
func decodeEnvelopeFast(b []byte, r *CompositeRequest, children func(*fastParser) (ObjectMap, bool)) bool {
	// The strings copied out of b never total more than b: a small request
	// gets a first chunk of its own size, not 32 KiB.
	p := fastParser{b: b, arena: byteArena{firstChunk: len(b)}}
	p.ws()
	var seen [5]bool
	ok := p.members(func(key string) bool {
		idx := -1
		switch key {
		case "controller":
			idx = 0
			start := p.i
			if !p.skip(1) {
				return false
			}
			r.Controller = json.RawMessage(bytes.Clone(b[start:p.i]))
		case "parent":
			idx = 1
			// The parent's name and namespace become metric labels, which
			// live for ever: its strings get allocations of their own too.
			p.noArena = true
			o, ok := p.objOrNull(1, true)
			p.noArena = false
			if !ok {
				return false
			}
			r.Parent = o
		case "children":
			idx = 2
			m, ok := children(&p)
			if !ok {
				return false
			}
			r.Children = m
		case "related":
			idx = 3
			// Related objects (TenantTemplates) feed long-lived caches:
			// their strings get allocations of their own, so a cache entry
			// never pins an arena chunk of a whole request.
			p.noArena = true
			m, keys, ok := p.relatedMap()
			p.noArena = false
			if !ok {
				return false
			}
			r.Related, r.TemplateKeys = m, keys
		case "finalizing":
			idx = 4
			switch {
			case p.lit("true"):
				r.Finalizing = true
			case p.lit("false"):
				r.Finalizing = false
			case p.lit("null"):
			default:
				return false
			}
		default:
			return false // unknown or differently cased: Decode decides
		}
		if seen[idx] {
			return false // duplicated: Decode decides
		}
		seen[idx] = true
		return true
	})
	return ok && p.end()
}

type fastParser struct {
	b     []byte
	i     int
	arena byteArena // string bytes
	tmp   []byte    // unescaping scratch
	// noArena gives every string its own allocation.
	noArena bool
	stack   []fastKV
	list    []any
	// keyStack holds the keys of the objects skip is inside, for duplicate
	// detection; they may point into b or keyBuf (escaped keys, unescaped).
	keyStack []string
	keyBuf   []byte
	keyMode  bool // str interns into keyBuf
}

type fastKV struct {
	k string
	v any
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// end accepts only whitespace after the document.
func (p *fastParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// members reads {"key": value, ...} at p.i, calling member for each key
// with p positioned at its value; member must consume the value.
func (p *fastParser) members(member func(key string) bool) bool {
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		return true
	}
	for {
		p.ws()
		k, ok := p.str()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		if !member(k) {
			return false
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// objectMap reads "<type key>": {"<object key>": object|null}|null.
func (p *fastParser) objectMap(rawManaged bool) (ObjectMap, bool) {
	return p.objectMapOf(func(_, _ string) (object.Obj, bool) { return p.objOrNull(3, rawManaged) })
}

// relatedMap is objectMap(false) for the related objects, whose
// TenantTemplates are shared between requests (shared.go); keys are the
// parse cache keys of the shared ones, by object key.
func (p *fastParser) relatedMap() (m ObjectMap, keys map[string]render.TemplateKey, ok bool) {
	m, ok = p.objectMapOf(func(typ, k string) (object.Obj, bool) {
		if typ != sharedTypeKey {
			return p.objOrNull(3, false)
		}
		o, key, ok := p.sharedObject(3)
		if ok && key != (render.TemplateKey{}) {
			if keys == nil {
				keys = map[string]render.TemplateKey{}
			}
			keys[k] = key
		}
		return o, ok
	})
	return m, keys, ok
}

// objectMapOf is objectMap with each object (of type key typ, object key k)
// read by one.
func (p *fastParser) objectMapOf(one func(typ, k string) (object.Obj, bool)) (ObjectMap, bool) {
	if p.lit("null") {
		return nil, true
	}
	m := ObjectMap{}
	ok := p.members(func(typ string) bool {
		if _, dup := m[typ]; dup {
			return false // Decode names it
		}
		if p.lit("null") {
			m[typ] = nil
			return true
		}
		objs := map[string]object.Obj{}
		m[typ] = objs
		return p.members(func(k string) bool {
			if _, dup := objs[k]; dup {
				return false
			}
			o, ok := one(typ, k)
			objs[k] = o
			return ok
		})
	})
	return m, ok
}

// objOrNull reads an object (a Kubernetes object when rawManaged asks for
// its metadata.managedFields to be kept raw) or null.
func (p *fastParser) objOrNull(depth int, rawManaged bool) (object.Obj, bool) {
	if p.lit("null") {
		return nil, true
	}
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, false
	}
	mode := modePlain
	if rawManaged {
		mode = modeRoot
	}
	v, ok := p.object(depth, mode)
	if !ok {
		return nil, false
	}
	return v, true
}

// Object modes: a Kubernetes object's root, its metadata, anything else.
const (
	modePlain = iota
	modeRoot
	modeMetadata
)

func (p *fastParser) value(depth int) (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		m, ok := p.object(depth, modePlain)
		if !ok {
			return nil, false
		}
		return m, true
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		return s, true
	case c == 't':
		if p.lit("true") {
			return true, true
		}
	case c == 'f':
		if p.lit("false") {
			return false, true
		}
	case c == 'n':
		if p.lit("null") {
			return nil, true
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, false
}

// object reads {...} at p.i into a map sized for its members.
func (p *fastParser) object(depth, mode int) (map[string]any, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	p.i++ // '{'
	base := len(p.stack)
	p.ws()
	if !p.eat('}') {
		for {
			p.ws()
			k, ok := p.str()
			if !ok {
				return nil, false
			}
			p.ws()
			if !p.eat(':') {
				return nil, false
			}
			p.ws()
			var v any
			switch {
			case mode == modeRoot && k == "metadata" && p.i < len(p.b) && p.b[p.i] == '{':
				m, ok := p.object(depth+1, modeMetadata)
				if !ok {
					return nil, false
				}
				v = m
			case mode == modeMetadata && k == "managedFields":
				start := p.i
				if !p.skip(depth + 1) {
					return nil, false
				}
				v = json.RawMessage(p.raw(p.b[start:p.i]))
			default:
				v, ok = p.value(depth + 1)
				if !ok {
					return nil, false
				}
			}
			p.stack = append(p.stack, fastKV{k, v})
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return nil, false
		}
	}
	kvs := p.stack[base:]
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.k] = kv.v
	}
	clear(kvs)
	p.stack = p.stack[:base]
	if len(m) != len(kvs) {
		return nil, false // a key twice: Decode names it
	}
	return m, true
}

func (p *fastParser) array(depth int) (any, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	p.i++ // '['
	base := len(p.list)
	p.ws()
	if !p.eat(']') {
		for {
			p.ws()
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			p.list = append(p.list, v)
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat(']') {
				break
			}
			return nil, false
		}
	}
	items := p.list[base:]
	out := make([]any, len(items))
	copy(out, items)
	clear(items)
	p.list = p.list[:base]
	return out, true
}

// number reads a JSON number as json.Number (the text as written).
func (p *fastParser) number() (any, bool) {
	b, i := p.b, p.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	p.i = i
	return json.Number(p.intern(b[start:i])), true
}

// skip validates one value without building it (managedFields).
func (p *fastParser) skip(depth int) bool {
	if depth > maxFastDepth || p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		p.ws()
		if p.eat('}') {
			return true
		}
		base := len(p.keyStack)
		ok := p.skipMembers(depth, base)
		clear(p.keyStack[base:]) // the keys may point into b: do not pin it
		p.keyStack = p.keyStack[:base]
		if base == 0 {
			p.keyBuf = p.keyBuf[:0] // no key is held any more
		}
		return ok
	case c == '[':
		p.i++
		p.ws()
		if p.eat(']') {
			return true
		}
		for {
			p.ws()
			if !p.skip(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat(']')
		}
	case c == '"':
		return p.skipString()
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, ok := p.number()
		return ok
	}
	return false
}

// skipMembers skips the members of an object whose '{' and first
// whitespace are read, keeping its keys on keyStack above base to find a
// key twice (then it gives up: Decode names it).
func (p *fastParser) skipMembers(depth, base int) bool {
	var many map[string]struct{} // once the object has more than keySetScan keys
	for {
		p.ws()
		k, ok := p.skipKey()
		if !ok {
			return false
		}
		if many != nil {
			if _, dup := many[k]; dup {
				return false
			}
			many[k] = struct{}{}
		} else {
			if slices.Contains(p.keyStack[base:], k) {
				return false
			}
			p.keyStack = append(p.keyStack, k)
			if len(p.keyStack)-base > keySetScan {
				many = make(map[string]struct{}, 2*keySetScan)
				for _, x := range p.keyStack[base:] {
					many[x] = struct{}{}
				}
			}
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		if !p.skip(depth + 1) {
			return false
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		return p.eat('}')
	}
}

// skipKey reads an object key as skip does, returning it as encoding/json
// would decode it, for duplicate detection only: a plain ASCII key without
// escapes (nearly every key) is returned without a copy, pointing into the
// body, and must not outlive the skip.
func (p *fastParser) skipKey() (string, bool) {
	start := p.i
	if !p.skipString() {
		return "", false
	}
	raw := p.b[start+1 : p.i-1]
	plain := true
	for _, c := range raw {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		if len(raw) == 0 {
			return "", true
		}
		return unsafe.String(&raw[0], len(raw)), true
	}
	end := p.i
	p.i = start
	p.keyMode = true
	k, ok := p.str()
	p.keyMode = false
	p.i = end
	return k, ok
}

// keyString copies an unescaped key into keyBuf and returns it. A full
// keyBuf is replaced, never grown in place: keys already handed out keep
// pointing into the old array. skip empties keyBuf once no key is held.
func (p *fastParser) keyString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(p.keyBuf)-len(p.keyBuf) < len(b) {
		p.keyBuf = make([]byte, 0, max(4<<10, 2*len(b)))
	}
	n := len(p.keyBuf)
	p.keyBuf = append(p.keyBuf, b...)
	return unsafe.String(&p.keyBuf[n], len(b))
}

// keySet detects a key repeated among the keys of one object: a scan of
// an inline array while the object is small (no allocation), a map once it
// is not (so an object of many keys costs linear time, not quadratic).
type keySet struct {
	small [keySetScan]string
	n     int
	set   map[string]struct{}
}

const keySetScan = 16

func (s *keySet) add(k string) bool {
	if s.set != nil {
		if _, dup := s.set[k]; dup {
			return false
		}
		s.set[k] = struct{}{}
		return true
	}
	if slices.Contains(s.small[:s.n], k) {
		return false
	}
	if s.n < keySetScan {
		s.small[s.n] = k
		s.n++
		return true
	}
	s.set = make(map[string]struct{}, 2*keySetScan)
	for _, x := range s.small[:s.n] {
		s.set[x] = struct{}{}
	}
	s.set[k] = struct{}{}
	return true
}

// skipString validates a string as encoding/json's scanner does.
func (p *fastParser) skipString() bool {
	if !p.eat('"') {
		return false
	}
	b := p.b
	for i := p.i; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			p.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(b) {
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(b[i+2:]) < 0 {
					return false
				}
				i += 6
			default:
				return false
			}
		default:
			i++ // any other byte, valid UTF-8 or not, is accepted
		}
	}
	return false
}

func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// str reads a string value or key.
func (p *fastParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	b := p.b
	start := p.i
	i := start
	for i < len(b) {
		c := b[i]
		if c == '"' {
			p.i = i + 1
			return p.intern(b[start:i]), true
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	// Slow path: escapes or non-ASCII, unquoted like encoding/json.
	out := append(p.tmp[:0], b[start:i]...)
	defer func() { p.tmp = out[:0] }()
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			p.i = i + 1
			return p.intern(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			if i+1 >= len(b) {
				return "", false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
				i += 2
			case 'b':
				out = append(out, '\b')
				i += 2
			case 'f':
				out = append(out, '\f')
				i += 2
			case 'n':
				out = append(out, '\n')
				i += 2
			case 'r':
				out = append(out, '\r')
				i += 2
			case 't':
				out = append(out, '\t')
				i += 2
			case 'u':
				rr := hex4(b[i+2:])
				if rr < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						if rr1 := hex4(b[i+2:]); rr1 >= 0 {
							if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
								i += 6
								out = utf8.AppendRune(out, dec)
								break
							}
						}
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
			default:
				return "", false
			}
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(b) {
				if d := b[j]; d == '"' || d == '\\' || d < 0x20 || d >= utf8.RuneSelf {
					break
				}
				j++
			}
			out = append(out, b[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(b[i:])
			i += size
			out = utf8.AppendRune(out, r)
		}
	}
	return "", false
}

// intern returns b as a string: a shared constant for common keys and
// values, otherwise a copy in the arena.
func (p *fastParser) intern(b []byte) string {
	if s, ok := internTable[string(b)]; ok {
		return s
	}
	if p.keyMode {
		return p.keyString(b)
	}
	if p.noArena {
		return string(b)
	}
	return p.arena.str(b)
}

// raw copies a raw value out of the body (as encoding/json's RawMessage
// does), so that nothing decoded pins the whole request body: a registry's
// body can be collected as soon as it is decoded. Children's raw values
// share the arena.
func (p *fastParser) raw(b []byte) []byte {
	if p.noArena {
		return bytes.Clone(b)
	}
	return p.arena.bytes(b)
}

// byteArena copies small byte strings into shared chunks: one allocation for
// many (a request has tens of thousands of strings). Bytes once written are
// never modified (appends only ever write past them), so strings pointing
// into a chunk stay immutable; a chunk lives as long as any of its strings.
type byteArena struct {
	chunkSize int // 0: arenaChunk
	// firstChunk, when positive and smaller, is the size of the first chunk
	// (the bytes the arena can ever receive, when known).
	firstChunk int
	chunk      []byte
}

const arenaChunk = 32 << 10

// bytes returns a copy of b whose capacity ends with it, so an append can
// never write into a neighbour. Large values get an allocation of their own.
func (a *byteArena) bytes(b []byte) []byte {
	size := a.chunkSize
	if size == 0 {
		size = arenaChunk
	}
	if len(b) > size/8 {
		return bytes.Clone(b)
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		n := size
		if a.firstChunk > 0 && a.firstChunk < n && len(b) <= a.firstChunk {
			n = a.firstChunk
		}
		a.firstChunk = 0
		a.chunk = make([]byte, 0, n)
	}
	n := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[n : n+len(b) : n+len(b)]
}

// str returns a copy of b as a string.
func (a *byteArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	c := a.bytes(b)
	return unsafe.String(&c[0], len(c))
}

var internTable = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "uid",
		"resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "finalizers",
		"ownerReferences", "managedFields", "controller", "blockOwnerDeletion", "spec", "status", "data",
		"type", "reason", "message", "lastTransitionTime", "lastUpdateTime", "observedGeneration",
		"conditions", "replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "template",
		"selector", "matchLabels", "containers", "image", "ports", "port", "targetPort", "protocol",
		"containerPort", "resources", "requests", "limits", "cpu", "memory", "env", "envFrom", "value",
		"values", "id", "state", "True", "False", "Unknown", "Ready", "v1", "apps/v1", "TCP", "Opaque",
		"ConfigMap", "Secret", "Service", "Deployment", "ServiceAccount", "Ingress", "Namespace",
		"manager", "operation", "fieldsType", "fieldsV1", "time", "subresource", "Update", "Apply",
		"metacontroller", "controller-uid", "registryId", "templateRef", "hostOrUrl", "claims",
		"Tenant", "TenantTemplate", "TenantRegistry", "operator.kubernetes-tenants.org/v1",
		"desiredResources", "readyResources", "failedResources", "templateGeneration",
		"Exists", "Delete", "Retain", "0", "1", "2", "3",
	} {
		m[s] = s
	}
	return m
}()
