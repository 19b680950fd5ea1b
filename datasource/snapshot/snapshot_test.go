package snapshot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func result(n int) datasource.Result {
	res := datasource.Result{Total: n}
	for i := range n {
		res.Active = append(res.Active, datasource.Record{UID: string(rune('a' + i%26))})
	}
	return res
}

func newCache(maxRows int) (*Cache, *clock) {
	c := New(maxRows, 1<<30)
	clk := &clock{t: time.Unix(1000, 0)}
	c.SetClock(clk.now)
	return c, clk
}

func TestGetHoldsWhileYoungEnough(t *testing.T) {
	c, clk := newCache(100)
	reads := 0
	read := func(context.Context) (datasource.Result, error) { reads++; return result(3), nil }
	ctx := context.Background()

	res, age, how, _, err := c.Get(ctx, "k", time.Minute, read)
	require.NoError(t, err)
	require.Equal(t, Read, how)
	require.Len(t, res.Active, 3)
	require.Zero(t, age)

	clk.advance(59 * time.Second)
	_, age, how, _, err = c.Get(ctx, "k", time.Minute, read)
	require.NoError(t, err)
	require.Equal(t, Hit, how)
	require.Equal(t, 59*time.Second, age, "the age of the read, not of the call")
	require.Equal(t, 1, reads)

	_, _, how, _, _ = c.Get(ctx, "k", 30*time.Second, read)
	require.Equal(t, Read, how, "a caller asking for fresher rows reads")
	require.Equal(t, 2, reads)
	_, _, how, _, _ = c.Get(ctx, "other", time.Minute, read)
	require.Equal(t, Read, how, "keys do not share")
	require.Equal(t, 6, c.Rows(), "both held")
}

func TestFailedReadsAreNotHeld(t *testing.T) {
	c, _ := newCache(100)
	fail := true
	read := func(context.Context) (datasource.Result, error) {
		if fail {
			return datasource.Result{}, errors.New("connection refused")
		}
		return result(2), nil
	}
	_, _, _, _, err := c.Get(context.Background(), "k", time.Minute, read)
	require.Error(t, err)
	require.Zero(t, c.Rows())
	fail = false
	res, _, how, _, err := c.Get(context.Background(), "k", time.Minute, read)
	require.NoError(t, err)
	require.Equal(t, Read, how, "the failure was not held")
	require.Len(t, res.Active, 2)
}

// Concurrent calls for one key make one read, and all get its rows.
func TestConcurrentCallsShareOneRead(t *testing.T) {
	c := New(1000, 1<<30)
	var reads atomic.Int32
	release := make(chan struct{})
	read := func(context.Context) (datasource.Result, error) {
		reads.Add(1)
		<-release
		return result(5), nil
	}
	const callers = 16
	var wg sync.WaitGroup
	outcomes := make(chan Outcome, callers)
	started := make(chan struct{}, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			res, _, how, _, err := c.Get(context.Background(), "k", time.Minute, read)
			if err == nil && len(res.Active) == 5 {
				outcomes <- how
			}
		}()
	}
	for range callers {
		<-started
	}
	// Let every caller reach the cache before the read finishes.
	require.Eventually(t, func() bool { return reads.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(outcomes)
	n := 0
	for range outcomes {
		n++
	}
	require.Equal(t, callers, n, "every caller got the rows")
	require.Equal(t, int32(1), reads.Load(), "one read")
}

func TestAWaiterGivesUpAtItsDeadline(t *testing.T) {
	c := New(1000, 1<<30)
	release := make(chan struct{})
	defer close(release)
	go func() {
		_, _, _, _, _ = c.Get(context.Background(), "k", time.Minute, func(context.Context) (datasource.Result, error) { <-release; return result(1), nil })
	}()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.entries["k"] != nil }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, _, how, _, err := c.Get(ctx, "k", time.Minute, func(context.Context) (datasource.Result, error) { panic("not called") })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, Shared, how)
}

