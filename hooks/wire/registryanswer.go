package wire

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// EncodeRegistryAnswer writes the CompositeResponse of out — the bytes Encode
// writes for it — building one Tenant at a time into chunks, so neither the
// Tenants nor a doubling buffer are ever held whole.
func EncodeRegistryAnswer(out render.RegistryOutput) (Chunks, error) {
	return encodeRegistryAnswer(out, encodeChild)
}

// encodeRegistryAnswer writes a registry's answer around its children: the
// status, each child through child (handed scratch, which already holds the
// separating comma, and returning it for reuse), resyncAfterSeconds. The
// frame is shared by the plain and the sharded registry answers.
func encodeRegistryAnswer(out render.RegistryOutput, child func(w *chunkWriter, scratch []byte, c object.Obj) ([]byte, error)) (Chunks, error) {
	var w chunkWriter
	head, ok := appendJSON([]byte(`{"status":`), out.Status)
	if !ok {
		return nil, fmt.Errorf("encoding registry status: unsupported value")
	}
	w.write(append(head, `,"children":[`...))
	var scratch []byte
	i := 0
	for c := range out.Children {
		scratch = scratch[:0]
		if i > 0 {
			scratch = append(scratch, ',')
		}
		i++
		var err error
		if scratch, err = child(&w, scratch, c); err != nil {
			return nil, err
		}
	}
	tail := []byte("]")
	if secs := out.ResyncAfter.Seconds(); secs != 0 {
		tail = append(tail, `,"resyncAfterSeconds":`...)
		if tail, ok = appendFloat(tail, secs); !ok {
			return nil, fmt.Errorf("encoding resyncAfterSeconds %v", secs)
		}
	}
	w.write(append(tail, "}\n"...))
	return w.chunks, nil
}

// encodeChild writes one child as Encode would: the fast encoder, or
// encoding/json for a value it does not take.
func encodeChild(w *chunkWriter, scratch []byte, c object.Obj) ([]byte, error) {
	b, ok := appendJSON(scratch, c)
	if !ok {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			return nil, fmt.Errorf("encoding %s %s: %w", object.Kind(c), object.Name(c), err)
		}
		b = append(scratch, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	}
	w.write(b)
	return b, nil
}

// Chunks is an answer already encoded, in chunks: the server writes them
// one after the other.
type Chunks [][]byte

// chunkWriter appends bytes to fixed-size chunks.
type chunkWriter struct{ chunks [][]byte }

const answerChunk = 1 << 20

func (w *chunkWriter) write(b []byte) {
	for len(b) > 0 {
		if len(w.chunks) == 0 || len(w.chunks[len(w.chunks)-1]) == cap(w.chunks[len(w.chunks)-1]) {
			w.chunks = append(w.chunks, make([]byte, 0, answerChunk))
		}
		last := &w.chunks[len(w.chunks)-1]
		n := min(len(b), cap(*last)-len(*last))
		*last = append(*last, b[:n]...)
		b = b[n:]
	}
}
