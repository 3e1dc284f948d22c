// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"unsafe"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
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
	// Steps are the chain's transformations, one function each, in
	// order, each giving its result and whether the transformation
	// reports a change (a step that fails gives its input, unchanged).
	// Without multiMatch the engine takes every step's result; with it,
	// a step's result only when reported changed, and each such result
	// is a form the rule matches (executeTransformationsMultimatch).
	Steps []func(string) (string, bool)
	// Capture: the rule captures its operator's matches into TX:0-9.
	Capture bool
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
	// GroupOf, when set, is called once per slot after Planned: 0 for a
	// slot Classify answers, a group from 1 to 63 for a slot answered
	// lazily by ClassifyGroup, the first time a rule of the group meets
	// the value in the phase (an answer that costs more than a look-up,
	// wanted only for the values that rules of its group read). Another
	// group leaves the rule unfiltered.
	GroupOf func(slot int) int
	// ClassifyGroup sets or clears, in mayMatch (the value's answers,
	// Classify's included), the slot of every rule of group that may
	// match the value; it leaves the other slots as they are. It is
	// called concurrently.
	ClassifyGroup func(group int, value string, mayMatch []uint64)
	// Remember keeps, across transactions, the answers of values that
	// come back, with the slots of the rules that ran on them without a
	// match cleared (valuememory.go): exact because a slot's rule, like
	// the filter's answer, depends on the value alone.
	Remember bool
}

// maxFilterGroups bounds ValueFilter.GroupOf's groups (one bit each in a
// word per value).
const maxFilterGroups = 63

