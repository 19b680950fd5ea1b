package datasource

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func v(s string) Value { return Value{S: s, Valid: true} }

var null = Value{}

func TestTruthy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   Value
		want bool
	}{
		{v("1"), true}, {v("true"), true}, {v("TRUE"), true}, {v("True"), true},
		{v("yes"), true}, {v("YES"), true}, {v("Yes"), true},
		{null, false}, {Value{S: "1"}, false}, // NULL, even with text
		{v(""), false}, {v("0"), false}, {v("false"), false}, {v("no"), false},
		{v(" 1"), false}, {v("1 "), false}, {v("\t1"), false}, {v("1\n"), false},
		{v("on"), false}, {v("ON"), false}, {v("Y"), false}, {v("y"), false}, {v("t"), false}, {v("T"), false},
		{v("2"), false}, {v("-1"), false}, {v("01"), false}, {v("1.0"), false},
		{v("tRUE"), false}, {v("yES"), false}, {v("active"), false}, {v("enabled"), false},
		{v("ｙｅｓ"), false}, // full-width
	} {
		require.Equal(t, c.want, Truthy(c.in), "%+v", c.in)
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	m := Mapping{UID: "id", HostOrURL: "url", Activate: "on", Extra: map[string]string{"plan": "plan", "region": "rgn"}}
	cases := []struct {
		name string
		m    Mapping
		rows []RawRow
		want Result
	}{
		{
			name: "empty",
			m:    m,
			rows: nil,
			want: Result{Active: []Record{}},
		},
		{
			name: "values of an active row",
			m:    m,
			rows: []RawRow{{"id": v("acme"), "url": v("https://acme.example.com/x"), "on": v("Yes"), "plan": v("gold"), "rgn": v("eu")}},
			want: Result{Total: 1, Active: []Record{{UID: "acme", Values: ValuesOf(map[string]string{
				"uid": "acme", "hostOrUrl": "https://acme.example.com/x", "activate": "Yes", "plan": "gold", "region": "eu",
			})}}},
		},
		{
			name: "NULL and missing cells become empty strings",
			m:    m,
			rows: []RawRow{
				{"id": v("a"), "url": v("a.example"), "on": v("1"), "plan": null},          // rgn missing
				{"id": v("b"), "url": v("b.example"), "on": v("1"), "plan": Value{S: "x"}}, // invalid cell with text: still NULL
			},
			want: Result{Total: 2, Active: []Record{
				{UID: "a", Values: ValuesOf(map[string]string{"uid": "a", "hostOrUrl": "a.example", "activate": "1", "plan": "", "region": ""})},
				{UID: "b", Values: ValuesOf(map[string]string{"uid": "b", "hostOrUrl": "b.example", "activate": "1", "plan": "", "region": ""})},
			}},
		},
		{
			// Issue 15 item 4: v1.0 made no Tenant for such a row.
			name: "a mapped hostOrUrl that is NULL or empty makes the row inactive, as in v1.0",
			m:    m,
			rows: []RawRow{
				{"id": v("a"), "url": null, "on": v("1")},
				{"id": v("b"), "url": v(""), "on": v("1")},
				{"id": null, "url": v(""), "on": v("1")},    // inactive, so not examined
				{"id": v("c"), "url": v(" "), "on": v("1")}, // not trimmed, like v1.0
			},
			want: Result{Total: 4, Inactive: 3, Active: []Record{
				{UID: "c", Values: ValuesOf(map[string]string{"uid": "c", "hostOrUrl": " ", "activate": "1", "plan": "", "region": ""})},
			}},
		},
		{
			name: "no hostOrUrl mapping, no hostOrUrl value; never host",
			m:    Mapping{UID: "id", Activate: "on"},
			rows: []RawRow{{"id": v("a"), "on": v("true"), "url": v("https://ignored")}},
			want: Result{Total: 1, Active: []Record{{UID: "a", Values: ValuesOf(map[string]string{"uid": "a", "activate": "true"})}}},
		},
		{
			name: "inactive rows are counted, not examined",
			m:    m,
			rows: []RawRow{
				{"id": v("a"), "on": v("0")},
				{"id": null, "on": null},
				{"id": v(""), "on": v("on")},
				{"id": v("b"), "url": v("b.example"), "on": v("1")},
			},
			want: Result{Total: 4, Inactive: 3, Active: []Record{
				{UID: "b", Values: ValuesOf(map[string]string{"uid": "b", "hostOrUrl": "b.example", "activate": "1", "plan": "", "region": ""})},
			}},
		},
		{
			name: "NULL and empty uid are skipped, whitespace uid is kept",
			m:    Mapping{UID: "id", Activate: "on"},
			rows: []RawRow{
				{"id": null, "on": v("1")},
				{"id": v("ok"), "on": v("1")},
				{"id": v(""), "on": v("1")},
				{"on": v("1")}, // uid column missing from an inline row
				{"id": v(" "), "on": v("1")},
			},
			want: Result{Total: 5, Skipped: 3,
				SkippedExamples: []SkippedRow{
					{Index: 0, Reason: `uid column "id" is NULL`},
					{Index: 2, Reason: `uid column "id" is empty`},
					{Index: 3, Reason: `uid column "id" is NULL`},
				},
				Active: []Record{
					{UID: " ", Values: ValuesOf(map[string]string{"uid": " ", "activate": "1"})},
					{UID: "ok", Values: ValuesOf(map[string]string{"uid": "ok", "activate": "1"})},
				}},
		},
		{
			name: "duplicates: first active row wins",
			m:    Mapping{UID: "id", Activate: "on", Extra: map[string]string{"n": "n"}},
			rows: []RawRow{
				{"id": v("d"), "on": v("0"), "n": v("0 inactive")},
				{"id": v("d"), "on": v("1"), "n": v("1 first active")},
				{"id": v("c"), "on": v("1"), "n": v("2")},
				{"id": v("d"), "on": v("yes"), "n": v("3 dup")},
				{"id": v("c"), "on": v("1"), "n": v("4 dup")},
				{"id": v("d"), "on": v("1"), "n": v("5 dup")},
			},
			want: Result{Total: 6, Inactive: 1, Duplicates: 3, DuplicateUIDs: []string{"c", "d"},
				Active: []Record{
					{UID: "c", Values: ValuesOf(map[string]string{"uid": "c", "activate": "1", "n": "2"})},
					{UID: "d", Values: ValuesOf(map[string]string{"uid": "d", "activate": "1", "n": "1 first active"})},
				}},
		},
		{
			name: "sorted by byte order",
			m:    Mapping{UID: "id", Activate: "on"},
			rows: []RawRow{
				{"id": v("é"), "on": v("1")}, {"id": v("b"), "on": v("1")}, {"id": v("B"), "on": v("1")},
				{"id": v("a10"), "on": v("1")}, {"id": v("a9"), "on": v("1")}, {"id": v("🚀"), "on": v("1")},
				{"id": v("_"), "on": v("1")}, {"id": v("0"), "on": v("1")},
			},
			want: Result{Total: 8, Active: []Record{
				{UID: "0", Values: ValuesOf(map[string]string{"uid": "0", "activate": "1"})},
				{UID: "B", Values: ValuesOf(map[string]string{"uid": "B", "activate": "1"})},
				{UID: "_", Values: ValuesOf(map[string]string{"uid": "_", "activate": "1"})},
				{UID: "a10", Values: ValuesOf(map[string]string{"uid": "a10", "activate": "1"})},
				{UID: "a9", Values: ValuesOf(map[string]string{"uid": "a9", "activate": "1"})},
				{UID: "b", Values: ValuesOf(map[string]string{"uid": "b", "activate": "1"})},
				{UID: "é", Values: ValuesOf(map[string]string{"uid": "é", "activate": "1"})},
				{UID: "🚀", Values: ValuesOf(map[string]string{"uid": "🚀", "activate": "1"})},
			}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Evaluate(c.m, c.rows)
			require.Equal(t, c.want, got)
			requireCounted(t, got)
		})
	}
}

