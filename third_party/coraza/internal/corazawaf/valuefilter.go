// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"unsafe"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// A value filter (Parapet patch) lets the embedder skip operator
// evaluations it can prove would not match. When the WAF is built the
// embedder is shown every rule (chain links included) and gives the ones
// it can reason about a slot; during a transaction it is asked once per
// distinct value (per phase) which slots may match that value, after any
// of the rule's transformations. A rule whose slot is clear for a value
// is not run on it: no transformation, no operator call. That is exact
// as long as the embedder's answer is conservative: an operator that does
// not match has no side effect (captures and setvar happen on a match),
// and only a match reaches the rule's actions. Rules without a slot run
// as before.
//
// On a CRS rule set most (rule, value) pairs of a large body are @rx
// rules meeting values that lack the literals their pattern needs; the
// embedder finds those with one multi-pattern pass over the value
// instead of one per rule.

// ValueFilterRule describes one rule (or chain link) to a value filter's
// planner.
type ValueFilterRule struct {
	ID       int // 0 for a chain link
	ParentID int
	// Operator is the operator's name without '@' or '!' ("rx").
	Operator string
	// Argument is the operator's argument as written.
	Argument string
	Negated  bool
	// Transformations are the rule's transformation names, in order.
	Transformations []string
	MultiMatch      bool
	// Transform runs the rule's transformation chain (for tests).
	Transform func(string) string
	// Op is the rule's operator. An operator that can say what it
	// matches (@pm and @pmFromFile: see experimental.PhraseOperator) lets
	// the filter reason about it as it does about a pattern.
	Op plugintypes.Operator
}

// ValueFilter is what an embedder provides.
type ValueFilter struct {
	// Plan returns the rule's slot, from 0, or -1 to always run the
	// rule.
	Plan func(ValueFilterRule) int
	// Planned is called once every rule was planned, before Classify,
	// and returns how many slots Plan handed out.
	Planned func() int
	// Classify sets in mayMatch (Slots bits, cleared by the caller) the
	// slot of every rule that may match the value after its
	// transformations. It is called concurrently.
	Classify func(value string, mayMatch []uint64)
}

// SetValueFilter plans every rule of the WAF with f. It must be called
// before the WAF's first transaction; a nil f removes the filter.
func (w *WAF) SetValueFilter(f *ValueFilter) {
	w.valueFilter, w.valueFilterSlots = nil, 0
	for i := range w.Rules.rules {
		for r := &w.Rules.rules[i]; r != nil; r = r.Chain {
			r.filterSlot = 0
			if f == nil || r.operator == nil {
				continue
			}
			if slot := f.Plan(r.valueFilterRule()); slot >= 0 {
				r.filterSlot = int32(slot) + 1
			}
		}
	}
	if f == nil {
		return
	}
	slots := f.Planned()
	for i := range w.Rules.rules {
		for r := &w.Rules.rules[i]; r != nil; r = r.Chain {
			if int(r.filterSlot) > slots {
				r.filterSlot = 0 // out of range: always run
			}
		}
	}
	if slots > 0 {
		w.valueFilter, w.valueFilterSlots = f, slots
	}
}

func (r *Rule) valueFilterRule() ValueFilterRule {
	op := r.operator.Function
	if len(op) > 0 && op[0] == '!' {
		op = op[1:]
	}
	if len(op) > 0 && op[0] == '@' {
		op = op[1:]
	}
	names := make([]string, 0, len(r.transformations))
	id := 0
	for _, pid := range r.transformationPrefixIDs {
		// transformationIDToName[pid] is "+a+b+c": the chain so far.
		full := transformationIDToName[pid]
		names = append(names, full[len(transformationIDToName[id])+1:])
		id = pid
	}
	return ValueFilterRule{
		ID:              r.ID_,
		ParentID:        r.ParentID_,
		Operator:        op,
		Argument:        r.operator.Data,
		Negated:         r.operator.Negation,
		Transformations: names,
		MultiMatch:      r.MultiMatch,
		Transform: func(v string) string {
			out, _ := r.executeTransformations(v)
			return out
		},
		Op: r.operator.Operator,
	}
}

// valueFilterCache holds, per phase, each distinct value's answer from
// the filter: an open-addressing table keyed by the value's address and
// length (as the transformation cache is; the key keeps the string
// alive), its answers side by side in one slice.
type valueFilterCache struct {
	keys  []vfKey // a power of two long
	used  int
	words int
	bits  []uint64
}

type vfKey struct {
	p   *byte
	n   int
	off int32 // the value's first word in bits, plus one (0: empty slot)
}

// mayMatch reports whether the rule with slot (as stored: slot+1) may
// match value.
func (tx *Transaction) valueMayMatch(value string, slot int32) bool {
	f := tx.WAF.valueFilter
	c := &tx.valueFilter
	if c.words == 0 {
		c.words = (tx.WAF.valueFilterSlots + 63) / 64
		c.keys = make([]vfKey, 64)
	}
	p, n := unsafe.StringData(value), len(value)
	h := uint64(uintptr(unsafe.Pointer(p)))*0x9E3779B97F4A7C15 ^ uint64(n)*0xC2B2AE3D27D4EB4F
	h ^= h >> 31
	mask := uint64(len(c.keys) - 1)
	i := h & mask
	for ; c.keys[i].off != 0; i = (i + 1) & mask {
		if k := &c.keys[i]; k.p == p && k.n == n {
			return c.bit(k.off-1, slot-1)
		}
	}
	// Not seen this phase: classify it.
	off := int32(len(c.bits))
	for range c.words {
		c.bits = append(c.bits, 0)
	}
	f.Classify(value, c.bits[off:off+int32(c.words)])
	c.keys[i] = vfKey{p: p, n: n, off: off + 1}
	c.used++
	if 4*c.used > 3*len(c.keys) {
		c.grow()
	}
	return c.bit(off, slot-1)
}

func (c *valueFilterCache) bit(off, slot int32) bool {
	return c.bits[off+slot>>6]&(1<<(uint(slot)&63)) != 0
}

func (c *valueFilterCache) grow() {
	old := c.keys
	c.keys = make([]vfKey, 2*len(old))
	mask := uint64(len(c.keys) - 1)
	for _, k := range old {
		if k.off == 0 {
			continue
		}
		h := uint64(uintptr(unsafe.Pointer(k.p)))*0x9E3779B97F4A7C15 ^ uint64(k.n)*0xC2B2AE3D27D4EB4F
		h ^= h >> 31
		i := h & mask
		for c.keys[i].off != 0 {
			i = (i + 1) & mask
		}
		c.keys[i] = k
	}
}

// reset empties the cache (each phase, and for a reused transaction);
// a table grown past 4096 values by a large body is dropped.
func (c *valueFilterCache) reset() {
	if c.used == 0 {
		return
	}
	if len(c.keys) > 4096 {
		*c = valueFilterCache{}
		return
	}
	clear(c.keys)
	c.used = 0
	c.bits = c.bits[:0]
}
