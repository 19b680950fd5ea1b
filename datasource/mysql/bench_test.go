package mysql

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

func BenchmarkMySQLRows10k(b *testing.B) {
	srv := mysqlServer(b)
	tbl := srv.table(b, "bench", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NOT NULL, url VARCHAR(255) NULL, active TINYINT(1) NOT NULL, plan VARCHAR(16) NULL")
	data := make([][]any, 10_000)
	for i := range data {
		data[i] = []any{fmt.Sprintf("tenant-%05d", i), fmt.Sprintf("https://t%d.example.com", i), i%3 != 0, "p" + strconv.Itoa(i%5)}
	}
	srv.insert(b, tbl, []string{"uid", "url", "active", "plan"}, data)
	pools := newTestPools(b, PoolOptions{})
	src, err := pools.Source(srv.config(b, tbl))
	if err != nil {
		b.Fatal(err)
	}
	m := datasource.Mapping{UID: "uid", HostOrURL: "url", Activate: "active", Extra: map[string]string{"plan": "plan"}}
	cols := m.Columns()
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rows, err := src.Rows(ctx, cols)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if len(rows) != len(data) {
			b.Fatalf("%d rows", len(rows))
		}
	}
}

// BenchmarkSnapshotRowBytes measures what a sharded registry's row snapshot
// costs (hooks.Config.SnapshotRows, datasource/snapshot): the live heap of
// a 100,000-row datasource.Result read from MySQL as the service reads it
// (EachRow into an Evaluator), per row (heap-B/row), and the bytes
// allocated on the way there, per row (alloc-B/row: the driver's buffers,
// the sort, garbage once the Result is built). The table is hack/regscale's: five mapped columns, the
// values of the basic example.
func BenchmarkSnapshotRowBytes(b *testing.B) {
	const n = 100_000
	srv := mysqlServer(b)
	tbl := srv.table(b, "snaprow", "customer_id VARCHAR(63) NOT NULL PRIMARY KEY, domain VARCHAR(255) NULL, is_active TINYINT(1) NOT NULL, plan VARCHAR(32) NULL, replicas INT NOT NULL")
	data := make([][]any, n)
	for i := range data {
		data[i] = []any{fmt.Sprintf("cust-%06d", i+1), fmt.Sprintf("https://shop-%06d.tenants.example", i+1), 1, []string{"free", "basic", "pro"}[(i+1)%3], 1 + (i+1)%2}
	}
	srv.insert(b, tbl, []string{"customer_id", "domain", "is_active", "plan", "replicas"}, data)
	data = nil
	pools := newTestPools(b, PoolOptions{})
	src, err := pools.Source(srv.config(b, tbl))
	if err != nil {
		b.Fatal(err)
	}
	m := datasource.Mapping{UID: "customer_id", HostOrURL: "domain", Activate: "is_active", Extra: map[string]string{"planId": "plan", "replicas": "replicas"}}
	cols := m.Columns()
	var heap, alloc float64
	iters := 0
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		ev := datasource.NewEvaluator(m, 0)
		_, err := src.(datasource.RowStreamer).EachRow(ctx, cols, ev.Add)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		res := ev.Result()
		ev = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(res.Active) != n {
			b.Fatalf("%d active rows, want %d", len(res.Active), n)
		}
		heap += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		alloc += float64(after.TotalAlloc-before.TotalAlloc) / n
		iters++
		runtime.KeepAlive(res)
	}
	b.ReportMetric(heap/float64(iters), "heap-B/row")
	b.ReportMetric(alloc/float64(iters), "alloc-B/row")
}
