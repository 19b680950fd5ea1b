package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// spec.sharding is a known field, and a bad shard count is a problem.
func TestLintSharding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reg.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: operator.kubernetes-tenants.org/v1
kind: TenantRegistry
metadata: {name: customers, namespace: saas}
spec:
  sharding: {shards: 0, maxTenantsPerShard: 2000}
  source: {type: static, static: {rows: []}}
  valueMappings: {uid: id, activate: active}
`), 0o644))
	problems, _ := Lint([]string{path}, nil)
	text := strings.Join(problems, "\n")
	require.NotContains(t, text, "unknown field")
	require.Contains(t, text, "spec.sharding.shards must be an integer in 1..1024")
}