// The rows held never exceed the bound: the least recently used go first,
// and a source larger than the bound is read but not held.
func TestBoundedByRows(t *testing.T) {
	c, _ := newCache(10)
	get := func(key string, n int) Outcome {
		_, _, how, _, err := c.Get(context.Background(), key, time.Hour, func(context.Context) (datasource.Result, error) { return result(n), nil })
		require.NoError(t, err)
		return how
	}
	get("a", 4)
	get("b", 4)
	require.Equal(t, Hit, get("a", 4)) // a is now the most recent
	get("c", 4)                        // 12 > 10: b goes
	require.LessOrEqual(t, c.Rows(), 10)
	require.Equal(t, Hit, get("a", 4))
	require.Equal(t, Hit, get("c", 4))
	require.Equal(t, Read, get("b", 4))
	require.LessOrEqual(t, c.Rows(), 10)

	require.Equal(t, Read, get("huge", 11))
	require.LessOrEqual(t, c.Rows(), 10)
	require.Equal(t, Read, get("huge", 11), "too large to hold")

	off, _ := newCache(0)
	reads := 0
	for range 3 {
		_, _, how, _, _ := off.Get(context.Background(), "k", time.Hour, func(context.Context) (datasource.Result, error) { reads++; return result(1), nil })
		require.Equal(t, Read, how)
	}
	require.Equal(t, 3, reads, "a zero bound disables the cache")
}

// The estimated memory is bounded too: a few rows with large values take
// as much room as many small ones.
func TestBoundedByBytes(t *testing.T) {
	big := func(n, size int) datasource.Result {
		res := datasource.Result{Total: n}
		for i := range n {
			res.Active = append(res.Active, datasource.Record{UID: string(rune('a' + i)), Values: datasource.ValuesOf(map[string]string{"v": string(make([]byte, size))})})
		}
		return res
	}
	require.Equal(t, int64(2*(64+1000+16)), Size(big(2, 1000)))
	c := New(1000, 3000)
	get := func(key string, res datasource.Result) Outcome {
		_, _, how, _, err := c.Get(context.Background(), key, time.Hour, func(context.Context) (datasource.Result, error) { return res, nil })
		require.NoError(t, err)
		return how
	}
	get("a", big(2, 1000)) // 2,160 bytes
	require.Equal(t, Hit, get("a", big(2, 1000)))
	get("b", big(1, 1000)) // 3,240 > 3,000: a goes
	require.LessOrEqual(t, c.Bytes(), int64(3000))
	require.Equal(t, Read, get("a", big(2, 1000)))
	require.LessOrEqual(t, c.Bytes(), int64(3000))
}

// A snapshot's Memo computes a derived value once, for every caller of that
// snapshot at once, and a new read starts a new Memo; a nil Memo (no cache)
// computes every time.
func TestMemoLivesWithItsSnapshot(t *testing.T) {
	c, clk := newCache(100)
	read := func(context.Context) (datasource.Result, error) { return result(3), nil }
	var computed atomic.Int32
	derive := func() any { computed.Add(1); return "partition" }

	_, _, _, memo, err := c.Get(context.Background(), "k", time.Minute, read)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _, m, _ := c.Get(context.Background(), "k", time.Minute, read)
			require.Equal(t, "partition", m.Do("layout", derive))
		}()
	}
	wg.Wait()
	require.Equal(t, "partition", memo.Do("layout", derive))
	require.Equal(t, int32(1), computed.Load(), "once per snapshot")
	memo.Do("other layout", derive)
	require.Equal(t, int32(2), computed.Load(), "once per key")

	clk.advance(2 * time.Minute)
	_, _, how, fresh, err := c.Get(context.Background(), "k", time.Minute, read)
	require.NoError(t, err)
	require.Equal(t, Read, how)
	fresh.Do("layout", derive)
	require.Equal(t, int32(3), computed.Load(), "a new read, a new memo")

	var none *Memo
	none.Do("layout", derive)
	none.Do("layout", derive)
	require.Equal(t, int32(5), computed.Load())
}