func TestEvaluateExampleCaps(t *testing.T) {
	t.Parallel()
	m := Mapping{UID: "id", Activate: "on"}
	var rows []RawRow
	for range 9 { // 9 skipped rows
		rows = append(rows, RawRow{"id": null, "on": v("1")})
	}
	for i := 9; i > 0; i-- { // 9 uids, each three times, in descending order
		for range 3 {
			rows = append(rows, RawRow{"id": v(fmt.Sprintf("u%d", i)), "on": v("1")})
		}
	}
	res := Evaluate(m, rows)
	require.Equal(t, 9, res.Skipped)
	require.Len(t, res.SkippedExamples, MaxExamples)
	for i, ex := range res.SkippedExamples {
		require.Equal(t, i, ex.Index, "the first rows in source order")
	}
	require.Equal(t, 18, res.Duplicates)
	require.Equal(t, []string{"u1", "u2", "u3", "u4", "u5"}, res.DuplicateUIDs, "the first uids in sort order")
	require.Len(t, res.Active, 9)
	requireCounted(t, res)
}

func TestEvaluateValuesAreEachRecords(t *testing.T) {
	t.Parallel()
	m := Mapping{UID: "id", Activate: "on", Extra: map[string]string{"zone": "z", "a": "x"}}
	res := Evaluate(m, []RawRow{{"id": v("a"), "on": v("1"), "z": v("eu")}, {"id": v("b"), "on": v("yes"), "x": v("1")}})
	require.Equal(t, map[string]string{"uid": "a", "activate": "1", "zone": "eu", "a": ""}, res.Active[0].Values.Map())
	require.Equal(t, map[string]string{"uid": "b", "activate": "yes", "zone": "", "a": "1"}, res.Active[1].Values.Map())
}

