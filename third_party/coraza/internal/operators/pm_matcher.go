// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package operators

import (
	"sort"
)

// pmMatcher is the Aho-Corasick automaton @pm, @pmFromFile and
// @pmFromDataset search with (Parapet patch). It finds what
// github.com/petar-dambovaliev/aho-corasick finds when built with
// AsciiCaseInsensitive and LeftMostLongestMatch, and iterated as Coraza
// iterates it, in a few flat arrays instead of that library's DFA (some
// 250 bytes per byte of phrase):
//
//   - bytes are mapped to classes: one per distinct byte of the phrases
//     (ASCII letters folded), and class 0 for every byte no phrase has;
//   - states are the trie's nodes in breadth-first order; the first
//     nDense (the shallow ones, where a search spends most of its time)
//     have a full row of transitions, failures resolved, nClasses wide;
//   - the others keep their trie edges (sorted by class) and a failure
//     link, followed until a state with a row is reached.
//
// A transition's target carries pmMatchBit when some phrase ends there.
// A pmMatcher is never modified once built, so transactions share it.
type pmMatcher struct {
	// root is the start state's row by byte (the search's most common
	// step: one load).
	root     [256]uint32
	classes  [256]uint8
	nClasses uint32
	nDense   uint32
	// dense holds the rows of states [0, nDense): dense[s*nClasses+c].
	dense []uint32
	// edgeStart[s-nDense] .. edgeStart[s-nDense+1] are the indexes in
	// edgeClass and edgeTo of sparse state s's trie edges.
	edgeStart []uint32
	edgeClass []uint8
	edgeTo    []uint32
	// fail is each state's failure link (the longest proper suffix of its
	// string that is a state), without pmMatchBit.
	fail []uint32
	// depth is the length of each state's string; outLen the length of the
	// longest phrase its string ends with, or -1.
	depth  []int32
	outLen []int32
}

// pmMatchBit marks a transition's target as a state some phrase ends in.
const pmMatchBit = 1 << 31

// pmDenseBytes bounds the rows of one automaton: the first states, in
// breadth-first order, get a row while their rows fit in it (at least
// the start state's).
const pmDenseBytes = 16 << 10

// foldASCII lower-cases an ASCII upper-case letter.
func foldASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

// pmNode is a trie node while building: the sorted phrases [lo, hi) all
// start with its string, of length depth.
type pmNode struct {
	lo, hi int32
	depth  int32
}

