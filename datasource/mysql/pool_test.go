package mysql

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// offlineConfig is a valid config for tests that never reach a server
// (opening a pool does not dial).
func offlineConfig() Config {
	return Config{Host: "mysql.acme.svc.cluster.local", Port: 3306, User: "app", Password: "S3cret-Passw0rd", Database: "crm", Table: "customers"}
}

func TestPoolsShareOnePoolPerTarget(t *testing.T) {
	t.Parallel()
	p := newTestPools(t, PoolOptions{})
	cfg := offlineConfig()
	s1, err := p.Source(cfg)
	require.NoError(t, err)
	s2, err := p.Source(cfg)
	require.NoError(t, err)
	require.Equal(t, 1, p.Len())
	require.Equal(t, s1.(*mysqlSource).key, s2.(*mysqlSource).key)

	other := cfg
	other.Table = "crm.other_table" // another table of the same server and user
	_, err = p.Source(other)
	require.NoError(t, err)
	require.Equal(t, 1, p.Len(), "tables do not get their own pools")

	for _, change := range []func(*Config){
		func(c *Config) { c.User = "reporting" },
		func(c *Config) { c.Host = "mysql.other.svc" },
		func(c *Config) { c.Port = 3307 },
		func(c *Config) { c.Database = "billing" },
		func(c *Config) { c.TLS = "skip-verify" },
		func(c *Config) { c.QueryTimeout = time.Second }, // the driver timeouts follow it
	} {
		c := cfg
		change(&c)
		before := p.Len()
		_, err := p.Source(c)
		require.NoError(t, err)
		require.Equal(t, before+1, p.Len(), "%s needs its own pool", c)
	}
}

func TestPoolsRotatedPasswordReplacesPool(t *testing.T) {
	t.Parallel()
	p := newTestPools(t, PoolOptions{})
	cfg := offlineConfig()
	_, err := p.Source(cfg)
	require.NoError(t, err)
	old := onlyPool(t, p)

	cfg.Password = "Rotated-Passw0rd"
	_, err = p.Source(cfg)
	require.NoError(t, err)
	require.Equal(t, 1, p.Len())
	require.NotSame(t, old, onlyPool(t, p), "a rotated password gets a new pool")
	require.ErrorContains(t, old.db.PingContext(context.Background()), "database is closed", "the stale pool is closed")
}

func TestPoolsRetiredPoolClosesAfterRunningQuery(t *testing.T) {
	t.Parallel()
	p := newTestPools(t, PoolOptions{})
	cfg := offlineConfig()
	key, id := p.keys(cfg)
	old, err := p.acquire(cfg, key, id, true) // a query is running on it
	require.NoError(t, err)

	cfg.Password = "Rotated-Passw0rd"
	_, err = p.Source(cfg)
	require.NoError(t, err)
	require.ErrorIs(t, old.db.PingContext(canceledCtx()), context.Canceled, "closed while in use")
	p.release(old)
	require.ErrorContains(t, old.db.PingContext(context.Background()), "database is closed")
}

// canceledCtx makes Ping return before dialing: an open pool reports the
// context error, a closed one "database is closed".
func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestPoolKeyDoesNotRevealPassword(t *testing.T) {
	t.Parallel()
	p := newTestPools(t, PoolOptions{})
	cfg := offlineConfig()
	key, identity := p.keys(cfg)
	require.Len(t, key, 64)
	require.NotEqual(t, key, identity)
	require.NotContains(t, key, cfg.Password)
	require.NotContains(t, key, cfg.Host)

	// Same fields, other Pools: another key (per-Pools HMAC key).
	q := newTestPools(t, PoolOptions{})
	key2, _ := q.keys(cfg)
	require.NotEqual(t, key, key2)

	// Fields are encoded unambiguously: user "a:b" + password "c" differs
	// from user "a" + password "b:c" (a DSN would not tell them apart).
	c1, c2 := cfg, cfg
	c1.User, c1.Password = "a:b", "c"
	c2.User, c2.Password = "a", "b:c"
	k1, _ := p.keys(c1)
	k2, _ := p.keys(c2)
	require.NotEqual(t, k1, k2)
}

func TestPoolsIdleTimeout(t *testing.T) {
	t.Parallel()
	p := newTestPools(t, PoolOptions{IdleTimeout: 30 * time.Millisecond})
	_, err := p.Source(offlineConfig())
	require.NoError(t, err)
	require.Equal(t, 1, p.Len())
	require.Eventually(t, func() bool { return p.Len() == 0 }, 5*time.Second, 5*time.Millisecond,
		"the janitor closes idle pools")
}

