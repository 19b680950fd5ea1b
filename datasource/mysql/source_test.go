package mysql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
	"maps"
	"reflect"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestMySQLNullsAndEmptyUID(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "nulls", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NULL, host VARCHAR(255) NULL, active VARCHAR(8) NULL, plan VARCHAR(32) NULL, unused INT NULL")
	srv.insert(t, tbl, []string{"uid", "host", "active", "plan"}, [][]any{
		{"acme", "https://acme.example.com", "1", "gold"}, // 0 active
		{nil, "https://x.example.com", "1", "gold"},       // 1 skipped: NULL uid
		{"", "https://y.example.com", "1", "gold"},        // 2 skipped: empty uid
		{"beta", "b.example", "1", nil},                   // 3 active: NULL extra
		{"gamma", "https://g.example.com", nil, "gold"},   // 4 inactive: NULL activate
		{nil, nil, nil, nil},                              // 5 inactive (uid not even looked at)
		{" ", "https://s.example.com", "1", "tin"},        // 6 active: uid is not trimmed
		{"delta", nil, "1", "gold"},                       // 7 inactive: NULL hostOrUrl (v1.0 failed the query)
		{"eps", "", "1", "gold"},                          // 8 inactive: empty hostOrUrl (as in v1.0)
	})
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	m := datasource.Mapping{UID: "uid", HostOrURL: "host", Activate: "active", Extra: map[string]string{"plan": "plan"}}
	require.NoError(t, m.Validate())

	rows, err := src.Rows(testCtx(t), m.Columns())
	require.NoError(t, err)
	require.Len(t, rows, 9)
	for _, r := range rows {
		require.Len(t, r, 4, "only the requested columns are returned")
	}
	require.Equal(t, datasource.Value{}, rows[1]["uid"], "NULL is an invalid cell")
	require.Equal(t, datasource.Value{S: "", Valid: true}, rows[2]["uid"], "empty string is a valid cell")
	require.Equal(t, datasource.Value{}, rows[3]["plan"])
	require.Equal(t, datasource.Value{}, rows[7]["host"])
	require.Equal(t, datasource.Value{}, rows[5]["active"])

	res := datasource.Evaluate(m, rows)
	require.Equal(t, 9, res.Total)
	require.Equal(t, 4, res.Inactive)
	require.Equal(t, 2, res.Skipped)
	require.Equal(t, []datasource.SkippedRow{
		{Index: 1, Reason: `uid column "uid" is NULL`},
		{Index: 2, Reason: `uid column "uid" is empty`},
	}, res.SkippedExamples)
	require.Zero(t, res.Duplicates)
	require.Equal(t, []datasource.Record{
		{UID: " ", Values: datasource.ValuesOf(map[string]string{"uid": " ", "hostOrUrl": "https://s.example.com", "activate": "1", "plan": "tin"})},
		{UID: "acme", Values: datasource.ValuesOf(map[string]string{"uid": "acme", "hostOrUrl": "https://acme.example.com", "activate": "1", "plan": "gold"})},
		{UID: "beta", Values: datasource.ValuesOf(map[string]string{"uid": "beta", "hostOrUrl": "b.example", "activate": "1", "plan": ""})},
	}, res.Active)
}

