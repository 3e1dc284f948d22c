// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import "unsafe"

// transformationCache is the per-phase cache of transformed values
// (transformArg): an open-addressing hash table keyed by
// transformationKey. A CRS transaction looks it up a few thousand times a
// phase; a Go map hashed the three-word key with its generic hash, which
// made the look-ups most of transformArg's time. (Parapet patch.)
//
// The slots hold the values' addresses, so the strings stay alive, and
// the same address cannot name another string, while they are cached.
// reset empties only the slots used, so a table that grew for a large
// body costs nothing more for the small requests after it; one that grew
// past maxKeptSlots is dropped once recent phases use less than an eighth
// of it (the phases of a run of large bodies, small header phases between
// them, keep theirs).
type transformationCache struct {
	slots []transformationSlot // a power of two long
	used  []int32              // indices of the slots in use
	// recent is how many slots recent phases used: the last one's count,
	// or half the one before's if that is more.
	recent int
}

type transformationSlot struct {
	full bool
	key  transformationKey
	val  transformationValue
}

const (
	minCacheSlots = 64
	// maxKeptSlots is the size (about 300 KB) past which a table a phase
	// barely used is not kept for the next.
	maxKeptSlots = 4096
)

func newTransformationCache() *transformationCache {
	return &transformationCache{slots: make([]transformationSlot, minCacheSlots)}
}

func (k transformationKey) hash() uint64 {
	h := uint64(uintptr(unsafe.Pointer(k.value)))*0x9E3779B97F4A7C15 ^
		uint64(k.valueLen)*0xC2B2AE3D27D4EB4F ^
		uint64(k.transformationsID)*0x165667B19E3779F9
	return h ^ h>>31
}

// get returns the value cached for k.
func (c *transformationCache) get(k transformationKey) (transformationValue, bool) {
	mask := uint64(len(c.slots) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if !s.full {
			return transformationValue{}, false
		}
		if s.key == k {
			return s.val, true
		}
	}
}

// put caches v for k.
func (c *transformationCache) put(k transformationKey, v transformationValue) {
	if 4*(len(c.used)+1) > 3*len(c.slots) {
		c.grow()
	}
	mask := uint64(len(c.slots) - 1)
	for i := k.hash() & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if !s.full {
			*s = transformationSlot{full: true, key: k, val: v}
			c.used = append(c.used, int32(i))
			return
		}
		if s.key == k {
			s.val = v
			return
		}
	}
}

func (c *transformationCache) grow() {
	old := c.slots
	c.slots = make([]transformationSlot, 2*len(old))
	c.used = c.used[:0]
	for i := range old {
		if old[i].full {
			c.put(old[i].key, old[i].val)
		}
	}
}

// len is the number of values cached.
func (c *transformationCache) len() int { return len(c.used) }

// reset empties the cache for the next phase.
func (c *transformationCache) reset() {
	c.recent = max(len(c.used), c.recent/2)
	if len(c.slots) > maxKeptSlots && 8*c.recent < len(c.slots) {
		*c = *newTransformationCache()
		return
	}
	for _, i := range c.used {
		c.slots[i] = transformationSlot{}
	}
	c.used = c.used[:0]
}
