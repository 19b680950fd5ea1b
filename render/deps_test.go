package render_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The render core depends on the rows model (package datasource), never on
// a database client: the MySQL client lives in datasource/mysql, and only
// hooks and cmd wire it in. database/sql/driver alone is allowed: it is a
// package of interfaces that Sprig's dependencies (semver, uuid, decimal)
// implement, not a driver.
func TestRenderHasNoDatabaseDriver(t *testing.T) {
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command runs this test, so it is on PATH")
	out, err := exec.Command(gobin, "list", "-deps", "./...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/tenant-hooks/tenant-hooks/datasource", "the list is render's dependencies")
	for _, d := range deps {
		bad := d == "database/sql" || strings.HasPrefix(d, "github.com/go-sql-driver/") ||
			strings.HasPrefix(d, "github.com/tenant-hooks/tenant-hooks/datasource/") ||
			strings.HasPrefix(d, "github.com/tenant-hooks/tenant-hooks/hooks")
		require.False(t, bad, "render (or a package under it) depends on %s", d)
	}
}