func TestMySQLUnicode(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "unicode", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NOT NULL, url VARCHAR(255) NULL, active VARCHAR(8) NOT NULL, display VARCHAR(255) NULL")
	data := [][]any{
		{"租户-一", "https://例子.测试", "1", "株式会社テスト 🎉"},
		{"🚀rocket", "https://rocket.example.com", "true", "Rocket 🚀 Ünïcödé"},
		{"café", "https://café.example.com", "Yes", "naïve — “quotes” 𝄞"},
		{"Zebra", "https://z.example.com", "1", "ASCII"},
		{"ärger", "https://ä.example.com", "1", "👩‍👩‍👧‍👦 family"},
		{"한국어", "https://한국.example", "YES", "조선말"},
	}
	srv.insert(t, tbl, []string{"uid", "url", "active", "display"}, data)
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	m := datasource.Mapping{UID: "uid", HostOrURL: "url", Activate: "active", Extra: map[string]string{"displayName": "display"}}
	rows, err := src.Rows(testCtx(t), m.Columns())
	require.NoError(t, err)
	res := datasource.Evaluate(m, rows)
	require.Len(t, res.Active, len(data))

	var want []string
	byUID := map[string][]any{}
	for _, d := range data {
		want = append(want, d[0].(string))
		byUID[d[0].(string)] = d
	}
	slices.Sort(want) // byte order
	var got []string
	for _, r := range res.Active {
		got = append(got, r.UID)
		d := byUID[r.UID]
		require.Equal(t, d[1], r.Values.Map()["hostOrUrl"], "uid %q", r.UID)
		require.Equal(t, d[2], r.Values.Map()["activate"], "uid %q", r.UID)
		require.Equal(t, d[3], r.Values.Map()["displayName"], "uid %q", r.UID)
	}
	require.Equal(t, want, got)
	require.Equal(t, "Zebra", got[0], "byte order puts upper case first")
}

func TestMySQLTruthyValues(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "truthy", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NOT NULL, txt VARCHAR(16) NULL, flag TINYINT(1) NULL, b BOOLEAN NULL")
	type tc struct {
		uid                      string
		txt, flag, b             any
		wantTxt, wantFlag, wantB bool
	}
	cases := []tc{
		{"t-1", "1", 1, true, true, true, true},
		{"t-true", "true", 0, false, true, false, false},
		{"t-TRUE", "TRUE", nil, nil, true, false, false},
		{"t-True", "True", 2, true, true, false, true}, // TINYINT(1) holding 2 reads "2": inactive
		{"t-yes", "yes", -1, false, true, false, false},
		{"t-YES", "YES", 1, nil, true, true, false},
		{"t-Yes", "Yes", 1, true, true, true, true},
		{"f-space-1", " 1", 0, false, false, false, false},
		{"f-1-space", "1 ", 0, false, false, false, false},
		{"f-on", "on", 0, false, false, false, false},
		{"f-Y", "Y", 0, false, false, false, false},
		{"f-y", "y", 0, false, false, false, false},
		{"f-2", "2", 0, false, false, false, false},
		{"f-0", "0", 0, false, false, false, false},
		{"f-t", "t", 0, false, false, false, false},
		{"f-tRUE", "tRUE", 0, false, false, false, false},
		{"f-yES", "yES", 0, false, false, false, false},
		{"f-false", "false", 0, false, false, false, false},
		{"f-active", "active", 0, false, false, false, false},
		{"f-empty", "", 0, false, false, false, false},
		{"f-null", nil, nil, nil, false, false, false},
		{"f-01", "01", 0, false, false, false, false},
	}
	var data [][]any
	for _, c := range cases {
		data = append(data, []any{c.uid, c.txt, c.flag, c.b})
	}
	srv.insert(t, tbl, []string{"uid", "txt", "flag", "b"}, data)
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	rows, err := src.Rows(testCtx(t), []string{"b", "flag", "txt", "uid"})
	require.NoError(t, err)
	byUID := rowsByUID(rows, "uid")
	require.Equal(t, datasource.Value{S: "1", Valid: true}, byUID["t-1"]["flag"], "TINYINT(1) reads as text")
	require.Equal(t, datasource.Value{S: "1", Valid: true}, byUID["t-1"]["b"], "BOOLEAN reads as text")
	require.Equal(t, datasource.Value{S: "0", Valid: true}, byUID["t-true"]["b"])
	require.Equal(t, datasource.Value{S: "-1", Valid: true}, byUID["t-yes"]["flag"])

	for _, col := range []string{"txt", "flag", "b"} {
		res := datasource.Evaluate(datasource.Mapping{UID: "uid", Activate: col}, rows)
		var got []string
		for _, r := range res.Active {
			got = append(got, r.UID)
		}
		var want []string
		for _, c := range cases {
			if map[string]bool{"txt": c.wantTxt, "flag": c.wantFlag, "b": c.wantB}[col] {
				want = append(want, c.uid)
			}
		}
		slices.Sort(want)
		require.Equal(t, want, got, "activate column %s", col)
		require.Equal(t, len(cases)-len(want), res.Inactive, "activate column %s", col)
	}
}

