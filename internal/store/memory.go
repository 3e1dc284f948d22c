package store

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// MemoryOptions configure a Memory store.
type MemoryOptions struct {
	// MaxKeys bounds the buckets and counters kept; past it the least
	// recently used are evicted. One-time nonces and flags (SetNX, Set) are
	// kept apart, bounded by a fifth of it (at least 10,000), so a flood of
	// new clients cannot evict used nonces and open them to replay.
	// 0 means DefaultMaxKeys.
	MaxKeys int
	// MaxBans bounds the bans kept; past it the one ending soonest goes.
	// 0 means DefaultMaxBans.
	MaxBans int
	// BanFile, when set, persists bans (written atomically) so they survive
	// a restart; changes other processes make to it (`parapet ban`) are
	// picked up within SyncInterval.
	BanFile string
	// SyncInterval is how often the ban file is written and re-read
	// (default 1s).
	SyncInterval time.Duration
	// Log receives ban-file errors.
	Log *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// DefaultMaxKeys is the memory store's default key bound: about 64 MiB at
// the bound (measured by BenchmarkMemoryStore1MKeys; see README).
const DefaultMaxKeys = 500_000

// DefaultMaxBans is the memory store's default bound on bans.
const DefaultMaxBans = 100_000

const shardCount = 64

// Memory is the single-instance Store: sharded LRU maps bounded by
// MaxKeys, bans in a map persisted to BanFile.
type Memory struct {
	seed   maphash.Seed
	shards [shardCount]memShard // GCRA buckets and counters
	once   [shardCount]memShard // nonces and flags
	now    func() time.Time
	bans   *memBans
	stop   context.CancelFunc
	done   chan struct{}
}

type memShard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[uint64, entry]
}

// entry is one key's state. Keys are stored as 64-bit hashes with a
// per-process random seed: 8 bytes per key instead of the string, and an
// attacker cannot aim collisions at another client's key.
type entry struct {
	n    int64  // GCRA theoretical arrival time, or a counter
	exp  int64  // expiry, unix nanoseconds
	data string // Set/SetNX values
}

var _ Store = (*Memory)(nil)

// NewMemory returns a memory store. With opts.BanFile it loads the bans
// saved there and keeps the file in sync until ctx ends or Close.
func NewMemory(ctx context.Context, opts MemoryOptions) (*Memory, error) {
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.MaxBans <= 0 {
		opts.MaxBans = DefaultMaxBans
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	m := &Memory{seed: maphash.MakeSeed(), now: opts.Now}
	per := (opts.MaxKeys + shardCount - 1) / shardCount
	perOnce := (max(opts.MaxKeys/5, 10_000) + shardCount - 1) / shardCount
	for i := range m.shards {
		m.shards[i].lru, _ = simplelru.NewLRU[uint64, entry](per, nil)
		m.once[i].lru, _ = simplelru.NewLRU[uint64, entry](perOnce, nil)
	}
	var err error
	if m.bans, err = newMemBans(opts); err != nil {
		return nil, err
	}
	ctx, m.stop = context.WithCancel(ctx)
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		if m.bans.file == nil {
			<-ctx.Done()
			return
		}
		t := time.NewTicker(opts.SyncInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				m.bans.sync()
				return
			case <-t.C:
				m.bans.sync()
			}
		}
	}()
	return m, nil
}

// Close stops syncing the ban file and writes the bans made since the
// last sync (also those made after ctx ended, while a server drained).
func (m *Memory) Close() error {
	m.stop()
	<-m.done
	if m.bans.file != nil {
		m.bans.sync()
	}
	return nil
}

// Len is the number of buckets and counters held.
func (m *Memory) Len() int { return count(&m.shards) }

// LenOnce is the number of nonces and flags held.
func (m *Memory) LenOnce() int { return count(&m.once) }

func count(shards *[shardCount]memShard) int {
	n := 0
	for i := range shards {
		s := &shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

func (m *Memory) shard(key string) (*memShard, uint64) {
	h := maphash.String(m.seed, key)
	return &m.shards[h%shardCount], h
}

func (m *Memory) onceShard(key string) (*memShard, uint64) {
	h := maphash.String(m.seed, key)
	return &m.once[h%shardCount], h
}

// GCRA implements Store.
func (m *Memory) GCRA(_ context.Context, key string, l Limit) (Result, error) {
	s, h := m.shard(key)
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	var tat int64
	if e, ok := s.lru.Get(h); ok && e.exp > now {
		tat = e.n
	}
	res, next := gcra(now, tat, l)
	if res.Allowed {
		s.lru.Add(h, entry{n: next, exp: next})
	}
	return res, nil
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, key string, delta int64, window time.Duration) (int64, error) {
	s, h := m.shard(key)
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lru.Get(h)
	if !ok || e.exp <= now {
		e = entry{exp: now + int64(window)}
	}
	e.n += delta
	s.lru.Add(h, e)
	return e.n, nil
}

// Member implements Store. The set is kept with the buckets and counters
// (evicted with them, least recently used first) as the 64-bit hashes of
// its members: 8 bytes each.
func (m *Memory) Member(_ context.Context, key, member string, max int, window time.Duration) (bool, error) {
	s, h := m.shard(key)
	mh := maphash.String(m.seed, member)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], mh)
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lru.Get(h)
	if !ok || e.exp <= now {
		e = entry{exp: now + int64(window)}
	}
	for i := 0; i+8 <= len(e.data); i += 8 {
		if e.data[i:i+8] == string(b[:]) {
			return true, nil
		}
	}
	if len(e.data)/8 >= max {
		return false, nil
	}
	e.data += string(b[:])
	s.lru.Add(h, e)
	return true, nil
}

// SetNX implements Store.
func (m *Memory) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	s, h := m.onceShard(key)
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.lru.Get(h); ok && e.exp > now {
		return false, nil
	}
	s.lru.Add(h, entry{exp: now + int64(ttl), data: string(value)})
	return true, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	s, h := m.onceShard(key)
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lru.Add(h, entry{exp: now + int64(ttl), data: string(value)})
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	s, h := m.onceShard(key)
	now := m.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.lru.Get(h)
	if !ok || e.exp <= now {
		return nil, false, nil
	}
	return []byte(e.data), true, nil
}

// AddBan implements Store.
func (m *Memory) AddBan(_ context.Context, b Ban) error {
	m.bans.add(b, m.now())
	return nil
}

// RemoveBan implements Store.
func (m *Memory) RemoveBan(_ context.Context, key string) (bool, error) {
	return m.bans.remove(key, m.now()), nil
}

// Banned implements Store.
func (m *Memory) Banned(_ context.Context, key string) (Ban, bool, error) {
	b, ok := m.bans.get(key, m.now())
	return b, ok, nil
}

// Bans implements Store.
func (m *Memory) Bans(_ context.Context) ([]Ban, error) {
	return m.bans.list(m.now()), nil
}
