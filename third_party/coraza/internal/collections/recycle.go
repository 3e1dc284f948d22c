// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"github.com/corazawaf/coraza/v3/internal/corazarules"
	"github.com/corazawaf/coraza/v3/types"
)

// Whole-collection matches (FindAll) are built once per change and shared
// (matchesCache); a 10 KB JSON body's ARGS_POST, ARGS_POST_NAMES, ARGS and
// ARGS_NAMES each built a list of ~500 matches, some 180 KB per request
// for the collector. A pooled transaction's collections are used again by
// the next request, so when the transaction ends (RecycleMatches, called
// by its Close: nothing reads a transaction's matches after it) the
// buffers behind the last lists are kept for the next builds.

// maxSpareMatches bounds the buffers a collection keeps for its next
// build: the request-side limit Parapet sets (SecArgumentsLimit 1001) with
// room; a larger list is left to the garbage collector.
const maxSpareMatches = 2048

// Recycler is a collection whose whole-collection matches can be built
// again into the memory of its last ones, once nothing reads them:
// Transaction.Close calls RecycleMatches on every collection that has it.
type Recycler interface {
	RecycleMatches()
}

// take returns n matches and a list of n pointers to fill, from the
// buffers of the transaction before when they are large enough, and
// remembers them as the next build's (find). m may be nil (a build that
// is not cached).
func (m *matchesCache) take(n int) ([]corazarules.MatchData, []types.MatchData) {
	if m == nil || cap(m.spareBuf) < n || cap(m.spareRes) < n {
		buf, res := make([]corazarules.MatchData, n), make([]types.MatchData, n)
		if m != nil {
			m.taken = buf
		}
		return buf, res
	}
	buf, res := m.spareBuf[:n], m.spareRes[:n]
	m.spareBuf, m.spareRes, m.taken = nil, nil, buf
	return buf, res
}

// recycle forgets the cached matches, keeping their buffers (emptied, so
// they hold no strings of the request) for the next build. Only for when
// nothing reads the matches any more.
func (m *matchesCache) recycle() {
	if m.valid && m.buf != nil && cap(m.buf) <= maxSpareMatches && cap(m.matches) <= maxSpareMatches {
		buf, res := m.buf[:cap(m.buf)], m.matches[:cap(m.matches)]
		clear(buf)
		clear(res)
		if cap(m.spareBuf) < cap(buf) {
			m.spareBuf, m.spareRes = buf[:0], res[:0]
		}
	}
	m.valid, m.matches, m.buf, m.taken = false, nil, nil, nil
}

// RecycleMatches keeps the memory of the map's last whole-collection
// matches for its next build (Recycler).
func (c *Map) RecycleMatches() { c.all.recycle() }

// RecycleMatches keeps the memory of the names' last whole-collection
// matches for their next build (Recycler).
func (c *NamedCollectionNames) RecycleMatches() { c.all.recycle() }

// RecycleMatches keeps the memory of the view's last whole-collection
// matches for its next build (Recycler).
func (c *ConcatKeyed) RecycleMatches() { c.all.recycle() }