func TestValues(t *testing.T) {
	t.Parallel()
	vs := ValuesOf(map[string]string{"uid": "u", "b": "2", "a": "1", "hostOrUrl": ""})
	require.Equal(t, 4, vs.Len())
	for name, want := range map[string]string{"uid": "u", "a": "1", "b": "2", "hostOrUrl": ""} {
		got, ok := vs.Get(name)
		require.True(t, ok, name)
		require.Equal(t, want, got, name)
	}
	_, ok := vs.Get("host")
	require.False(t, ok)
	var names []string
	for k := range vs.All() {
		names = append(names, k)
	}
	require.Equal(t, []string{"a", "b", "hostOrUrl", "uid"}, names, "byte order of the names")
	var zero Values
	_, ok = zero.Get("uid")
	require.False(t, ok)
	require.Zero(t, zero.Len())
	require.Empty(t, zero.Map())
}

// requireCounted checks that every row is counted exactly once.
func requireCounted(t testing.TB, r Result) {
	t.Helper()
	require.Equal(t, r.Total, len(r.Active)+r.Inactive+r.Skipped+r.Duplicates, "%+v", r)
	require.LessOrEqual(t, len(r.SkippedExamples), MaxExamples)
	require.LessOrEqual(t, len(r.DuplicateUIDs), MaxExamples)
	for i := 1; i < len(r.Active); i++ {
		require.Less(t, r.Active[i-1].UID, r.Active[i].UID, "sorted and unique")
	}
	for _, rec := range r.Active {
		require.Equal(t, rec.UID, rec.Values.Map()["uid"])
		require.NotContains(t, rec.Values.Map(), "host")
	}
}

// An Evaluator keeps nothing of the row maps it is given, so a streaming
// source may reuse one map for every row.
func TestEvaluatorWithAReusedRow(t *testing.T) {
	t.Parallel()
	m := Mapping{UID: "id", HostOrURL: "url", Activate: "on", Extra: map[string]string{"plan": "plan"}}
	rows := []RawRow{
		{"id": v("b"), "url": v("b.example"), "on": v("1"), "plan": v("gold")},
		{"id": null, "url": v("x.example"), "on": v("1"), "plan": v("x")},
		{"id": v("a"), "url": v("a.example"), "on": v("yes"), "plan": null},
		{"id": v("c"), "url": v("c.example"), "on": v("0"), "plan": v("tin")},
		{"id": v("a"), "url": v("a2.example"), "on": v("1"), "plan": v("dup")},
	}
	want := Evaluate(m, rows)
	e := NewEvaluator(m, 0)
	row := RawRow{}
	for _, r := range rows {
		clear(row)
		for k, c := range r {
			row[k] = c
		}
		e.Add(row)
	}
	row["id"], row["plan"] = v("overwritten"), v("overwritten")
	got := e.Result()
	require.Equal(t, want, got)
	require.Equal(t, 5, got.Total)
	require.Len(t, got.Active, 2)
	requireCounted(t, got)
}
