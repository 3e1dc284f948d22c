// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"slices"

	"github.com/corazawaf/coraza/v3/types"
)

// phasePlan lists, for each phase, the positions of the rules Eval can run
// in it (Parapet patch). Without it, every phase walks every rule of the
// group: with the CRS, each request phase passes over about 520 rules to
// run about 160, most of the others belonging to the other phase or lying
// between a paranoia-level check's skipAfter and its marker.
//
// The plan changes which rules the loop looks at, never what it does with
// them: a rule of another phase, and a rule passed over while a skipAfter
// looks for its marker, were skipped by Eval without any effect (the
// per-rule removals and the Skip counter included, which are checked
// only on rules that are not passed over). A jump lands on the next rule
// carrying the marker, which Eval then handles as before (a marker rule
// removed by ctl leaves the skip on, and the next jump follows).
type phasePlan struct {
	// gen is the group's generation the plan was built for.
	gen uint64
	// order[p] holds the positions in rules of the rules of phase p and
	// of phase 0 (markers), in the group's order.
	order [types.PhaseLogging + 1][]int32
	// markers[p][m] holds the positions in order[p] of the rules whose
	// SecMark_ is m, ascending.
	markers [types.PhaseLogging + 1]map[string][]int32
}

// Plan builds the group's phase plan. It is called once the rule set is
// complete (coraza.NewWAF), before the first transaction: a plan is read
// by concurrent transactions and never changed. A change to the group
// afterwards (Add, Delete*) makes Eval ignore the plan; rules must not be
// changed in place (their phase) after Plan.
func (rg *RuleGroup) Plan() {
	if multiphaseEvaluation {
		// Rules also run in inferred phases: keep the full walk.
		rg.plan = nil
		return
	}
	p := &phasePlan{gen: rg.gen}
	for ph := types.PhaseRequestHeaders; ph <= types.PhaseLogging; ph++ {
		var order []int32
		markers := map[string][]int32{}
		for i := range rg.rules {
			r := &rg.rules[i]
			if r.Phase_ != 0 && r.Phase_ != ph {
				continue
			}
			if r.SecMark_ != "" {
				markers[r.SecMark_] = append(markers[r.SecMark_], int32(len(order)))
			}
			order = append(order, int32(i))
		}
		p.order[ph] = order
		p.markers[ph] = markers
	}
	rg.plan = p
}

// planFor returns the plan's order for phase, or nil when Eval must walk
// every rule (no plan, a stale one, or a phase out of range).
func (rg *RuleGroup) planFor(phase types.RulePhase) (*phasePlan, []int32) {
	p := rg.plan
	if p == nil || p.gen != rg.gen || phase < types.PhaseRequestHeaders || phase > types.PhaseLogging {
		return nil, nil
	}
	return p, p.order[phase]
}

// nextMarker returns the first position after k in phase's order of a
// rule carrying marker, or len(order) when there is none.
func (p *phasePlan) nextMarker(phase types.RulePhase, k int, marker string) int {
	at := p.markers[phase][marker]
	j, _ := slices.BinarySearch(at, int32(k+1))
	if j == len(at) {
		return len(p.order[phase])
	}
	return int(at[j])
}

// DropPlan removes the group's phase plan: Eval walks every rule again.
// For tests comparing the two walks.
func (rg *RuleGroup) DropPlan() {
	rg.plan = nil
}
