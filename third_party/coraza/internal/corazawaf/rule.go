// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unsafe"

	"github.com/corazawaf/coraza/v3/debuglog"
	"github.com/corazawaf/coraza/v3/experimental/plugins/macro"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/internal/corazarules"
	utils "github.com/corazawaf/coraza/v3/internal/strings"
	"github.com/corazawaf/coraza/v3/internal/transformations"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// ruleActionParams is used as a wrapper to store the action name
// and parameters, basically for logging purposes.
type ruleActionParams struct {
	// The name of the action, used for logging
	Name string

	// The action to be executed
	Function plugintypes.Action
}

// Operator is a container for an operator,
type ruleOperatorParams struct {
	// Operator to be used
	Operator plugintypes.Operator

	// Function name (ex @rx)
	Function string
	// Data to initialize the operator
	Data string
	// If true, rule will match if op.Evaluate returns false
	Negation bool
}

type ruleVariableException struct {
	// The string key for the variable that is going to be requested
	// If KeyRx is not nil, KeyStr is ignored. It is held in lower case
	// (newRuleVariableException): GetField compares it with lower-cased keys.
	KeyStr string

	// The key for the variable that is going to be requested
	// If nil, KeyStr is going to be used
	KeyRx *regexp.Regexp
}

// newRuleVariableException is an exception for key (lower-cased once
// here rather than at every comparison) or for keys matching re.
func newRuleVariableException(key string, re *regexp.Regexp) ruleVariableException {
	return ruleVariableException{KeyStr: strings.ToLower(key), KeyRx: re}
}

// RuleVariable is compiled during runtime by transactions
// to get values from the transaction's variables
// It supports xml, regex, exceptions and many more features
type ruleVariableParams struct {
	// If true, the count of results will be returned
	Count bool

	// The VARIABLE that will be requested
	Variable variables.RuleVariable

	// The key for the variable that is going to be requested
	// If nil, KeyStr is going to be used
	KeyRx *regexp.Regexp

	// The string key for the variable that is going to be requested
	// If KeyRx is not nil, KeyStr is ignored
	KeyStr string

	// A slice of key exceptions
	Exceptions []ruleVariableException
}

type ruleTransformationParams struct {
	// The transformation function to be used
	Function plugintypes.Transformation
	// unchangedUnless are the classes of bytes without which Function
	// returns its input unchanged (transformations.UnchangedUnless).
	unchangedUnless transformations.ByteClasses
}

