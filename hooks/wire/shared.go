package wire

import (
	"sync"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// Decoded TenantTemplates shared between requests.
//
// Every sync of every Tenant of a template carries the same TenantTemplate,
// byte for byte, as a related object; on a small request it is most of the
// body, and decoding it was about a fifth of the request's CPU and a third
// of its allocations. The fast decoder therefore keeps the objects it
// decoded from a TenantTemplate's bytes, keyed by those exact bytes: the
// same bytes at the same place decode to the same value (the decoder is a
// pure function of them), so a hit returns that value without decoding.
// What is cached is the request's input, never an answer: every answer is
// still rendered from it.
//
// The objects are shared, so nothing may modify them — which the render
// core never does with a template: its parse cache (render.Engine.Template)
// already shares the decoded specs of the first request between all later
// ones. Their strings have allocations of their own (noArena), so an entry
// pins no request's arena.

// sharedTypeKey is the related type whose objects are shared.
var sharedTypeKey = object.TypeKey(render.APIVersion, "TenantTemplate")

// Bounds: a template larger than maxSharedBytes is decoded every time; the
// cache holds at most maxSharedEntries objects and maxSharedTotal bytes of
// keys (the decoded objects are a few times that, and are mostly the same
// maps the parse cache holds), and is emptied when either would be passed —
// crude but bounded, like the parse cache: templates change far less often
// than the cache fills.
const (
	maxSharedBytes   = 256 << 10
	maxSharedEntries = 256
	maxSharedTotal   = 2 << 20
)

type sharedCache struct {
	mu    sync.Mutex
	m     map[string]sharedEntry
	total int
}

// sharedEntry is a template decoded from the bytes of its key, and the
// parse cache's key of those bytes (render.RawTemplateKey), so that the
// render core need not walk the object to find its parse.
type sharedEntry struct {
	o   object.Obj
	key render.TemplateKey
}

var shared = &sharedCache{m: map[string]sharedEntry{}}

func (c *sharedCache) get(b []byte) (sharedEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[string(b)]
	c.mu.Unlock()
	return e, ok
}

func (c *sharedCache) put(b []byte, e sharedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(b)]; ok {
		return
	}
	if len(c.m) >= maxSharedEntries || c.total+len(b) > maxSharedTotal {
		c.m, c.total = map[string]sharedEntry{}, 0
	}
	c.m[string(b)] = e
	c.total += len(b)
}

// sharedObject reads a related object of the shared type (or null) at p.i:
// the cached value of the same bytes, else decoded as objOrNull does and
// cached. key is the object's render.RawTemplateKey, zero when it was not
// shared.
func (p *fastParser) sharedObject(depth int) (o object.Obj, key render.TemplateKey, ok bool) {
	end, found := objectEnd(p.b, p.i)
	if !found || end-p.i > maxSharedBytes {
		o, ok = p.objOrNull(depth, false)
		return o, key, ok
	}
	if e, hit := shared.get(p.b[p.i:end]); hit {
		p.i = end
		return e.o, e.key, true
	}
	start := p.i
	o, ok = p.objOrNull(depth, false)
	if !ok || p.i != end {
		return o, key, ok
	}
	e := sharedEntry{o: o, key: render.RawTemplateKey(p.b[start:end])}
	shared.put(p.b[start:end], e)
	return o, e.key, true
}

// objectEnd finds the end of the JSON object starting at b[i] by counting
// brackets outside strings, without validating anything: it only proposes
// the bytes to look up. Only bytes that once decoded as a whole object are
// in the cache, and an object is self-delimiting, so when the proposed
// bytes are such an object the decoder would have read exactly them; when
// they are not (b is malformed there), they are not found and the decoder
// reads b as always.
func objectEnd(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		}
	}
	return 0, false
}
