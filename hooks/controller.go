package hooks

import (
	"errors"
	"runtime/debug"
)

var (
	errMissingParent = errors.New(`the request has no "parent" object`)
	errMissingObject = errors.New(`the request has no "object"`)
)

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
