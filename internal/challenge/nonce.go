package challenge

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// NonceStore claims solved challenge nonces so each can be used once. A
// shared store (Redis) makes the claim hold across instances; MemoryNonces
// is the single-instance default.
type NonceStore interface {
	// SetNX sets key to value for ttl unless it is already set, and
	// reports whether it was newly set.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
}

// MemoryNonces is a bounded in-memory NonceStore. It keeps a 64-bit hash
// of each key (about 50 bytes per key in all: 200k keys take about 10 MiB)
// in a map and a ring in claim order. When full, the oldest claim is
// dropped: keys need only outlive their challenge's TTL and the oldest
// expires first, so size it above the challenges solved per TTL. A hash
// collision (odds about n²/2⁶⁵) only makes a fresh nonce look used: the
// visitor solves a new challenge. Values are not kept.
type MemoryNonces struct {
	mu   sync.Mutex
	seed maphash.Seed
	exp  map[uint64]int64 // key hash -> expiry (unix nanoseconds)
	ring []claim          // claim order; head is the oldest
	head int
	n    int
	now  func() time.Time
}

type claim struct {
	h   uint64
	exp int64
}

// NewMemoryNonces returns a store holding at most max keys (>= 1).
func NewMemoryNonces(max int) *MemoryNonces {
	if max < 1 {
		max = 1
	}
	return &MemoryNonces{seed: maphash.MakeSeed(), exp: make(map[uint64]int64), ring: make([]claim, max), now: time.Now}
}

// SetNX implements NonceStore.
func (m *MemoryNonces) SetNX(_ context.Context, key string, _ []byte, ttl time.Duration) (bool, error) {
	h := maphash.String(m.seed, key)
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now().UnixNano()
	for m.n > 0 && m.ring[m.head].exp <= now {
		m.pop()
	}
	if exp, ok := m.exp[h]; ok && exp > now {
		return false, nil
	}
	if m.n == len(m.ring) {
		m.pop()
	}
	c := claim{h: h, exp: now + int64(ttl)}
	m.exp[h] = c.exp
	m.ring[(m.head+m.n)%len(m.ring)] = c
	m.n++
	return true, nil
}

// pop drops the oldest claim.
func (m *MemoryNonces) pop() {
	c := m.ring[m.head]
	if m.exp[c.h] == c.exp { // not claimed again since
		delete(m.exp, c.h)
	}
	m.head = (m.head + 1) % len(m.ring)
	m.n--
}

// Len is the number of claims held.
func (m *MemoryNonces) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.exp)
}
