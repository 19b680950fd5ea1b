package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const v1Fixtures = "../../migrate/testdata/v1"

func v1Files() []string {
	var out []string
	for _, f := range []string{"tenantregistry.json", "tenanttemplate.json", "tenant.json", "children.json"} {
		out = append(out, filepath.Join(v1Fixtures, f))
	}
	return out
}

// The subcommand prints a script of one guarded kubectl patch per object, a
// dry run listing every object, the plan as JSON, and the rollback.
func TestMigrateCommand(t *testing.T) {
	var out, errb bytes.Buffer
	require.Equal(t, 0, run(append([]string{"migrate"}, v1Files()...), &out, &errb), errb.String())
	script := out.String()
	assert.True(t, strings.HasPrefix(script, "#!/usr/bin/env bash\n"))
	assert.Equal(t, 8, strings.Count(script, `"$KUBECTL" patch `))
	assert.Contains(t, script, `"$KUBECTL" patch deployments.v1.apps 'c000001-web' -n 'uprace' --type=json -p '[{"op":"test","path":"/metadata/uid","value":"0a7b6a60-3807-4a41-ad67-70a3b878e946"},{"op":"test","path":"/metadata/resourceVersion","value":"1085"},{"op":"add","path":"/metadata/labels","value":{"controller-uid":"d735d86c-d215-4433-9eff-d403bbbde93b"}}]'`)

	out.Reset()
	require.Equal(t, 0, run(append([]string{"migrate", "--dry-run"}, v1Files()...), &out, &errb), errb.String())
	assert.Contains(t, out.String(), "9 objects: 8 migrate, 1 untouched; 8 patches")

	out.Reset()
	require.Equal(t, 0, run(append([]string{"migrate", "-o", "json"}, v1Files()...), &out, &errb), errb.String())
	assert.Contains(t, out.String(), `"action": "migrate"`)

	out.Reset()
	require.Equal(t, 0, run(append([]string{"migrate", "--rollback"}, v1Files()...), &out, &errb), errb.String())
	assert.Contains(t, out.String(), "tenant.operator.kubernetes-tenants.org/finalizer")
}

// Refused: exit 1, the problem on stderr, no script on stdout.
func TestMigrateCommandRefuses(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(v1Fixtures, "tenant.json"))
	require.NoError(t, err)
	// The Tenant without its registry cannot be attributed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tenant.json"), b, 0o644))
	var out, errb bytes.Buffer
	code := run([]string{"migrate", filepath.Join(dir, "tenant.json"), filepath.Join(v1Fixtures, "tenanttemplate.json"), filepath.Join(v1Fixtures, "children.json")}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Empty(t, out.String())
	assert.Contains(t, errb.String(), "tenant-hooks migrate: problem: Tenant uprace/c000001-web: its controller TenantRegistry customers")

	out.Reset()
	errb.Reset()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"kind": 1}`), 0o644))
	assert.Equal(t, 2, run([]string{"migrate", filepath.Join(dir, "bad.json")}, &out, &errb))
	assert.Contains(t, errb.String(), "bad.json")
}
