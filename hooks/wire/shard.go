package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The codecs of sharded registries (docs/sharding.md): a registry's
// observed TenantShards are summarised without building their specs, and a
// shard's Tenants, already encoded by render, are copied into the answer.

// isShardType reports whether a children type key ("TenantShard.<group>/v1")
// is one of the shard kinds.
func isShardType(typ string) bool {
	kind, _, _ := strings.Cut(typ, ".")
	return render.IsShardKind(kind)
}

// observeShard summarises an observed shard: its layout and status only.
// Its spec.tenants (up to maxTenantsPerShard Tenants) is scanned but never
// built, since the registry rebuilds every shard from its rows. The fields
// it reads are decoded as they are and summarised by render.ObserveShard,
// as the in-memory path does, so the two agree on any input.
func observeShard(typ, key string, b []byte) (render.ObservedTenant, int, error) {
	var o struct {
		Metadata *struct {
			Name              any `json:"name"`
			UID               any `json:"uid"`
			Generation        any `json:"generation"`
			DeletionTimestamp any `json:"deletionTimestamp"`
		} `json:"metadata"`
		Spec *struct {
			Index  any `json:"index"`
			Shards any `json:"shards"`
		} `json:"spec"`
		Status any `json:"status"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return render.ObservedTenant{}, 0, &DecodeError{Err: fmt.Errorf("children[%q][%q]: %w", typ, key, err)}
	}
	small := map[string]any{"status": o.Status}
	if m := o.Metadata; m != nil {
		md := map[string]any{"name": m.Name, "uid": m.UID, "generation": m.Generation}
		if m.DeletionTimestamp != nil {
			md["deletionTimestamp"] = m.DeletionTimestamp
		}
		small["metadata"] = md
	}
	if sp := o.Spec; sp != nil {
		small["spec"] = map[string]any{"index": sp.Index, "shards": sp.Shards}
	}
	t := render.ObserveShard(small)
	t.Kept = func() object.Obj {
		// Never called: a sharded registry answers shards from its rows,
		// and a registry with shards but no spec.sharding is refused.
		panic("a shard's observed object is not kept")
	}
	return t, len(t.Name) + 256, nil
}

// EncodeShardedAnswer is EncodeRegistryAnswer for a sharded registry: a
// shard's spec.tenants (render.RawJSON, already compact JSON, released by
// render as it is yielded) becomes a chunk of the answer as it is — never
// decoded, copied or buffered twice. Everything else goes into small chunks
// of at most answerChunk bytes.
func EncodeShardedAnswer(out render.RegistryOutput) (Chunks, error) {
	var chunks Chunks
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			chunks = append(chunks, cur)
			cur = nil
		}
	}
	put := func(b []byte) {
		cur = append(cur, b...)
		if len(cur) >= answerChunk {
			flush()
		}
	}
	head, ok := appendJSON([]byte(`{"status":`), out.Status)
	if !ok {
		return nil, fmt.Errorf("encoding registry status: unsupported value")
	}
	put(append(head, `,"children":[`...))
	var scratch []byte
	i := 0
	for c := range out.Children {
		scratch = scratch[:0]
		if i > 0 {
			scratch = append(scratch, ',')
		}
		i++
		spec, _ := c["spec"].(map[string]any)
		raw, isShard := spec["tenants"].(render.RawJSON)
		if isShard {
			// Keys are sorted: "spec" is the object's last key and
			// "tenants" the spec's last, so the shard without its tenants
			// ends in "}}" and the list goes right before.
			rest := make(map[string]any, len(spec))
			for k, v := range spec {
				if k != "tenants" {
					rest[k] = v
				}
			}
			shallow := make(map[string]any, len(c))
			for k, v := range c {
				shallow[k] = v
			}
			shallow["spec"] = rest
			b, ok := appendJSON(scratch, shallow)
			if !ok || len(rest) == 0 || !bytes.HasSuffix(b, []byte("}}")) {
				return nil, fmt.Errorf("encoding shard %s: unexpected shape", object.Name(c))
			}
			scratch = b
			put(b[:len(b)-2])
			put([]byte(`,"tenants":`))
			flush()
			chunks = append(chunks, []byte(raw))
			put([]byte("}}"))
			continue
		}
		b, ok := appendJSON(scratch, c)
		if !ok {
			return nil, fmt.Errorf("encoding %s %s: unsupported value", object.Kind(c), object.Name(c))
		}
		scratch = b
		put(b)
	}
	tail := []byte("]")
	if secs := out.ResyncAfter.Seconds(); secs != 0 {
		tail = append(tail, `,"resyncAfterSeconds":`...)
		if tail, ok = appendFloat(tail, secs); !ok {
			return nil, fmt.Errorf("encoding resyncAfterSeconds %v", secs)
		}
	}
	put(append(tail, "}\n"...))
	flush()
	return chunks, nil
}
