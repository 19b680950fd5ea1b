package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// The MySQL tests run against a real server: MYSQL_TEST_DSN (a
// go-sql-driver DSN), by default the local MariaDB of the dev container and
// of CI. Without a server they are skipped loudly, unless CI is set, in which
// case they fail.
const defaultTestDSN = "root:@tcp(127.0.0.1:3306)/test"

type testServer struct {
	admin *sql.DB
	cfg   *gomysql.Config // parsed MYSQL_TEST_DSN
}

var (
	testServerOnce sync.Once
	testServerVal  *testServer
	testServerErr  error
	skipBanner     sync.Once // print the skip message once outside -v too
)

// mysqlServer returns the shared admin connection, skipping (or, in CI,
// failing) the test when there is no server.
func mysqlServer(tb testing.TB) *testServer {
	tb.Helper()
	testServerOnce.Do(func() {
		dsn := os.Getenv("MYSQL_TEST_DSN")
		if dsn == "" {
			dsn = defaultTestDSN
		}
		cfg, err := gomysql.ParseDSN(dsn)
		if err != nil {
			testServerErr = fmt.Errorf("MYSQL_TEST_DSN does not parse: %w", err)
			return
		}
		connector, err := gomysql.NewConnector(cfg)
		if err != nil {
			testServerErr = err
			return
		}
		db := sql.OpenDB(connector)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			_ = db.Close()
			testServerErr = fmt.Errorf("no server at %s/%s: %w", cfg.Addr, cfg.DBName, err)
			return
		}
		testServerVal = &testServer{admin: db, cfg: cfg}
	})
	if testServerErr != nil {
		msg := fmt.Sprintf("SKIPPING MySQL tests: %v; set MYSQL_TEST_DSN or start MariaDB "+
			"(start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)", testServerErr)
		if os.Getenv("CI") != "" {
			tb.Fatal("CI is set, so the MySQL tests may not be skipped: " + msg)
		}
		skipBanner.Do(func() { fmt.Fprintf(os.Stderr, "\n!!!!!!!! %s !!!!!!!!\n\n", msg) })
		tb.Skip("\n\n!!!!!!!! " + msg + " !!!!!!!!\n")
	}
	return testServerVal
}

// config returns a Config for the test server and table.
func (s *testServer) config(tb testing.TB, table string) Config {
	tb.Helper()
	host, portStr, err := net.SplitHostPort(s.cfg.Addr)
	require.NoError(tb, err)
	port, err := strconv.Atoi(portStr)
	require.NoError(tb, err)
	return Config{
		Host: host, Port: port, User: s.cfg.User, Password: s.cfg.Passwd,
		Database: s.cfg.DBName, Table: table, QueryTimeout: 10 * time.Second,
	}
}

func (s *testServer) exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.admin.ExecContext(ctx, query, args...)
	require.NoError(tb, err, "admin statement: %s", query)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uniqueName returns a fresh identifier such as th_nulls_1a2b3c4d5e6f.
func uniqueName(prefix string) string {
	return "th_" + prefix + "_" + randomHex(6)
}

// table creates a uniquely named utf8mb4 table with the given column
// definitions and drops it when the test ends.
func (s *testServer) table(tb testing.TB, prefix, columns string) string {
	tb.Helper()
	name := uniqueName(prefix)
	s.exec(tb, "CREATE TABLE `"+name+"` ("+columns+") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	tb.Cleanup(func() { s.drop("TABLE", name) })
	return name
}

// view creates a uniquely named view; selectSQL may use %[1]s for a table
// name passed as from.
func (s *testServer) view(tb testing.TB, prefix, selectSQL string) string {
	tb.Helper()
	name := uniqueName(prefix)
	s.exec(tb, "CREATE VIEW `"+name+"` AS "+selectSQL)
	tb.Cleanup(func() { s.drop("VIEW", name) })
	return name
}

// drop ends every statement still using the object (a test may leave a
// SLEEP() running on the server after its client gave up) and drops it.
func (s *testServer) drop(kind, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.killWhere(ctx, "QUERY", name)
	_, _ = s.admin.ExecContext(ctx, "DROP "+kind+" IF EXISTS `"+name+"`")
}

// killWhere kills (CONNECTION or QUERY) every other session whose current
// statement mentions needle, and returns how many it killed.
func (s *testServer) killWhere(ctx context.Context, what, needle string) int {
	ids := s.processesRunning(ctx, needle)
	for _, id := range ids {
		_, _ = s.admin.ExecContext(ctx, "KILL "+what+" "+strconv.FormatInt(id, 10))
	}
	return len(ids)
}

func (s *testServer) processesRunning(ctx context.Context, needle string) []int64 {
	rows, err := s.admin.QueryContext(ctx,
		"SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND INFO LIKE ?",
		"%"+needle+"%")
	if err != nil {
		return nil
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// user creates a MariaDB account with SELECT on the test database and drops
// it when the test ends.
func (s *testServer) user(tb testing.TB, password string) string {
	tb.Helper()
	name := "th_u_" + randomHex(4)
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		account := sqlString(name) + "@" + sqlString(host)
		s.exec(tb, "CREATE USER IF NOT EXISTS "+account+" IDENTIFIED BY "+sqlString(password))
		s.exec(tb, "GRANT SELECT ON `"+s.cfg.DBName+"`.* TO "+account)
		tb.Cleanup(func() { _, _ = s.admin.Exec("DROP USER IF EXISTS " + account) })
	}
	return name
}

// sqlString quotes a test-chosen string as an SQL literal (account
// statements do not take placeholders).
func sqlString(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(v) + "'"
}

// insert adds rows (each a list of values for cols) in batches.
func (s *testServer) insert(tb testing.TB, table string, cols []string, rows [][]any) {
	tb.Helper()
	const batch = 500
	for len(rows) > 0 {
		n := min(batch, len(rows))
		var sb strings.Builder
		sb.WriteString("INSERT INTO `" + table + "` (`" + strings.Join(cols, "`, `") + "`) VALUES ")
		args := make([]any, 0, n*len(cols))
		for i, r := range rows[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")")
			args = append(args, r...)
		}
		s.exec(tb, sb.String(), args...)
		rows = rows[n:]
	}
}

// newTestPools returns Pools closed at the end of the test.
func newTestPools(tb testing.TB, o PoolOptions) *Pools {
	tb.Helper()
	p := NewPools(o)
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// countingDialer redirects every dial to the test server and counts dials
// and bytes read, so tests can tell whether (and how much) anything went over
// the wire.
type countingDialer struct {
	target    string
	dials     atomic.Int64
	bytesRead atomic.Int64
	mu        sync.Mutex
	addrs     []string
}

func (d *countingDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d.dials.Add(1)
	d.mu.Lock()
	d.addrs = append(d.addrs, addr)
	d.mu.Unlock()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", d.target)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &d.bytesRead}, nil
}

func (d *countingDialer) dialedAddrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.addrs...)
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// requireNoSecret fails when err's text contains any of the secrets.
func requireNoSecret(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	require.Error(tb, err)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		require.NotContains(tb, err.Error(), s, "error text leaks a password")
		require.NotContains(tb, fmt.Sprintf("%+v", err), s, "error text leaks a password")
	}
}

// rowsByUID indexes raw rows by their uid column (test convenience).
func rowsByUID(rows []datasource.RawRow, col string) map[string]datasource.RawRow {
	m := make(map[string]datasource.RawRow, len(rows))
	for _, r := range rows {
		m[r[col].S] = r
	}
	return m
}
