package mysql

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// mysqlSource reads one table through a shared pool of Pools.
type mysqlSource struct {
	pools         *Pools
	cfg           Config // validated, QueryTimeout defaulted
	key, identity string
	target        string
	lastRows      atomic.Int64 // size of the previous result, to pre-size the next
}

// Rows runs SELECT `c1`, `c2`, ... FROM `table` and returns every row, or an
// *Error. The caller's deadline and QueryTimeout, whichever is sooner, bound
// the whole call including reading the rows; a query that fails or is cut
// off part-way never returns the rows read so far.
func (s *mysqlSource) Rows(ctx context.Context, columns []string) ([]datasource.RawRow, error) {
	start := time.Now()
	hint := s.lastRows.Load()
	out := make([]datasource.RawRow, 0, hint+hint/8+16)
	_, err := s.scan(ctx, columns, func(row datasource.RawRow) { out = append(out, maps.Clone(row)) })
	if err != nil {
		out = nil
	}
	if obs := s.pools.opts.Observer; obs != nil {
		obs.QueryDone(time.Since(start), len(out), err)
	}
	return out, err
}

// EachRow is Rows one row at a time (datasource.RowStreamer): the same
// query, bounds and errors, but fn gets each row as it is read, in one map
// reused for every row, so the caller holds only what it keeps of them.
func (s *mysqlSource) EachRow(ctx context.Context, columns []string, fn func(datasource.RawRow)) (int, error) {
	start := time.Now()
	n, err := s.scan(ctx, columns, fn)
	if obs := s.pools.opts.Observer; obs != nil {
		if err != nil {
			n = 0
		}
		obs.QueryDone(time.Since(start), n, err)
	}
	return n, err
}

// scan runs the query and gives fn every row, in a map it reuses.
func (s *mysqlSource) scan(ctx context.Context, columns []string, fn func(datasource.RawRow)) (int, error) {
	query, err := selectStatement(s.cfg.Table, columns)
	if err != nil {
		return 0, s.fail(KindConfig, err)
	}

	qt := s.cfg.QueryTimeout
	qctx, cancel := context.WithTimeout(ctx, qt)
	defer cancel()
	failed := func(connecting bool, err error) error {
		kind := classify(ctx, qctx, connecting, err)
		if kind == KindTimeout {
			if !errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
			}
			err = fmt.Errorf("no complete result before the deadline (query timeout %v): %w", qt, err)
		}
		return s.fail(kind, err)
	}

	pl, err := s.pools.acquire(s.cfg, s.key, s.identity, true)
	if err != nil {
		return 0, err
	}
	defer s.pools.release(pl)

	conn, err := pl.db.Conn(qctx)
	if err != nil {
		return 0, failed(true, err)
	}
	defer conn.Close()

	rs, err := conn.QueryContext(qctx, query)
	if err != nil {
		return 0, failed(false, err)
	}
	defer rs.Close()

	n := len(columns)
	var (
		buf   = make([]byte, 0, 256)
		cells = make([]cellScanner, n)
		dest  = make([]any, n)
	)
	v1 := s.cfg.v1Values()
	for i := range cells {
		cells[i].buf = &buf
		cells[i].v1 = v1
		dest[i] = &cells[i]
	}
	row := make(datasource.RawRow, n)
	count := 0
	// The bound counts what Rows holds of each row (resultBytes), also
	// for EachRow, whose caller keeps less: one limit, on the safe side.
	limit, used := s.pools.opts.MaxResultBytes, int64(0)
	for rs.Next() {
		buf = buf[:0]
		if err := rs.Scan(dest...); err != nil {
			return count, failed(false, err)
		}
		if used += resultBytes(len(buf), n); limit > 0 && used > limit {
			// Cancel before the deferred Close: closing an unfinished result
			// set would drain the rest of the table from the socket; the
			// canceled query's connection is discarded instead.
			cancel()
			return count, s.fail(KindTooLarge, fmt.Errorf("the mapped columns of the table hold more than the %s of rows the service may hold (%d rows read when the limit was reached; --max-source-bytes): nothing was changed; shrink the table or view, or raise the limit with the memory of the service", sizeText(limit), count))
		}
		text := string(buf) // one allocation per row for all its cells
		for i, c := range cells {
			if c.valid {
				row[columns[i]] = datasource.Value{S: text[c.start:c.end], Valid: true}
			} else {
				row[columns[i]] = datasource.Value{}
			}
		}
		fn(row)
		count++
	}
	if err := rs.Err(); err != nil {
		return count, failed(false, err)
	}
	if err := rs.Close(); err != nil {
		return count, failed(false, err)
	}
	// database/sql can end an iteration cut short by the context without
	// reporting it in Err on every path; never hand out a possibly partial
	// result.
	if err := qctx.Err(); err != nil {
		return count, failed(false, err)
	}
	s.lastRows.Store(int64(count))
	return count, nil
}

// sizeText writes n bytes as KiB or MiB when it is a whole number of them.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (s *mysqlSource) fail(kind ErrorKind, err error) error {
	return newError(kind, s.target, s.cfg.Password, err)
}

// cellScanner receives one column of the current row and appends its text
// to the row buffer shared by all cells of the row, so reading a row costs
// one string allocation however many columns it has.
//
// With v1 set it produces exactly what database/sql's conversion into a
// string (sql.NullString, as Tenant Operator v1.0 scanned) produces from
// the same driver value: time.Time in RFC 3339 with nanoseconds, floats in
// the shortest 'g' form, booleans as true/false (TestMySQLValuesMatchV1
// compares the two for every column type). Otherwise it keeps numbers in
// decimal notation and times as the server's text (ParseTime is off then).
type cellScanner struct {
	buf        *[]byte
	start, end int
	valid      bool
	v1         bool
}

func (c *cellScanner) Scan(src any) error {
	b := *c.buf
	c.start = len(b)
	c.valid = true
	switch v := src.(type) {
	case nil:
		c.valid = false
	case []byte:
		b = append(b, v...)
	case string:
		b = append(b, v...)
	case int64:
		b = strconv.AppendInt(b, v, 10)
	case uint64:
		b = strconv.AppendUint(b, v, 10)
	case float64:
		if c.v1 {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		} else {
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
		}
	case float32:
		if c.v1 {
			b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
		} else {
			b = strconv.AppendFloat(b, float64(v), 'f', -1, 32)
		}
	case bool:
		switch {
		case c.v1:
			b = strconv.AppendBool(b, v)
		case v:
			b = append(b, '1')
		default:
			b = append(b, '0')
		}
	case time.Time:
		if c.v1 {
			b = v.AppendFormat(b, time.RFC3339Nano)
		} else {
			b = v.AppendFormat(b, "2006-01-02 15:04:05.999999999")
		}
	default:
		return fmt.Errorf("unsupported column value of type %T", src)
	}
	c.end = len(b)
	*c.buf = b
	return nil
}
