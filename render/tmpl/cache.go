package tmpl

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// cache maps template source to its compiled form. It is split into shards
// (so concurrent renders do not all contend on one lock) and each shard is a
// CLOCK cache: a hit only sets a reference bit; on insert into a full shard
// the hand sweeps, clearing bits, and evicts the first entry without one.
// The total size never exceeds the configured capacity.
type cache struct {
	seed   maphash.Seed
	shards []shard
}

type shard struct {
	mu   sync.RWMutex
	m    map[string]*cacheEntry
	ring []*cacheEntry
	hand int
	cap  int

	hits, misses atomic.Uint64
	_            [64]byte // keep shards on separate cache lines
}

type cacheEntry struct {
	key string
	ref atomic.Bool
	c   *compiled
}

// Up to 16 shards of at least 256 entries: fewer, larger shards for small
// caches keep eviction close to a global CLOCK.
const (
	maxShards     = 16
	minShardEntry = 256
)

func newCache(size int) *cache {
	n := max(1, min(maxShards, size/minShardEntry))
	c := &cache{seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i].cap = size / n // floor: the sum never exceeds size
		c.shards[i].m = make(map[string]*cacheEntry)
	}
	return c
}

func (c *cache) shard(key string) *shard {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

func (c *cache) get(key string) *compiled {
	s := c.shard(key)
	s.mu.RLock()
	e := s.m[key]
	s.mu.RUnlock()
	if e == nil {
		s.misses.Add(1)
		return nil
	}
	if !e.ref.Load() {
		e.ref.Store(true)
	}
	s.hits.Add(1)
	return e.c
}

// add inserts v under key unless another goroutine got there first, and
// returns the cached value.
func (c *cache) add(key string, v *compiled) *compiled {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[key]; e != nil {
		return e.c
	}
	e := &cacheEntry{key: key, c: v}
	if len(s.ring) < s.cap {
		s.ring = append(s.ring, e)
	} else {
		// Hits set bits without the lock, so bound the sweep.
		for i := 0; i < 2*s.cap && s.ring[s.hand].ref.Load(); i++ {
			s.ring[s.hand].ref.Store(false)
			s.hand = (s.hand + 1) % s.cap
		}
		delete(s.m, s.ring[s.hand].key)
		s.ring[s.hand] = e
		s.hand = (s.hand + 1) % s.cap
	}
	s.m[key] = e
	return v
}

func (c *cache) stats() CacheStats {
	var st CacheStats
	for i := range c.shards {
		s := &c.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		s.mu.RLock()
		st.Size += len(s.ring)
		s.mu.RUnlock()
	}
	return st
}
