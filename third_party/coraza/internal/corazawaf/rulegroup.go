// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"fmt"
	"time"

	"github.com/corazawaf/coraza/v3/internal/corazatypes"
	utils "github.com/corazawaf/coraza/v3/internal/strings"
	"github.com/corazawaf/coraza/v3/types"
)

// RuleGroup is a collection of rules
// It contains all helpers required to manage the rules
// It is not concurrent safe, so it's not recommended to use it
// after compilation
type RuleGroup struct {
	rules    []Rule
	observer func(rule types.RuleMetadata)
	// gen counts the changes to rules; plan is Eval's phase plan
	// (phaseplan.go), used while its gen is the group's.
	gen  uint64
	plan *phasePlan
}

// Add a rule to the collection
// Will return an error if the ID is already used
func (rg *RuleGroup) Add(rule *Rule) error {
	if rule == nil {
		// this is an ugly solution but chains should not return rules
		return nil
	}

	if shouldDoMandatoryRuleIdCheck {
		// rule id is mandatory and must be unique ID for all SecRule/SecAction.
		if rule.SecMark_ == "" { // means its SecRule/SecAction
			if rule.ID_ == 0 {
				return fmt.Errorf("rule id is missing, rule residing in file %s at line %d", rule.File_, rule.Line_)
			}
			if rg.FindByID(rule.ID_) != nil {
				return fmt.Errorf("duplicated rule id %d", rule.ID_)
			}
		}
	} else {
		// rule id is not mandatory, but if it is set, it must be unique ID
		if rule.ID_ != 0 && rg.FindByID(rule.ID_) != nil {
			return fmt.Errorf("duplicated rule id %d", rule.ID_)
		}
	}

	numInferred := 0
	rule.set(rule.Phase_)
	for _, v := range rule.variables {
		min := minPhase(v.Variable)
		if min != types.PhaseUnknown {
			// We infer the earliest phase a variable used by the rule may be evaluated for use when
			// multiphase evaluation is enabled
			rule.set(min)
			numInferred++
		} else {
			rule.withPhaseUnknownVariable = true
		}
	}

	rg.rules = append(rg.rules, *rule)
	rg.gen++

	if rg.observer != nil {
		rg.observer(rule)
	}

	return nil
}

// SetObserver assigns the observer function to the group.
func (rg *RuleGroup) SetObserver(observer func(rule types.RuleMetadata)) {
	rg.observer = observer
}

// GetRules returns the slice of rules,
func (rg *RuleGroup) GetRules() []Rule {
	return rg.rules
}

// FindByID return a Rule with the requested Id
func (rg *RuleGroup) FindByID(id int) *Rule {
	for i, r := range rg.rules {
		if r.ID_ == id {
			return &rg.rules[i]
		}
	}
	return nil
}

// DiscardPendingChain removes the last rule from the group when it is an open
// chain starter (HasChain=true). Called when a chain-member parse fails so the
// partial chain is not left in the rule graph.
func (rg *RuleGroup) DiscardPendingChain() {
	last := len(rg.rules) - 1
	if last >= 0 && rg.rules[last].HasChain {
		rg.rules = rg.rules[:last]
		rg.gen++
	}
}

// DeleteByID removes a rule by its ID
func (rg *RuleGroup) DeleteByID(id int) {
	for i, r := range rg.rules {
		if r.ID_ == id {
			rg.rules = append(rg.rules[:i], rg.rules[i+1:]...)
			rg.gen++
			return
		}
	}
}

// DeleteByRange removes rules by their ID in a range
func (rg *RuleGroup) DeleteByRange(start, end int) {
	var kept []Rule
	for _, r := range rg.rules {
		if r.ID_ < start || r.ID_ > end {
			kept = append(kept, r)
		}
	}
	rg.rules = kept
	rg.gen++
}

// DeleteByMsg deletes rules with the given message.
func (rg *RuleGroup) DeleteByMsg(msg string) {
	var kept []Rule
	for _, r := range rg.rules {
		if r.Msg.String() != msg {
			kept = append(kept, r)
		}
	}
	rg.rules = kept
	rg.gen++
}

