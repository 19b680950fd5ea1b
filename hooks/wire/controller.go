package wire

import (
	"encoding/json"
	"sort"
)

// ControllerSpec is the part of the controller object the handlers read.
type ControllerSpec struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		ChildResources []struct {
			APIVersion string `json:"apiVersion"`
			Resource   string `json:"resource"`
		} `json:"childResources"`
		Attachments []struct {
			APIVersion string `json:"apiVersion"`
			Resource   string `json:"resource"`
		} `json:"attachments"`
	} `json:"spec"`
}

// ResourceRef is a controller's child or attachment type.
type ResourceRef struct{ APIVersion, Resource string }

// ParseController reads the controller object of a request.
func ParseController(raw json.RawMessage) *ControllerSpec {
	cs := &ControllerSpec{}
	if len(raw) > 0 {
		// The controller object is informational; a shape we do not know must
		// not fail the hook, so errors are ignored here.
		_ = json.Unmarshal(raw, cs)
	}
	return cs
}

// ChildResources lists the controller's child and attachment types, sorted.
func (c *ControllerSpec) ChildResources() []ResourceRef {
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
