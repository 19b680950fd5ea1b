package hooks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// What the registry returns for a Tenant it keeps is the same whether the
// Tenant was decoded whole or summarised and completed on demand.
func TestRegistrySummariesCompleteToTheSameObject(t *testing.T) {
	files, err := filepath.Glob("../../shared/fixtures/metacontroller/registry-sync-*.json")
	require.NoError(t, err)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".response.json") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var whole CompositeRequest
		require.NoError(t, Decode(strings.NewReader(string(b)), &whole))
		req, full, err := decodeRegistry(b)
		require.NoError(t, err)
		require.NotNil(t, full, "%s: the fast path handles a captured request", f)
		for typ, objs := range whole.Children {
			for k, o := range objs {
				sum := req.Children[typ][k]
				require.NotNil(t, sum)
				require.Equal(t, object.Name(o), object.Name(sum))
				require.Equal(t, object.NestedSlice(o, "status", "conditions"), object.NestedSlice(sum, "status", "conditions"))
				want, got := object.StripServerFields(o), object.StripServerFields(full(sum))
				require.True(t, reflect.DeepEqual(want, got), "%s %s:\nwant %v\ngot  %v", f, k, want, got)
				checked++
			}
		}
	}
	require.Greater(t, checked, 10)
}