func TestMySQLDuplicateUIDs(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "dups", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NULL, active VARCHAR(8) NULL, note VARCHAR(64) NULL")
	srv.insert(t, tbl, []string{"uid", "active", "note"}, [][]any{
		{"dup", "1", "first"},
		{"x", "1", "x-first"},
		{"dup", "1", "second"},
		{"dup", "0", "inactive third"}, // inactive: neither duplicate nor winner
		{"x", "yes", "x-second"},
		{"z", "0", "z-inactive"}, // an inactive first row does not win
		{"z", "1", "z-active"},
		{"y", "1", "y"},
	})
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	m := datasource.Mapping{UID: "uid", Activate: "active", Extra: map[string]string{"note": "note"}}
	rows, err := src.Rows(testCtx(t), m.Columns())
	require.NoError(t, err)
	res := datasource.Evaluate(m, rows)
	require.Equal(t, 8, res.Total)
	require.Equal(t, 2, res.Inactive)
	require.Equal(t, 2, res.Duplicates)
	require.Equal(t, []string{"dup", "x"}, res.DuplicateUIDs)
	notes := map[string]string{}
	for _, r := range res.Active {
		notes[r.UID] = r.Values.Map()["note"]
	}
	require.Equal(t, map[string]string{"dup": "first", "x": "x-first", "y": "y", "z": "z-active"}, notes)
}

func TestMySQL10000Rows(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "tenk", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NOT NULL, url VARCHAR(255) NOT NULL, active TINYINT(1) NOT NULL, plan VARCHAR(16) NULL")
	const n = 10000
	data := make([][]any, n)
	wantActive := 0
	for i := range data {
		active := 1
		if i%3 == 0 {
			active = 0
		} else {
			wantActive++
		}
		data[i] = []any{fmt.Sprintf("tenant-%05d", i), fmt.Sprintf("https://t%d.example.com", i), active, "p" + strconv.Itoa(i%7)}
	}
	srv.insert(t, tbl, []string{"uid", "url", "active", "plan"}, data)
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	m := datasource.Mapping{UID: "uid", HostOrURL: "url", Activate: "active", Extra: map[string]string{"plan": "plan"}}
	for range 2 { // the second call uses the size hint of the first
		rows, err := src.Rows(testCtx(t), m.Columns())
		require.NoError(t, err)
		require.Len(t, rows, n)
		res := datasource.Evaluate(m, rows)
		require.Equal(t, n, res.Total)
		require.Len(t, res.Active, wantActive)
		require.Equal(t, n-wantActive, res.Inactive)
		require.True(t, slices.IsSortedFunc(res.Active, func(a, b datasource.Record) int { return strings.Compare(a.UID, b.UID) }))
		require.Equal(t, datasource.Record{UID: "tenant-09998", Values: datasource.ValuesOf(map[string]string{
			"uid": "tenant-09998", "hostOrUrl": "https://t9998.example.com", "activate": "1", "plan": "p2",
		})}, res.Active[len(res.Active)-1])
	}
}

func TestMySQLColumnTypes(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "types", "uid VARCHAR(8) PRIMARY KEY, i INT, u BIGINT UNSIGNED, d DECIMAL(10,2), f FLOAT, g DOUBLE, dt DATE, ts DATETIME, c CHAR(4), vb VARBINARY(8), e ENUM('small','large'), tx TEXT")
	srv.exec(t, "INSERT INTO `"+tbl+"` VALUES ('a', -42, 18446744073709551615, 1.50, 0.1, 1500000, '2024-01-02', '2024-01-02 03:04:05', 'ab', 'raw', 'large', 'long text')")
	pools := newTestPools(t, PoolOptions{})
	cfg := srv.config(t, tbl)
	cfg.Values = FormatPlain // the default is v1.0's format: TestMySQLValuesV1
	src, err := pools.Source(cfg)
	require.NoError(t, err)
	cols := []string{"c", "d", "dt", "e", "f", "g", "i", "ts", "tx", "u", "uid", "vb"}
	rows, err := src.Rows(testCtx(t), cols)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	want := map[string]string{
		"uid": "a", "i": "-42", "u": "18446744073709551615", "d": "1.50", "f": "0.1", "g": "1500000",
		"dt": "2024-01-02", "ts": "2024-01-02 03:04:05", "c": "ab", "vb": "raw", "e": "large", "tx": "long text",
	}
	for col, w := range want {
		require.Equal(t, datasource.Value{S: w, Valid: true}, rows[0][col], "column %s", col)
	}
}

