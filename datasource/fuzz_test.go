package datasource

import (
	"context"
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