// Rule is used to test a Transaction against certain operators
// and execute actions
type Rule struct {
	corazarules.RuleMetadata
	// Contains a list of variables that will be compiled
	// by a transaction
	variables []ruleVariableParams

	// Contains a pointer to the operator struct used
	// SecActions and SecMark can have nil Operators
	operator *ruleOperatorParams

	// List of transformations to be evaluated
	// In the future, transformations might be run by the
	// action itself, not sure yet
	transformations []ruleTransformationParams

	transformationsID int
	// transformationPrefixIDs holds the chain ID at each step of the transformation chain.
	// transformationPrefixIDs[i] is the ID representing transformations [0..i].
	// This enables prefix-based caching: rules sharing a common transformation prefix
	// can reuse cached intermediate results instead of recomputing from scratch.
	transformationPrefixIDs []int

	// Slice of initialized actions to be evaluated during
	// the rule evaluation process
	actions []ruleActionParams

	// Capture is used by the transaction to tell the operator
	// to capture variables on TX:0-9
	Capture bool

	// Contains the child rule to chain, nil if there are no chains
	Chain *Rule

	// DisruptiveStatus is the status that will be set to interruptions
	// by disruptive rules
	DisruptiveStatus int

	// Message text to be macro expanded and logged
	// In future versions we might use a special type of string that
	// supports cached macro expansions. For performance
	Msg macro.Macro

	// Rule logdata
	LogData macro.Macro

	// If true, triggering this rule write to the error log
	Log bool

	// If true, triggering this rule write to the audit log
	Audit bool

	// If true, the transformations will be multi matched
	MultiMatch bool

	HasChain bool

	// inferredPhases is the inferred phases the rule is relevant for
	// based on the processed variables.
	// Multiphase specific field
	inferredPhases

	// chainMinPhase is the minimum phase among all chain variables.
	// We do not eagerly evaluate variables in multiphase evaluation
	// if they would be earlier than chained rules as they could never
	// match.
	chainMinPhase types.RulePhase

	// chainedRules containing rules with just PhaseUnknown variables, may potentially
	// be anticipated. This boolean ensures that it happens
	withPhaseUnknownVariable bool

	memoizer plugintypes.Memoizer

	// filterSlot is the rule's slot in the WAF's value filter plus one
	// (0: none; valuefilter.go).
	filterSlot int32
	// filterGroup is the slot's group (0: answered by Classify).
	filterGroup uint8
	// filterWhole: every variable of the rule reads a collection whose
	// values' answers may be joined per phase (unionVariables), so the
	// rule can be passed over when its slot is in none of them
	// (valuefilter.go).
	filterWhole bool
	// filterLearns: the rule is the only one with its slot, so its misses
	// are the slot's, and the WAF's answer memory keeps them
	// (valuememory.go).
	filterLearns bool
	// filterExcept, for a rule with filterWhole, is by variable the
	// variable's set of exceptions plus one (0: none), numbered per WAF
	// (valuefilter.go's exceptUnion).
	filterExcept []uint16
}

func (r *Rule) ParentID() int {
	return r.ParentID_
}

func (r *Rule) Status() int {
	return r.DisruptiveStatus
}

const chainLevelZero = 0

// Evaluate will evaluate the current rule for the indicated transaction
// If the operator matches, actions will be evaluated, and it will return
// the matched variables, keys and values (MatchData)
func (r *Rule) Evaluate(phase types.RulePhase, tx plugintypes.TransactionState, cache *transformationCache) {
	// collectiveMatchedValues lives across recursive calls of doEvaluate
	var collectiveMatchedValues []types.MatchData

	logger := tx.DebugLogger()

	if logger.Debug().IsEnabled() {
		if r.ID_ == noID {
			logger = logger.With(debuglog.Str("rule_ref", fmt.Sprintf("%s#L%d", r.File_, r.Line_)))
		} else {
			logger = logger.With(debuglog.Int("rule_id", r.ID_))
		}
	}

	r.doEvaluate(logger, phase, tx.(*Transaction), &collectiveMatchedValues, chainLevelZero, cache)
}

const noID = 0