func TestMySQLQualifiedTable(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "qualified", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, srv.cfg.DBName+"."+tbl))
	require.NoError(t, err)
	rows, err := src.Rows(testCtx(t), []string{"active", "uid"})
	require.NoError(t, err)
	require.Equal(t, []datasource.RawRow{{"uid": {S: "a", Valid: true}, "active": {S: "1", Valid: true}}}, rows)
}

func TestMySQLRejectsInjection(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "inj", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	dialer := &countingDialer{target: srv.cfg.Addr}
	pools := newTestPools(t, PoolOptions{Dial: dialer.Dial})

	for _, bad := range []string{
		tbl + "`; DROP TABLE " + tbl + "; --",
		"customers`; DROP TABLE x; --",
		tbl + "; DROP TABLE " + tbl,
		tbl + " WHERE 1=1",
		tbl + "/*",
		"`" + tbl + "`",
		"a.b.c",
		"." + tbl,
		tbl + ".",
		"tenants-prod",
		"kunden_ä",
		strings.Repeat("x", 65),
	} {
		cfg := srv.config(t, bad)
		_, err := pools.Source(cfg)
		require.Error(t, err, "table %q", bad)
		require.Equal(t, KindConfig, KindOf(err), "table %q", bad)
		require.Contains(t, err.Error(), strconv.Quote(bad), "the error names the bad identifier")
	}

	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	for _, bad := range []string{"uid`, (SELECT 1) AS `x", "uid FROM mysql.user --", "", "uid,active"} {
		rows, err := src.Rows(testCtx(t), []string{"active", bad})
		require.Error(t, err, "column %q", bad)
		require.Nil(t, rows)
		require.Equal(t, KindConfig, KindOf(err))
		require.Contains(t, err.Error(), strconv.Quote(bad))
	}
	require.Zero(t, dialer.dials.Load(), "nothing may reach the server before validation passes")

	// The real table is still there and intact.
	var n int
	require.NoError(t, srv.admin.QueryRow("SELECT COUNT(*) FROM `"+tbl+"`").Scan(&n))
	require.Equal(t, 1, n)
	rows, err := src.Rows(testCtx(t), []string{"active", "uid"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
}

func TestMySQLWrongPassword(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "pw", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	// Characters that would break a hand-built DSN.
	password := "Pw-" + randomHex(8) + "@:/?#&)(=x"
	user := srv.user(t, password)
	pools := newTestPools(t, PoolOptions{})

	cfg := srv.config(t, tbl)
	cfg.User, cfg.Password = user, password
	require.NotContains(t, cfg.String(), password)
	src, err := pools.Source(cfg)
	require.NoError(t, err)
	rows, err := src.Rows(testCtx(t), []string{"active", "uid"})
	require.NoError(t, err, "the right password works")
	require.Len(t, rows, 1)

	wrong := "Wrong-" + randomHex(8)
	cfg.Password = wrong
	src, err = pools.Source(cfg)
	require.NoError(t, err)
	rows, err = src.Rows(testCtx(t), []string{"active", "uid"})
	require.Nil(t, rows)
	requireNoSecret(t, err, wrong, password)
	require.Equal(t, KindAuth, KindOf(err), "%v", err)
	require.Contains(t, err.Error(), "Access denied")
	require.Contains(t, err.Error(), cfg.target())
	require.False(t, IsTimeout(err))
	require.NotContains(t, cfg.String(), wrong)
}

func TestMySQLPasswordRotation(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "rot", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	oldPW, newPW := "Old-"+randomHex(8), "New-"+randomHex(8)
	user := srv.user(t, oldPW)
	pools := newTestPools(t, PoolOptions{})
	cfg := srv.config(t, tbl)
	cfg.User, cfg.Password = user, oldPW
	oldSrc, err := pools.Source(cfg)
	require.NoError(t, err)
	_, err = oldSrc.Rows(testCtx(t), []string{"uid"})
	require.NoError(t, err)
	oldDB := onlyPool(t, pools).db

	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		srv.exec(t, "ALTER USER "+sqlString(user)+"@"+sqlString(host)+" IDENTIFIED BY "+sqlString(newPW))
	}
	cfg.Password = newPW
	newSrc, err := pools.Source(cfg)
	require.NoError(t, err)
	require.Equal(t, 1, pools.Len(), "the pool with the stale password was replaced")
	require.NotSame(t, oldDB, onlyPool(t, pools).db)
	require.ErrorContains(t, oldDB.Ping(), "database is closed")
	rows, err := newSrc.Rows(testCtx(t), []string{"uid"})
	require.NoError(t, err)
	require.Len(t, rows, 1)

	// A Source still holding the old password fails cleanly.
	_, err = oldSrc.Rows(testCtx(t), []string{"uid"})
	requireNoSecret(t, err, oldPW, newPW)
	require.Equal(t, KindAuth, KindOf(err))
}

func onlyPool(t *testing.T, p *Pools) *pool {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Len(t, p.pools, 1)
	for _, pl := range p.pools {
		return pl
	}
	return nil
}

// Needs no server: nothing listens on the port.
func TestMySQLUnreachableHost(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	const password = "Unreachable-Secret-123"
	pools := newTestPools(t, PoolOptions{})
	cfg := Config{Host: "127.0.0.1", Port: port, User: "app", Password: password, Database: "crm", Table: "customers", QueryTimeout: 2 * time.Second}
	src, err := pools.Source(cfg)
	require.NoError(t, err)
	start := time.Now()
	rows, err := src.Rows(testCtx(t), []string{"uid"})
	t.Logf("refused after %v: %v", time.Since(start), err)
	require.Nil(t, rows)
	requireNoSecret(t, err, password)
	require.Equal(t, KindConnect, KindOf(err))
	require.Contains(t, err.Error(), fmt.Sprintf("127.0.0.1:%d/crm.customers", port))
	require.Contains(t, err.Error(), "connect")
	require.False(t, IsTimeout(err))
}

func TestMySQLQueryTimeout(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "slow", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(8), active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}, {"b", "1"}, {"c", "1"}})
	view := srv.view(t, "slowv", "SELECT uid, active, SLEEP(2) AS s FROM `"+tbl+"`")
	password := srv.cfg.Passwd
	cols := []string{"active", "s", "uid"}

	t.Run("QueryTimeout", func(t *testing.T) {
		pools := newTestPools(t, PoolOptions{})
		cfg := srv.config(t, view)
		cfg.QueryTimeout = 300 * time.Millisecond
		src, err := pools.Source(cfg)
		require.NoError(t, err)
		start := time.Now()
		rows, err := src.Rows(context.Background(), cols)
		elapsed := time.Since(start)
		t.Logf("failed after %v: %v", elapsed, err)
		require.Nil(t, rows)
		requireNoSecret(t, err, password)
		require.True(t, IsTimeout(err), "%v", err)
		require.Equal(t, KindTimeout, KindOf(err))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Contains(t, err.Error(), cfg.target())
		require.Less(t, elapsed, 5*time.Second, "the deadline must cut the query short")

		// The pool recovers: the base table reads fine through it.
		cfg.Table = tbl
		fast, err := pools.Source(cfg)
		require.NoError(t, err)
		rows, err = fast.Rows(testCtx(t), []string{"active", "uid"})
		require.NoError(t, err)
		require.Len(t, rows, 3)
	})

	t.Run("CallerDeadline", func(t *testing.T) {
		pools := newTestPools(t, PoolOptions{})
		src, err := pools.Source(srv.config(t, view)) // QueryTimeout 10s
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		rows, err := src.Rows(ctx, cols)
		elapsed := time.Since(start)
		require.Nil(t, rows)
		require.True(t, IsTimeout(err), "%v", err)
		require.Less(t, elapsed, 5*time.Second)
	})

	t.Run("CallerCancel", func(t *testing.T) {
		pools := newTestPools(t, PoolOptions{})
		src, err := pools.Source(srv.config(t, view))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		rows, err := src.Rows(ctx, cols)
		require.Nil(t, rows)
		require.Equal(t, KindCanceled, KindOf(err), "%v", err)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, IsTimeout(err))
	})
}

