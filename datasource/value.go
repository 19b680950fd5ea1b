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