func (r *Rule) doEvaluate(logger debuglog.Logger, phase types.RulePhase, tx *Transaction, collectiveMatchedValues *[]types.MatchData, chainLevel int, cache *transformationCache) []types.MatchData {
	tx.Capture = r.Capture

	if multiphaseEvaluation {
		computeRuleChainMinPhase(r)
	}

	var matchedValues []types.MatchData
	// Debug logging is decided once: with it off (production), each of
	// the calls below would still cost interface calls on a no-op event,
	// several per variable and value of every rule.
	debug := logger.Debug().IsEnabled()
	if debug {
		// we log if we are the parent rule
		logger.Debug().Msg("Evaluating rule")
		defer logger.Debug().Msg("Finished rule evaluation")
	}

	// The RULE collection now holds r's fields; they are written when
	// something first uses it (ruleCollection).
	tx.variables.rule.of(r)
	// SecMark and SecAction uses nil operator
	if r.operator == nil {
		if debug {
			logger.Debug().Msg("Forcing rule to match")
		}
		md := tx.matchData.next()
		if r.ParentID_ != noID || r.MultiMatch {
			// In order to support Msg and LogData for inner rules, we need to expand them now
			if r.Msg != nil {
				md.Message_ = r.Msg.Expand(tx)
			}
			if r.LogData != nil {
				md.Data_ = r.LogData.Expand(tx)
			}
		}
		matchedValues = tx.appendMatch(matchedValues, md)
		if multiphaseEvaluation {
			*collectiveMatchedValues = append(*collectiveMatchedValues, md)
		}
		r.matchVariable(tx, md)
	} else {
		// Chain children carry ID_ == noID; ctl:ruleRemoveTarget* stores exceptions
		// under the parent's ID, so chain children must look up via ParentID_.
		rid := r.ID_
		if rid == noID {
			rid = r.ParentID_
		}
		ecol := tx.removedTargets(rid)
		for vi := range r.variables {
			// v points at the rule's variable, shared by every
			// transaction: it is read, never written (a count's removals
			// go to a copy, below).
			v := &r.variables[vi]
			if multiphaseEvaluation && multiphaseSkipVariable(r, v.Variable, phase) {
				continue
			}
			var values []types.MatchData
			// This transaction's target removals (ctl) for the variable are
			// checked alongside the rule's own exceptions (removed: the
			// rule's removals when one names the variable), not merged into
			// a copy of them: CRS 941010 removes REQUEST_FILENAME from
			// every XSS rule on nearly every request. A count still needs
			// them merged (GetField).
			var removed []ruleVariableParams
			for _, c := range ecol {
				if c.Variable == v.Variable {
					removed = ecol
					if !v.Count {
						break
					}
					// A copy of the rule's variable, shared by every
					// transaction, takes this transaction's exception; the full
					// slice expression makes append copy, so that it is not
					// written into spare capacity another one reads.
					cv := *v
					cv.Exceptions = append(v.Exceptions[:len(v.Exceptions):len(v.Exceptions)], newRuleVariableException(c.KeyStr, c.KeyRx))
					v = &cv
				}
			}

			// Without a count, excluded matches are skipped below rather
			// than filtered into a new slice (GetField): a rule with an
			// exclusion, on a collection that holds the excluded key,
			// copied the collection's matches on every evaluation.
			skipExcepted := (len(v.Exceptions) > 0 || removed != nil) && !v.Count
			if skipExcepted {
				values = tx.collect(v)
			} else {
				values = tx.getField(v)
			}

			vLog := logger
			if debug {
				vLog = logger.With(debuglog.Str("variable", v.Variable.Name()))
				vLog.Debug().Msg("Expanding arguments for rule")
			}

			args := make([]string, 1)
			var errs []error
			var argsLen int
			filtered := r.filterSlot != 0 && tx.WAF.valueFilter != nil
			var answers *vfList
			if filtered {
				answers = tx.valueFilterList(values)
				if answers != nil && !tx.anyMayMatch(answers, values, r.filterSlot, r.filterGroup) {
					continue // no value of the variable (valuefilter.go)
				}
			}
			for i, arg := range values {
				if skipExcepted && v.exceptsWith(arg.Key(), removed) {
					continue
				}
				// A value the rule cannot match is not transformed or
				// matched (valuefilter.go).
				if filtered && !tx.valueMayMatchAt(answers, i, arg.Value(), r.filterSlot, r.filterGroup) {
					continue
				}
				if r.MultiMatch {
					tx.multiMatch, errs = r.executeTransformationsMultimatch(tx.multiMatch[:0], arg.Value())
					args = tx.multiMatch
					argsLen = len(args)
				} else {
					args[0], errs = r.transformArg(arg, cache)
					argsLen = 1
				}
				if len(errs) > 0 {
					vWarnLog := vLog.Warn()
					if vWarnLog.IsEnabled() {
						for _, err := range errs {
							vWarnLog = vWarnLog.Err(err)
						}
						vWarnLog.Msg("Error transforming argument for rule")
					}
				}

				// args represents the transformed variables
				matchedValue := false
				for _, carg := range args[:argsLen] {
					match := r.executeOperator(carg, tx)
					if match {
						matchedValue = true
						mr := tx.matchData.next()
						*mr = corazarules.MatchData{
							Variable_:   arg.Variable(),
							Key_:        arg.Key(),
							Value_:      carg,
							ChainLevel_: chainLevel,
						}
						// Set the txn variables for expansions before usage
						r.matchVariable(tx, mr)

						// Expansion for parent rule of a chain is postponed in order to rely on updated MATCHED_* variables.
						// In all other cases, we want to expand here before continuing the rule evaluation to log the matched data
						// just after the match an not just the last one. It is needed to log more than one variable matched by the same rule.
						// The same logic applies to support Msg and LogData for inner rules. As soon as the inner rule matches, we want to expand and
						// log the matched data.
						if r.ParentID_ != noID || !r.HasChain {
							if r.Msg != nil {
								mr.Message_ = r.Msg.Expand(tx)
							}
							if r.LogData != nil {
								mr.Data_ = r.LogData.Expand(tx)
							}
						}

						if !multiphaseEvaluation {
							matchedValues = tx.appendMatch(matchedValues, mr)
						} else {
							if isMultiphaseDoubleEvaluation(tx, phase, r, collectiveMatchedValues, mr) {
								// This variables chain already matched, let's evaluate the next variable
								continue
							}
							// For multiphase evaluation, the append to matchedValues is delayed after checking that the variable has not already matched
							matchedValues = append(matchedValues, mr)
							// For multiphase evaluation, the non disruptive actions execution is enforced here, after having checked that the rule
							// has not already been matched against the same variables chain. If effectively enforces to skip the execution of non disruptive actions that are
							// part of the last rule of the chain if the evaluated chained variables already matched. This avoids incrementing the CRS anomaly score multiple
							// time from the same variables chain.
							tx.matchVariable(mr)
							for _, a := range r.actions {
								if a.Function.Type() == plugintypes.ActionTypeNondisruptive {
									if debug {
										vLog.Debug().Str("action", a.Name).Msg("Evaluating action")
									}
									a.Function.Evaluate(r, tx)
								}
							}
							// Msg and LogData have to be expanded again because actions execution might have changed them
							if r.Msg != nil {
								mr.Message_ = r.Msg.Expand(tx)
							}
							if r.LogData != nil {
								mr.Data_ = r.LogData.Expand(tx)
							}
						}

					}
					if debug {
						verdict := "NO MATCH"
						if match {
							verdict = "MATCH"
						}
						vLog.Debug().
							Str("operator_function", r.operator.Function).
							Str("operator_data", r.operator.Data).
							Str("arg", carg).
							Msg("Evaluating operator: " + verdict)
					}
				}
				if filtered && r.filterLearns && !matchedValue {
					// Not a match, now or in a later transaction
					// (valuememory.go).
					tx.noteMissAt(answers, i, arg.Value(), r.filterSlot)
				}
			}
		}
	}

	if len(matchedValues) == 0 {
		return matchedValues
	}

	// disruptive actions and rules affecting the rule flow are only evaluated by parent rules
	// also, expansion of Msg and LogData of the parent rule is postponed after the chain evaluation (if any)
	if r.ParentID_ == noID {
		// we only run the chains for the parent rule
		for nr := r.Chain; nr != nil; {
			chainLevel++

			// The chain rule's reference is only for debug logs: no
			// Sprintf per evaluation when they are off.
			nrLogger := logger
			if debug {
				if nr.ID_ == noID {
					nrLogger = logger.With(debuglog.Str("chain_rule_ref", fmt.Sprintf("%s#L%d", nr.File_, nr.Line_)))
				} else {
					nrLogger = logger.With(debuglog.Int("chain_rule_id", nr.ID_))
				}
			}

			matchedChainValues := nr.doEvaluate(nrLogger, phase, tx, collectiveMatchedValues, chainLevel, cache)
			if len(matchedChainValues) == 0 {
				return matchedChainValues
			}
			matchedValues = append(matchedValues, matchedChainValues...)
			nr = nr.Chain
		}

		// Expansion of Msg and LogData is postponed here. It allows to run it only if the whole rule/chain
		// matches and to rely on MATCHED_* variables updated by the chain, not just by the first rule.
		if r.HasChain || r.operator == nil {
			if r.Msg != nil {
				matchedValues[0].(*corazarules.MatchData).Message_ = r.Msg.Expand(tx)
			}
			if r.LogData != nil {
				matchedValues[0].(*corazarules.MatchData).Data_ = r.LogData.Expand(tx)
			}
		}

		for _, a := range r.actions {
			// All actions are evaluated independently from the engine being On or in DetectionOnly.
			// The action evaluation is responsible of checking the engine mode and decide if the disruptive action
			// has to be enforced or not. This allows finer control to the actions, such us creating the detectionOnlyInterruption and
			// allowing RelevantOnly audit logs in detection only mode.
			switch a.Function.Type() {
			case plugintypes.ActionTypeFlow:
				if debug {
					logger.Debug().Str("action", a.Name).Int("phase", int(phase)).Msg("Evaluating flow action for rule")
				}
			case plugintypes.ActionTypeDisruptive:
				// The parser enforces that the disruptive action is just one per rule (if more than one, only the last one is kept)
				if debug {
					logger.Debug().Str("action", a.Name).Int("phase", int(phase)).Msg("Executing disruptive action for rule")
				}
			default:
				// Only flow and disruptive actions are supposed to be evaluated here, non disruptive actions
				// are evaluated previously, during the variable matching.
				continue
			}
			a.Function.Evaluate(r, tx)
		}
		if r.ID_ != noID {
			// we avoid matching chains and secmarkers
			tx.MatchRule(r, matchedValues)
		}
	}
	return matchedValues
}

