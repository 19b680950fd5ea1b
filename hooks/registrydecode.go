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

// decodeRegistry decodes a registry sync request with summarised children,
// falling back to the complete decoding for anything unusual (the same
// result or error as every other hook).
func decodeRegistry(b []byte) (*CompositeRequest, fullFunc, error) {
	r := &CompositeRequest{}
	kept := map[string]rawParts{}
	if decodeRegistryFast(b, r, kept) {
		if err := r.validate(); err != nil {
			return nil, nil, &DecodeError{Err: err}
		}
		return r, func(o object.Obj) object.Obj {
			parts, ok := kept[object.Key(o)]
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
	r = &CompositeRequest{}
	if err := Decode(bytes.NewReader(b), r); err != nil {
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

// decodeRegistryFast is decodeCompositeFast with summarised children: for
// each child only apiVersion, kind, metadata.{name, namespace, uid,
// deletionTimestamp, labels} and status.conditions are built; kept receives
// copies of its spec and annotations under object.Key.
func decodeRegistryFast(b []byte, r *CompositeRequest, kept map[string]rawParts) bool {
	return decodeEnvelopeFast(b, r, func(p *fastParser) (ObjectMap, bool) { return p.summaryMap(kept) })
}

// summaryMap reads the children object map, summarising every object.
func (p *fastParser) summaryMap(kept map[string]rawParts) (ObjectMap, bool) {
	return p.objectMapOf(func() (object.Obj, bool) {
		if p.lit("null") {
			return nil, true
		}
		o, parts, ok := p.summary()
		if ok {
			kept[object.Key(o)] = parts
		}
		return o, ok
	})
}

// summaryFields are the metadata fields a registry sync reads.
var summaryFields = map[string]bool{"name": true, "namespace": true, "uid": true, "deletionTimestamp": true, "labels": true}

// summary reads one object, building only what a registry sync reads.
func (p *fastParser) summary() (object.Obj, rawParts, bool) {
	var parts rawParts
	o := map[string]any{}
	ok := p.members(func(k string) bool {
		switch k {
		case "apiVersion", "kind":
			return p.keep(o, k, 2)
		case "spec":
			start := p.i
			if !p.skip(2) {
				return false
			}
			parts.spec = bytes.Clone(p.b[start:p.i])
			return true
		case "status":
			// Only the conditions: a Tenant's status also lists every
			// resource, which the registry never reads.
			return p.keepOnly(o, k, func(k string) bool { return k == "conditions" })
		case "metadata":
			return p.keepOnly(o, k, func(k string) bool {
				return summaryFields[k] || k == "annotations"
			})
		}
		return p.skip(2)
	})
	if md, _ := o["metadata"].(map[string]any); md != nil {
		// Metacontroller's last-applied copy of the whole object is the
		// largest annotation and is never returned.
		if ann, _ := md["annotations"].(map[string]any); ann != nil {
			delete(ann, object.LastAppliedAnnotation)
		}
	}
	return o, parts, ok
}

// keep decodes the value at p into o[k].
func (p *fastParser) keep(o map[string]any, k string, depth int) bool {
	v, ok := p.value(depth)
	o[k] = v
	return ok
}

// keepOnly decodes the object (or null) at p into o[k], keeping only the
// members want accepts and skipping the rest without building them.
func (p *fastParser) keepOnly(o map[string]any, k string, want func(string) bool) bool {
	if p.lit("null") {
		o[k] = nil
		return true
	}
	inner := map[string]any{}
	o[k] = inner
	return p.members(func(m string) bool {
		if m == object.LastAppliedAnnotation {
			return p.skip(4)
		}
		if !want(m) {
			return p.skip(3)
		}
		if m == "annotations" {
			return p.keepOnly(inner, m, func(string) bool { return true })
		}
		return p.keep(inner, m, 3)
	})
}
