package datasource

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/tenant-hooks/tenant-hooks/internal/ordered"
)

// MaxExamples is how many skipped rows and duplicate uids a Result keeps as
// examples; the counters are always complete.
const MaxExamples = 5

// Record is one active tenant.
//
// Values holds "uid", "hostOrUrl" (only when the mapping has a hostOrUrl
// column), "activate", plus every extra variable, each as read from the row
// ("" for NULL). It never holds "host": the renderer derives it from
// hostOrUrl.
type Record struct {
	UID    string
	Values Values
}

// Values are a record's template values by name. The names are shared by
// every record of a Result, so a record costs only its values: a sharded
// registry's row snapshot holds hundreds of thousands of records, and a map
// per record cost twice the memory (BenchmarkSnapshotRowBytes). A Values is
// read-only.
type Values struct {
	names *[]string // sorted, unique; shared
	vals  []string  // vals[i] is the value of (*names)[i]
}

// ValuesOf builds Values from a map (tests, and callers that have one).
func ValuesOf(m map[string]string) Values {
	names := ordered.Keys(m)
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = m[n]
	}
	return Values{names: &names, vals: vals}
}

// Len is the number of values.
func (v Values) Len() int { return len(v.vals) }

// Get returns the value of name and whether there is one.
func (v Values) Get(name string) (string, bool) {
	if v.names == nil {
		return "", false
	}
	if i, ok := slices.BinarySearch(*v.names, name); ok {
		return v.vals[i], true
	}
	return "", false
}

// All yields the values in the byte order of their names.
func (v Values) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for i, s := range v.vals {
			if !yield((*v.names)[i], s) {
				return
			}
		}
	}
}

// Map returns a copy of the values as a map.
func (v Values) Map() map[string]string {
	m := make(map[string]string, len(v.vals))
	for k, s := range v.All() {
		m[k] = s
	}
	return m
}

// SkippedRow explains why a row that would have been active produced no
// tenant. Index is the 0-based position in the source result.
type SkippedRow struct {
	Index  int
	Reason string
}

// Result is what Evaluate makes of a source's rows.
//
// Every row is counted exactly once:
//
//	Total = len(Active) + Inactive + Skipped + Duplicates
//
// Inactive rows (activate not truthy, or an empty hostOrUrl) are not
// examined further, so a NULL uid
// on an inactive row is not "skipped".
type Result struct {
	Active          []Record // sorted by UID (byte order)
	Total, Inactive int

	Skipped         int          // active rows whose uid is NULL or empty
	SkippedExamples []SkippedRow // the first MaxExamples of them, in row order

	Duplicates    int      // active rows dropped because an earlier row had the same uid
	DuplicateUIDs []string // up to MaxExamples distinct duplicated uids, sorted
}

// candidate is an active row with a uid, its template values already read.
type candidate struct {
	uid    string
	values []string
}

// sortKey orders candidates without touching them: prefix holds 8 bytes of
// the uid that follow the prefix all uids share (big-endian, zero-padded),
// pos is the candidate's position (= source order). Most comparisons are
// decided by prefix alone, and the pointer-free keys are cheap to move.
type sortKey struct {
	prefix uint64
	pos    int
}

type extraColumn struct {
	variable, column string
	at               int // the variable's place among the value names
}

// Evaluate applies the activation rule (see Truthy) to rows:
//
//   - rows whose activate cell is not truthy are Inactive, and so are rows
//     whose hostOrUrl cell is NULL or "" when the mapping has a hostOrUrl
//     column: Tenant Operator v1.0 made no Tenant for them, and a
//     switch-over must not create one (a registry that wants such rows
//     leaves valueMappings.hostOrUrl out);
//   - active rows whose uid cell is NULL or "" are Skipped (the uid is not
//     trimmed: " " is a uid, which the renderer will reject as a name);
//   - among the remaining rows the first row of each uid wins, later ones are
//     Duplicates;
//
// Evaluate does not validate m; call Mapping.Validate first. It reads each
// row once, in source order, and allocates one slice of values per active
// row plus a few slices.
func Evaluate(m Mapping, rows []RawRow) Result {
	e := NewEvaluator(m, len(rows))
	for _, row := range rows {
		e.Add(row)
	}
	return e.Result()
}

// Evaluator is Evaluate one row at a time, for a source that streams its
// rows (RowStreamer): a large read then never holds every raw row, only
// the values of the active ones. Add the rows in source order, then take
// the Result once.
type Evaluator struct {
	m                    Mapping
	res                  Result
	extras               []extraColumn
	names                []string // the value names, shared by every record
	uidAt, actAt, hostAt int      // each built-in value's place among them
	cands                []candidate
	rows                 int
}