// transformArg returns arg's value after the rule's transformations,
// reusing (and filling) the phase's cache, which is keyed by the value
// itself (see transformationKey).
func (r *Rule) transformArg(arg types.MatchData, cache *transformationCache) (string, []error) {
	switch {
	case len(r.transformations) == 0:
		return arg.Value(), nil
	case arg.Variable().Name() == "TX":
		// no cache for TX
		arg, errs := r.executeTransformations(arg.Value())
		return arg, errs
	default:
		// NOTE: See comment on transformationKey struct to understand this hacky code
		value := arg.Value()
		// The first transformations that cannot change the value (none of
		// its bytes makes them) are neither run nor cached: when that is
		// all of them, the value is its own result.
		unchanged := r.unchangedPrefix(value)
		if unchanged == len(r.transformations) {
			return value, nil
		}
		valuePtr, valueLen := unsafe.StringData(value), len(value)

		// Search from longest prefix (full chain) backwards for a cache hit.
		// Best case: full chain cached → single map lookup, done.
		// Typical case: shared prefix cached → start computing from there.
		startIdx := unchanged
		var errs []error

		for i := len(r.transformationPrefixIDs) - 1; i >= unchanged; i-- {
			key := transformationKey{
				value:             valuePtr,
				valueLen:          valueLen,
				transformationsID: r.transformationPrefixIDs[i],
			}
			if cached, ok := cache.get(key); ok {
				if i == len(r.transformationPrefixIDs)-1 {
					// Full chain cached — nothing more to compute
					return cached.arg, cached.errs
				}
				value = cached.arg
				errs = cached.errs
				startIdx = i + 1
				break
			}
		}

		// Execute remaining transformations, caching each intermediate step
		// so later rules sharing a prefix can reuse our work.
		for i := startIdx; i < len(r.transformations); i++ {
			v, _, err := r.transformations[i].Function(value)
			if err != nil {
				errs = append(errs, err)
			} else {
				value = v
			}

			key := transformationKey{
				value:             valuePtr,
				valueLen:          valueLen,
				transformationsID: r.transformationPrefixIDs[i],
			}
			cache.put(key, transformationValue{arg: value, errs: errs})
		}

		return value, errs
	}
}

