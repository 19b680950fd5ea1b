package ordered

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeys(t *testing.T) {
	type named map[string]map[string]int
	require.Equal(t, []string{"", "A", "a", "b", "é"}, Keys(map[string]bool{"b": true, "a": false, "é": true, "A": true, "": true}))
	require.Equal(t, []string{"x", "y"}, Keys(named{"y": nil, "x": {"z": 1}}))
	require.Empty(t, Keys(map[string]int(nil)))
}
