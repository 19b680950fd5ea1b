package wire

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// chunkWriter keeps every byte, in order, across chunk boundaries.
func TestChunkWriter(t *testing.T) {
	var w chunkWriter
	var want []byte
	rnd := rand.New(rand.NewPCG(1, 2))
	for len(want) < 3*answerChunk+123 {
		b := bytes.Repeat([]byte{byte('a' + rnd.IntN(26))}, rnd.IntN(70000))
		w.write(b)
		want = append(want, b...)
	}
	require.Greater(t, len(w.chunks), 3)
	for _, c := range w.chunks[:len(w.chunks)-1] {
		require.Len(t, c, answerChunk)
	}
	require.Equal(t, want, bytes.Join(w.chunks, nil))
}
