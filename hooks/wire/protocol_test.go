package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
)

// TestFixturesDecode: every captured request decodes strictly, unchanged.
func TestFixturesDecode(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtures.Dir(), "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".response.json") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var probe map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &probe))
		switch {
		case probe["object"] != nil:
			var r wire.DecoratorRequest
			require.NoError(t, wire.DecodeBytes(b, &r), f)
			require.NotNil(t, r.Object, f)
		case probe["children"] != nil:
			var r wire.CompositeRequest
			require.NoError(t, wire.DecodeBytes(b, &r), f)
			require.NotNil(t, r.Parent, f)
		default:
			var r wire.CustomizeRequest
			require.NoError(t, wire.DecodeBytes(b, &r), f)
			require.NotNil(t, r.Parent, f)
		}
		n++
	}
	require.GreaterOrEqual(t, n, 20)
}

// roundTrip checks that a decoded request encodes, that the encoding
// decodes strictly again, and that encoding is then stable.
func roundTrip[T any](t *testing.T, v *T) {
	var first bytes.Buffer
	if err := wire.Encode(&first, v); err != nil {
		t.Fatalf("a decoded request does not encode: %v", err)
	}
	var again T
	if err := wire.DecodeBytes(first.Bytes(), &again); err != nil {
		t.Fatalf("the encoding of a decoded request does not decode: %v\n%s", err, first.Bytes())
	}
	var second bytes.Buffer
	if err := wire.Encode(&second, &again); err != nil {
		t.Fatalf("re-encoding failed: %v", err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatalf("encoding is not stable:\n%s\n%s", first.Bytes(), second.Bytes())
	}
}

func checkDecodeError(t *testing.T, err error) {
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("decode error %T is not a *wire.DecodeError: %v", err, err)
	}
	if !strings.HasPrefix(err.Error(), "malformed hook request: ") {
		t.Fatalf("unclear decode error: %v", err)
	}
}

// FuzzDecodeComposite decodes arbitrary bytes as a CompositeController (and
// customize) request: it never panics, every failure is a *DecodeError, and
// whatever decodes re-encodes to a stable document that decodes again.
func FuzzDecodeComposite(f *testing.F) {
	fixtures.Seeds(f, func(_ string, b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var r wire.CompositeRequest
		if err := wire.DecodeBytes(data, &r); err != nil {
			checkDecodeError(t, err)
		} else {
			roundTrip(t, &r)
		}
		var c wire.CustomizeRequest
		if err := wire.DecodeBytes(data, &c); err != nil {
			checkDecodeError(t, err)
		} else {
			roundTrip(t, &c)
		}
	})
}

// FuzzDecodeDecorator is FuzzDecodeComposite for DecoratorController
// requests.
func FuzzDecodeDecorator(f *testing.F) {
	fixtures.Seeds(f, func(_ string, b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) {
		var r wire.DecoratorRequest
		if err := wire.DecodeBytes(data, &r); err != nil {
			checkDecodeError(t, err)
			return
		}
		roundTrip(t, &r)
	})
}
