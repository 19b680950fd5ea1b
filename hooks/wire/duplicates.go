package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DuplicateKeyError is a request with a key twice in one object. encoding/json
// takes the last one silently (two "finalizing" keys: the second decides), so
// what the hook acts on could differ from what a reviewer, a proxy or
// another decoder reads; Metacontroller never sends one. It is a 400.
type DuplicateKeyError struct {
	Path string // the object holding the key: "the envelope", "parent.metadata.labels", "children[\"T.v1\"]" …
	Key  string
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q in %s", e.Key, e.Path)
}

// duplicateKey reports the first key that appears twice in one object of b,
// a JSON document encoding/json has already accepted. Keys compare as
// encoding/json decodes them (escapes resolved, invalid UTF-8 as U+FFFD).
// When b is a request (envelope), its top-level keys compare
// case-insensitively, as encoding/json matches them to the request's fields
// ("Finalizing" sets Finalizing too); paths are then named from the
// envelope ("the envelope", "parent.metadata", children["Kind.v1"]["ns/n"]),
// otherwise from the document's root ("the object", "metadata.labels").
func duplicateKey(b []byte, envelope bool) error {
	type frame struct {
		obj       bool
		keys      map[string]struct{}
		expectKey bool
		cur       string // the key whose value is being read
		idx       int    // the index being read, in an array
		path      string
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []*frame
	childPath := func() string {
		n := len(stack)
		if n == 0 {
			if envelope {
				return "the envelope"
			}
			return "the object"
		}
		top := stack[n-1]
		switch {
		case !top.obj:
			return top.path + "[" + strconv.Itoa(top.idx) + "]"
		case n == 1:
			return top.cur
		case envelope && n <= 3 && (stack[0].cur == "children" || stack[0].cur == "related" || stack[0].cur == "attachments"):
			return top.path + "[" + strconv.Quote(top.cur) + "]" // children["Kind.v1"]["ns/name"]
		}
		return top.path + "." + top.cur
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.obj {
			top.expectKey = true
		} else {
			top.idx++
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // not valid JSON: the decoder has said so already
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
			top := stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			k, _ := tok.(string)
			cmp := k
			if envelope && n == 1 {
				cmp = strings.ToLower(k)
			}
			if _, dup := top.keys[cmp]; dup {
				return &DuplicateKeyError{Path: top.path, Key: k}
			}
			top.keys[cmp] = struct{}{}
			top.cur, top.expectKey = k, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]struct{}{}, expectKey: true, path: childPath()})
		case json.Delim('['):
			stack = append(stack, &frame{path: childPath()})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}