// newPMMatcher builds the automaton of the phrases (duplicates and order
// do not matter; an empty phrase matches everywhere).
func newPMMatcher(phrases []string) *pmMatcher {
	m := &pmMatcher{}
	folded := make([]string, 0, len(phrases))
	var used [256]bool
	for _, p := range phrases {
		b := []byte(p)
		for i, c := range b {
			c = foldASCII(c)
			b[i] = c
			used[c] = true
		}
		folded = append(folded, string(b))
	}
	sort.Strings(folded)
	// Classes in byte order, so that the trie's edges, made in byte order,
	// are sorted by class.
	n := uint32(1)
	for c := 0; c < 256; c++ {
		if used[c] {
			m.classes[c] = uint8(n)
			n++
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.classes[c] = m.classes[c+('a'-'A')]
	}
	m.nClasses = n
	m.nDense = uint32(pmDenseBytes / (4 * n))
	if m.nDense < 1 {
		m.nDense = 1
	}

	// The trie, breadth first: each node is a range of the sorted phrases.
	nodes := []pmNode{{lo: 0, hi: int32(len(folded)), depth: 0}}
	terminal := []bool{}
	type edge struct {
		from, to uint32
		class    uint8
	}
	var edges []edge
	for s := 0; s < len(nodes); s++ {
		nd := nodes[s]
		lo, d := nd.lo, nd.depth
		term := false
		for lo < nd.hi && int32(len(folded[lo])) == d {
			term = true
			lo++
		}
		terminal = append(terminal, term)
		for lo < nd.hi {
			c := folded[lo][d]
			hi := lo + 1
			for hi < nd.hi && folded[hi][d] == c {
				hi++
			}
			edges = append(edges, edge{from: uint32(s), to: uint32(len(nodes)), class: m.classes[c]})
			nodes = append(nodes, pmNode{lo: lo, hi: hi, depth: d + 1})
			lo = hi
		}
	}
	states := uint32(len(nodes))
	if m.nDense > states {
		m.nDense = states
	}
	m.fail = make([]uint32, states)
	m.depth = make([]int32, states)
	m.outLen = make([]int32, states)
	for s, nd := range nodes {
		m.depth[s] = nd.depth
	}
	nodes = nil
	m.dense = make([]uint32, m.nDense*n)
	m.edgeStart = make([]uint32, states-m.nDense+1)
	m.edgeClass = make([]uint8, 0, len(edges))
	m.edgeTo = make([]uint32, 0, len(edges))

	// Edges come grouped by their source, sources in increasing order.
	// Failure links and rows in breadth-first order: a state's failure is
	// shallower, so built before it.
	if terminal[0] {
		m.outLen[0] = 0
	} else {
		m.outLen[0] = -1
	}
	flag := func(t uint32) uint32 {
		if m.outLen[t] >= 0 {
			return t | pmMatchBit
		}
		return t
	}
	e := 0
	for s := uint32(0); s < states; s++ {
		first := e
		for e < len(edges) && edges[e].from == s {
			e++
		}
		out := edges[first:e]
		// The children's failure links and match lengths: needed before
		// flag() of this state's own transitions to them.
		for _, ed := range out {
			t := ed.to
			if s == 0 {
				m.fail[t] = 0
			} else {
				m.fail[t] = m.next(m.fail[s], ed.class) &^ pmMatchBit
			}
			if terminal[t] {
				m.outLen[t] = m.depth[t]
			} else {
				m.outLen[t] = m.outLen[m.fail[t]]
			}
		}
		if s < m.nDense {
			row := m.dense[s*n : (s+1)*n]
			if s == 0 {
				for c := range row {
					row[c] = flag(0)
				}
			} else {
				copy(row, m.dense[m.fail[s]*n:(m.fail[s]+1)*n])
			}
			for _, ed := range out {
				row[ed.class] = flag(ed.to)
			}
		} else {
			for _, ed := range out {
				m.edgeClass = append(m.edgeClass, ed.class)
				m.edgeTo = append(m.edgeTo, flag(ed.to))
			}
			m.edgeStart[s-m.nDense+1] = uint32(len(m.edgeTo))
		}
	}
	for b := range m.root {
		m.root[b] = m.dense[m.classes[b]]
	}
	return m
}

// next is the state after state s reads a byte of class c, with
// pmMatchBit when a phrase ends there.
func (m *pmMatcher) next(s uint32, c uint8) uint32 {
	for s >= m.nDense {
		i := s - m.nDense
		for e, end := m.edgeStart[i], m.edgeStart[i+1]; e < end; e++ {
			if m.edgeClass[e] == c {
				return m.edgeTo[e]
			}
		}
		s = m.fail[s]
	}
	return m.dense[s*m.nClasses+uint32(c)]
}

// step is the state after state s reads byte b, with pmMatchBit when a
// phrase ends there.
func (m *pmMatcher) step(s uint32, b byte) uint32 {
	c := m.classes[b]
	if s < m.nDense {
		return m.dense[s*m.nClasses+uint32(c)]
	}
	return m.next(s, c)
}

// matchAny reports whether a phrase occurs in value.
func (m *pmMatcher) matchAny(value string) bool {
	if m.outLen[0] >= 0 {
		return true
	}
	s := uint32(0)
	for i := 0; i < len(value); i++ {
		if s == 0 {
			s = m.root[value[i]]
		} else {
			s = m.step(s, value[i])
		}
		if s&pmMatchBit != 0 {
			return true
		}
	}
	return false
}

// find returns the leftmost-longest occurrence of a phrase in value
// that starts at or after at: the one that starts first, the longest of
// those.
func (m *pmMatcher) find(value string, at int) (start, end int, ok bool) {
	best := -1 // start of the best occurrence so far
	if m.outLen[0] >= 0 {
		best, end = at, at
	}
	s := uint32(0)
	for i := at; i < len(value); i++ {
		if s == 0 {
			s = m.root[value[i]]
		} else {
			s = m.step(s, value[i])
		}
		matched := s&pmMatchBit != 0
		s &^= pmMatchBit
		if matched {
			if st := i + 1 - int(m.outLen[s]); best < 0 || st <= best {
				best, end = st, i+1
			}
		}
		// Occurrences still in progress start at i+1-depth or later: once
		// that is past the best one's start, none can beat it.
		if best >= 0 && i+1-int(m.depth[s]) > best {
			break
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return best, end, true
}

// each calls found with the first limit occurrences Coraza's iteration
// of the aho-corasick library's matches gave: the leftmost-longest one,
// then the leftmost-longest one starting after its start (they may
// overlap), and so on.
func (m *pmMatcher) each(value string, limit int, found func(start, end int)) {
	for at, n := 0, 0; at <= len(value) && n < limit; n++ {
		start, end, ok := m.find(value, at)
		if !ok {
			return
		}
		found(start, end)
		at = start + 1
	}
}
