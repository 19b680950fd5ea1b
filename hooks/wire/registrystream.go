package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
	"github.com/tenant-hooks/tenant-hooks/render"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// A registry sync request carries every observed Tenant with Metacontroller's
// bookkeeping — ≈ 4.5 KB each, 87 MiB for a registry of 10,000 rows × 2
// templates — but the registry sync reads only a Tenant's name, deletion
// time, Ready/Degraded conditions and the resources its status reports as
// owned, and returns a Tenant whole only when
// the mass-deletion guard (or an invalid spec) keeps it. So the request is
// decoded as it streams in: each child is cut out of a small read buffer,
// summarised (render.ObservedTenant) and dropped, and only the part a kept
// Tenant is made of (apiVersion, kind, metadata without the server's fields
// and the last-applied copy, spec; ≈ 1 KB) is copied, as JSON bytes, into
// shared chunks. The rest of the envelope (controller, parent, related) is
// small and goes through the ordinary decoder. Memory therefore grows with
// ≈ 1 KB per Tenant instead of the body's 4.5 KB (docs/performance.md).
//
// It accepts and rejects what Decode does, with the same result — a key
// twice in any object is a *DuplicateKeyError for both — except that an
// envelope key differing from Metacontroller's only in case ("Children"),
// which encoding/json would take, is rejected: it cannot come from
// Metacontroller, and streaming cannot go back. Error messages about a
// child name the child instead of a byte offset. FuzzRegistryStream checks
// this against the in-memory decoding.

// RegistryRequest is a decoded registry sync request.
type RegistryRequest struct {
	CompositeRequest // Children is nil: see Observed
	// Observed are the summarised children, in (type, key) order.
	Observed []render.ObservedTenant
}

// DecodeRegistryStream decodes a registry sync request from r. Read errors
// (*http.MaxBytesError among them) are returned wrapped in a *ReadError.
// budget bounds the memory the summaries may hold (0: no bound).
func DecodeRegistryStream(r io.Reader, budget int64) (*RegistryRequest, error) {
	d := newRegistryDecoder(r)
	d.budget = budget
	return d.decode()
}

// perChildCost is what a summarised child holds besides its kept bytes and
// key: its ObservedTenant and list entry (with the list's slack), closure
// and key string headers.
const perChildCost = 256

// BudgetError is a request whose summaries would hold more memory than the
// body limit allows: many tiny children cost far more than their bytes (a
// real Tenant's ≈ 4.5 KB keep ≈ 1.3 KB; an empty object's 2 bytes would keep
// ≈ 260). It becomes a 413.
type BudgetError struct{ Children int }

func (e *BudgetError) Error() string {
	return fmt.Sprintf("the registry sync request's %d observed children would hold more memory than --registry-body-limit allows (each costs ≥ %d bytes)", e.Children, perChildCost)
}

// readBufferSize is the read buffer's initial size: a read's worth (net/http
// reads up to 32 KiB at a time) plus a few observed Tenants (≈ 4.5 KB each).
const readBufferSize = 64 << 10

// ReadError is a failure to read the request body (not a malformed body):
// a 400, or a 413 when it wraps *http.MaxBytesError.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "reading request body: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

func newRegistryDecoder(r io.Reader) *registryDecoder {
	return &registryDecoder{
		s: streamReader{r: r, buf: make([]byte, 0, readBufferSize)},
		// ≈ 1 KB per kept Tenant: 256 chunks hold 60,000.
		kept: byteArena{chunkSize: 256 << 10},
	}
}

type registryDecoder struct {
	s     streamReader
	p     fastParser // summarises one child at a time
	kept  byteArena  // kept Tenants' bytes and names
	doc   []byte     // the envelope without its children
	child []byte     // scratch: one kept Tenant being built

	observed []observedChild
	budget   int64 // see DecodeRegistryStream
	held     int64 // what the summaries hold, estimated
}

type observedChild struct {
	typ, key string
	t        render.ObservedTenant
}