func TestPoolsIdlePoolReopensOnUse(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "idle", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	p := newTestPools(t, PoolOptions{IdleTimeout: 30 * time.Millisecond})
	src, err := p.Source(srv.config(t, tbl))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.Len() == 0 }, 5*time.Second, 5*time.Millisecond)
	rows, err := src.Rows(testCtx(t), []string{"uid"})
	require.NoError(t, err, "a Source outlives its idle pool")
	require.Len(t, rows, 1)
}

func TestPoolsDialOverride(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "dial", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}})
	dialer := &countingDialer{target: srv.cfg.Addr}
	p := newTestPools(t, PoolOptions{Dial: dialer.Dial})

	cfg := srv.config(t, tbl)
	cfg.Host = "mysql.example.invalid" // does not resolve; only the dialer makes it work
	src, err := p.Source(cfg)
	require.NoError(t, err)
	rows, err := src.Rows(testCtx(t), []string{"active", "uid"})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Positive(t, dialer.dials.Load())
	require.Equal(t, "mysql.example.invalid:"+strconv.Itoa(cfg.Port), dialer.dialedAddrs()[0])

	// Without the override the same host fails to connect.
	plain := newTestPools(t, PoolOptions{})
	src, err = plain.Source(cfg)
	require.NoError(t, err)
	_, err = src.Rows(testCtx(t), []string{"uid"})
	require.Equal(t, KindConnect, KindOf(err), "%v", err)
	requireNoSecret(t, err, cfg.Password)
}

func TestPoolsDialerErrorIsConnectError(t *testing.T) {
	t.Parallel()
	const password = "Dialer-Secret-99"
	p := newTestPools(t, PoolOptions{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: net.UnknownNetworkError("blocked by test")}
	}})
	cfg := offlineConfig()
	cfg.Password = password
	src, err := p.Source(cfg)
	require.NoError(t, err)
	_, err = src.Rows(testCtx(t), []string{"uid"})
	requireNoSecret(t, err, password)
	require.Equal(t, KindConnect, KindOf(err))
	require.Contains(t, err.Error(), "blocked by test")
	require.Contains(t, err.Error(), "mysql.acme.svc.cluster.local:3306/crm.customers")
}

func TestPoolsClose(t *testing.T) {
	t.Parallel()
	p := NewPools(PoolOptions{Dial: (&countingDialer{target: "127.0.0.1:1"}).Dial})
	src, err := p.Source(offlineConfig())
	require.NoError(t, err)
	db := onlyPool(t, p).db
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")
	require.Zero(t, p.Len())
	require.ErrorContains(t, db.PingContext(context.Background()), "database is closed")

	_, err = src.Rows(testCtx(t), []string{"uid"})
	require.Equal(t, KindPoolClosed, KindOf(err))
	_, err = p.Source(offlineConfig())
	require.Equal(t, KindPoolClosed, KindOf(err))
	requireNoSecret(t, err, offlineConfig().Password)
}

func TestPoolsConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := mysqlServer(t)
	tbl := srv.table(t, "conc", "uid VARCHAR(8) PRIMARY KEY, active VARCHAR(4)")
	srv.insert(t, tbl, []string{"uid", "active"}, [][]any{{"a", "1"}, {"b", "1"}})
	p := newTestPools(t, PoolOptions{MaxOpenPerTarget: 2, IdleTimeout: 20 * time.Millisecond})
	cfg := srv.config(t, tbl)

	var wg sync.WaitGroup
	errs := make(chan error, 16*5)
	for range 16 {
		wg.Go(func() {
			for range 5 {
				src, err := p.Source(cfg)
				if err == nil {
					var rows []datasource.RawRow
					rows, err = src.Rows(context.Background(), []string{"active", "uid"})
					if err == nil && len(rows) != 2 {
						err = &Error{Kind: KindQuery, msg: "wrong row count " + strconv.Itoa(len(rows))}
					}
				}
				errs <- err
				_ = p.Len()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, p.Len(), 1)
}

func TestPoolOptionsDefaults(t *testing.T) {
	t.Parallel()
	p := newTestPools(t, PoolOptions{})
	require.Equal(t, DefaultIdleTimeout, p.opts.IdleTimeout)
	require.Equal(t, DefaultMaxOpenPerTarget, p.opts.MaxOpenPerTarget)
	require.Equal(t, "tcp", p.network)

	q := newTestPools(t, PoolOptions{Dial: (&countingDialer{}).Dial})
	r := newTestPools(t, PoolOptions{Dial: (&countingDialer{}).Dial})
	require.True(t, strings.HasPrefix(q.network, "tenant-hooks-dial-"))
	require.NotEqual(t, q.network, r.network, "each Pools registers its own dialer")
}
