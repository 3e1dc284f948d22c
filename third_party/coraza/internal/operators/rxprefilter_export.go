// Copyright 2026 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package operators

import "regexp/syntax"

// RxPrefilter is prefilterFunc for experimental.RxPrefilter (Parapet patch).
func RxPrefilter(pattern string) func(string) bool { return prefilterFunc(pattern) }

// RxLiterals is experimental.RxLiterals (Parapet patch): minLen,
// extractLiterals' required literals and the case folding of the
// pattern, as prefilterFunc computes them.
func RxLiterals(pattern string) (minLength int, all, anyOf []string, ci, ok bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, nil, nil, false, false
	}
	re = re.Simplify()
	ci = hasFlag(re, syntax.FoldCase)
	minLength = minLen(re)
	switch v := extractLiterals(re, ci).(type) {
	case allRequired:
		all = v
	case anyRequired:
		anyOf = v
	case combinedRequired:
		all, anyOf = v.all, v.any
	}
	return minLength, all, anyOf, ci, true
}
