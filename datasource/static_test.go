package datasource

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStaticCellConversion(t *testing.T) {
	t.Parallel()
	type named string
	x := 7
	rows := []map[string]any{{
		"str":     "acme",
		"empty":   "",
		"t":       true,
		"f":       false,
		"int":     float64(1),
		"neg":     float64(-42),
		"big":     float64(1e21),
		"half":    0.5,
		"tiny":    1e-7,
		"num":     json.Number("12345678901234567890"),
		"numf":    json.Number("1.50"),
		"nume":    json.Number("1e3"),
		"goint":   7,
		"goint64": int64(-9),
		"uint":    uint64(math.MaxUint64),
		"f32":     float32(0.1),
		"named":   named("n"),
		"ptr":     &x,
		"nilptr":  (*int)(nil),
		"nil":     nil,
		"obj":     map[string]any{"z": 1.0, "a": "<b>&", "n": nil},
		"list":    []any{1.0, "two", true, nil, map[string]any{}},
		"strs":    []string{"a", "b"},
	}}
	src := NewStatic(rows)
	cols := []string{"big", "empty", "f", "f32", "goint", "goint64", "half", "int", "list", "missing", "named", "neg", "nil", "nilptr",
		"num", "nume", "numf", "obj", "ptr", "str", "strs", "t", "tiny", "uint"}
	got, err := src.Rows(context.Background(), cols)
	require.NoError(t, err)
	require.Len(t, got, 1)
	want := RawRow{
		"str": v("acme"), "empty": v(""), "t": v("true"), "f": v("false"),
		"int": v("1"), "neg": v("-42"), "big": v("1000000000000000000000"), "half": v("0.5"), "tiny": v("0.0000001"),
		"num": v("12345678901234567890"), "numf": v("1.5"), "nume": v("1000"),
		"goint": v("7"), "goint64": v("-9"), "uint": v("18446744073709551615"), "f32": v("0.1"),
		"named": v("n"), "ptr": v("7"), "nilptr": null, "nil": null, "missing": null,
		"obj":  v(`{"a":"<b>&","n":null,"z":1}`),
		"list": v(`[1,"two",true,null,{}]`),
		"strs": v(`["a","b"]`),
	}
	require.Equal(t, want, got[0])
}

func TestStaticRowsProjectsAndCopies(t *testing.T) {
	t.Parallel()
	src := NewStatic([]map[string]any{{"uid": "a", "on": true, "extra": "x"}, {"uid": "b"}})
	rows, err := src.Rows(context.Background(), []string{"on", "uid"})
	require.NoError(t, err)
	require.Equal(t, []RawRow{
		{"uid": v("a"), "on": v("true")},
		{"uid": v("b"), "on": null},
	}, rows)
	rows[0]["uid"] = v("mutated")
	again, err := src.Rows(context.Background(), []string{"uid"})
	require.NoError(t, err)
	require.Equal(t, v("a"), again[0]["uid"], "callers get copies")

	res := Evaluate(Mapping{UID: "uid", Activate: "on"}, rows)
	require.Len(t, res.Active, 1, "JSON true is truthy")
}

func TestStaticErrorsNameRowAndColumn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rows []map[string]any
		want string
	}{
		{[]map[string]any{{"uid": "a"}, {"uid": "b", "z": 1.0, "bad": math.NaN(), "worse": math.Inf(1)}}, `static row 1 column "bad": number NaN is not finite`},
		{[]map[string]any{{"uid": make(chan int)}}, `static row 0 column "uid": unsupported value of type chan int`},
		{[]map[string]any{{}, {}, {"obj": map[string]any{"x": math.Inf(-1)}}}, `static row 2 column "obj"`},
		{[]map[string]any{{"n": json.Number("1e999")}}, `static row 0 column "n"`},
	} {
		_, err := NewStatic(c.rows).Rows(context.Background(), []string{"uid"})
		require.ErrorContains(t, err, c.want)
	}
}

func TestStaticHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewStatic([]map[string]any{{"uid": "a"}}).Rows(ctx, []string{"uid"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestParseStaticRows(t *testing.T) {
	t.Parallel()
	yamlDoc := `
- uid: acme
  url: https://acme.example.com
  active: true
  seats: 12
  price: 9.50
  tags: [a, b]
- uid: "0123"        # quoted: stays text
  active: "1"
  note: null
- uid: globex
  active: yes        # YAML 1.1: boolean true
- uid: initech
  active: "on"       # quoted: the text "on", which is not truthy
- uid: umbrella
  active: on         # unquoted: YAML 1.1 boolean true
- uid: big
  active: 1
  id: 12345678901234567890
`
	jsonDoc := `[{"uid":"acme","url":"https://acme.example.com","active":true,"seats":12,"price":9.50,"tags":["a","b"]},
	{"uid":"0123","active":"1","note":null},{"uid":"globex","active":true},{"uid":"initech","active":"on"},
	{"uid":"umbrella","active":true},{"uid":"big","active":1,"id":12345678901234567890}]`
	for name, doc := range map[string]string{"yaml": yamlDoc, "json": jsonDoc} {
		t.Run(name, func(t *testing.T) {
			parsed, err := ParseStaticRows([]byte(doc))
			require.NoError(t, err)
			require.Len(t, parsed, 6)
			rows, err := NewStatic(parsed).Rows(context.Background(), []string{"active", "id", "note", "price", "seats", "tags", "uid", "url"})
			require.NoError(t, err)
			require.Equal(t, RawRow{
				"uid": v("acme"), "url": v("https://acme.example.com"), "active": v("true"), "seats": v("12"),
				"price": v("9.5"), "tags": v(`["a","b"]`), "note": null, "id": null,
			}, rows[0])
			require.Equal(t, v("0123"), rows[1]["uid"])
			require.Equal(t, null, rows[1]["note"])
			require.Equal(t, v("12345678901234567890"), rows[5]["id"], "large integers keep every digit")
			res := Evaluate(Mapping{UID: "uid", Activate: "active"}, rows)
			var uids []string
			for _, r := range res.Active {
				uids = append(uids, r.UID)
			}
			require.Equal(t, []string{"0123", "acme", "big", "globex", "umbrella"}, uids)
			require.Equal(t, 1, res.Inactive)
		})
	}
}

func TestParseStaticRowsErrors(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		"":                       "empty document",
		"  \n# only a comment\n": "want a list of objects, got null",
		"null":                   "want a list of objects, got null",
		"{uid: a}":               "want a list of objects, got an object",
		"uid: a":                 "want a list of objects, got an object",
		`"text"`:                 "want a list of objects, got a string",
		"- uid: a\n- 3\n":        "row 1: want an object, got a number",
		"- [a, b]":               "row 0: want an object, got a list",
		"- uid: a\n  uid: b\n":   "static rows",  // duplicate key
		"- {uid: a":              "static rows:", // syntax
	} {
		_, err := ParseStaticRows([]byte(doc))
		require.ErrorContains(t, err, want, "%q", doc)
	}
	rows, err := ParseStaticRows([]byte("[]"))
	require.NoError(t, err)
	require.Empty(t, rows)
}

// A ConfigMap key holding more than one list used to be read as its first
// list only: a 200 with "1 rows read" and the Tenants of the other rows
// deleted (issue 12). Every such text is an error now.
func TestParseStaticRowsRejectsLeftovers(t *testing.T) {
	t.Parallel()
	for doc, want := range map[string]string{
		"- uid: a\n---\n- uid: b\n":                    "more than one YAML document",
		"- uid: a\n---\n":                              "more than one YAML document",
		"[{\"uid\":\"a\"}]\n---\n[{\"uid\":\"b\"}]":    "more than one YAML document",
		`[{"uid":"a"}] [{"uid":"b"}]`:                  "unexpected text after the list of rows",
		"[{\"uid\":\"a\"}]\n[{\"uid\":\"b\"}]":         "unexpected text after the list of rows",
		`[{"uid":"a"}] garbage`:                        "unexpected text after the list of rows",
		`[{"uid":"a"}]}`:                               "unexpected text after the list of rows",
		"- uid: a\n...\n- uid: b\n":                    "unexpected text after the list of rows",
		"[{\"uid\":\"a\"},{\"uid\":\"b\"}]\n{\"x\":1}": "unexpected text after the list of rows",
	} {
		rows, err := ParseStaticRows([]byte(doc))
		require.ErrorContains(t, err, want, "%q", doc)
		require.ErrorContains(t, err, "static rows: ", "%q", doc)
		require.Nil(t, rows, "%q: no prefix of the rows", doc)
	}
	// What stays valid: a leading document marker, a closing "..." with
	// nothing after it, comments and blank lines after the list.
	for _, doc := range []string{"---\n- uid: a\n", "- uid: a\n...\n", "- uid: a\n# end\n\n", "[{\"uid\":\"a\"}]\n\n"} {
		rows, err := ParseStaticRows([]byte(doc))
		require.NoError(t, err, "%q", doc)
		require.Len(t, rows, 1, "%q", doc)
	}
}