func TestMySQLConnectionKilledMidQuery(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "kill", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(16), active VARCHAR(4), pad VARCHAR(2000)")
	data := make([][]any, 400)
	for i := range data {
		data[i] = []any{fmt.Sprintf("k%04d", i), "1", strings.Repeat("p", 1500)}
	}
	srv.insert(t, tbl, []string{"uid", "active", "pad"}, data)
	// 20 ms per row: 8 s for the whole result, streamed to the client as it
	// is produced.
	view := srv.view(t, "killv", "SELECT uid, active, pad, SLEEP(0.02) AS s FROM `"+tbl+"`")

	for _, what := range []string{"CONNECTION", "QUERY"} {
		t.Run(what, func(t *testing.T) {
			dialer := &countingDialer{target: srv.cfg.Addr}
			obs := &recordingObserver{}
			pools := newTestPools(t, PoolOptions{Dial: dialer.Dial, Observer: obs})
			cfg := srv.config(t, view)
			cfg.QueryTimeout = time.Minute
			src, err := pools.Source(cfg)
			require.NoError(t, err)

			type result struct {
				rows []datasource.RawRow
				err  error
			}
			done := make(chan result, 1)
			go func() {
				rows, err := src.Rows(context.Background(), []string{"active", "pad", "s", "uid"})
				done <- result{rows, err}
			}()
			// Wait until a good part of the result (≥ 40 rows) has reached the
			// client, then kill the pool's connection from the admin session.
			require.Eventually(t, func() bool { return dialer.bytesRead.Load() > 60_000 }, 20*time.Second, 10*time.Millisecond,
				"rows never started to arrive")
			require.Equal(t, 1, srv.killWhere(testCtx(t), what, view), "exactly one session runs the query")

			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Rows did not return after the kill")
			}
			t.Logf("KILL %s: %v", what, r.err)
			require.Error(t, r.err, "a killed query must never look like success")
			require.Nil(t, r.rows, "no partial result")
			require.False(t, IsTimeout(r.err))
			require.Contains(t, []ErrorKind{KindConnLost, KindQuery}, KindOf(r.err))
			require.Contains(t, r.err.Error(), cfg.target())
			calls := obs.snapshot()
			require.Len(t, calls, 1)
			require.Error(t, calls[0].err)
			require.Zero(t, calls[0].rows)

			// The pool drops the dead connection and keeps working.
			cfg.Table = tbl
			again, err := pools.Source(cfg)
			require.NoError(t, err)
			rows, err := again.Rows(testCtx(t), []string{"uid"})
			require.NoError(t, err)
			require.Len(t, rows, len(data))
		})
	}
}