func (r *Rule) matchVariable(tx *Transaction, m *corazarules.MatchData) {
	rid := r.ID_
	if rid == noID {
		rid = r.ParentID_
	}
	if m.Variable() != variables.Unknown {
		tx.DebugLogger().Debug().
			Int("rule_id", rid).
			Str("variable_name", m.Variable().Name()).
			Str("key", m.Key()).
			Msg("Matching rule")
	}
	// we must match the vars before running the chains

	// We run non-disruptive actions even if there is no chain match
	// if multiphaseEvaluation is true, the non disruptive actions execution is deferred
	// SecActions (r.operator == nil) are always executed
	if !multiphaseEvaluation || r.operator == nil {
		tx.matchVariable(m)
		for _, a := range r.actions {
			if a.Function.Type() == plugintypes.ActionTypeNondisruptive {
				tx.DebugLogger().Debug().Str("action", a.Name).Msg("Evaluating action")
				a.Function.Evaluate(r, tx)
			}
		}
	}
}

// AddAction adds an action to the rule
func (r *Rule) AddAction(name string, action plugintypes.Action) error {
	// TODO add more logic, like one persistent action per rule etc
	r.actions = append(r.actions, ruleActionParams{
		Name:     name,
		Function: action,
	})
	return nil
}

// ClearDisruptiveActions removes all disruptive actions from the rule.
//
// This is used by directives like SecRuleUpdateActionById to clear existing
// disruptive actions before applying new ones, matching ModSecurity behavior
// where updating with a disruptive action replaces the previous one.
func (r *Rule) ClearDisruptiveActions() {
	actionType := plugintypes.ActionTypeDisruptive
	filtered := make([]ruleActionParams, 0, len(r.actions))
	for _, action := range r.actions {
		if action.Function.Type() != actionType {
			filtered = append(filtered, action)
		}
	}
	r.actions = filtered
}

