// Copyright 2026 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package experimental_test

import (
	"regexp"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental"
)

func TestRxPrefilter(t *testing.T) {
	t.Run("rejects only values the pattern cannot match", func(t *testing.T) {
		pattern := `(?i)union\s+select`
		f := experimental.RxPrefilter(pattern)
		if f == nil {
			t.Fatalf("no pre-filter for %q", pattern)
		}
		re := regexp.MustCompile(pattern)
		for _, v := range []string{"1 UNION SELECT 2", "x union  select y", "Union\tSelect", "hello world", "unio select", ""} {
			if re.MatchString(v) && !f(v) {
				t.Errorf("the pre-filter rejects %q, which %q matches", v, pattern)
			}
		}
		for _, v := range []string{"hello world", "select only", ""} {
			if f(v) {
				t.Errorf("the pre-filter accepts %q, which lacks the literal %q needs", v, "union")
			}
		}
	})

	t.Run("nil when nothing can be rejected", func(t *testing.T) {
		for _, pattern := range []string{`.*`, `a?`, `(`} {
			if f := experimental.RxPrefilter(pattern); f != nil {
				t.Errorf("RxPrefilter(%q) is not nil", pattern)
			}
		}
	})
}
