package hooks

import (
	"errors"
	"runtime/debug"
	"sort"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
)

var (
	errMissingParent = errors.New(`the request has no "parent" object`)
	errMissingObject = errors.New(`the request has no "object"`)
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// buildID identifies the code that renders answers, so an upgrade never
// reuses an ETag computed by older code.
var buildID = func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
		return bi.Main.Version + bi.GoVersion
	}
	return "unknown"
}()

func sortedTypeKeys(m wire.ObjectMap) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