func (d *registryDecoder) decode() (*RegistryRequest, error) {
	c, ok := d.s.peek()
	if !ok {
		return nil, d.s.failure("")
	}
	if c != '{' {
		// Not an object: nothing to stream. Decode decides, as always.
		return d.whole()
	}
	d.doc = append(d.doc, '{')
	seenChildren := false
	err := d.s.object("the envelope", func(key string) error {
		switch {
		case key == "children":
			if seenChildren {
				return &DecodeError{Err: &DuplicateKeyError{Path: "the envelope", Key: "children"}}
			}
			seenChildren = true
			return d.children()
		case key != "controller" && key != "parent" && key != "related" && key != "finalizing" && isEnvelopeKeyFold(key):
			return &DecodeError{Err: fmt.Errorf("envelope key %q differs from Metacontroller's only in case", key)}
		}
		v, err := d.s.rawValue()
		if err != nil {
			return err
		}
		if len(d.doc) > 1 {
			d.doc = append(d.doc, ',')
		}
		d.doc = appendJSONString(d.doc, key)
		d.doc = append(d.doc, ':')
		d.doc = append(d.doc, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := d.s.peek(); ok {
		return nil, syntaxError("trailing data after the JSON document")
	}
	if d.s.err != io.EOF {
		return nil, &ReadError{d.s.err}
	}
	d.doc = append(d.doc, '}')
	req := &RegistryRequest{}
	if err := DecodeBytes(d.doc, &req.CompositeRequest); err != nil {
		return nil, err
	}
	sort.SliceStable(d.observed, func(i, j int) bool {
		a, b := &d.observed[i], &d.observed[j]
		if a.typ != b.typ {
			return a.typ < b.typ
		}
		return a.key < b.key
	})
	req.Observed = make([]render.ObservedTenant, 0, len(d.observed))
	for i := range d.observed {
		if i+1 < len(d.observed) && d.observed[i+1].typ == d.observed[i].typ && d.observed[i+1].key == d.observed[i].key {
			return nil, &DecodeError{Err: &DuplicateKeyError{Path: "children[" + strconv.Quote(d.observed[i].typ) + "]", Key: d.observed[i].key}}
		}
		req.Observed = append(req.Observed, d.observed[i].t)
	}
	return req, nil
}

// whole decodes a body that is not an object, in memory, as Decode does
// (null, for instance, is a request without a parent). Only a small one is
// read: a large one cannot be anything but an error.
func (d *registryDecoder) whole() (*RegistryRequest, error) {
	const most = 1 << 20
	rest, err := io.ReadAll(io.LimitReader(io.MultiReader(bytes.NewReader(d.s.buf[d.s.pos:]), d.s.r), most+1))
	if err != nil {
		return nil, &ReadError{err}
	}
	if len(rest) > most {
		return nil, &DecodeError{Err: fmt.Errorf("the request is a JSON %s, not an object", jsonKind(rest[0]))}
	}
	return decodeRegistryWhole(rest)
}

// decodeRegistryWhole decodes a registry request held in memory, as every
// other hook decodes its request, then summarises each complete child: the
// path for bodies that are not objects, and the reference the streaming
// decoder is tested against.
func decodeRegistryWhole(b []byte) (*RegistryRequest, error) {
	req := &RegistryRequest{}
	if err := DecodeBytes(b, &req.CompositeRequest); err != nil {
		return nil, err
	}
	req.Observed = observeAll(req.Children)
	req.Children = nil
	return req, nil
}

func isEnvelopeKeyFold(k string) bool {
	for _, e := range []string{"controller", "parent", "children", "related", "finalizing"} {
		if strings.EqualFold(k, e) {
			return true
		}
	}
	return false
}

// children streams {"<type>": {"<key>": {...}, ...} | null, ...} | null.
func (d *registryDecoder) children() error {
	if c, ok := d.s.peek(); ok && c == 'n' {
		return d.s.null("children")
	}
	seenTypes := map[string]bool{}
	return d.s.object("children", func(typ string) error {
		if seenTypes[typ] {
			return &DecodeError{Err: &DuplicateKeyError{Path: "children", Key: typ}}
		}
		seenTypes[typ] = true
		if c, ok := d.s.peek(); ok && c == 'n' {
			return d.s.null(fmt.Sprintf("children[%q]", typ))
		}
		return d.s.object(fmt.Sprintf("children[%q]", typ), func(key string) error {
			v, err := d.s.rawValue()
			if err != nil {
				return err
			}
			t, size, err := d.observe(typ, key, v)
			if err != nil {
				return err
			}
			d.observed = append(d.observed, observedChild{typ: typ, key: key, t: t})
			d.held += int64(perChildCost + len(key) + size)
			if d.budget > 0 && d.held > d.budget {
				return &BudgetError{Children: len(d.observed)}
			}
			return nil
		})
	})
}

// observe summarises one child from its bytes; size is what it keeps of
// them.
func (d *registryDecoder) observe(typ, key string, b []byte) (t render.ObservedTenant, size int, err error) {
	if isShardType(typ) {
		return observeShard(typ, key, b)
	}
	if t, size, ok := d.observeFast(b); ok {
		return t, size, nil
	}
	// Something unusual: decode the child in full, as Decode would.
	bad := func(err error) (render.ObservedTenant, int, error) {
		return render.ObservedTenant{}, 0, &DecodeError{Err: err}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return bad(fmt.Errorf("children[%q][%q]: %w", typ, key, err))
	}
	if dec.More() {
		return bad(fmt.Errorf("children[%q][%q]: trailing data", typ, key))
	}
	if err := duplicateKey(b, false); err != nil {
		de := err.(*DuplicateKeyError)
		path := "children[" + strconv.Quote(typ) + "][" + strconv.Quote(key) + "]"
		if de.Path != "the object" {
			path += "." + de.Path
		}
		return bad(&DuplicateKeyError{Path: path, Key: de.Key})
	}
	o, isObj := v.(map[string]any)
	switch {
	case v == nil:
		return bad(fmt.Errorf("children[%q][%q] is null, not an object", typ, key))
	case !isObj:
		return bad(fmt.Errorf("children[%q][%q] is a %T, not an object", typ, key, v))
	}
	t = render.ObserveTenant(o)
	kept := object.StripServerFields(o)
	keptJSON, ok := appendJSON(d.child[:0], kept)
	if !ok {
		if keptJSON, err = json.Marshal(kept); err != nil {
			return bad(fmt.Errorf("children[%q][%q]: %w", typ, key, err))
		}
	}
	t.Name = d.kept.str([]byte(t.Name))
	t.Owned = d.kept.str([]byte(t.Owned))
	t.Kept = keptObject(d.kept.bytes(keptJSON))
	return t, len(keptJSON) + len(t.Name) + len(t.Owned), nil
}

// observeFast summarises a child without building it: only metadata.name,
// metadata.deletionTimestamp and status.conditions are decoded, and the
// kept form is assembled from the raw bytes of the members it keeps. It
// gives up (false) on anything unusual: a duplicated member at the levels it
// filters, a metadata or annotations that is not an object, a syntax error.
func (d *registryDecoder) observeFast(b []byte) (render.ObservedTenant, int, bool) {
	p := &d.p
	p.b, p.i = b, 0
	out := append(d.child[:0], '{')
	defer func() { d.child = out[:0] }()
	mini := map[string]any{}
	var top, meta keySet
	member := func(k string, depth int) bool { // copies "k": value
		if out[len(out)-1] != '{' {
			out = append(out, ',')
		}
		out = appendJSONString(out, k)
		out = append(out, ':')
		start := p.i
		if !p.skip(depth) {
			return false
		}
		out = append(out, p.b[start:p.i]...)
		return true
	}
	if p.i >= len(b) || b[p.i] != '{' {
		return render.ObservedTenant{}, 0, false
	}
	ok := p.members(func(k string) bool {
		if !top.add(k) {
			return false
		}
		switch k {
		case "status":
			return p.keepOnly(mini, k, func(k string) bool { return k == "conditions" || k == "resources" })
		case "metadata":
			if p.i >= len(b) || b[p.i] != '{' {
				return false
			}
			md := map[string]any{}
			mini["metadata"] = md
			if out[len(out)-1] != '{' {
				out = append(out, ',')
			}
			out = append(out, `"metadata":{`...)
			ok := p.members(func(k string) bool {
				if !meta.add(k) {
					return false
				}
				switch k {
				case "name":
					start := p.i
					if !p.keep(md, k, 3) {
						return false
					}
					p.i = start
					return member(k, 3)
				case "deletionTimestamp":
					return p.keep(md, k, 3)
				case "annotations":
					return d.annotations(&out, member)
				}
				if object.IsServerMetadata(k) {
					return p.skip(3)
				}
				return member(k, 3)
			})
			out = append(out, '}')
			return ok
		}
		return member(k, 2)
	})
	if !ok || !p.end() {
		return render.ObservedTenant{}, 0, false
	}
	out = append(out, '}')
	t := render.ObserveTenant(mini)
	t.Name = d.kept.str([]byte(t.Name))
	t.Owned = d.kept.str([]byte(t.Owned))
	t.Kept = keptObject(d.kept.bytes(out))
	return t, len(out) + len(t.Name) + len(t.Owned), true
}

// annotations copies metadata.annotations without Metacontroller's
// last-applied copy of the object, omitting it when nothing is left (as
// object.StripServerFields does).
func (d *registryDecoder) annotations(out *[]byte, member func(string, int) bool) bool {
	p := &d.p
	if p.lit("null") {
		p.i -= len("null")
		return member("annotations", 3)
	}
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return false
	}
	mark := len(*out)
	if (*out)[mark-1] != '{' {
		*out = append(*out, ',')
	}
	*out = append(*out, `"annotations":{`...)
	open := len(*out)
	var seen keySet
	ok := p.members(func(k string) bool {
		if !seen.add(k) {
			return false // a key twice: the full decoding names it
		}
		start := p.i
		if !p.skip(4) {
			return false
		}
		if k == object.LastAppliedAnnotation {
			return true
		}
		if len(*out) > open {
			*out = append(*out, ',')
		}
		*out = appendJSONString(*out, k)
		*out = append(*out, ':')
		*out = append(*out, p.b[start:p.i]...)
		return true
	})
	if len(*out) == open {
		*out = (*out)[:mark]
	} else {
		*out = append(*out, '}')
	}
	return ok
}

// keptObject decodes a kept Tenant's bytes when the registry returns it.
func keptObject(b []byte) func() object.Obj {
	return func() object.Obj {
		p := fastParser{b: b, noArena: true}
		if o, ok := p.objOrNull(1, false); ok && p.end() {
			return o
		}
		// Valid JSON the fast parser declines (extreme nesting).
		var o map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&o); err != nil {
			panic(fmt.Sprintf("kept Tenant bytes do not decode: %v", err)) // built from validated JSON
		}
		return o
	}
}

// keep decodes the value at p into o[k].
func (p *fastParser) keep(o map[string]any, k string, depth int) bool {
	v, ok := p.value(depth)
	o[k] = v
	return ok
}

// keepOnly decodes the object (or null) at p into o[k], keeping only the
// members want accepts and skipping the rest without building them.
func (p *fastParser) keepOnly(o map[string]any, k string, want func(string) bool) bool {
	if p.lit("null") {
		o[k] = nil
		return true
	}
	inner := map[string]any{}
	o[k] = inner
	var seen keySet
	return p.members(func(m string) bool {
		if !seen.add(m) {
			return false // a key twice: the full decoding names it
		}
		if m == object.LastAppliedAnnotation {
			return p.skip(4)
		}
		if !want(m) {
			return p.skip(3)
		}
		if m == "annotations" {
			return p.keepOnly(inner, m, func(string) bool { return true })
		}
		return p.keep(inner, m, 3)
	})
}

// observeAll summarises complete children (the in-memory path).
func observeAll(m ObjectMap) []render.ObservedTenant {
	var out []render.ObservedTenant
	for _, typ := range ordered.Keys(m) {
		objs := m[typ]
		for _, k := range ordered.Keys(objs) {
			if isShardType(typ) {
				out = append(out, render.ObserveShard(objs[k]))
				continue
			}
			out = append(out, render.ObserveTenant(objs[k]))
		}
	}
	return out
}

// jsonKind names the kind of value that starts with c, as encoding/json's
// errors do.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	case '{':
		return "object"
	}
	return "number"
}

