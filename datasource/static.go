package datasource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"

	yaml2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// staticSource serves rows written inline in the registry
// (spec.source.static.rows) or read from a ConfigMap (ParseStaticRows).
// The cells are converted once, in NewStatic.
type staticSource struct {
	rows []map[string]Value
	err  error
}

// NewStatic returns a Source over rows, as decoded from JSON (or from
// ParseStaticRows). Cells are converted to text:
//
//	string               as is
//	bool                 "true" / "false" (so YAML true counts as truthy)
//	number               integers without a decimal point ("1"), other
//	                     numbers as strconv 'f' with the shortest precision ("0.5")
//	nil / missing key    NULL
//	object / list        compact JSON text, keys sorted
//
// A cell that cannot be converted (NaN, an unsupported Go type) makes every
// call to Rows fail with an error naming the row index and column.
// NewStatic does not keep a reference to rows.
func NewStatic(rows []map[string]any) Source {
	s := &staticSource{rows: make([]map[string]Value, len(rows))}
	for i, r := range rows {
		conv := make(map[string]Value, len(r))
		badCol, badErr := "", error(nil)
		for col, raw := range r {
			v, err := cellFromAny(raw)
			if err != nil {
				// Report the smallest failing column so the error is deterministic.
				if badErr == nil || col < badCol {
					badCol, badErr = col, err
				}
				continue
			}
			conv[col] = v
		}
		if badErr != nil {
			return &staticSource{err: fmt.Errorf("static row %d column %q: %w", i, badCol, badErr)}
		}
		s.rows[i] = conv
	}
	return s
}

// Rows returns a copy of the rows restricted to columns; a column a row does
// not have is NULL.
func (s *staticSource) Rows(ctx context.Context, columns []string) ([]RawRow, error) {
	if s.err != nil {
		return nil, s.err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("static rows: %w", err)
	}
	out := make([]RawRow, len(s.rows))
	for i, r := range s.rows {
		if i&4095 == 4095 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("static rows: %w", err)
			}
		}
		row := make(RawRow, len(columns))
		for _, c := range columns {
			row[c] = r[c] // missing key: zero Value, i.e. NULL
		}
		out[i] = row
	}
	return out, nil
}

// ParseStaticRows parses the ConfigMap form of static rows: a YAML or JSON
// list of objects. Numbers keep their literal text (large integers do not
// lose precision), duplicate keys are an error, and an empty document or
// null is an error (write [] for "no rows") so that an emptied ConfigMap key
// cannot silently mean "delete every tenant".
//
// YAML is read with Kubernetes' YAML 1.1 rules: unquoted yes/no/on/off/y/n
// become booleans (so `on` and `y` turn into "true") and 0123 is an octal
// number. Quote values that must stay text.
//
// The whole text must be that one list: a second YAML document (---), JSON
// followed by more text, or anything else after the list is an error, never
// ignored — the rows after it would otherwise be missing and their Tenants
// deleted.
func ParseStaticRows(data []byte) ([]map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("static rows: empty document (write [] for no rows)")
	}
	if err := singleDocument(data); err != nil {
		return nil, fmt.Errorf("static rows: %w", err)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, fmt.Errorf("static rows: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("static rows: %w", err)
	}
	list, ok := doc.([]any)
	if !ok {
		return nil, fmt.Errorf("static rows: want a list of objects, got %s", jsonKind(doc))
	}
	rows := make([]map[string]any, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("static rows: row %d: want an object, got %s", i, jsonKind(item))
		}
		rows[i] = obj
	}
	return rows, nil
}

// singleDocument checks that data is exactly one YAML document (JSON is
// YAML) with nothing after it. sigs.k8s.io/yaml reads only the first
// document and stops there, so this reads the text to its end with the same
// YAML parser it uses.
func singleDocument(data []byte) error {
	dec := yaml2.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		var doc any
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if n > 0 {
				return fmt.Errorf("unexpected text after the list of rows (one YAML or JSON list only; nothing may follow it): %w", err)
			}
			return err
		}
		if n > 0 {
			return errors.New("the text holds more than one YAML document (---); write all rows into one list")
		}
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// cellFromAny converts one decoded JSON/YAML value to a cell.
func cellFromAny(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return Value{}, nil
	case string:
		return Value{S: x, Valid: true}, nil
	case bool:
		return Value{S: strconv.FormatBool(x), Valid: true}, nil
	case float64:
		return floatCell(x, 64)
	case float32:
		return floatCell(float64(x), 32)
	case json.Number:
		return numberCell(x)
	case int:
		return Value{S: strconv.Itoa(x), Valid: true}, nil
	case int64:
		return Value{S: strconv.FormatInt(x, 10), Valid: true}, nil
	case int32:
		return Value{S: strconv.FormatInt(int64(x), 10), Valid: true}, nil
	case uint64:
		return Value{S: strconv.FormatUint(x, 10), Valid: true}, nil
	case map[string]any, []any:
		return jsonCell(x)
	}
	// Less common Go types, for callers that build rows by hand.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return Value{S: rv.String(), Valid: true}, nil
	case reflect.Bool:
		return Value{S: strconv.FormatBool(rv.Bool()), Valid: true}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Value{S: strconv.FormatInt(rv.Int(), 10), Valid: true}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return Value{S: strconv.FormatUint(rv.Uint(), 10), Valid: true}, nil
	case reflect.Float32, reflect.Float64:
		return floatCell(rv.Float(), rv.Type().Bits())
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		return jsonCell(v)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return Value{}, nil
		}
		return cellFromAny(rv.Elem().Interface())
	}
	return Value{}, fmt.Errorf("unsupported value of type %T", v)
}

func floatCell(f float64, bits int) (Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Value{}, fmt.Errorf("number %v is not finite", f)
	}
	return Value{S: strconv.FormatFloat(f, 'f', -1, bits), Valid: true}, nil
}

// numberCell keeps integer literals exactly as written and prints every
// other number like floatCell.
func numberCell(n json.Number) (Value, error) {
	s := string(n)
	if isIntegerLiteral(s) {
		return Value{S: s, Valid: true}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, fmt.Errorf("number %s: %w", s, err)
	}
	return floatCell(f, 64)
}

func isIntegerLiteral(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// jsonCell renders a nested value as compact JSON (map keys sorted, no HTML
// escaping).
func jsonCell(v any) (Value, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Value{}, err
	}
	return Value{S: string(bytes.TrimRight(buf.Bytes(), "\n")), Valid: true}, nil
}