// hasRegex checks the received key to see if it is between forward slashes.
// if it is, it will return true and the content of the regular expression inside the slashes.
// otherwise it will return false and the same key.
// Delegates to utils.HasRegex which properly handles escaped slashes.
func hasRegex(key string) (bool, string) {
	return utils.HasRegex(key)
}

// caseSensitiveVariable returns true if the variable is case sensitive
func caseSensitiveVariable(v variables.RuleVariable) bool {
	res := false
	switch v {
	case variables.Args, variables.ArgsNames,
		variables.ArgsGet, variables.ArgsPost,
		variables.ArgsGetNames, variables.ArgsPostNames:
		res = true
	}
	return res
}

// newRuleVariableParams creates a new ruleVariableParams
// knows if a key needs to be lowercased. This probably should not be here,
// but the knowledge of the type of the Map it not here also, so let's start with this.
func newRuleVariableParams(v variables.RuleVariable, key string, re *regexp.Regexp, iscount bool) ruleVariableParams {
	if !caseSensitiveVariable(v) {
		key = strings.ToLower(key)
	}
	return ruleVariableParams{
		Count:      iscount,
		Variable:   v,
		KeyStr:     key,
		KeyRx:      re,
		Exceptions: []ruleVariableException{},
	}
}

// AddVariable adds a variable to the rule
// The key can be a regexp.Regexp, a string or nil, in case of regexp
// it will be used to match the variable, in case of string it will
// be a fixed match, in case of nil it will match everything
func (r *Rule) AddVariable(v variables.RuleVariable, key string, iscount bool) error {
	if r == nil {
		return fmt.Errorf("cannot add a variable to an undefined rule")
	}
	var re *regexp.Regexp
	if isRegex, rx := hasRegex(key); isRegex {
		if !caseSensitiveVariable(v) {
			rx = strings.ToLower(rx)
		}
		if vare, err := r.memoizeDo(rx, func() (any, error) { return regexp.Compile(rx) }); err != nil {
			return err
		} else {
			re = vare.(*regexp.Regexp)
		}
	}

	if multiphaseEvaluation {
		// Splitting Args variable into ArgsGet and ArgsPost
		if v == variables.Args {
			r.variables = append(r.variables, newRuleVariableParams(variables.ArgsGet, key, re, iscount))
			r.variables = append(r.variables, newRuleVariableParams(variables.ArgsPost, key, re, iscount))
			return nil
		}
		// Splitting ArgsNames variable into ArgsGetNames and ArgsPostNames
		if v == variables.ArgsNames {
			r.variables = append(r.variables, newRuleVariableParams(variables.ArgsGetNames, key, re, iscount))
			r.variables = append(r.variables, newRuleVariableParams(variables.ArgsPostNames, key, re, iscount))
			return nil
		}
	}
	r.variables = append(r.variables, newRuleVariableParams(v, key, re, iscount))
	return nil
}

