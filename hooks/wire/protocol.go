package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// ObjectMap is Metacontroller's two-level object map:
// "<Kind>.<apiVersion>" → "<namespace>/<name>" (or "<name>") → object.
type ObjectMap map[string]map[string]object.Obj

// CompositeRequest is the body of a CompositeController sync or finalize call.
type CompositeRequest struct {
	Controller json.RawMessage `json:"controller"`
	Parent     object.Obj      `json:"parent"`
	Children   ObjectMap       `json:"children"`
	Related    ObjectMap       `json:"related"`
	Finalizing bool            `json:"finalizing"`
	// TemplateKeys are, by object key, the render.RawTemplateKey of the
	// related TenantTemplates the fast decoder shares between requests
	// (shared.go); nil when none is shared. Never part of the body.
	TemplateKeys map[string]render.TemplateKey `json:"-"`
}

// CompositeResponse is the answer to a CompositeController sync or finalize.
// Children is always encoded as a list: null and [] both mean "delete every
// child", so the handlers never leave it nil by accident (see Encode).
type CompositeResponse struct {
	Status             object.Obj   `json:"status"`
	Children           []object.Obj `json:"children"`
	ResyncAfterSeconds float64      `json:"resyncAfterSeconds,omitempty"`
	Finalized          bool         `json:"finalized,omitempty"`
}

// DecoratorRequest is the body of a DecoratorController sync or finalize call.
type DecoratorRequest struct {
	Controller  json.RawMessage `json:"controller"`
	Object      object.Obj      `json:"object"`
	Attachments ObjectMap       `json:"attachments"`
	Related     ObjectMap       `json:"related"`
	Finalizing  bool            `json:"finalizing"`
}

// DecoratorResponse is the answer to a DecoratorController sync or finalize.
// A nil value in Labels or Annotations removes that key from the target.
type DecoratorResponse struct {
	Labels             map[string]*string `json:"labels,omitempty"`
	Annotations        map[string]*string `json:"annotations,omitempty"`
	Status             object.Obj         `json:"status,omitempty"`
	Attachments        []object.Obj       `json:"attachments"`
	ResyncAfterSeconds float64            `json:"resyncAfterSeconds,omitempty"`
	Finalized          bool               `json:"finalized,omitempty"`
}

// CustomizeRequest is the body of a customize call (both controller kinds).
type CustomizeRequest struct {
	Controller json.RawMessage `json:"controller"`
	Parent     object.Obj      `json:"parent"`
}

// CustomizeResponse lists the related objects Metacontroller should deliver.
type CustomizeResponse struct {
	RelatedResources []RelatedRule `json:"relatedResources"`
}

// RelatedRule selects related objects. Names must not be combined with a
// selector (Metacontroller rejects even an empty one), so every field is
// omitted when empty.
type RelatedRule struct {
	APIVersion        string         `json:"apiVersion"`
	Resource          string         `json:"resource"`
	LabelSelector     *LabelSelector `json:"labelSelector,omitempty"`
	NamespaceSelector *LabelSelector `json:"namespaceSelector,omitempty"`
	Namespace         string         `json:"namespace,omitempty"`
	Names             []string       `json:"names,omitempty"`
}

// LabelSelector is metav1.LabelSelector's JSON shape.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one match expression.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// DecodeError is a malformed request; it becomes a 400.
type DecodeError struct{ Err error }

func (e *DecodeError) Error() string { return "malformed hook request: " + e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

// Decode reads one JSON document into v. The envelope is decoded strictly:
// an unknown top-level key means the caller is not the Metacontroller
// version (or hook type) we think it is, and guessing could cost children;
// a key twice in one object anywhere is a *DuplicateKeyError for the same
// reason. Numbers are kept as json.Number so integers round-trip byte for
// byte.
func Decode(r io.Reader, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return &DecodeError{Err: err}
	}
	return decodeStrict(b, v)
}

// decodeStrict is Decode of bytes in memory.
func decodeStrict(b []byte, v any) error {
	if err := decodeLenient(b, v); err != nil {
		return err
	}
	if err := duplicateKey(b, true); err != nil {
		return &DecodeError{Err: err}
	}
	if val, ok := v.(interface{ validate() error }); ok {
		if err := val.validate(); err != nil {
			return &DecodeError{Err: err}
		}
	}
	return nil
}

// decodeLenient is Decode as encoding/json alone decides it: duplicate keys
// are taken (the last wins) and objects are not validated. The fuzz tests
// hold the fast decoders to it.
func decodeLenient(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &DecodeError{Err: err}
	}
	if dec.More() {
		return &DecodeError{Err: fmt.Errorf("trailing data after the JSON document")}
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return &DecodeError{Err: fmt.Errorf("trailing data after the JSON document")}
	}
	return nil
}

// validate rejects a null in place of an object: Metacontroller never sends
// one, and everything downstream relies on objects being objects.
func (m ObjectMap) validate(field string) error {
	for typ, objs := range m {
		for key, o := range objs {
			if o == nil {
				return fmt.Errorf("%s[%q][%q] is null, not an object", field, typ, key)
			}
		}
	}
	return nil
}

func (r *CompositeRequest) validate() error {
	if err := r.Children.validate("children"); err != nil {
		return err
	}
	return r.Related.validate("related")
}

func (r *DecoratorRequest) validate() error {
	if err := r.Attachments.validate("attachments"); err != nil {
		return err
	}
	return r.Related.validate("related")
}

// DecodeBytes is Decode for a byte slice. A CompositeRequest takes the fast
// path of fastdecode.go (same result; managedFields of the parent and the
// children stay raw), falling back to Decode for anything unusual.
func DecodeBytes(b []byte, v any) error {
	if r, ok := v.(*CompositeRequest); ok && r.Controller == nil && r.Parent == nil && r.Children == nil && r.Related == nil && r.TemplateKeys == nil && !r.Finalizing {
		if decodeCompositeFast(b, r) {
			if err := r.validate(); err != nil {
				return &DecodeError{Err: err}
			}
			return nil
		}
		*r = CompositeRequest{}
	}
	return decodeStrict(b, v)
}

// Encode writes v as compact JSON with sorted map keys (encoding/json sorts
// them), so equal answers are byte-identical and Metacontroller never sees
// churn. A nil children list is encoded as [] only after the handler chose it
// deliberately: encoding cannot tell "nothing" from "forgot".
func Encode(w io.Writer, v any) error {
	b, put, err := Encoded(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	put()
	return err
}

// Encoded returns the bytes Encode writes for v, and put, which recycles
// their buffer once they are written.
func Encoded(v any) (b []byte, put func(), err error) {
	// Answers are generic trees: fastencode.go writes the same bytes.
	bp := encodeBufs.Get().(*[]byte)
	if b, ok := appendJSON((*bp)[:0], v); ok {
		b = append(b, '\n')
		return b, func() {
			if cap(b) <= maxPooledEncodeBuf {
				*bp = b[:0]
				encodeBufs.Put(bp)
			}
		}, nil
	}
	encodeBufs.Put(bp)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), func() {}, nil
}
