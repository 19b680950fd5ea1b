package mysql

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/tenant-hooks/tenant-hooks/datasource"
)

// Defaults for PoolOptions.
const (
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultMaxOpenPerTarget = 4
)

// Observer receives one call per MySQL query, for metrics. It must be safe
// for concurrent use and should return quickly.
type Observer interface {
	// QueryDone reports a finished Rows call: how long it took, how many
	// rows it returned (0 on error) and its error (nil on success).
	QueryDone(d time.Duration, rows int, err error)
}

// PoolOptions tune Pools. The zero value is usable.
type PoolOptions struct {
	// IdleTimeout closes a pool that has not been used this long (default
	// 5m). A janitor goroutine sweeps; every use sweeps too.
	IdleTimeout time.Duration

	// MaxOpenPerTarget caps the connections of one pool (default 4).
	MaxOpenPerTarget int

	// Dial, when set, opens every connection instead of net.Dialer; it gets
	// "host:port" as configured. It is registered with
	// gomysql.RegisterDialContext under a network name unique to this Pools
	// and deregistered by Close.
	Dial func(ctx context.Context, addr string) (net.Conn, error)

	// Observer, when set, is told about every query.
	Observer Observer

	// MaxResultBytes bounds the memory one query's rows may take, as
	// estimated by resultBytes (default DefaultMaxResultBytes; below 0: no
	// bound). A larger result is abandoned as it streams in and reported as
	// KindTooLarge, never held: a table the service cannot hold must not take
	// the process — and every other registry's hooks — down with it.
	MaxResultBytes int64
}

// DefaultMaxResultBytes holds ≈ 500,000 rows of the examples' five short
// columns (≈ 0.5 KB each as estimated), and leaves room in the 512 MiB
// container for the hooks working on them (docs/datasources.md).
const DefaultMaxResultBytes = 256 << 20

// resultBytes estimates what one row costs in memory once read: its text,
// the row's map (≈ 48 bytes per entry with its Value, plus the map header)
// and the slice slot. A little above the measured cost, so the bound errs
// on the safe side.
func resultBytes(text, columns int) int64 {
	return int64(text) + int64(columns)*48 + 96
}

// Pools keeps one *sql.DB per MySQL target so that registries reading the
// same database share connections instead of dialing on every sync
// (upstream opened and closed a pool per reconcile). Safe for concurrent use.
//
// A target is identified by everything that affects a connection: host,
// port, user, password, database, TLS mode, query timeout and whether times
// are parsed (Config.Values; the table is
// not part of it: all tables of one database share the pool). The map key is
// an HMAC-SHA256 of those fields under a per-Pools random key, so it reveals
// nothing about the password. When a config differs from a pooled one only in
// its password (a rotated Secret), the old pool is closed as soon as its
// running queries finish.
type Pools struct {
	opts     PoolOptions
	network  string // "tcp" or the registered dialer name
	hashKey  []byte
	stop     chan struct{}
	janitor  sync.WaitGroup
	closeOne sync.Once

	mu      sync.Mutex
	closed  bool
	pools   map[string]*pool  // pool key -> pool
	current map[string]string // identity (key without password) -> pool key
}

type pool struct {
	key, identity string
	db            *sql.DB
	lastUsed      time.Time // guarded by Pools.mu
	inflight      int       // guarded by Pools.mu
	retired       bool      // guarded by Pools.mu; close when inflight drops to 0
}

var dialerSeq atomic.Uint64

// NewPools returns an empty set of pools and starts its janitor.
func NewPools(o PoolOptions) *Pools {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxOpenPerTarget <= 0 {
		o.MaxOpenPerTarget = DefaultMaxOpenPerTarget
	}
	if o.MaxResultBytes == 0 {
		o.MaxResultBytes = DefaultMaxResultBytes
	}
	p := &Pools{
		opts:    o,
		network: "tcp",
		hashKey: make([]byte, 32),
		stop:    make(chan struct{}),
		pools:   map[string]*pool{},
		current: map[string]string{},
	}
	_, _ = rand.Read(p.hashKey) // crypto/rand.Read never fails (Go ≥ 1.24)
	if o.Dial != nil {
		p.network = fmt.Sprintf("tenant-hooks-dial-%d", dialerSeq.Add(1))
		gomysql.RegisterDialContext(p.network, o.Dial)
	}
	interval := min(max(o.IdleTimeout/2, 10*time.Millisecond), time.Minute)
	p.janitor.Add(1)
	go p.runJanitor(interval)
	return p
}

func (p *Pools) runJanitor(interval time.Duration) {
	defer p.janitor.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			stale := p.sweepLocked(time.Now())
			p.mu.Unlock()
			closeAll(stale)
		}
	}
}

