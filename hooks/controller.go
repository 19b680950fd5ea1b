package hooks

import (
	"encoding/json"
	"errors"
	"runtime/debug"
	"sort"
)

var (
	errMissingParent = errors.New(`the request has no "parent" object`)
	errMissingObject = errors.New(`the request has no "object"`)
)

// ResourceRef is a controller's child or attachment type.
type ResourceRef struct{ APIVersion, Resource string }

func parseController(raw json.RawMessage) *controllerSpec {
	cs := &controllerSpec{}
	if len(raw) > 0 {
		// The controller object is informational; a shape we do not know must
		// not fail the hook, so errors are ignored here.
		_ = json.Unmarshal(raw, cs)
	}
	return cs
}

func (c *controllerSpec) childResources() []ResourceRef {
	var out []ResourceRef
	for _, r := range c.Spec.ChildResources {
		out = append(out, ResourceRef{APIVersion: r.APIVersion, Resource: r.Resource})
	}
	for _, r := range c.Spec.Attachments {
		out = append(out, ResourceRef{APIVersion: r.APIVersion, Resource: r.Resource})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].APIVersion != out[j].APIVersion {
			return out[i].APIVersion < out[j].APIVersion
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

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

func sortedTypeKeys(m ObjectMap) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
