// Package memo remembers the answers of a pure function of a string for
// recent keys, in a fixed table: a request's User-Agent, a query
// parameter's name, asked about on every request while a site sees few
// distinct ones.
//
// Each key lands on one slot, chosen by a hash with a seed of the table's
// own, and replaces whatever the slot held: a miss costs the function once
// more, and the table's memory is bounded (slots times the longest key
// kept), whatever keys clients send. Safe for concurrent use, without
// locks.
package memo

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// Table remembers fn's answers for recent keys.
type Table[V any] struct {
	fn     func(string) V
	maxKey int
	seed   maphash.Seed
	slots  []atomic.Pointer[entry[V]]
}

// entry is one remembered answer; never modified once stored.
type entry[V any] struct {
	key string
	val V
}

// New remembers fn's answers in a table of slots entries (rounded up to a
// power of two), for keys of at most maxKey bytes (longer keys are always
// computed). fn must be a pure function of its key, and what it returns
// must not be modified by anyone once returned: every caller of Get with
// the same key may share it.
func New[V any](slots, maxKey int, fn func(string) V) *Table[V] {
	n := 1
	for n < slots {
		n <<= 1
	}
	return &Table[V]{fn: fn, maxKey: maxKey, seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[entry[V]], n)}
}

// Get returns fn(key), remembered or computed (and remembered).
func (t *Table[V]) Get(key string) V {
	if len(key) > t.maxKey {
		return t.fn(key)
	}
	slot := &t.slots[maphash.String(t.seed, key)&uint64(len(t.slots)-1)]
	if e := slot.Load(); e != nil && e.key == key {
		return e.val
	}
	e := &entry[V]{key: strings.Clone(key), val: t.fn(key)}
	slot.Store(e)
	return e.val
}
