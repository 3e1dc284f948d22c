// Copyright 2026 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package experimental

import "github.com/corazawaf/coraza/v3/internal/operators"

// RxPrefilter returns the @rx operator's literal pre-filter for a pattern
// (Go/RE2 syntax, flags included): a function that reports false only for
// values the pattern cannot match (too short, or missing a literal every
// match needs), so an operator registered in place of @rx can skip its
// regex engine for them. It returns nil when no useful pre-filter can be
// built. (Parapet patch: the pre-filter was reachable only through
// SecRxPreFilter and Go's regexp.)
func RxPrefilter(pattern string) func(string) bool {
	return operators.RxPrefilter(pattern)
}
