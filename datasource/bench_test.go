package datasource

import (
	"context"
	"fmt"
	"strconv"
	"testing"
)

// benchRows builds n rows like a real tenant table: unique uids in random
// order, a third inactive, a few duplicates and NULLs.
func benchRows(n int) []RawRow {
	rows := make([]RawRow, n)
	for i := range rows {
		id := (i * 7919) % n // a permutation of 0..n-1 (7919 is prime)
		active := "1"
		if i%3 == 0 {
			active = "0"
		}
		plan := Value{S: "p" + strconv.Itoa(i%5), Valid: true}
		if i%50 == 0 {
			plan = Value{}
		}
		rows[i] = RawRow{
			"uid":    {S: fmt.Sprintf("tenant-%06d", id), Valid: true},
			"url":    {S: fmt.Sprintf("https://t%d.example.com", id), Valid: true},
			"active": {S: active, Valid: true},
			"plan":   plan,
		}
	}
	return rows
}

func BenchmarkEvaluate100k(b *testing.B) {
	rows := benchRows(100_000)
	m := Mapping{UID: "uid", HostOrURL: "url", Activate: "active", Extra: map[string]string{"plan": "plan"}}
	b.ReportAllocs()
	var res Result
	for b.Loop() {
		res = Evaluate(m, rows)
	}
	b.ReportMetric(float64(len(res.Active)), "active")
}

func BenchmarkStaticRows100k(b *testing.B) {
	in := make([]map[string]any, 100_000)
	for i := range in {
		in[i] = map[string]any{"uid": fmt.Sprintf("tenant-%06d", i), "active": i%3 != 0, "plan": float64(i % 5)}
	}
	src := NewStatic(in)
	cols := []string{"active", "plan", "uid"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Rows(context.Background(), cols); err != nil {
			b.Fatal(err)
		}
	}
}
