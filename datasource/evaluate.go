package datasource

import (
	"fmt"
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
	Values map[string]string
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
	values map[string]string
}

// sortKey orders candidates without touching them: prefix holds 8 bytes of
// the uid that follow the prefix all uids share (big-endian, zero-padded),
// pos is the candidate's position (= source order). Most comparisons are
// decided by prefix alone, and the pointer-free keys are cheap to move.
type sortKey struct {
	prefix uint64
	pos    int
}

type extraColumn struct{ variable, column string }

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
// row once, in source order, and allocates one map per active row plus two
// slices.
func Evaluate(m Mapping, rows []RawRow) Result {
	res := Result{Total: len(rows)}

	extras := make([]extraColumn, 0, len(m.Extra))
	for _, v := range ordered.Keys(m.Extra) {
		extras = append(extras, extraColumn{variable: v, column: m.Extra[v]})
	}
	nValues := 2 + len(extras)
	if m.HostOrURL != "" {
		nValues++
	}

	cands := make([]candidate, 0, len(rows))
	for i, row := range rows {
		act := row[m.Activate]
		if !Truthy(act) || m.HostOrURL != "" && text(row[m.HostOrURL]) == "" {
			res.Inactive++
			continue
		}
		uid := row[m.UID]
		if !uid.Valid || uid.S == "" {
			res.Skipped++
			if len(res.SkippedExamples) < MaxExamples {
				reason := "uid column %q is NULL"
				if uid.Valid {
					reason = "uid column %q is empty"
				}
				res.SkippedExamples = append(res.SkippedExamples, SkippedRow{Index: i, Reason: fmt.Sprintf(reason, m.UID)})
			}
			continue
		}
		// Read the values now, while the row is in cache; the few maps built
		// for duplicates are dropped below.
		vals := make(map[string]string, nValues)
		vals["uid"] = uid.S
		vals["activate"] = act.S
		if m.HostOrURL != "" {
			vals["hostOrUrl"] = text(row[m.HostOrURL])
		}
		for _, e := range extras {
			vals[e.variable] = text(row[e.column])
		}
		cands = append(cands, candidate{uid: uid.S, values: vals})
	}

	// Sort by uid, ties by row position so that the first row wins.
	keys := sortKeys(cands)
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
		res.Active = append(res.Active, Record{UID: c.uid, Values: c.values})
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
