package detect

import (
	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/analyze"
)

// The analyzer's rules (analyzer.go: one per place and class group, ~8 at
// each place) each asked for the analysis of every value they read: a
// look-up in the shared reports and a miss memory per (rule, value), ~6,000
// operator calls on a 10 KB JSON body that the analysis finds nothing in.
// The value filter answers them instead, by group (Coraza's value filter
// groups, Parapet patch value-filter-groups): the first analyzer rule of a
// place that meets a value in a phase has the value analysed at that place
// once, and every rule of the place learns from that one report whether
// it matches: exactly the operator's own test (a finding of at least
// Medium in its classes), so a rule runs only on the values it matches.
// The groups are answered lazily because a value is read at one place or
// two, not at all five.

// analyzerSlot is a planned analyzer rule.
type analyzerSlot struct {
	slot int
	op   *analyzerOp
}

// planAnalyzer gives an @parapetAnalyze rule without transformations a
// slot in its place's group; -1 otherwise.
func (f *valueFilter) planAnalyzer(r corazaexp.ValueFilterRule) int {
	op, ok := r.Op.(*analyzerOp)
	if !ok || r.Negated {
		return -1
	}
	for _, t := range r.Transformations {
		if t != "none" {
			return -1
		}
	}
	group := int(op.place) + 1
	if group > 63 {
		return -1
	}
	f.conds = append(f.conds, rxCondition{minLen: -1}) // answered by classifyGroup only
	slot := len(f.conds) - 1
	for len(f.groups) <= group {
		f.groups = append(f.groups, nil)
	}
	f.groups[group] = append(f.groups[group], analyzerSlot{slot: slot, op: op})
	if f.slotGroup == nil {
		f.slotGroup = map[int]int{}
	}
	f.slotGroup[slot] = group
	return slot
}

// groupOf is the group of a slot: its place's for an analyzer rule, 0
// (Classify's) for the others.
func (f *valueFilter) groupOf(slot int) int { return f.slotGroup[slot] }

// classifyGroup answers the analyzer rules of a place for v, from one
// analysis (shared with the operator through reports).
func (f *valueFilter) classifyGroup(group int, v string, mayMatch []uint64) {
	if group <= 0 || group >= len(f.groups) || len(f.groups[group]) == 0 {
		return
	}
	slots := f.groups[group]
	rep := reports.get(slots[0].op.a, slots[0].op.place, v)
	// The operator's test, Best(classes).Confidence >= Medium, for every
	// rule of the place from one pass over the report.
	medium := rep.AtLeast(analyze.Medium)
	for _, s := range slots {
		bit := uint64(1) << (s.slot & 63)
		if s.op.classes&medium != 0 {
			mayMatch[s.slot>>6] |= bit
		} else {
			mayMatch[s.slot>>6] &^= bit
		}
	}
}