// needToSplitConcatenatedVariable returns true if the variable v is Args or ArgsNames and the
// variable ve is ArgsGet, ArgsPost, ArgsGetNames or ArgsPostNames
func needToSplitConcatenatedVariable(v variables.RuleVariable, ve variables.RuleVariable) bool {
	return (v == variables.Args || v == variables.ArgsNames) &&
		(ve == variables.ArgsGet || ve == variables.ArgsPost ||
			ve == variables.ArgsGetNames || ve == variables.ArgsPostNames)
}

// AddVariableNegation adds an exception to a variable
// It passes through if the variable is not used
// It returns an error if the selector is empty,
// or applied on an undefined rule
// for example:
// OK: SecRule ARGS|!ARGS:id "..."
// OK: SecRule !ARGS:id "..."
// ERROR: SecRule !ARGS: "..."
func (r *Rule) AddVariableNegation(v variables.RuleVariable, key string) error {
	var re *regexp.Regexp
	if isRegex, rx := hasRegex(key); isRegex {
		if !caseSensitiveVariable(v) {
			rx = strings.ToLower(rx)
		}
		if vare, err := r.memoizeDo(rx, func() (any, error) { return regexp.Compile(rx) }); err != nil {
			return err
		} else {
			re = vare.(*regexp.Regexp)
		}
	}
	// Prevent sigsev
	if r == nil {
		return fmt.Errorf("cannot create a variable exception for an undefined rule")
	}
	for i, rv := range r.variables {
		// Even when Args and ArgsNames are one map, the exceptions must be created for the individual maps the
		// Concat Map contains in order for exceptions to apply in the corresponding phase.
		if multiphaseEvaluation && needToSplitConcatenatedVariable(v, rv.Variable) {
			rv.Exceptions = append(rv.Exceptions, newRuleVariableException(key, re))
			r.variables[i] = rv
			continue
		}
		if rv.Variable == v {
			rv.Exceptions = append(rv.Exceptions, newRuleVariableException(key, re))
			r.variables[i] = rv
		}
	}
	return nil
}

var transformationIDToName = []string{""}
var transformationNameToID = map[string]int{"": 0}
var transformationIDsLock = sync.Mutex{}

func transformationID(currentID int, transformationName string) int {
	transformationIDsLock.Lock()
	defer transformationIDsLock.Unlock()

	currName := transformationIDToName[currentID]
	nextName := fmt.Sprintf("%s+%s", currName, transformationName)
	if id, ok := transformationNameToID[nextName]; ok {
		return id
	}

	id := len(transformationIDToName)
	transformationIDToName = append(transformationIDToName, nextName)
	transformationNameToID[nextName] = id
	return id
}

// AddTransformation adds a transformation to the rule
// it fails if the transformation cannot be found
func (r *Rule) AddTransformation(name string, t plugintypes.Transformation) error {
	if t == nil || name == "" {
		return fmt.Errorf("invalid transformation %q not found", name)
	}
	r.transformations = append(r.transformations, ruleTransformationParams{
		Function:        t,
		unchangedUnless: transformations.UnchangedUnless(name, t),
	})
	r.transformationsID = transformationID(r.transformationsID, name)
	r.transformationPrefixIDs = append(r.transformationPrefixIDs, r.transformationsID)
	return nil
}

