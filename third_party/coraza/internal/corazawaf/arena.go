// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

// arenaChunk is how many values a chunk of an arena holds.
const arenaChunk = 32

// arena hands out values that live as long as one transaction: the
// MatchData of each matched value and the MatchedRule of each matched
// rule, several dozen on a benign request (CRS's initialisation actions,
// the paranoia-level gates, 920450 on every header name). Each was a heap
// allocation; the arena keeps its chunks across the pooled transactions
// that reuse it, so a transaction allocates only when it matches more
// than any before it on the same Transaction value.
//
// Values are never moved (chunks do not grow), so pointers stay valid
// until reset, when the next transaction starts: a MatchedRule or
// MatchData must not be used after its transaction is closed.
type arena[T any] struct {
	chunks [][]T
	chunk  int // the chunk values are handed from
	used   int // how many values of chunks[chunk] are handed out
}

// next returns a zero value of the arena's.
func (a *arena[T]) next() *T {
	if a.chunk < len(a.chunks) && a.used == arenaChunk {
		a.chunk++
		a.used = 0
	}
	if a.chunk == len(a.chunks) {
		a.chunks = append(a.chunks, make([]T, arenaChunk))
	}
	v := &a.chunks[a.chunk][a.used]
	a.used++
	return v
}

// one returns a slice of one value of the arena's, v, with no room to
// grow: an append copies it out.
func (a *arena[T]) one(v T) []T {
	p := a.next()
	*p = v
	i := a.used - 1
	return a.chunks[a.chunk][i : i+1 : i+1]
}

// reset zeroes the values handed out (they hold the last transaction's
// strings) and hands them out again.
func (a *arena[T]) reset() {
	for i := 0; i < a.chunk && i < len(a.chunks); i++ {
		clear(a.chunks[i])
	}
	if a.chunk < len(a.chunks) {
		clear(a.chunks[a.chunk][:a.used])
	}
	a.chunk, a.used = 0, 0
}
