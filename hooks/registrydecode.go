package hooks

import (
	"bytes"
	"encoding/json"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A registry sync request carries every observed Tenant with
// Metacontroller's bookkeeping (≈ 4.5 KB each: managedFields, the
// last-applied annotation, the spec), but the registry sync reads only a
// Tenant's identity, deletion time and Ready/Degraded conditions; the whole
// object is needed only for the rare Tenant the mass-deletion guard keeps.
// So children are decoded to a summary that points back into the request
// body, and decoded in full on demand. This keeps a 10,000-row registry's
// answer within a small multiple of its request size instead of holding a
// full map tree of every Tenant (docs/performance.md).

// registryRequest is a decoded registry sync request.
type registryRequest struct {
	CompositeRequest
}

// decodeRegistry decodes a registry sync request with summarised children,
// falling back to the complete decoding for anything unusual (the same
// result or error as every other hook).
func decodeRegistry(b []byte) (*registryRequest, fullFunc, error) {
	r := &registryRequest{}
	raws := map[string][]byte{}
	if decodeRegistryFast(b, &r.CompositeRequest, raws) {
		if err := r.validate(); err != nil {
			return nil, nil, &DecodeError{Err: err}
		}
		return r, func(o object.Obj) object.Obj {
			raw, ok := raws[summaryKey(o)]
			if !ok {
				return o
			}
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if dec.Decode(&m) != nil {
				return o
			}
			return m
		}, nil
	}
	r = &registryRequest{}
	if err := Decode(bytes.NewReader(b), &r.CompositeRequest); err != nil {
		return nil, nil, err
	}
	return r, nil, nil
}

// fullFunc returns the complete object of a summarised child.
type fullFunc = func(object.Obj) object.Obj

func summaryKey(o object.Obj) string {
	return object.TypeKey(object.APIVersion(o), object.Kind(o)) + "|" + object.ObjKey(object.Namespace(o), object.Name(o))
}

// decodeRegistryFast is decodeCompositeFast with summarised children: for
// each child only apiVersion, kind, metadata.{name, namespace, uid,
// deletionTimestamp, labels} and status are built; raws receives the
// child's bytes (a sub-slice of b, not a copy) under summaryKey.
func decodeRegistryFast(b []byte, r *CompositeRequest, raws map[string][]byte) bool {
	p := fastParser{b: b}
	p.ws()
	if !p.eat('{') {
		return false
	}
	var seen [5]bool
	p.ws()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.ws()
		key, ok := p.rawKey()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
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
			p.noArena = true
			o, ok := p.objOrNull(1, true)
			p.noArena = false
			if !ok {
				return false
			}
			r.Parent = o
		case "children":
			idx = 2
			m, ok := p.summaryMap(raws)
			if !ok {
				return false
			}
			r.Children = m
		case "related":
			idx = 3
			p.noArena = true
			m, ok := p.objectMap(false)
			p.noArena = false
			if !ok {
				return false
			}
			r.Related = m
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
			return false
		}
		if seen[idx] {
			return false
		}
		seen[idx] = true
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return p.end()
		}
		return false
	}
}

// summaryMap reads the children object map, summarising every object.
func (p *fastParser) summaryMap(raws map[string][]byte) (ObjectMap, bool) {
	if p.lit("null") {
		return nil, true
	}
	if !p.eat('{') {
		return nil, false
	}
	m := ObjectMap{}
	p.ws()
	if p.eat('}') {
		return m, true
	}
	for {
		p.ws()
		typ, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.eat(':') {
			return nil, false
		}
		p.ws()
		var objs map[string]object.Obj
		if !p.lit("null") {
			if !p.eat('{') {
				return nil, false
			}
			objs = map[string]object.Obj{}
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
					if p.lit("null") {
						objs[k] = nil
					} else {
						start := p.i
						o, ok := p.summary()
						if !ok {
							return nil, false
						}
						objs[k] = o
						raws[summaryKey(o)] = p.b[start:p.i:p.i]
					}
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
		}
		m[typ] = objs
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return m, true
		}
		return nil, false
	}
}

// summaryFields are the metadata fields a registry sync reads.
var summaryFields = map[string]bool{"name": true, "namespace": true, "uid": true, "deletionTimestamp": true, "labels": true}

// summary reads one object, building only what a registry sync reads.
func (p *fastParser) summary() (object.Obj, bool) {
	if !p.eat('{') {
		return nil, false
	}
	o := map[string]any{}
	p.ws()
	if p.eat('}') {
		return o, true
	}
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
		switch k {
		case "apiVersion", "kind", "status":
			v, ok := p.value(2)
			if !ok {
				return nil, false
			}
			o[k] = v
		case "metadata":
			md, ok := p.summaryMetadata()
			if !ok {
				return nil, false
			}
			o[k] = md
		default:
			if !p.skip(2) {
				return nil, false
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return o, true
		}
		return nil, false
	}
}

func (p *fastParser) summaryMetadata() (any, bool) {
	if p.lit("null") {
		return nil, true
	}
	if !p.eat('{') {
		return nil, false
	}
	md := map[string]any{}
	p.ws()
	if p.eat('}') {
		return md, true
	}
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
		if summaryFields[k] {
			v, ok := p.value(3)
			if !ok {
				return nil, false
			}
			md[k] = v
		} else if !p.skip(3) {
			return nil, false
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return md, true
		}
		return nil, false
	}
}
