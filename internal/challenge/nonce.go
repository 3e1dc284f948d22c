package challenge

import (
	"container/list"
	"context"
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

// MemoryNonces is a bounded in-memory NonceStore: at most max keys are
// kept; when full, the oldest key is dropped, which is safe because a key
// only needs to outlive its challenge's TTL and the oldest expires first
// (keys dropped early are still refused by the token's own expiry, unless
// the store is so small that a nonce is evicted within its TTL: size it
// for challenges served per TTL).
type MemoryNonces struct {
	mu    sync.Mutex
	max   int
	keys  map[string]*list.Element
	order *list.List // of entry, oldest first
	now   func() time.Time
}

type entry struct {
	key string
	exp time.Time
}

// NewMemoryNonces returns a store holding at most max keys (>= 1).
func NewMemoryNonces(max int) *MemoryNonces {
	if max < 1 {
		max = 1
	}
	return &MemoryNonces{max: max, keys: map[string]*list.Element{}, order: list.New(), now: time.Now}
}

// SetNX implements NonceStore.
func (m *MemoryNonces) SetNX(_ context.Context, key string, _ []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	// Drop expired keys from the front (oldest first; TTLs are similar).
	for e := m.order.Front(); e != nil; e = m.order.Front() {
		en := e.Value.(entry)
		if en.exp.After(now) {
			break
		}
		m.order.Remove(e)
		delete(m.keys, en.key)
	}
	if e, ok := m.keys[key]; ok {
		if e.Value.(entry).exp.After(now) {
			return false, nil
		}
		m.order.Remove(e)
		delete(m.keys, key)
	}
	for len(m.keys) >= m.max {
		e := m.order.Front()
		m.order.Remove(e)
		delete(m.keys, e.Value.(entry).key)
	}
	m.keys[key] = m.order.PushBack(entry{key: key, exp: now.Add(ttl)})
	return true, nil
}

// Len is the number of keys held.
func (m *MemoryNonces) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}
