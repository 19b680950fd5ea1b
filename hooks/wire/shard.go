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
// decoded, copied or buffered twice.
func EncodeShardedAnswer(out render.RegistryOutput) (Chunks, error) {
	return encodeRegistryAnswer(out, func(w *chunkWriter, scratch []byte, c object.Obj) ([]byte, error) {
		spec, _ := c["spec"].(map[string]any)
		raw, isShard := spec["tenants"].(render.RawJSON)
		if !isShard {
			return encodeChild(w, scratch, c)
		}
		// Keys are sorted: "spec" is the object's last key and "tenants" the
		// spec's last, so the shard without its tenants ends in "}}" and the
		// list goes right before.
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
		w.write(b[:len(b)-2])
		w.write([]byte(`,"tenants":`))
		w.splice(raw)
		w.write([]byte("}}"))
		return b, nil
	})
}