func syntaxError(msg string) error { return &DecodeError{Err: fmt.Errorf("%s", msg)} }

// streamReader reads the envelope's structure and cuts complete JSON values
// out of a read buffer that holds at most one value plus one read.
type streamReader struct {
	r   io.Reader
	buf []byte // unread bytes are buf[pos:]
	pos int
	err error // the reader's error once it returned one (io.EOF at the end)
}

// more reads at least one more byte, moving the unread bytes to the front
// when the buffer is full (growing it only when one value fills half of
// it). It reports false at the end of the body or on a read error.
func (s *streamReader) more() bool {
	if s.err != nil {
		return false
	}
	// Bytes move only when the buffer is full, and then at most once per
	// half buffer read: however small the reads (a slow client), the work
	// stays linear in the body.
	if len(s.buf) == cap(s.buf) {
		if s.pos >= cap(s.buf)/2 {
			n := copy(s.buf, s.buf[s.pos:])
			s.buf = s.buf[:n]
		} else {
			nb := make([]byte, len(s.buf)-s.pos, 2*cap(s.buf))
			copy(nb, s.buf[s.pos:])
			s.buf = nb
		}
		s.pos = 0
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// failure is the error for a body that ended (or failed) inside what.
func (s *streamReader) failure(what string) error {
	if s.err != nil && s.err != io.EOF {
		return &ReadError{s.err}
	}
	if what == "" {
		return &DecodeError{Err: io.EOF}
	}
	return &DecodeError{Err: fmt.Errorf("unexpected end of JSON input in %s", what)}
}

// peek skips whitespace and returns the next byte without consuming it.
func (s *streamReader) peek() (byte, bool) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\r', '\n':
				s.pos++
			default:
				return c, true
			}
		}
		if !s.more() {
			return 0, false
		}
	}
}