// NewEvaluator starts an evaluation of m's rows; hint is the expected row
// count (0 when unknown).
func NewEvaluator(m Mapping, hint int) *Evaluator {
	e := &Evaluator{m: m, cands: make([]candidate, 0, hint)}
	for _, v := range ordered.Keys(m.Extra) {
		e.extras = append(e.extras, extraColumn{variable: v, column: m.Extra[v]})
	}
	// An extra of a built-in's name (Mapping.Validate refuses it)
	// overwrites the built-in, as the map of earlier versions did.
	seen := map[string]bool{"uid": true, "activate": true}
	e.names = []string{"uid", "activate"}
	if m.HostOrURL != "" {
		seen["hostOrUrl"] = true
		e.names = append(e.names, "hostOrUrl")
	}
	for _, x := range e.extras {
		if !seen[x.variable] {
			seen[x.variable] = true
			e.names = append(e.names, x.variable)
		}
	}
	slices.Sort(e.names)
	at := func(name string) int { i, _ := slices.BinarySearch(e.names, name); return i }
	e.uidAt, e.actAt, e.hostAt = at("uid"), at("activate"), at("hostOrUrl")
	for i := range e.extras {
		e.extras[i].at = at(e.extras[i].variable)
	}
	return e
}

// Add evaluates the next row. It keeps nothing of row itself (a streaming
// source may reuse it), only the strings of its cells.
func (e *Evaluator) Add(row RawRow) {
	i := e.rows
	e.rows++
	m := e.m
	act := row[m.Activate]
	if !Truthy(act) || m.HostOrURL != "" && text(row[m.HostOrURL]) == "" {
		e.res.Inactive++
		return
	}
	uid := row[m.UID]
	if !uid.Valid || uid.S == "" {
		e.res.Skipped++
		if len(e.res.SkippedExamples) < MaxExamples {
			reason := "uid column %q is NULL"
			if uid.Valid {
				reason = "uid column %q is empty"
			}
			e.res.SkippedExamples = append(e.res.SkippedExamples, SkippedRow{Index: i, Reason: fmt.Sprintf(reason, m.UID)})
		}
		return
	}
	// Read the values now, while the row is in cache; the few slices built
	// for duplicates are dropped by Result.
	vals := make([]string, len(e.names))
	vals[e.uidAt] = uid.S
	vals[e.actAt] = act.S
	if m.HostOrURL != "" {
		vals[e.hostAt] = text(row[m.HostOrURL])
	}
	for _, x := range e.extras {
		vals[x.at] = text(row[x.column])
	}
	e.cands = append(e.cands, candidate{uid: uid.S, values: vals})
}

// Result sorts the active rows by uid and drops duplicates.
func (e *Evaluator) Result() Result {
	res := e.res
	res.Total = e.rows
	cands := e.cands
	e.cands = nil
	// Sort by uid, ties by row position so that the first row wins.
	keys := sortKeys(cands)
	names := new([]string) // shared by the records, which must not keep e alive
	*names = e.names
	res.Active = make([]Record, 0, len(cands))
	for i, k := range keys {
		c := &cands[k.pos]
		if i > 0 && cands[keys[i-1].pos].uid == c.uid {
			res.Duplicates++
			if n := len(res.DuplicateUIDs); n < MaxExamples && (n == 0 || res.DuplicateUIDs[n-1] != c.uid) {
				res.DuplicateUIDs = append(res.DuplicateUIDs, c.uid)
			}
			continue
		}
		res.Active = append(res.Active, Record{UID: c.uid, Values: Values{names: names, vals: c.values}})
	}
	return res
}

// sortKeys returns the candidates' keys sorted by (uid, position). Input
// that is already sorted (a primary key on uid) costs one extra pass.
func sortKeys(cands []candidate) []sortKey {
	lcp := 0 // length of the prefix common to every uid
	if len(cands) > 0 {
		first := cands[0].uid
		lcp = len(first)
		for i := 1; i < len(cands) && lcp > 0; i++ {
			u := cands[i].uid
			n := min(lcp, len(u))
			j := 0
			for j < n && u[j] == first[j] {
				j++
			}
			lcp = j
		}
	}
	keys := make([]sortKey, len(cands))
	for i := range cands {
		keys[i] = sortKey{prefix: uidPrefix(cands[i].uid[lcp:]), pos: i}
	}
	cmp := func(a, b sortKey) int {
		switch {
		case a.prefix < b.prefix:
			return -1
		case a.prefix > b.prefix:
			return 1
		}
		if c := strings.Compare(cands[a.pos].uid[lcp:], cands[b.pos].uid[lcp:]); c != 0 {
			return c
		}
		return a.pos - b.pos
	}
	if !slices.IsSortedFunc(keys, cmp) {
		slices.SortFunc(keys, cmp)
	}
	return keys
}

// uidPrefix packs the first 8 bytes of s big-endian, so that comparing
// prefixes orders like comparing the strings (up to ties).
func uidPrefix(s string) uint64 {
	var p uint64
	for i := 0; i < 8; i++ {
		p <<= 8
		if i < len(s) {
			p |= uint64(s[i])
		}
	}
	return p
}

// text is the template value of a cell: NULL (or a missing column) is "".
func text(v Value) string {
	if !v.Valid {
		return ""
	}
	return v.S
}
