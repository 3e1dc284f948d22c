// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package macro_test

import (
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/macro"
	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// TestExpandParts expands macros of one part and of several (more than the
// four Expand keeps on its stack), reading TX keys holding one value and
// several (the first is used), a key in upper case and a missing key
// (left as written), and a single-valued variable.
func TestExpandParts(t *testing.T) {
	tx := corazawaf.NewWAF().NewTransaction()
	txc := tx.Variables().TX()
	txc.Set("score", []string{"5"})
	txc.Set("multi", []string{"first", "second"})
	tx.Variables().RequestMethod().(interface{ Set(string) }).Set("GET")
	for in, want := range map[string]string{
		"%{tx.score}":     "5",
		"+%{tx.score}":    "+5",
		"/%{TX.MULTI}/":   "/first/",
		"%{tx.missing}":   "tx.missing",
		"a%{tx.missing}b": "atx.missingb",
		"%{request_method} %{tx.score}-%{tx.multi}:%{tx.score}.%{tx.score}!": "GET 5-first:5.5!",
		"plain": "plain",
	} {
		m, err := macro.NewMacro(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := m.Expand(tx); got != want {
			t.Errorf("%q expands to %q, want %q", in, got, want)
		}
	}
}
