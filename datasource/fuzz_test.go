package datasource

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// FuzzParseStaticRows feeds arbitrary ConfigMap contents through the whole
// static path: parse, convert, evaluate. It must never panic, and whatever
// it accepts must be counted consistently.
func FuzzParseStaticRows(f *testing.F) {
	for _, seed := range []string{
		"",
		"[]",
		"null",
		"- uid: a\n  active: true\n",
		"- {uid: a, active: 1}\n- {uid: a, active: yes}\n- {uid: ~, active: '1'}\n",
		`[{"uid":"🚀","active":"True","url":"https://x","plan":{"a":[1,2.5,null]}}]`,
		`[{"uid":"","active":"1"},{"uid":"b","active":" 1"},{"uid":12345678901234567890,"active":1e3}]`,
		"- uid: 0123\n  active: on\n  n: .inf\n",
		"- &a {uid: x, active: 1}\n- *a\n",
		"- uid: a\n  uid: b\n",
		"{uid: a}",
		"- [1, 2]",
		"\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	m := Mapping{UID: "uid", HostOrURL: "url", Activate: "active", Extra: map[string]string{"plan": "plan"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseStaticRows(data)
		if err != nil {
			return
		}
		raw, err := NewStatic(rows).Rows(context.Background(), m.Columns())
		if err != nil {
			return
		}
		if len(raw) != len(rows) {
			t.Fatalf("%d rows parsed, %d returned", len(rows), len(raw))
		}
		res := Evaluate(m, raw)
		if res.Total != len(res.Active)+res.Inactive+res.Skipped+res.Duplicates {
			t.Fatalf("rows not counted exactly once: %+v", res)
		}
		for i := 1; i < len(res.Active); i++ {
			if res.Active[i-1].UID >= res.Active[i].UID {
				t.Fatalf("active records not sorted and unique: %q, %q", res.Active[i-1].UID, res.Active[i].UID)
			}
		}
	})
}

// FuzzStaticRowsNeverAPrefix holds the ConfigMap rows parser to "every row
// or an error": two lists of rows (YAML or JSON) joined by a separator made
// of " \n-.x" (so "---", "...", blank lines, stray text — never a comment or
// a quote, which could legitimately hide the second list) either fail or
// yield every row of both. Before issue 12 a second document or trailing
// text silently cut the rows to the first list.
func FuzzStaticRowsNeverAPrefix(f *testing.F) {
	for _, seed := range []struct {
		n, m uint8
		json bool
		sep  string
	}{
		{2, 1, false, "---\n"},
		{2, 0, false, "---\n"},
		{1, 1, true, " "},
		{1, 1, true, "\n---\n"},
		{3, 1, true, "\n"},
		{1, 2, false, "...\n"},
		{2, 2, false, ""},
		{0, 1, false, "---\n"},
		{4, 3, false, "\n\n"},
		{2, 2, true, "x"},
	} {
		f.Add(seed.n, seed.m, seed.json, []byte(seed.sep))
	}
	list := func(asJSON bool, prefix string, n int) []byte {
		var doc []byte
		if asJSON {
			doc = append(doc, '[')
			for i := range n {
				if i > 0 {
					doc = append(doc, ',')
				}
				doc = fmt.Appendf(doc, `{"uid":"%s%d","active":1}`, prefix, i)
			}
			return append(doc, ']')
		}
		if n == 0 {
			return append(doc, "[]\n"...)
		}
		for i := range n {
			doc = fmt.Appendf(doc, "- uid: %s%d\n  active: 1\n", prefix, i)
		}
		return doc
	}
	f.Fuzz(func(t *testing.T, n, m uint8, asJSON bool, sep []byte) {
		if m == 0 {
			m = 1 // a second list is always there
		}
		for _, c := range sep {
			if !strings.ContainsRune(" \n-.x", rune(c)) {
				return
			}
		}
		doc := list(asJSON, "r", int(n))
		doc = append(doc, sep...)
		doc = append(doc, list(asJSON, "s", int(m))...)
		rows, err := ParseStaticRows(doc)
		if err != nil {
			return
		}
		if want := int(n) + int(m); len(rows) < want {
			t.Fatalf("%q: %d rows without an error, the text holds %d", doc, len(rows), want)
		}
		raw, err := NewStatic(rows).Rows(context.Background(), []string{"uid", "active"})
		if err != nil {
			return
		}
		if len(raw) != len(rows) {
			t.Fatalf("%q: %d rows parsed, %d returned", doc, len(rows), len(raw))
		}
	})
}