// DeleteByTag deletes rules with the given tag.
func (rg *RuleGroup) DeleteByTag(tag string) {
	var kept []Rule
	for _, r := range rg.rules {
		if !utils.InSlice(tag, r.Tags_) {
			kept = append(kept, r)
		}
	}
	rg.rules = kept
	rg.gen++
}

// Count returns the count of rules
func (rg *RuleGroup) Count() int {
	return len(rg.rules)
}

// Eval rules for the specified phase, between 1 and 5
// Rules are evaluated in syntactic order and the evaluation finishes
// as soon as an interruption has been triggered.
// Returns true if transaction is disrupted
func (rg *RuleGroup) Eval(phase types.RulePhase, tx *Transaction) bool {
	tx.DebugLogger().Debug().
		Int("phase", int(phase)).
		Msg("Evaluating phase")

	tx.lastPhase = phase
	usedRules := 0
	ts := time.Now().UnixNano()
	transformationCache := tx.transformationCache
	// The request body's phase keeps what the request headers' phase
	// learnt about the same values (the headers, cookies and query, read
	// again by most of the CRS's phase 2 rules): a transformed value and
	// a value filter's answer depend on the value alone, and both caches
	// hold the values they are keyed by, so an address cannot name
	// another string while cached. The caches are emptied for every
	// other phase and when the transaction is closed.
	if phase != types.PhaseRequestBody {
		transformationCache.reset()
		tx.valueFilter.reset()
	}
	tx.valueFilter.newPhase()
	filter := tx.WAF.valueFilter != nil
	// With a plan, the loop walks the phase's rules only, and jumps to a
	// skipAfter's marker (phaseplan.go).
	plan, order := rg.planFor(phase)
	n := len(rg.rules)
	if plan != nil {
		n = len(order)
	}
RulesLoop:
	for k := 0; k < n; k++ {
		i := k
		if plan != nil {
			i = int(order[k])
		}
		r := &rg.rules[i]
		// if there is already an interruption and the phase isn't logging
		// we break the loop
		if tx.IsInterrupted() && phase != types.PhaseLogging {
			break RulesLoop
		}
		// Rules with phase 0 will always run
		if r.Phase_ != 0 && r.Phase_ != phase {
			// Execute the rule in inferred phases too if multiphase evaluation is enabled
			// For chained rules, inferredPhases is not relevant, we rather have to run from minimal potentially
			// matchable phase up to the rule's defined phase (chainMinPhase <= phase <= Phase_)
			// At the first run chainMinPhase is not set, so we look at the parent chain rule's minimal phase.
			// If it is not reached, we skip the whole chain, there is no chance to match it.
			if !multiphaseEvaluation ||
				(!r.HasChain && !r.has(phase)) ||
				(r.HasChain && phase < r.chainMinPhase) ||
				(r.HasChain && !r.hasOrMinor(phase) && !r.withPhaseUnknownVariable) ||
				(r.HasChain && phase > r.Phase_) {
				continue
			}
		}

		// we skip the rule in case it's in the excluded list
		if _, skip := tx.ruleRemoveByID[r.ID_]; skip {
			tx.DebugLogger().Debug().
				Int("rule_id", r.ID_).
				Msg("Skipping rule")
			continue RulesLoop
		}
		for _, rng := range tx.ruleRemoveByIDRanges {
			if r.ID_ >= rng[0] && r.ID_ <= rng[1] {
				tx.DebugLogger().Debug().
					Int("rule_id", r.ID_).
					Msg("Skipping rule")
				continue RulesLoop
			}
		}

		// we always evaluate secmarkers
		if tx.SkipAfter != "" {
			if r.SecMark_ == tx.SkipAfter {
				tx.SkipAfter = ""
			} else {
				tx.DebugLogger().Debug().
					Int("rule_id", r.ID_).
					Str("skip_after", tx.SkipAfter).
					Str("secmarker", r.SecMark_).
					Msg("Skipping rule because of SkipAfter")
				if plan != nil {
					// The rules up to the marker would be passed over.
					k = plan.nextMarker(phase, k, tx.SkipAfter) - 1
				}
			}
			continue
		}
		if tx.Skip > 0 {
			tx.Skip--
			// Skipping rule
			continue
		}
		switch tx.AllowType {
		case corazatypes.AllowTypeUnset:
			// No action needed
		case corazatypes.AllowTypePhase:
			// Allow phase requires skipping all rules of the current phase.
			// It is done by breaking the loop and resetting AllowType for the next phase right after the loop.
			tx.DebugLogger().Debug().
				Int("phase", int(phase)).
				Msg("Skipping phase because of allow phase action")
			break RulesLoop
		case corazatypes.AllowTypeRequest:
			// Allow request requires skipping all rules of any request phase.
			// It is done by breaking the loop only if in a request phase (1 or 2)
			// and resetting AllowType once the request phases are over (after request body phase)
			tx.DebugLogger().Debug().
				Int("phase", int(phase)).
				Msg("Skipping phase because of allow request action")
			if phase == types.PhaseRequestHeaders {
				// tx.AllowType is not resetted because another request phase might be called
				break RulesLoop
			}
			if phase == types.PhaseRequestBody {
				// // tx.AllowType is resetted, currently PhaseRequestBody is the last request phase
				tx.AllowType = corazatypes.AllowTypeUnset
				break RulesLoop
			}
		case corazatypes.AllowTypeAll:
			break RulesLoop
		}
		// Each rule starts with an empty MATCHED_VARS (cheap when the
		// previous rule matched nothing, as most do).
		tx.variables.resetMatchedVars()

		// A rule the value filter proves matches none of the values it
		// would read is passed over without collecting them
		// (valuefilter.go).
		if filter && r.filterWhole && tx.cannotMatch(r) {
			if tx.debugLogger.Debug().IsEnabled() {
				tx.DebugLogger().Debug().
					Int("rule_id", r.ID_).
					Msg("Skipping rule: the value filter rules out every value it reads")
			}
			continue
		}

		r.Evaluate(phase, tx, transformationCache)
		tx.Capture = false // we reset captures
		usedRules++
	}
	tx.DebugLogger().Debug().
		Int("phase", int(phase)).
		Msg("Finished phase")

	// Reset AllowType if meant to allow only this specific phase. It is particuarly needed
	// to reset it at this point, in case of an allow:phase action enforced by the last rule of the phase.
	// In this case, allow:phase must not have any impact on the next phase.
	if tx.AllowType == corazatypes.AllowTypePhase {
		tx.AllowType = corazatypes.AllowTypeUnset
	}
	// Reset Skip counter at the end of each phase. Skip actions work only within the current processing phase
	tx.Skip = 0

	if filter {
		tx.remember() // what this phase's rules learned (valuememory.go)
	}
	tx.stopWatches[phase] = time.Now().UnixNano() - ts
	return tx.IsInterrupted()
}

// NewRuleGroup creates an empty RuleGroup that
// can be attached to a WAF instance
// You might use this function to replace the rules
// and "reload" the WAF
func NewRuleGroup() RuleGroup {
	return RuleGroup{}
}

// transformationKey identifies a value and a chain of transformations
// (by the chain's id). Transformations are functions of the value alone,
// so the same value collected for another rule, under another key or
// variable, or in another position, reuses the result.
//
// The value is identified by its bytes' address and length rather than by
// the string: hashing a pointer is cheap (and TinyGo cannot hash strings
// in struct keys efficiently). Two strings with the same address and
// length have the same bytes: strings are immutable, and the key holds
// the address, so the memory cannot be reused for another string while
// the entry exists (the cache is cleared at every phase). Strings with the
// same bytes at other addresses are cached separately, which costs time,
// never correctness.
type transformationKey struct {
	value             *byte
	valueLen          int
	transformationsID int
}

type transformationValue struct {
	arg  string
	errs []error
}
