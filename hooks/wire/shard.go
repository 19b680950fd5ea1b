package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// The decoding of a sharded registry's observed TenantShards
// (docs/sharding.md): summarised without building their specs.

// isShardType reports whether a children type key ("TenantShard.<group>/v1")
// is one of the shard kinds.
func isShardType(typ string) bool {
	kind, _, _ := strings.Cut(typ, ".")
	return render.IsShardKind(kind)
}

// observeShard summarises an observed shard: its layout, rows revision and
// status only. Its spec.registrySpec is scanned but never built, since the
// registry rebuilds every shard from its own spec. The fields
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
			Index    any `json:"index"`
			Shards   any `json:"shards"`
			Revision any `json:"rowsRevision"`
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
		small["spec"] = map[string]any{"index": sp.Index, "shards": sp.Shards, "rowsRevision": sp.Revision}
	}
	t := render.ObserveShard(small)
	t.Kept = func() object.Obj {
		// Never called: a sharded registry answers shards from its spec,
		// and a registry with shards but no spec.sharding is refused.
		panic("a shard's observed object is not kept")
	}
	return t, len(t.Name) + 256, nil
}
