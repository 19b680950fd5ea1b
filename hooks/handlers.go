package hooks

import (
	"errors"
	"runtime/debug"

	"github.com/tenant-hooks/tenant-hooks/hooks/wire"
)

var (
	errMissingParent = errors.New(`the request has no "parent" object`)
	errMissingObject = errors.New(`the request has no "object"`)
)

// customize answers a customize hook (every controller's): the related
// objects related picks for the request's parent.
func customize(body []byte, related func(*wire.CustomizeRequest) []wire.RelatedRule) (answer, error) {
	var req wire.CustomizeRequest
	if err := wire.DecodeBytes(body, &req); err != nil {
		return answer{}, err
	}
	if req.Parent == nil {
		return answer{}, &wire.DecodeError{Err: errMissingParent}
	}
	return answer{body: wire.CustomizeResponse{RelatedResources: related(&req)}}, nil
}

// decodeDecorator decodes a DecoratorController sync request, which must
// name its object.
func decodeDecorator(body []byte) (*wire.DecoratorRequest, error) {
	var r wire.DecoratorRequest
	if err := wire.DecodeBytes(body, &r); err != nil {
		return nil, err
	}
	if r.Object == nil {
		return nil, &wire.DecodeError{Err: errMissingObject}
	}
	return &r, nil
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
