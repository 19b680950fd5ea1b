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
	maxSharedTotal   = 4 << 20
)

type sharedCache struct {
	mu    sync.Mutex
	m     map[string]object.Obj
	total int
}

var shared = &sharedCache{m: map[string]object.Obj{}}

func (c *sharedCache) get(b []byte) object.Obj {
	c.mu.Lock()
	o := c.m[string(b)]
	c.mu.Unlock()
	return o
}

func (c *sharedCache) put(b []byte, o object.Obj) {
	if len(b) > maxSharedBytes || o == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(b)]; ok {
		return
	}
	if len(c.m) >= maxSharedEntries || c.total+len(b) > maxSharedTotal {
		c.m, c.total = map[string]object.Obj{}, 0
	}
	c.m[string(b)] = o
	c.total += len(b)
}

// sharedObject reads a related object of the shared type (or null) at p.i:
// the cached value of the same bytes, else decoded as objOrNull does and
// cached.
func (p *fastParser) sharedObject(depth int) (object.Obj, bool) {
	end, ok := objectEnd(p.b, p.i)
	if !ok || end-p.i > maxSharedBytes {
		return p.objOrNull(depth, false)
	}
	if o := shared.get(p.b[p.i:end]); o != nil {
		p.i = end
		return o, true
	}
	start := p.i
	o, ok := p.objOrNull(depth, false)
	if ok && p.i == end {
		shared.put(p.b[start:end], o)
	}
	return o, ok
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