func TestMySQLTableDropped(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "dropped", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	_, err = src.Rows(testCtx(t), []string{"active", "uid"})
	require.NoError(t, err)

	srv.exec(t, "DROP TABLE `"+tbl+"`")
	rows, err := src.Rows(testCtx(t), []string{"active", "uid"})
	require.Nil(t, rows)
	requireNoSecret(t, err, srv.cfg.Passwd)
	require.Equal(t, KindQuery, KindOf(err), "%v", err)
	require.Contains(t, err.Error(), tbl)
	require.Contains(t, err.Error(), "doesn't exist")
}

func TestMySQLColumnRenamed(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "renamed", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	pools := newTestPools(t, PoolOptions{})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	m := datasource.Mapping{UID: "uid", Activate: "active"}

	srv.exec(t, "ALTER TABLE `"+tbl+"` CHANGE active enabled VARCHAR(4)")
	rows, err := src.Rows(testCtx(t), m.Columns())
	require.Nil(t, rows)
	requireNoSecret(t, err, srv.cfg.Passwd)
	require.Equal(t, KindQuery, KindOf(err))
	require.Contains(t, err.Error(), "Unknown column 'active'")
}

func TestMySQLObserver(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "obs", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}, {"b", "0"}})
	obs := &recordingObserver{}
	pools := newTestPools(t, PoolOptions{Observer: obs})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	_, err = src.Rows(testCtx(t), []string{"active", "uid"})
	require.NoError(t, err)
	_, err = src.Rows(testCtx(t), []string{"missing"})
	require.Error(t, err)

	calls := obs.snapshot()
	require.Len(t, calls, 2)
	require.NoError(t, calls[0].err)
	require.Equal(t, 2, calls[0].rows)
	require.Positive(t, calls[0].d)
	require.Error(t, calls[1].err)
	require.Zero(t, calls[1].rows)
}

