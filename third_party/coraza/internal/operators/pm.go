// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

//go:build !coraza.disabled_operators.pm

package operators

import (
	"strings"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// Description:
// Performs case-insensitive pattern matching using the Aho-Corasick algorithm for efficient
// multi-pattern searching. Matches space-separated keywords or patterns provided as arguments.
//
// Arguments:
// Space-separated keywords or patterns to match. Supports Snort data syntax like "A|42|C|44|F"
// for hex notation. All patterns are converted to lowercase for case-insensitive matching.
//
// Returns:
// true if any of the patterns are found in the input, false otherwise
//
// Example:
// ```seclang
// # Detect known malicious user agents
// SecRule REQUEST_HEADERS:User-Agent "@pm WebZIP WebCopier Webster" "id:170,deny,log"
//
// # Match multiple attack patterns
// SecRule ARGS "@pm <script> javascript: onerror=" "id:171,deny"
// ```
type pm struct {
	matcher *pmMatcher
	// minLen is the length of the shortest pattern. If the input is shorter
	// than this, no pattern can match and we skip the Aho-Corasick automaton.
	minLen int
	// phrases are the patterns the automaton was built from (Parapet: a
	// value filter reads them, see Phrases).
	phrases []string
}

var _ plugintypes.Operator = (*pm)(nil)

func newPM(options plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	data := options.Arguments

	data = strings.ToLower(data)
	dict := strings.Split(data, " ")
	m, _ := memoizeDo(options.Memoizer, data, func() (any, error) { return newPMMatcher(dict), nil })
	// TODO this operator is supposed to support snort data syntax: "@pm A|42|C|44|F"
	return &pm{matcher: m.(*pmMatcher), minLen: minPatternLen(dict), phrases: dict}, nil
}

func (o *pm) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if len(value) < o.minLen {
		return false
	}
	return pmEvaluate(o.matcher, tx, value)
}

// minPatternLen returns the length of the shortest pattern.
// If any pattern is empty it returns 0 immediately, disabling short-circuiting:
// an empty pattern matches every input, so no input can be safely skipped.
// If there are no patterns, it returns 0.
// Phrases returns the patterns the operator looks for, lower-cased, as
// its automaton was built from them: it matches a value when one of them
// occurs in it, ASCII letters compared without case (Parapet patch, for
// value filters; the caller must not modify the slice).
func (o *pm) Phrases() []string { return o.phrases }

func minPatternLen(patterns []string) int {
	min := 0
	for _, p := range patterns {
		if len(p) == 0 {
			return 0
		}
		if min == 0 || len(p) < min {
			min = len(p)
		}
	}
	return min
}

func pmEvaluate(matcher *pmMatcher, tx plugintypes.TransactionState, value string) bool {
	if !tx.Capturing() {
		// Not capturing so just one match is enough.
		return matcher.matchAny(value)
	}

	numMatches := 0
	matcher.each(value, 10, func(start, end int) {
		tx.CaptureField(numMatches, value[start:end])
		numMatches++
	})
	return numMatches > 0
}

func init() {
	Register("pm", newPM)
}
