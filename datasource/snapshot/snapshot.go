package snapshot

import (
	"context"
	"sync"
	"time"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// Outcome is how a Get was answered, for metrics.
type Outcome string

const (
	Hit    Outcome = "hit"    // a snapshot young enough was held
	Read   Outcome = "read"   // this call read the source
	Shared Outcome = "shared" // another call's read in flight was waited for
)

// Cache holds the rows last read for each key (a source and the columns
// read from it). The zero value is not usable; use New.
type Cache struct {
	maxRows  int
	maxBytes int64
	now      func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
	rows    int   // rows held by completed entries
	bytes   int64 // their estimated memory (Size)
	tick    uint64
}

type entry struct {
	memo  *Memo
	done  chan struct{} // closed when the read finished
	res   datasource.Result
	err   error
	at    time.Time // when the read started: the rows are at least this fresh
	used  uint64    // last use, for eviction
	rows  int
	bytes int64
}

// New returns a cache holding at most maxRows rows (counted as the rows a
// read returned, active or not) and maxBytes of estimated memory (Size)
// over all keys; a bound ≤ 0 disables the cache: every Get reads.
func New(maxRows int, maxBytes int64) *Cache {
	return &Cache{maxRows: maxRows, maxBytes: maxBytes, now: time.Now, entries: map[string]*entry{}}
}

// Size estimates the memory a Result holds: per active row its Record
// (48 bytes), and per value its string header in the row's values and its
// text (the values are substrings of one text per row, so counted once),
// rounded up for the allocator: 64 + Σ (len(value) + 16). For hack/regscale's
// five short columns that is ≈ 195 bytes, against the 192 measured by
// BenchmarkSnapshotRowBytes (datasource/mysql). Inactive and skipped rows
// are not kept by datasource.Evaluate.
func Size(res datasource.Result) int64 {
	n := int64(0)
	for _, r := range res.Active {
		n += 64
		for _, v := range r.Values.All() {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// Memo holds values derived from one snapshot's rows (a shard layout's
// partition of them), each computed once by the first caller that needs it
// and dropped with the snapshot. A nil Memo computes every time.
type Memo struct {
	mu sync.Mutex
	m  map[string]*memoValue
}

type memoValue struct {
	once sync.Once
	v    any
}

// Do returns the value of key, computing it with f the first time.
func (m *Memo) Do(key string, f func() any) any {
	if m == nil {
		return f()
	}
	m.mu.Lock()
	v := m.m[key]
	if v == nil {
		v = &memoValue{}
		m.m[key] = v
	}
	m.mu.Unlock()
	v.once.Do(func() { v.v = f() })
	return v.v
}

// Get returns the rows of key read at most maxAge ago, calling read when it
// holds none: concurrent calls for one key share one read (and its error).
// It also returns how old the rows are (since their read started) and the
// snapshot's Memo (nil when it is not held). The Result is shared by every
// caller and must not be modified.
func (c *Cache) Get(ctx context.Context, key string, maxAge time.Duration, read func(context.Context) (datasource.Result, error)) (datasource.Result, time.Duration, Outcome, *Memo, error) {
	if c.maxRows <= 0 || c.maxBytes <= 0 {
		res, err := read(ctx)
		return res, 0, Read, nil, err
	}
	c.mu.Lock()
	c.tick++
	if e := c.entries[key]; e != nil {
		select {
		case <-e.done:
			if age := c.now().Sub(e.at); age <= maxAge {
				e.used = c.tick
				c.mu.Unlock()
				return e.res, age, Hit, e.memo, nil
			}
		default:
			// A read in flight started after any snapshot this caller
			// could have been given: wait for it.
			c.mu.Unlock()
			select {
			case <-e.done:
				return e.res, c.age(e), Shared, e.memo, e.err
			case <-ctx.Done():
				return datasource.Result{}, 0, Shared, nil, ctx.Err()
			}
		}
	}
	e := &entry{memo: &Memo{m: map[string]*memoValue{}}, done: make(chan struct{}), at: c.now(), used: c.tick}
	c.replace(key, e)
	c.mu.Unlock()

	res, err := read(ctx)

	c.mu.Lock()
	e.res, e.err = res, err
	if c.entries[key] == e {
		if err != nil {
			delete(c.entries, key)
		} else {
			e.rows, e.bytes = max(res.Total, len(res.Active)), Size(res)
			c.rows += e.rows
			c.bytes += e.bytes
			c.evict(key)
		}
	}
	close(e.done)
	c.mu.Unlock()
	return res, c.age(e), Read, e.memo, err
}

func (c *Cache) age(e *entry) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Sub(e.at)
}

// SetClock replaces the clock (tests of the callers' freshness rules).
func (c *Cache) SetClock(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// replace puts e at key, dropping what was there. Callers hold mu.
func (c *Cache) replace(key string, e *entry) {
	if old := c.entries[key]; old != nil {
		c.rows -= old.rows
		c.bytes -= old.bytes
	}
	c.entries[key] = e
}

// evict drops the least recently used completed snapshots until the rows
// held fit; the one just read (keep) goes last, so a single source larger
// than the bound is read, used by its callers, and not held. Callers hold
// mu.
func (c *Cache) evict(keep string) {
	for c.rows > c.maxRows || c.bytes > c.maxBytes {
		victim, oldest := "", uint64(0)
		for k, e := range c.entries {
			if k == keep || e.rows == 0 && e.bytes == 0 {
				continue
			}
			if victim == "" || e.used < oldest {
				victim, oldest = k, e.used
			}
		}
		if victim == "" {
			victim = keep
		}
		c.rows -= c.entries[victim].rows
		c.bytes -= c.entries[victim].bytes
		delete(c.entries, victim)
		if victim == keep {
			return
		}
	}
}

// Rows is the number of rows held, for a gauge.
func (c *Cache) Rows() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows
}

// Bytes is the estimated memory held, for a gauge.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
