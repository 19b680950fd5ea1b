package mysql

import (
	"context"
	"fmt"
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
