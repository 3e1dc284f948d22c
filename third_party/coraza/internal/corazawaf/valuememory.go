// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"
)

// A value filter's answer for a value is a function of the value alone
// (ValueFilter.Classify and ClassifyGroup are given nothing else), and so
// is whether a rule with a slot matches it: the filter's answers are
// exact only if a slot's rule matches by the value alone. So when such a
// rule has run on a value and not matched, it will not match that value
// in any later transaction either. Request after request, browsers send
// the same User-Agent, Accept and Accept-Language headers, and a client
// the same cookies; none of them is plain, so the filter lets every rule
// run on them, and on a GET most of the rule engine's time is those
// rules failing to match the same values again.
//
// The WAF's answer memory keeps, for values that come back, the filter's
// answers with the slots of the rules that ran on the value and did not
// match cleared: a later transaction takes the value's answers from it
// (no Classify call) and passes over those rules as it passes over the
// ones the filter rules out. What it keeps is learned, never guessed: a
// slot is cleared only after its rule ran on the value without a match,
// and only for a rule whose misses leave nothing behind (not a negated
// operator with capture: its miss is the operator's match, which wrote
// TX:0-9).
//
// Learned misses are facts about the rule set: a WAF's memory lives and
// dies with it (a new rule set is a new WAF, with an empty memory).

const (
	// answerMemorySlots is the number of values the memory holds at most.
	answerMemorySlots = 2048
	// answerMemoryMaxLen is the longest value it holds.
	answerMemoryMaxLen = 512
	// answerOfferTxBits of an offer identify the transaction that made it.
	answerOfferTxBits = 16
)

// answerMemory is a fixed-size table of values and their answers, two
// candidate slots per value (as the @rx miss memories have). Entries are
// never changed once stored; a slot is replaced whole by an atomic store,
// so look-ups take no lock. A value is stored only once it comes back in
// another transaction (an offer from one transaction, then one from
// another), so a stream of values that never repeat (a JSON body's)
// costs a hash and two loads each, and does not push out the ones that
// do.
type answerMemory struct {
	seed  maphash.Seed
	slots [answerMemorySlots]answerSlot
	// txSeq numbers the transactions that make offers.
	txSeq atomic.Uint64
}

type answerSlot struct {
	offer atomic.Uint64 // the last offer: its value's hash, low bits its transaction's
	entry atomic.Pointer[answerEntry]
}

// answerEntry is a remembered value and its answers: the filter's words
// (and, with groups, the word of groups answered), with the slots of the
// rules that ran on the value and did not match cleared.
type answerEntry struct {
	hash    uint64
	value   string
	answers []uint64
}

func newAnswerMemory() *answerMemory {
	return &answerMemory{seed: maphash.MakeSeed()}
}

// hash is v's hash in m (never 0).
func (m *answerMemory) hash(v string) uint64 {
	return maphash.String(m.seed, v) | 1
}

func (m *answerMemory) candidates(h uint64) (*answerSlot, *answerSlot) {
	return &m.slots[(h>>1)%answerMemorySlots], &m.slots[(h>>32)%answerMemorySlots]
}

// find returns v's answers, or nil.
func (m *answerMemory) find(v string, h uint64) []uint64 {
	a, b := m.candidates(h)
	if e := a.entry.Load(); e != nil && e.hash == h && e.value == v {
		return e.answers
	}
	if e := b.entry.Load(); e != nil && e.hash == h && e.value == v {
		return e.answers
	}
	return nil
}

// offer stores answers as v's (v and answers are copied) when v was
// offered before by another transaction or is held already; tx numbers
// the offering transaction. Offers compare hashes only: a collision can
// at worst store a value early, and what is stored is still what was
// learned of it.
func (m *answerMemory) offer(v string, h uint64, answers []uint64, tx uint64) {
	const txMask = 1<<answerOfferTxBits - 1
	a, b := m.candidates(h)
	s := (*answerSlot)(nil)
	for _, c := range [2]*answerSlot{a, b} {
		if e := c.entry.Load(); e != nil && e.hash == h && e.value == v {
			s = c
			break
		}
	}
	if s == nil {
		offer := h&^txMask | tx&txMask
		seen := false
		for _, c := range [2]*answerSlot{a, b} {
			prev := c.offer.Swap(offer)
			seen = seen || prev&^txMask == h&^txMask && prev != offer
		}
		if !seen {
			return
		}
		s = a
		if a.entry.Load() != nil {
			s = b // empty, or both taken: a value whose first choice is busy still gets in
		}
	}
	e := &answerEntry{hash: h, value: strings.Clone(v), answers: append([]uint64(nil), answers...)}
	s.entry.Store(e)
}

// remember offers what this phase learned to the WAF's answer memory:
// the answers of every value classified in it, and of every value on
// which a rule with a slot ran without matching, with that rule's slot
// cleared. Called at the end of each phase, while the values are the
// transaction's.
func (tx *Transaction) remember() {
	c := &tx.valueFilter
	m := tx.WAF.answerMemory
	if m == nil || !c.offers {
		return
	}
	c.offers = false
	if c.txSeq == 0 {
		c.txSeq = m.txSeq.Add(1)
	}
	for i := range c.keys {
		k := &c.keys[i]
		if k.off == 0 {
			continue
		}
		at := &c.meta[(k.off-1)/int32(c.stride)]
		if !at.offer {
			continue
		}
		at.offer = false
		off := k.off - 1
		answers := c.bits[off : off+int32(c.answerWords)]
		missed := c.bits[off+int32(c.answerWords) : off+int32(c.stride)]
		for w := range missed {
			answers[w] &^= missed[w]
		}
		m.offer(unsafe.String(k.p, k.n), at.hash, answers, c.txSeq)
	}
}

// noteMissAt records that the rule with slot (as stored: slot+1) ran on
// values[i] of the slice l is aligned with (l nil: no list) and did not
// match it. Only a rule with filterLearns calls it, so the WAF has a
// memory.
func (tx *Transaction) noteMissAt(l *vfList, i int, value string, slot int32) {
	off := int32(-1)
	if l != nil {
		if a := &l.at[i]; a.off != 0 && a.p == unsafe.StringData(value) && a.n == len(value) {
			off = a.off - 1
		}
	}
	if off < 0 {
		off = tx.valueFilterOffset(value)
	}
	c := &tx.valueFilter
	at := &c.meta[off/int32(c.stride)]
	if at.hash == 0 {
		return // longer than the memory holds
	}
	s := slot - 1
	c.bits[off+int32(c.answerWords)+s>>6] |= 1 << (uint(s) & 63)
	at.offer, c.offers = true, true
}

// RememberedValues is how many values the WAF's answer memory holds.
func (w *WAF) RememberedValues() int {
	m := w.answerMemory
	if m == nil {
		return 0
	}
	n := 0
	for i := range m.slots {
		if m.slots[i].entry.Load() != nil {
			n++
		}
	}
	return n
}