// ClearTransformations clears all the transformations
// it is mostly used by the "none" transformation
func (r *Rule) ClearTransformations() {
	r.transformations = []ruleTransformationParams{}
	r.transformationsID = 0
	r.transformationPrefixIDs = nil
}

// SetOperator sets the operator of the rule
// There can be only one operator per rule
// functionName and params are used for logging
func (r *Rule) SetOperator(operator plugintypes.Operator, functionName string, params string) {
	r.operator = &ruleOperatorParams{
		Operator: operator,
		Function: functionName,
		Data:     params,
		Negation: len(functionName) > 0 && functionName[0] == '!',
	}
}

func (r *Rule) executeOperator(data string, tx *Transaction) (result bool) {
	result = r.operator.Operator.Evaluate(tx, data)
	if r.operator.Negation {
		result = !result
	}
	return
}

// executeTransformationsMultimatch appends to res the value and each
// different value the transformations make of it in turn (res is a
// reused buffer: Transaction.multiMatch).
func (r *Rule) executeTransformationsMultimatch(res []string, value string) ([]string, []error) {
	// The original value will be evaluated
	res = append(res, value)
	var errs []error
	// The first transformations that cannot change the value would add
	// nothing (unchangedPrefix).
	for _, t := range r.transformations[r.unchangedPrefix(value):] {
		transformedValue, changed, err := t.Function(value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// Every time a transformation generates a new value different from the previous one, the new value is collected to be evaluated
		if changed {
			res = append(res, transformedValue)
			value = transformedValue
		}
	}
	return res, errs
}

// unchangedScanMax is the longest value unchangedPrefix scans.
const unchangedScanMax = 256

// unchangedPrefix returns how many of the rule's first transformations
// return value unchanged, without running them: those none of whose
// classes of bytes (transformations.UnchangedUnless) value holds.
//
// Values longer than unchangedScanMax are not scanned (0): each rule would
// scan them again, where the phase's cache answers a rule after the first
// with a few look-ups (a 2 KB form's comment met by ~200 rules).
func (r *Rule) unchangedPrefix(value string) int {
	if len(value) > unchangedScanMax || len(r.transformations) == 0 || r.transformations[0].unchangedUnless == transformations.ClassAll {
		return 0
	}
	classes := transformations.ClassesOf(value)
	for i := range r.transformations {
		// ClassAll: not known to leave any value unchanged, the empty
		// one included (base64Decode reports a change on "").
		if u := r.transformations[i].unchangedUnless; u == transformations.ClassAll || u&classes != 0 {
			return i
		}
	}
	return len(r.transformations)
}

func (r *Rule) executeTransformations(value string) (string, []error) {
	var errs []error
	for _, t := range r.transformations {
		v, _, err := t.Function(value)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		value = v
	}
	return value, errs
}

// SetMemoizer sets the memoizer used for caching compiled regexes in variable selectors.
func (r *Rule) SetMemoizer(m plugintypes.Memoizer) {
	r.memoizer = m
}

// Memoizer returns the memoizer used for caching compiled regexes in variable selectors.
func (r *Rule) Memoizer() plugintypes.Memoizer {
	return r.memoizer
}

func (r *Rule) memoizeDo(key string, fn func() (any, error)) (any, error) {
	if r.memoizer != nil {
		return r.memoizer.Do(key, fn)
	}
	return fn()
}

// NewRule returns a new initialized rule
// By default, the rule is set to phase 2
func NewRule() *Rule {
	return &Rule{
		RuleMetadata: corazarules.RuleMetadata{
			Phase_:    2,
			Severity_: types.RuleSeverityUnset,
			Tags_:     []string{},
		},
	}
}
