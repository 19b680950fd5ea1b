// Package golden is the one golden-file helper of the module's tests, with
// the one switch that rewrites them: go test -update (make golden-update
// passes it to every package that has golden files). Review the diff of a
// rewrite: a golden file is what the project promises to answer.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files instead of comparing with them (make golden-update)")

// Update reports whether this run rewrites golden files.
func Update() bool { return *update }

// Write rewrites the golden file at path.
func Write(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("wrote %s", path)
}

// Read returns the golden file at path.
func Read(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v: missing golden file; run make golden-update and review the diff", err)
	}
	return b
}

// Check compares got with the golden file at path byte for byte, or
// rewrites the file under -update.
func Check(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if Update() {
		Write(tb, path, got)
		return
	}
	require.Equal(tb, string(Read(tb, path)), string(got), "%s is out of date; run make golden-update and review the diff", path)
}
