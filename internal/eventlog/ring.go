package eventlog

import (
	"strconv"
	"sync"
)

// DefaultRingSize is how many events the ring keeps by default.
const DefaultRingSize = 2000

// Ring keeps the newest events in memory, up to its size; older ones are
// dropped. It is safe for concurrent use.
type Ring struct {
	mu   sync.RWMutex
	buf  []*Record
	seqs []uint64
	next uint64 // the sequence number the next record gets (from 1)
}

// NewRing returns a ring of size events (DefaultRingSize when size <= 0).
func NewRing(size int) *Ring {
	if size <= 0 {
		size = DefaultRingSize
	}
	return &Ring{buf: make([]*Record, size), seqs: make([]uint64, size), next: 1}
}

// Add appends r, dropping the oldest event when the ring is full. r must
// not be changed afterwards.
func (g *Ring) Add(r *Record) {
	g.mu.Lock()
	i := int(g.next % uint64(len(g.buf)))
	g.buf[i], g.seqs[i] = r, g.next
	g.next++
	g.mu.Unlock()
}

// Len is the number of events held.
func (g *Ring) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := int(g.next - 1)
	if n > len(g.buf) {
		n = len(g.buf)
	}
	return n
}

// Page is one page of a query's answer, newest first.
type Page struct {
	Events []*Record
	// Next continues the query with older events ("" at the end).
	Next string
}

// Query returns the events matching f, newest first, at most f.Limit of
// them, starting below f.Cursor.
func (g *Ring) Query(f Filter) Page {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	size := uint64(len(g.buf))
	newest := g.next - 1
	if f.Cursor != 0 && f.Cursor-1 < newest {
		newest = f.Cursor - 1
	}
	oldest := uint64(1)
	if g.next > size {
		oldest = g.next - size
	}
	var p Page
	for s := newest; s >= oldest && s > 0; s-- {
		r := g.buf[s%size]
		if !f.Match(r) {
			continue
		}
		if len(p.Events) == limit {
			p.Next = strconv.FormatUint(s+1, 10) // older than the last one returned
			break
		}
		p.Events = append(p.Events, r)
	}
	return p
}
