package render

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/tenant-hooks/tenant-hooks/render/object"
	"github.com/tenant-hooks/tenant-hooks/render/tmpl"
)

// Options configure an Engine.
type Options struct {
	// Templates configures the template engine (parse cache and limits).
	Templates tmpl.Options
	// Now is the clock used only to start and expire readiness timeouts.
	// Tests and the CLI pin it; nil means time.Now.
	Now func() time.Time
	// TemplateCacheSize bounds the parsed-TenantTemplate cache.
	TemplateCacheSize int
}

// Engine renders tenants and registries. It is safe for concurrent use; its
// caches only ever hold values derived from their keys, so they never change
// an answer.
type Engine struct {
	T   *tmpl.Engine
	now func() time.Time

	mu        sync.Mutex
	templates map[[sha256.Size]byte]*Template
	maxTpl    int
}

// New builds an Engine.
func New(o Options) *Engine {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	if o.TemplateCacheSize <= 0 {
		o.TemplateCacheSize = 1024
	}
	return &Engine{T: tmpl.New(o.Templates), now: now, templates: map[[sha256.Size]byte]*Template{}, maxTpl: o.TemplateCacheSize}
}

// Template parses a TenantTemplate, reusing an earlier parse of the same
// content. The key is a hash of everything ParseTemplate reads (name,
// namespace, generation, spec), never of what the request merely claims about
// the object: keyed by uid and resourceVersion, one forged request from
// anyone who can reach the service would have poisoned the cache and made
// later, genuine syncs render the forged template (docs/security.md).
// The hashed bytes are a canonical encoding written without reflection
// (templateKey): they were json.Marshal's, which cost a tenth of a small
// request's CPU (docs/performance.md).
func (e *Engine) Template(o object.Obj) (*Template, error) {
	key, err := templateKey(o)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", ObjRef(o), err)
	}
	return e.templateByKey(o, key)
}

// TemplateKey identifies a TenantTemplate's content in the parse cache.
type TemplateKey [sha256.Size]byte

// RawTemplateKey is the key of a TenantTemplate decoded from exactly these
// JSON bytes, for a caller that keeps them (the hooks' decoder, which
// decodes a template's bytes once and shares the value): the decoder turns
// the same bytes into the same object every time, so a hash of the bytes
// identifies what ParseTemplate reads as well as templateKey's canonical
// encoding does, without walking the object on every request. It is still a
// hash of the content, never of what a request claims about the object
// (uid, resourceVersion). Its own key space ('R'; templateKey hashes 'C' or
// 'J' first) keeps it from ever equalling a canonical key.
func RawTemplateKey(raw []byte) TemplateKey {
	h := sha256.New()
	h.Write([]byte{'R'})
	h.Write(raw)
	var k TemplateKey
	h.Sum(k[:0])
	return k
}

// templateOf is Template for a request's template: by key (its
// RawTemplateKey) when the caller gave one, not zero.
func (e *Engine) templateOf(o object.Obj, key TemplateKey) (*Template, error) {
	if key != (TemplateKey{}) {
		return e.templateByKey(o, key)
	}
	return e.Template(o)
}

// templateByKey is Template once o's key is known.
func (e *Engine) templateByKey(o object.Obj, key [sha256.Size]byte) (*Template, error) {
	e.mu.Lock()
	t, ok := e.templates[key]
	e.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := ParseTemplate(o)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.templates) >= e.maxTpl {
		// Dropping everything is crude but bounded and rare: templates change
		// far less often than the cache size.
		e.templates = map[[sha256.Size]byte]*Template{}
	}
	e.templates[key] = t
	e.mu.Unlock()
	return t, nil
}
