// Package mysqltest gives tests outside package datasource a real MySQL
// server: MYSQL_TEST_DSN, by default the MariaDB at 127.0.0.1:3306 that this
// project's machines and CI run. Without a server the tests skip loudly —
// unless CI is set, where an unreachable server fails the run.
package mysqltest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultDSN is the server of this project's machines and CI.
const DefaultDSN = "root:@tcp(127.0.0.1:3306)/test"

var (
	once    sync.Once
	admin   *sql.DB
	config  *mysql.Config
	errOpen error
)

// Admin returns a shared administrative connection (it may create databases
// and users), skipping or failing tb when there is no server.
func Admin(tb testing.TB) (*sql.DB, *mysql.Config) {
	tb.Helper()
	once.Do(func() {
		dsn := os.Getenv("MYSQL_TEST_DSN")
		if dsn == "" {
			dsn = DefaultDSN
		}
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			errOpen = fmt.Errorf("MYSQL_TEST_DSN does not parse: %w", err)
			return
		}
		cfg.MultiStatements = true
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			errOpen = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close()
			errOpen = fmt.Errorf("no server at %s: %w", cfg.Addr, err)
			return
		}
		admin, config = db, cfg
	})
	if errOpen != nil {
		msg := fmt.Sprintf("SKIPPING MySQL tests: %v; set MYSQL_TEST_DSN or start MariaDB (bash hack/ci/mariadb.sh)", errOpen)
		if os.Getenv("CI") != "" {
			tb.Fatal("CI is set, so MySQL tests may not be skipped: " + msg)
		}
		tb.Skip("\n\n!!!!!!!! " + msg + " !!!!!!!!\n")
	}
	return admin, config
}

// Exec runs statements on the admin connection, failing tb on error.
func Exec(tb testing.TB, stmts ...string) {
	tb.Helper()
	db, _ := Admin(tb)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			tb.Fatalf("mysqltest: %s: %v", s, err)
		}
	}
}

// Redirect returns a dial function that sends every address to the test
// server, so a registry naming "mysql.acme.svc.cluster.local:3306" reaches
// it over a real TCP connection.
func Redirect(tb testing.TB) func(ctx context.Context, addr string) (net.Conn, error) {
	_, cfg := Admin(tb)
	target := cfg.Addr
	return func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", target)
	}
}

// Closed returns a dial function that always fails like an unreachable host.
func Closed() func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		// Port 1 on loopback: nothing listens, the kernel refuses at once.
		return d.DialContext(ctx, "tcp", "127.0.0.1:1")
	}
}
