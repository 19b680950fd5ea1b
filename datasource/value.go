package datasource

import "context"

// Value is one cell; Valid=false means SQL NULL (or a missing key in an
// inline row).
type Value struct {
	S     string
	Valid bool
}

// RawRow maps column name -> cell.
type RawRow map[string]Value

// Source gives the rows. Implementations must honour ctx deadlines.
//
// Rows returns one RawRow per row of the source, in the source's order, with
// exactly the requested columns as keys (a column a row does not have is a
// NULL cell). It either returns every row or an error, never a partial set.
type Source interface {
	Rows(ctx context.Context, columns []string) ([]RawRow, error)
}

// RowStreamer is a Source that can also hand its rows over one at a time
// (the MySQL source), so that a large read never holds every raw row: a
// sharded registry's rows are read into an Evaluator, which keeps only the
// active rows' values. fn gets the rows in source order; row is reused
// between calls and must not be kept (its strings may be). On an error the
// rows already given must be discarded: it returns how many rows it gave.
type RowStreamer interface {
	Source
	EachRow(ctx context.Context, columns []string, fn func(row RawRow)) (int, error)
}