// key reads `"key" :` and returns the key.
func (s *streamReader) key() (string, error) {
	c, ok := s.peek()
	if !ok {
		return "", s.failure("an object")
	}
	if c != '"' {
		return "", syntaxError(fmt.Sprintf("invalid character %q looking for beginning of object key string", c))
	}
	raw, err := s.rawValue()
	if err != nil {
		return "", err
	}
	p := fastParser{b: raw, noArena: true}
	k, ok := p.str()
	if !ok || p.i != len(raw) {
		return "", syntaxError("invalid object key string")
	}
	c, ok = s.peek()
	if !ok {
		return "", s.failure("an object")
	}
	if c != ':' {
		return "", syntaxError(fmt.Sprintf("invalid character %q after object key", c))
	}
	s.pos++
	return k, nil
}

// null reads a null in place of what.
func (s *streamReader) null(what string) error {
	v, err := s.rawValue()
	if err != nil {
		return err
	}
	if string(v) != "null" {
		return syntaxError(fmt.Sprintf("%s: cannot unmarshal %s into an object", what, jsonKind(v[0])))
	}
	return nil
}

// object reads {"key": value, ...} calling member with the reader at each
// value; member must consume it. what names the object in errors.
func (s *streamReader) object(what string, member func(key string) error) error {
	c, ok := s.peek()
	if !ok {
		return s.failure(what)
	}
	if c != '{' {
		return syntaxError(fmt.Sprintf("%s: cannot unmarshal %s into an object", what, jsonKind(c)))
	}
	s.pos++
	for first := true; ; first = false {
		c, ok := s.peek()
		if !ok {
			return s.failure(what)
		}
		if c == '}' { // a "}" after a "," is caught by key()
			s.pos++
			return nil
		}
		if !first {
			if c != ',' {
				return syntaxError(fmt.Sprintf("invalid character %q after a member of %s", c, what))
			}
			s.pos++
		}
		k, err := s.key()
		if err != nil {
			return err
		}
		if err := member(k); err != nil {
			return err
		}
	}
}