// Source validates c and returns a datasource.Source that queries c.Table through the
// pool shared by every config with the same target. The pool is opened (but
// not connected) immediately.
func (p *Pools) Source(c Config) (datasource.Source, error) {
	if err := c.Validate(); err != nil {
		return nil, newError(KindConfig, c.target(), c.Password, err)
	}
	c.QueryTimeout = c.queryTimeout()
	key, identity := p.keys(c)
	if _, err := p.acquire(c, key, identity, false); err != nil {
		return nil, err
	}
	return &mysqlSource{pools: p, cfg: c, key: key, identity: identity, target: c.target()}, nil
}

// Len is the number of open pools.
func (p *Pools) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pools)
}

// Close closes every pool (pools with running queries close when those
// finish), stops the janitor and deregisters the custom dialer. Sources made
// by p fail with KindPoolClosed afterwards. Close is idempotent.
func (p *Pools) Close() error {
	var errs []error
	p.closeOne.Do(func() {
		p.mu.Lock()
		p.closed = true
		var toClose []*pool
		for _, pl := range p.pools {
			if pl.inflight > 0 {
				pl.retired = true
			} else {
				toClose = append(toClose, pl)
			}
		}
		p.pools = map[string]*pool{}
		p.current = map[string]string{}
		p.mu.Unlock()
		close(p.stop)
		p.janitor.Wait()
		for _, pl := range toClose {
			if err := pl.db.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if p.opts.Dial != nil {
			gomysql.DeregisterDialContext(p.network)
		}
	})
	return errors.Join(errs...)
}

// keys returns the pool key (all connection fields) and the identity (the
// same without the password).
func (p *Pools) keys(c Config) (key, identity string) {
	type fields struct {
		Net, Host      string
		Port           int
		User, Password string
		Database, TLS  string
		QueryTimeoutNS int64
		ParseTime      bool
	}
	f := fields{Net: p.network, Host: c.Host, Port: c.Port, User: c.User, Password: c.Password,
		Database: c.Database, TLS: c.TLS, QueryTimeoutNS: int64(c.queryTimeout()), ParseTime: c.v1Values()}
	sum := func(f fields) string {
		b, _ := json.Marshal(f) // unambiguous encoding; cannot fail for these types
		m := hmac.New(sha256.New, p.hashKey)
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}
	key = sum(f)
	f.Password = ""
	identity = sum(f)
	return key, identity
}

// acquire returns the pool for key, opening it if needed. With use=true the
// pool is marked in use until release.
func (p *Pools) acquire(c Config, key, identity string, use bool) (*pool, error) {
	now := time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, newError(KindPoolClosed, c.target(), c.Password, errors.New("pools are closed"))
	}
	toClose := p.sweepLocked(now)
	pl := p.pools[key]
	if pl == nil {
		connector, err := gomysql.NewConnector(c.driverConfig(p.network))
		if err != nil {
			p.mu.Unlock()
			closeAll(toClose)
			return nil, newError(KindConfig, c.target(), c.Password, err)
		}
		db := sql.OpenDB(connector)
		db.SetMaxOpenConns(p.opts.MaxOpenPerTarget)
		db.SetMaxIdleConns(p.opts.MaxOpenPerTarget)
		db.SetConnMaxIdleTime(p.opts.IdleTimeout)
		db.SetConnMaxLifetime(30 * time.Minute)
		pl = &pool{key: key, identity: identity, db: db}
		// Same target, other password: the old credentials are stale.
		if oldKey, ok := p.current[identity]; ok && oldKey != key {
			if old := p.pools[oldKey]; old != nil {
				delete(p.pools, oldKey)
				if old.inflight > 0 {
					old.retired = true
				} else {
					toClose = append(toClose, old)
				}
			}
		}
		p.pools[key] = pl
		p.current[identity] = key
	}
	pl.lastUsed = now
	if use {
		pl.inflight++
	}
	p.mu.Unlock()
	closeAll(toClose)
	return pl, nil
}

// release ends one use of pl.
func (p *Pools) release(pl *pool) {
	p.mu.Lock()
	pl.inflight--
	pl.lastUsed = time.Now()
	closeNow := pl.retired && pl.inflight == 0
	p.mu.Unlock()
	if closeNow {
		_ = pl.db.Close()
	}
}

// sweepLocked removes pools idle for IdleTimeout and returns them for
// closing outside the lock.
func (p *Pools) sweepLocked(now time.Time) []*pool {
	var stale []*pool
	for key, pl := range p.pools {
		if pl.inflight == 0 && now.Sub(pl.lastUsed) >= p.opts.IdleTimeout {
			delete(p.pools, key)
			if p.current[pl.identity] == key {
				delete(p.current, pl.identity)
			}
			stale = append(stale, pl)
		}
	}
	return stale
}

func closeAll(pools []*pool) {
	for _, pl := range pools {
		_ = pl.db.Close()
	}
}
