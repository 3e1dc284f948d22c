// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package experimental

import (
	"github.com/corazawaf/coraza/v3/internal/corazawaf"
	"github.com/corazawaf/coraza/v3/internal/operators"
)

// ValueFilter lets an embedder skip the evaluations of rules it proves
// cannot match a value (Parapet patch; see corazawaf.ValueFilter).
type ValueFilter = corazawaf.ValueFilter

// ValueFilterRule describes a rule to a ValueFilter's planner.
type ValueFilterRule = corazawaf.ValueFilterRule

// WAFWithValueFilter is a WAF that takes a ValueFilter. SetValueFilter
// must be called before the WAF's first transaction.
type WAFWithValueFilter interface {
	SetValueFilter(*ValueFilter)
}

// WAFWithAnswerMemory is a WAF that reports how many values its value
// filter's answer memory holds (ValueFilter.Remember). (Parapet patch.)
type WAFWithAnswerMemory interface {
	RememberedValues() int
}

// RxLiterals returns what the @rx literal pre-filter reasons from, for a
// pattern (Go/RE2 syntax, flags included): the fewest bytes a match can
// have, literals every match contains (all), literals of which every
// match contains at least one (anyOf, nil if none is known), and whether
// they compare case-insensitively (then they are lower-cased). ok is
// false when the pattern does not parse. Literals may be of any length;
// non-ASCII literals under case folding compare by Unicode folding.
// (Parapet patch.)
func RxLiterals(pattern string) (minLen int, all, anyOf []string, caseInsensitive, ok bool) {
	return operators.RxLiterals(pattern)
}

// PhraseOperator is an operator that matches a value when one of its
// phrases occurs in it, ASCII letters compared without case: @pm,
// @pmFromFile and @pmf implement it. Phrases returns them lower-cased,
// exactly as the operator's automaton was built from them (the file read
// as the operator reads it); the caller must not modify the slice. A
// value filter can skip such a rule for a value that holds none of them.
// (Parapet patch.)
type PhraseOperator interface {
	Phrases() []string
}