type observed struct {
	d    time.Duration
	rows int
	err  error
}

type recordingObserver struct {
	mu    sync.Mutex
	calls []observed
}

func (o *recordingObserver) QueryDone(d time.Duration, rows int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, observed{d, rows, err})
}

func (o *recordingObserver) snapshot() []observed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

func TestIsTimeout(t *testing.T) {
	require.False(t, IsTimeout(nil))
	require.False(t, IsTimeout(errors.New("x")))
	require.True(t, IsTimeout(context.DeadlineExceeded))
	require.True(t, IsTimeout(fmt.Errorf("wrapped: %w", context.DeadlineExceeded)))
	require.True(t, IsTimeout(&net.OpError{Op: "read", Err: timeoutErr{}}))
	require.True(t, IsTimeout(newError(KindTimeout, "h:1/d.t", "", errors.New("slow"))))
	require.False(t, IsTimeout(newError(KindQuery, "h:1/d.t", "", context.DeadlineExceeded)), "the kind decides")
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorScrubsPassword(t *testing.T) {
	err := newError(KindConnect, "db:3306/crm.customers", "hunter22", errors.New("dial mysql://app:hunter22@db failed"))
	require.NotContains(t, err.Error(), "hunter22")
	require.Equal(t, "datasource: mysql db:3306/crm.customers: connect: dial mysql://app:******@db failed", err.Error())
}

func TestErrorQuotesUnprintableTarget(t *testing.T) {
	p := newTestPools(t, PoolOptions{})
	cfg := offlineConfig()
	cfg.Table = "customers\nlevel=ERROR msg=forged"
	_, err := p.Source(cfg)
	require.Equal(t, KindConfig, KindOf(err))
	require.NotContains(t, err.Error(), "\n")
	require.Contains(t, err.Error(), `customers\nlevel=ERROR`)
}

// A table whose rows the service may not hold is refused as it streams in
// (KindTooLarge, naming the limit and the flag), never held whole; the pool
// keeps working for the next query.
func TestMySQLResultTooLarge(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "large", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NOT NULL, url VARCHAR(255) NOT NULL, active TINYINT(1) NOT NULL")
	const n = 5000
	data := make([][]any, n)
	for i := range data {
		data[i] = []any{fmt.Sprintf("tenant-%05d", i), fmt.Sprintf("https://t%d.example.com", i), 1}
	}
	srv.insert(t, tbl, []string{"uid", "url", "active"}, data)
	m := datasource.Mapping{UID: "uid", HostOrURL: "url", Activate: "active"}

	pools := newTestPools(t, PoolOptions{MaxResultBytes: 64 << 10})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	rows, err := src.Rows(testCtx(t), m.Columns())
	require.Nil(t, rows)
	require.Equal(t, KindTooLarge, KindOf(err), "%v", err)
	require.Contains(t, err.Error(), "64 KiB")
	require.Contains(t, err.Error(), "--max-source-bytes")
	require.Regexp(t, `\(\d+ rows read when the limit was reached`, err.Error())

	small := srv.table(t, "small", "uid VARCHAR(64) NOT NULL, url VARCHAR(255) NOT NULL, active TINYINT(1) NOT NULL")
	srv.insert(t, small, []string{"uid", "url", "active"}, [][]any{{"acme", "https://acme.example", 1}})
	src, err = pools.Source(srv.config(t, small))
	require.NoError(t, err)
	rows, err = src.Rows(testCtx(t), m.Columns())
	require.NoError(t, err, "the same pool serves the next query")
	require.Len(t, rows, 1)

	unbounded := newTestPools(t, PoolOptions{MaxResultBytes: -1})
	src, err = unbounded.Source(srv.config(t, tbl))
	require.NoError(t, err)
	rows, err = src.Rows(testCtx(t), m.Columns())
	require.NoError(t, err)
	require.Len(t, rows, n)

	// The service reads through EachRow: bounded the same way.
	src, err = pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	got, err := src.(datasource.RowStreamer).EachRow(testCtx(t), m.Columns(), func(datasource.RawRow) {})
	require.Equal(t, KindTooLarge, KindOf(err), "%v", err)
	require.Less(t, got, n)
}

// EachRow (datasource.RowStreamer) reads exactly what Rows reads, in one
// reused map, and an Evaluator fed from it makes the Result Evaluate makes
// of Rows; a failed read reports its error and the observer counts no rows.
func TestMySQLEachRowMatchesRows(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "each", "id INT AUTO_INCREMENT PRIMARY KEY, uid VARCHAR(64) NULL, host VARCHAR(255) NULL, active VARCHAR(8) NULL, plan VARCHAR(32) NULL")
	var data [][]any
	for i := 0; i < 300; i++ {
		var plan any = fmt.Sprintf("p%d", i%7)
		if i%11 == 0 {
			plan = nil
		}
		var uid any = fmt.Sprintf("u-%03d", (i*37)%250) // out of order, with duplicates
		if i%50 == 0 {
			uid = nil
		}
		data = append(data, []any{uid, fmt.Sprintf("https://h%d.example", i), []string{"1", "0", "yes"}[i%3], plan})
	}
	srv.insert(t, tbl, []string{"uid", "host", "active", "plan"}, data)
	obs := &recordingObserver{}
	pools := newTestPools(t, PoolOptions{Observer: obs})
	src, err := pools.Source(srv.config(t, tbl))
	require.NoError(t, err)
	m := datasource.Mapping{UID: "uid", HostOrURL: "host", Activate: "active", Extra: map[string]string{"plan": "plan"}}
	st, ok := src.(datasource.RowStreamer)
	require.True(t, ok, "the MySQL source streams")

	rows, err := src.Rows(testCtx(t), m.Columns())
	require.NoError(t, err)
	var streamed []datasource.RawRow
	var seen []datasource.RawRow
	ev := datasource.NewEvaluator(m, 0)
	n, err := st.EachRow(testCtx(t), m.Columns(), func(row datasource.RawRow) {
		streamed = append(streamed, maps.Clone(row))
		if len(seen) == 0 || !sameMap(seen[len(seen)-1], row) {
			seen = append(seen, row)
		}
		ev.Add(row)
	})
	require.NoError(t, err)
	require.Equal(t, len(data), n)
	require.Equal(t, rows, streamed, "the same rows in the same order")
	require.Len(t, seen, 1, "one map, reused for every row")
	require.Equal(t, datasource.Evaluate(m, rows), ev.Result())

	_, err = st.EachRow(testCtx(t), []string{"missing"}, func(datasource.RawRow) { t.Fatal("no row of a failed query") })
	require.Error(t, err)
	calls := obs.snapshot()
	require.Len(t, calls, 3)
	require.Equal(t, len(data), calls[1].rows)
	require.Error(t, calls[2].err)
	require.Zero(t, calls[2].rows)
}

// sameMap reports whether a and b are the same map (not equal ones).
func sameMap(a, b datasource.RawRow) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
