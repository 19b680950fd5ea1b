package hooks

import (
	"bytes"
	"encoding/json"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A registry sync request carries every observed Tenant with
// Metacontroller's bookkeeping (≈ 4.5 KB each: managedFields, the
// last-applied annotation, the spec, the status with every resource), but
// the registry sync reads only a Tenant's identity, deletion time and
// Ready/Degraded conditions; what it returns for a Tenant it keeps (the mass-
// deletion guard, an invalid spec) is the Tenant without server fields:
// apiVersion, kind, name, namespace, labels, annotations and spec. So each
// child is decoded to a summary, with copies of the raw bytes of its spec and
// annotations decoded only when it is kept, and nothing points into the
// request body: an 87 MiB body of 20,000 Tenants can be collected as soon as
// it is decoded (docs/performance.md).

// registryRequest is a decoded registry sync request.
type registryRequest struct {
	CompositeRequest
}

// decodeRegistry decodes a registry sync request with summarised children,
// falling back to the complete decoding for anything unusual (the same
// result or error as every other hook).
func decodeRegistry(b []byte) (*registryRequest, fullFunc, error) {
	r := &registryRequest{}
	kept := map[string]rawParts{}
	if decodeRegistryFast(b, &r.CompositeRequest, kept) {
		if err := r.validate(); err != nil {
			return nil, nil, &DecodeError{Err: err}
		}
		return r, func(o object.Obj) object.Obj {
			parts, ok := kept[summaryKey(o)]
			if !ok {
				return o
			}
			out := object.DeepCopyMap(o)
			if parts.spec != nil {
				out["spec"] = decodeRaw(parts.spec)
			}
			return out
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

// rawParts are copies of the parts of a child that only a kept child needs.
type rawParts struct{ spec []byte }

func decodeRaw(b []byte) any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

func summaryKey(o object.Obj) string {
	return object.TypeKey(object.APIVersion(o), object.Kind(o)) + "|" + object.ObjKey(object.Namespace(o), object.Name(o))
}

// decodeRegistryFast is decodeCompositeFast with summarised children: for
// each child only apiVersion, kind, metadata.{name, namespace, uid,
// deletionTimestamp, labels} and status.conditions are built; kept receives
// copies of its spec and annotations under summaryKey.
func decodeRegistryFast(b []byte, r *CompositeRequest, kept map[string]rawParts) bool {
	return decodeEnvelopeFast(b, r, func(p *fastParser) (ObjectMap, bool) { return p.summaryMap(kept) })
}

// summaryMap reads the children object map, summarising every object.
func (p *fastParser) summaryMap(kept map[string]rawParts) (ObjectMap, bool) {
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
						o, parts, ok := p.summary()
						if !ok {
							return nil, false
						}
						objs[k] = o
						kept[summaryKey(o)] = parts
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
func (p *fastParser) summary() (object.Obj, rawParts, bool) {
	var parts rawParts
	if !p.eat('{') {
		return nil, parts, false
	}
	o := map[string]any{}
	p.ws()
	if p.eat('}') {
		return o, parts, true
	}
	for {
		p.ws()
		k, ok := p.str()
		if !ok {
			return nil, parts, false
		}
		p.ws()
		if !p.eat(':') {
			return nil, parts, false
		}
		p.ws()
		switch k {
		case "apiVersion", "kind":
			v, ok := p.value(2)
			if !ok {
				return nil, parts, false
			}
			o[k] = v
		case "spec":
			start := p.i
			if !p.skip(2) {
				return nil, parts, false
			}
			parts.spec = bytes.Clone(p.b[start:p.i])
		case "status":
			st, ok := p.summaryStatus()
			if !ok {
				return nil, parts, false
			}
			o[k] = st
		case "metadata":
			md, ok := p.summaryMetadata()
			if !ok {
				return nil, parts, false
			}
			o[k] = md
		default:
			if !p.skip(2) {
				return nil, parts, false
			}
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return o, parts, true
		}
		return nil, parts, false
	}
}

// summaryStatus keeps only status.conditions (a Tenant's status also lists
// every resource, which the registry never reads).
func (p *fastParser) summaryStatus() (any, bool) {
	if p.lit("null") {
		return nil, true
	}
	if !p.eat('{') {
		return nil, false
	}
	st := map[string]any{}
	p.ws()
	if p.eat('}') {
		return st, true
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
		if k == "conditions" {
			v, ok := p.value(3)
			if !ok {
				return nil, false
			}
			st[k] = v
		} else if !p.skip(3) {
			return nil, false
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return st, true
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
		switch {
		case summaryFields[k]:
			v, ok := p.value(3)
			if !ok {
				return nil, false
			}
			md[k] = v
		case k == "annotations":
			// Decoded, except Metacontroller's last-applied copy of the
			// whole object (the largest annotation, never returned).
			a, ok := p.annotationsWithout(object.LastAppliedAnnotation)
			if !ok {
				return nil, false
			}
			md[k] = a
		default:
			if !p.skip(3) {
				return nil, false
			}
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

// annotationsWithout reads an annotation map, skipping one key's value.
func (p *fastParser) annotationsWithout(skipKey string) (any, bool) {
	if p.i < len(p.b) && p.b[p.i] != '{' {
		return p.value(4)
	}
	p.i++
	m := map[string]any{}
	p.ws()
	if p.eat('}') {
		return m, true
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
		if k == skipKey {
			if !p.skip(4) {
				return nil, false
			}
		} else {
			v, ok := p.value(4)
			if !ok {
				return nil, false
			}
			m[k] = v
		}
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
