// Package repo finds the repository's root, for the tests and tools that
// read its files (examples/, testdata/) or build its binary, from whatever
// folder they run in.
package repo

import (
	"fmt"
	"os"
	"path/filepath"
)

// Root is the nearest folder above the working directory (a test's package
// folder, or wherever a tool was started) that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the working directory")
		}
		dir = parent
	}
}