// SetValueFilter plans every rule of the WAF with f. It must be called
// before the WAF's first transaction; a nil f removes the filter.
func (w *WAF) SetValueFilter(f *ValueFilter) {
	w.valueFilter, w.valueFilterSlots, w.valueFilterGrouped, w.answerMemory = nil, 0, false, nil
	for i := range w.Rules.rules {
		for r := &w.Rules.rules[i]; r != nil; r = r.Chain {
			r.filterSlot, r.filterLearns = 0, false
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
	grouped := false
	for i := range w.Rules.rules {
		for r := &w.Rules.rules[i]; r != nil; r = r.Chain {
			r.filterGroup = 0
			if r.filterSlot == 0 || f.GroupOf == nil {
				continue
			}
			switch g := f.GroupOf(int(r.filterSlot) - 1); {
			case g == 0:
			case g > 0 && g <= maxFilterGroups && f.ClassifyGroup != nil:
				r.filterGroup, grouped = uint8(g), true
			default:
				r.filterSlot = 0 // no answer for it: always run
			}
		}
	}
	sets := map[string]uint16{}
	for i := range w.Rules.rules {
		r := &w.Rules.rules[i]
		r.filterWhole = r.filterSlot != 0 && r.filterGroup == 0 && readsWholeCollections(r)
		r.filterExcept = nil
		if !r.filterWhole {
			continue
		}
		for vi := range r.variables {
			rv := &r.variables[vi]
			if len(rv.Exceptions) == 0 || rv.KeyStr != "" || rv.KeyRx != nil {
				continue
			}
			// Variables with the same exceptions read the same values:
			// one union per phase serves them all.
			key := rv.Variable.Name()
			for _, ex := range rv.Exceptions {
				key += "\x00" + ex.KeyStr
				if ex.KeyRx != nil {
					key += "\x00/" + ex.KeyRx.String()
				}
			}
			id, ok := sets[key]
			if !ok {
				id = uint16(len(sets) + 1)
				sets[key] = id
			}
			if r.filterExcept == nil {
				r.filterExcept = make([]uint16, len(r.variables))
			}
			r.filterExcept[vi] = id
		}
	}
	w.valueFilterExceptSets = len(sets)
	// A rule learns for the answer memory only if no other rule shares
	// its slot (a miss is the rule's, not its slot's), and its misses
	// have no side effect: a negated operator's rule misses when the
	// operator matched, and with capture that match wrote TX:0-9, which
	// passing over the rule later would not (review 15).
	holders := make(map[int32]int)
	for i := range w.Rules.rules {
		for r := &w.Rules.rules[i]; r != nil; r = r.Chain {
			if r.filterSlot != 0 {
				holders[r.filterSlot]++
			}
		}
	}
	for i := range w.Rules.rules {
		for r := &w.Rules.rules[i]; r != nil; r = r.Chain {
			r.filterLearns = f.Remember && r.filterSlot != 0 && holders[r.filterSlot] == 1 &&
				!(r.operator.Negation && r.Capture)
		}
	}
	if slots > 0 {
		w.valueFilter, w.valueFilterSlots, w.valueFilterGrouped = f, slots, grouped
		if f.Remember {
			w.answerMemory = newAnswerMemory()
		}
	}
}

// unionVariables are the collections whose answers a phase may join:
// request data the engine writes before a request phase begins and no
// rule action can change during one (setvar writes TX, ctl changes how
// rules read, not what the collections hold), and whose keyed reads
// (FindString, FindRegex) return some of the values FindAll returns. A
// rule reading only these, without a count, matches nothing in the
// phase when its slot is clear in the union of their values' answers:
// each value it would read is one of those values, and the value filter
// says none may match.
var unionVariables = [256]bool{
	variables.Args:                 true,
	variables.ArgsGet:              true,
	variables.ArgsPost:             true,
	variables.ArgsPath:             true,
	variables.ArgsNames:            true,
	variables.ArgsGetNames:         true,
	variables.ArgsPostNames:        true,
	variables.RequestHeaders:       true,
	variables.RequestHeadersNames:  true,
	variables.RequestCookies:       true,
	variables.RequestCookiesNames:  true,
	variables.RequestURI:           true,
	variables.RequestURIRaw:        true,
	variables.RequestFilename:      true,
	variables.RequestBasename:      true,
	variables.RequestLine:          true,
	variables.RequestMethod:        true,
	variables.RequestProtocol:      true,
	variables.QueryString:          true,
	variables.RequestBody:          true,
	variables.Files:                true,
	variables.FilesNames:           true,
	variables.MultipartName:        true,
	variables.MultipartFilename:    true,
	variables.MultipartPartHeaders: true,
	variables.XML:                  true,
	variables.RequestXML:           true,
}

// readsWholeCollections reports whether every variable of r (a chain's
// first rule: the chain runs only after it matches) is in unionVariables
// and is not a count (a count's value is a number, not one of the
// collection's values).
func readsWholeCollections(r *Rule) bool {
	if r.operator == nil || len(r.variables) == 0 {
		return false
	}
	for i := range r.variables {
		v := &r.variables[i]
		if v.Count || !unionVariables[v.Variable] {
			return false
		}
	}
	return true
}

// cannotMatch reports whether r, a rule with filterWhole, can match none
// of the values it reads in this phase: its slot is clear in the union
// of the answers of every value of each collection it reads, or, for a
// variable with a key (REQUEST_HEADERS:User-Agent), of that key's
// values (a collection's other values do not reach the rule). The engine
// then passes over the rule without evaluating it, which is what
// evaluating it would come to (no value reaches the operator, so nothing
// matches and no action runs), without collecting its variables.
func (tx *Transaction) cannotMatch(r *Rule) bool {
	s := r.filterSlot - 1
	removed := tx.removedTargets(r.ID_)
	for i := range r.variables {
		rv := &r.variables[i]
		if removesAll(removed, rv.Variable) {
			continue // ctl took the whole variable from the rule
		}
		if rv.KeyStr != "" && rv.KeyRx == nil {
			if tx.keyMayMatch(rv, s) {
				return false
			}
			continue
		}
		var u []uint64
		if r.filterExcept != nil && r.filterExcept[i] != 0 {
			u = tx.exceptUnion(rv, r.filterExcept[i])
		} else {
			u = tx.collectionUnion(rv.Variable)
		}
		if u[s>>6]&(1<<(uint(s)&63)) != 0 {
			return false
		}
	}
	return true
}

// removesAll reports whether one of a rule's target removals for this
// transaction (ctl:ruleRemoveTargetById) takes every value of v: a
// removal without a key (CRS 941010 removes REQUEST_FILENAME from the XSS
// rules on most requests). The rule then reads none of v's values
// (exceptsWith), so its answers do not count.
func removesAll(removed []ruleVariableParams, v variables.RuleVariable) bool {
	for i := range removed {
		if c := &removed[i]; c.Variable == v && c.KeyStr == "" && c.KeyRx == nil {
			return true
		}
	}
	return false
}

// exceptUnion is collectionUnion without the values rv's exceptions name
// (the values a rule reading rv reads: doEvaluate skips the others), made
// once per phase for each set of exceptions (set, from filterExcept).
func (tx *Transaction) exceptUnion(rv *ruleVariableParams, set uint16) []uint64 {
	c := &tx.valueFilter
	if c.words == 0 {
		c.init(tx.WAF)
	}
	at := &c.exceptAt[set-1]
	if at.off == 0 || at.epoch != c.epoch {
		*at = vfUnionAt{off: tx.makeUnion(rv.Variable, rv) + 1, epoch: c.epoch}
	}
	return c.unions[at.off-1 : at.off-1+int32(c.words)]
}

// keyMayMatch reports whether slot s may match one of the values of rv's
// key.
func (tx *Transaction) keyMayMatch(rv *ruleVariableParams, s int32) bool {
	for _, m := range tx.collect(rv) {
		if tx.valueFilter.bit(tx.valueFilterOffset(m.Value()), s) {
			return true
		}
	}
	return false
}

// collectionUnion returns the union of the answers of every value of the
// collection v (one of unionVariables) in this phase, made the first
// time a rule asks in the phase.
func (tx *Transaction) collectionUnion(v variables.RuleVariable) []uint64 {
	c := &tx.valueFilter
	if c.words == 0 {
		c.init(tx.WAF)
	}
	if c.unionAt[v] == 0 || c.unionEpoch[v] != c.epoch {
		c.unionAt[v], c.unionEpoch[v] = tx.makeUnion(v, nil)+1, c.epoch
	}
	off := c.unionAt[v] - 1
	return c.unions[off : off+int32(c.words)]
}

// makeUnion appends to unions the union of the answers of every value of
// the collection v but those except's exceptions name (nil: none), and
// returns where it starts.
func (tx *Transaction) makeUnion(v variables.RuleVariable, except *ruleVariableParams) int32 {
	c := &tx.valueFilter
	off := int32(len(c.unions))
	for range c.words {
		c.unions = append(c.unions, 0)
	}
	// valueFilterOffset may grow c.bits: the union is kept apart.
	var values []types.MatchData
	if col := tx.Collection(v); col != nil {
		values = col.FindAll()
	}
	for _, m := range values {
		if except != nil && except.excepts(m.Key()) {
			continue
		}
		at := tx.valueFilterOffset(m.Value())
		u := c.unions[off : off+int32(c.words)]
		for w := range u {
			u[w] |= c.bits[at+int32(w)]
		}
	}
	return off
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
		Steps:   transformationSteps(r.transformations),
		Capture: r.Capture,
		Op:      r.operator.Operator,
	}
}

// valueFilterCache holds, per phase, each distinct value's answer from
// the filter: an open-addressing table keyed by the value's address and
// length (as the transformation cache is; the key keeps the string
// alive), its answers side by side in one slice. lists align answers with
// the slices of values rules read: the engine hands every rule that reads
// a collection the same slice while the collection does not change, so
// after the first rule each (rule, value) pair is an index, not a look-up
// in the table.
type valueFilterCache struct {
	keys  []vfKey // a power of two long
	used  int
	words int
	// stride is the words per value in bits: answerWords, then, with an
	// answer memory, words more: the slots of the rules that ran on the
	// value without a match in this transaction (valuememory.go).
	stride int
	// answerWords are the value's answers: words, and with groups one
	// more, the groups answered so far (bit g for group g).
	answerWords int
	bits        []uint64
	// meta is each value's hash in the answer memory (0: not one it
	// holds) and whether it has answers to offer it (classified in this
	// transaction, or missed by a rule since remember last ran), by value
	// (its offset in bits over stride).
	meta []vfMeta
	// offers: some value has answers to offer the memory; txSeq numbers
	// the transaction's offers (0: none made yet).
	offers bool
	txSeq  uint64
	lists  [8]vfList // the slices read most recently
	next   int       // the entry of lists to reuse next
	// unions holds, for the collections rules asked about in this phase
	// (collectionUnion), the union of their values' answers: words
	// uint64s from unionAt[variable]-1, valid while unionEpoch[variable]
	// is epoch. newPhase moves epoch on.
	unions     []uint64
	unionAt    [256]int32
	unionEpoch [256]uint32
	epoch      uint32
	// exceptAt is exceptUnion's place in unions, by set of exceptions.
	exceptAt []vfUnionAt
}

// newPhase forgets the collections' unions: a request phase begins after
// the engine wrote the collections it reads (the body's, for phase 2).
func (c *valueFilterCache) newPhase() {
	c.epoch++
	if c.epoch == 0 { // wrapped: an old entry could look current
		clear(c.unionAt[:])
		clear(c.exceptAt)
	}
	c.unions = c.unions[:0]
}

// init sizes the cache for w's filter.
func (c *valueFilterCache) init(w *WAF) {
	c.words = (w.valueFilterSlots + 63) / 64
	c.answerWords = c.words
	if w.valueFilterGrouped {
		c.answerWords++
	}
	c.stride = c.answerWords
	if w.answerMemory != nil {
		c.stride += c.words
	}
	c.exceptAt = make([]vfUnionAt, w.valueFilterExceptSets)
	c.keys = make([]vfKey, 64)
}

type vfKey struct {
	p   *byte
	n   int
	off int32 // the value's first word in bits, plus one (0: empty slot)
}

// vfUnionAt is where a union is in unions (plus one) and its phase.
type vfUnionAt struct {
	off   int32
	epoch uint32
}

type vfMeta struct {
	hash  uint64
	offer bool
}

// A vfList holds the answers' offsets of one slice of values, by index.
// Each entry names the value it was found for (address and length, as the
// table's keys do): an entry for another value (the slice's memory reused
// for other values) is found again in the table, so the list is only ever
// a shortcut.
type vfList struct {
	first *types.MatchData
	n     int
	at    []vfKey
	// any is the union of every value's answers, once all are known
	// (nil before): a rule whose slot it lacks matches none of the values
	// and skips the slice without looking at them.
	any []uint64
}

// valueFilterList returns the list aligned with values, made empty when
// values was not read since the phase began; nil for a slice too short to
// gain from one.
func (tx *Transaction) valueFilterList(values []types.MatchData) *vfList {
	if len(values) < 2 {
		return nil
	}
	c := &tx.valueFilter
	first := &values[0]
	for i := range c.lists {
		if l := &c.lists[i]; l.first == first && l.n == len(values) {
			return l
		}
	}
	l := &c.lists[c.next]
	c.next = (c.next + 1) % len(c.lists)
	l.first, l.n, l.any = first, len(values), l.any[:0]
	if cap(l.at) < len(values) {
		l.at = make([]vfKey, len(values))
	} else {
		l.at = l.at[:len(values)]
		clear(l.at)
	}
	return l
}

// anyMayMatch reports whether the rule with slot (as stored) may match
// one of values, the slice l is aligned with. The first call asks for
// every value's answers. Exact because the slice is not written to once
// read (collect: callers must not; the engine makes a new slice when a
// collection changes) and l keeps it alive (no other slice takes its
// place in memory during the phase).
//
// For a rule of a group (group > 0), whose answers are made on demand,
// each value's answer for the group is made and the slice is walked.
func (tx *Transaction) anyMayMatch(l *vfList, values []types.MatchData, slot int32, group uint8) bool {
	c := &tx.valueFilter
	if group != 0 {
		for i, v := range values {
			value := v.Value()
			a := &l.at[i]
			p, n := unsafe.StringData(value), len(value)
			if a.off == 0 || a.p != p || a.n != n {
				*a = vfKey{p: p, n: n, off: tx.valueFilterOffset(value) + 1}
			}
			tx.groupAnswered(a.off-1, value, group)
			if c.bit(a.off-1, slot-1) {
				return true
			}
		}
		return false
	}
	if len(l.any) == 0 {
		for i, v := range values {
			value := v.Value()
			a := &l.at[i]
			p, n := unsafe.StringData(value), len(value)
			if a.off == 0 || a.p != p || a.n != n {
				*a = vfKey{p: p, n: n, off: tx.valueFilterOffset(value) + 1}
			}
		}
		if cap(l.any) < c.words {
			l.any = make([]uint64, c.words)
		}
		l.any = l.any[:c.words]
		clear(l.any)
		for i := range l.at {
			off := l.at[i].off - 1
			for w := range l.any {
				l.any[w] |= c.bits[off+int32(w)]
			}
		}
	}
	s := slot - 1
	return l.any[s>>6]&(1<<(uint(s)&63)) != 0
}

// valueMayMatchAt is valueMayMatch for values[i] of the slice l is
// aligned with (l nil: no list).
func (tx *Transaction) valueMayMatchAt(l *vfList, i int, value string, slot int32, group uint8) bool {
	if l == nil {
		return tx.valueMayMatch(value, slot, group)
	}
	a := &l.at[i]
	p, n := unsafe.StringData(value), len(value)
	if a.off == 0 || a.p != p || a.n != n {
		*a = vfKey{p: p, n: n, off: tx.valueFilterOffset(value) + 1}
	}
	tx.groupAnswered(a.off-1, value, group)
	return tx.valueFilter.bit(a.off-1, slot-1)
}

// valueMayMatch reports whether the rule with slot (as stored: slot+1) and
// group may match value.
func (tx *Transaction) valueMayMatch(value string, slot int32, group uint8) bool {
	off := tx.valueFilterOffset(value)
	tx.groupAnswered(off, value, group)
	return tx.valueFilter.bit(off, slot-1)
}

// groupAnswered makes the answers of group (0: none, Classify's) for the
// value whose answers are at off, once per phase.
func (tx *Transaction) groupAnswered(off int32, value string, group uint8) {
	if group == 0 {
		return
	}
	c := &tx.valueFilter
	done := &c.bits[off+int32(c.words)]
	if *done&(1<<group) != 0 {
		return
	}
	*done |= 1 << group
	tx.WAF.valueFilter.ClassifyGroup(int(group), value, c.bits[off:off+int32(c.words)])
}

// valueFilterOffset returns where value's answers are in bits, asking the
// filter the first time in the phase.
func (tx *Transaction) valueFilterOffset(value string) int32 {
	f := tx.WAF.valueFilter
	c := &tx.valueFilter
	if c.words == 0 {
		c.init(tx.WAF)
	}
	p, n := unsafe.StringData(value), len(value)
	h := uint64(uintptr(unsafe.Pointer(p)))*0x9E3779B97F4A7C15 ^ uint64(n)*0xC2B2AE3D27D4EB4F
	h ^= h >> 31
	mask := uint64(len(c.keys) - 1)
	i := h & mask
	for ; c.keys[i].off != 0; i = (i + 1) & mask {
		if k := &c.keys[i]; k.p == p && k.n == n {
			return k.off - 1
		}
	}
	// Not seen this phase: take its answers from the memory, or classify
	// it.
	off := int32(len(c.bits))
	for range c.stride {
		c.bits = append(c.bits, 0)
	}
	var hash uint64
	var known []uint64
	if m := tx.WAF.answerMemory; m != nil && n <= answerMemoryMaxLen {
		hash = m.hash(value)
		known = m.find(value, hash)
	}
	c.meta = append(c.meta, vfMeta{hash: hash})
	if known != nil {
		copy(c.bits[off:off+int32(c.answerWords)], known)
	} else {
		f.Classify(value, c.bits[off:off+int32(c.words)])
		if hash != 0 {
			// Offered even if no rule learns anything of it: a value
			// that comes back then costs a look-up, not Classify.
			c.meta[len(c.meta)-1].offer, c.offers = true, true
		}
	}
	c.keys[i] = vfKey{p: p, n: n, off: off + 1}
	c.used++
	if 4*c.used > 3*len(c.keys) {
		c.grow()
	}
	return off
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
	for i := range c.lists {
		l := &c.lists[i]
		if l.first == nil {
			continue
		}
		l.first, l.n, l.any = nil, 0, l.any[:0]
		if cap(l.at) > 4096 {
			l.at = nil
		} else {
			clear(l.at[:cap(l.at)])
			l.at = l.at[:0]
		}
	}
	c.next = 0
	if c.used == 0 {
		return
	}
	if len(c.keys) > 4096 {
		lists, seq := c.lists, c.txSeq
		*c = valueFilterCache{lists: lists, txSeq: seq}
		return
	}
	clear(c.keys)
	c.used = 0
	c.bits = c.bits[:0]
	c.meta = c.meta[:0]
	c.offers = false
}

// transformationSteps are ts as ValueFilterRule.Steps.
func transformationSteps(ts []ruleTransformationParams) []func(string) (string, bool) {
	steps := make([]func(string) (string, bool), len(ts))
	for i := range ts {
		f := ts[i].Function
		steps[i] = func(v string) (string, bool) {
			out, changed, err := f(v)
			if err != nil {
				return v, false
			}
			return out, changed
		}
	}
	return steps
}
