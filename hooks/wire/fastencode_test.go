package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenant-hooks/tenant-hooks/internal/fixtures"
	"github.com/tenant-hooks/tenant-hooks/render/object"
)

// refEncode is what Encode wrote before fastencode.go.
func refEncode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// checkFastEncode: whenever the fast encoder takes a value, it writes
// exactly encoding/json's bytes; Encode always does.
func checkFastEncode(t testing.TB, v any) {
	want, wantErr := refEncode(v)
	fast, ok := appendJSON(nil, v)
	if ok {
		if wantErr != nil {
			t.Fatalf("fast encoder took a value encoding/json rejects (%v): %#v", wantErr, v)
		}
		if got := append(fast, '\n'); !bytes.Equal(got, want) {
			t.Fatalf("fast encoder wrote\n%s\nencoding/json wrote\n%s", got, want)
		}
	}
	var buf bytes.Buffer
	err := Encode(&buf, v)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("Encode error %v, encoding/json %v", err, wantErr)
	}
	if err == nil && !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Encode wrote\n%s\nencoding/json wrote\n%s", buf.Bytes(), want)
	}
}

func TestFastEncodeValues(t *testing.T) {
	strs := []string{"", "plain", "quote \" backslash \\ slash /", "ctl \x00\x01\x1f\x7f \b\f\n\r\t", "<html> & </html>",
		"bad \xff\xfe utf8 \xc3", "é € 😀", "sep \u2028 \u2029", "\ufffd"}
	var values []any
	for _, s := range strs {
		values = append(values, s, map[string]any{s: s}, []any{s}, map[string]string{s: s, "k": s}, []string{s})
	}
	values = append(values,
		nil, true, false, 0, -1, int64(math.MaxInt64), int32(-5),
		0.0, math.Copysign(0, -1), 1.5, 60.0, 1e21, 1e20, 1e-6, 1e-7, 123456789.125, -3.25e-9, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1),
		json.Number("12"), json.Number("-0.5e+10"), json.Number(""), json.Number("01"), json.Number("1."), json.Number("abc"),
		map[string]any(nil), []any(nil), map[string]any{}, []any{}, []object.Obj{}, []object.Obj(nil), []object.Obj{nil, {"a": 1}},
		map[string]any{"b": 1, "a": []any{map[string]any{"z": nil, "y": json.Number("3")}}, "A": "x", "é": 1, "a\x00": 2},
		CompositeResponse{}, CompositeResponse{Status: map[string]any{"x": 1}, Children: []object.Obj{}, ResyncAfterSeconds: 0.5, Finalized: true},
		&CompositeResponse{Children: []object.Obj{{"kind": "ConfigMap"}}, ResyncAfterSeconds: 301},
		CompositeResponse{ResyncAfterSeconds: math.NaN()},
		map[string]any{"unknown": struct{ A int }{1}}, uint(3), float32(1.5), []int{1},
	)
	for _, v := range values {
		checkFastEncode(t, v)
	}
}

func TestFastEncodeFixtures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtures.Dir(), "*.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		checkFastEncode(t, v)
		if _, ok := appendJSON(nil, v); !ok && !strings.Contains(f, "NaN") {
			t.Errorf("%s: fast path not taken", f)
		}
	}
}

// FuzzFastEncode encodes whatever JSON the fuzzer finds, both ways, and
// strings of arbitrary bytes.
func FuzzFastEncode(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x\u2028",{"b":null}],"c":1.5e300}`), "str \xff <>&")
	f.Fuzz(func(t *testing.T, body []byte, s string) {
		checkFastEncode(t, map[string]any{s: s, "l": []any{s, json.Number(s)}})
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			checkFastEncode(t, v)
		}
		var g any
		if json.Unmarshal(body, &g) == nil {
			checkFastEncode(t, g) // float64 numbers
		}
	})
}