// rawValue cuts the next complete value out of the stream by its structure
// (strings, brackets); the caller's parser validates it. The bytes are
// valid until the next read.
func (s *streamReader) rawValue() ([]byte, error) {
	if _, ok := s.peek(); !ok {
		return nil, s.failure("a value")
	}
	// Offsets are relative to s.pos, which a read moves.
	n := 0        // bytes of the value scanned so far
	depth := 0    // open brackets
	inStr := -1   // the offset of the open string's contents, or -1
	searched := 0 // within that string, where the quote search resumes
	for {
		for s.pos+n < len(s.buf) {
			if inStr >= 0 {
				end, ok := s.stringEnd(inStr, searched)
				if !ok {
					searched = len(s.buf) - s.pos
					break
				}
				n, inStr = end+1, -1
				if depth == 0 {
					return s.cut(n), nil
				}
				continue
			}
			switch c := s.buf[s.pos+n]; c {
			case '"':
				inStr, searched = n+1, n+1
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					if n == 0 {
						return nil, syntaxError(fmt.Sprintf("invalid character %q looking for beginning of value", c))
					}
					return s.cut(n), nil // the end of a scalar
				}
				depth--
				if depth == 0 {
					return s.cut(n + 1), nil
				}
			case ',', ':', ' ', '\t', '\r', '\n':
				if depth == 0 {
					if n == 0 {
						return nil, syntaxError(fmt.Sprintf("invalid character %q looking for beginning of value", c))
					}
					return s.cut(n), nil
				}
			}
			n++
		}
		if !s.more() {
			if depth == 0 && inStr < 0 && n > 0 && s.err == io.EOF {
				return s.cut(n), nil // a scalar at the very end
			}
			return nil, s.failure("a value")
		}
	}
}

// stringEnd finds the quote that closes the string whose contents start at
// offset start (relative to s.pos), searching from offset from: the first
// quote not preceded by an odd number of backslashes. It returns that
// quote's offset, or false when it is not in the buffer yet.
func (s *streamReader) stringEnd(start, from int) (int, bool) {
	b := s.buf[s.pos:]
	for {
		j := bytes.IndexByte(b[from:], '"')
		if j < 0 {
			return 0, false
		}
		q := from + j
		bs := 0
		for k := q - 1; k >= start && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return q, true
		}
		from = q + 1
	}
}

func (s *streamReader) cut(n int) []byte {
	v := s.buf[s.pos : s.pos+n]
	s.pos += n
	return v
}
