// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package seclang

import (
	"sort"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// TestMatchedVarsSeenByChainsAndEmptiedBetweenRules checks MATCHED_VARS
// and MATCHED_VARS_NAMES, whose matches are added only when something
// reads them (patch 20): a chained rule sees each of its parent's
// matches, by name and value; a count sees them; the next rule starts
// with none; and so does the next transaction of a pooled Transaction.
func TestMatchedVarsSeenByChainsAndEmptiedBetweenRules(t *testing.T) {
	waf := corazawaf.NewWAF()
	if err := NewParser(waf).FromString(`
SecAction "id:9,phase:1,pass,nolog,setvar:'tx.names=seen:',setvar:'tx.values=seen:'"
SecRule ARGS "@rx ^x" "id:1,phase:1,pass,nolog,chain"
  SecRule &MATCHED_VARS "@eq 2" "chain"
    SecRule MATCHED_VARS_NAMES "@rx ^ARGS:(a|b)$" "setvar:'tx.names=%{tx.names} %{MATCHED_VAR}'"
SecRule ARGS "@rx ^x" "id:2,phase:1,pass,nolog,chain"
  SecRule MATCHED_VARS "@rx ^x(.)" "capture,setvar:'tx.values=%{tx.values} %{tx.1}'"
SecRule &MATCHED_VARS "@eq 0" "id:3,phase:1,pass,nolog,setvar:tx.emptied=yes"
SecRule ARGS:c "@rx ^z" "id:4,phase:1,pass,nolog"
`); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		tx := waf.NewTransaction()
		tx.AddGetRequestArgument("a", "x1")
		tx.AddGetRequestArgument("b", "x2")
		tx.AddGetRequestArgument("c", "z")
		tx.ProcessRequestHeaders()
		tv := tx.Variables().TX()
		if got := words(tv.Get("names")); got != "ARGS:a ARGS:b" {
			t.Errorf("round %d: chained MATCHED_VARS_NAMES saw %q, want both of the parent's matches", round, got)
		}
		if got := words(tv.Get("values")); got != "1 2" {
			t.Errorf("round %d: chained MATCHED_VARS saw %q, want both values", round, got)
		}
		if got := tv.Get("emptied"); len(got) != 1 || got[0] != "yes" {
			t.Errorf("round %d: the next rule saw MATCHED_VARS left by rule 2 (tx.emptied %q)", round, got)
		}
		// Through the API, after the last rule (4, on ARGS:c).
		mv := tx.Variables().MatchedVars()
		if got := mv.Get("ARGS:c"); len(got) != 1 || got[0] != "z" || len(mv.FindAll()) != 1 {
			t.Errorf("round %d: MATCHED_VARS after rule 4 = %v, want ARGS:c=z alone", round, mv.FindAll())
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// words sorts the space-separated words of values (one value, after
// the "seen:" it starts with).
func words(values []string) string {
	if len(values) != 1 {
		return ""
	}
	w := strings.Fields(strings.TrimPrefix(values[0], "seen:"))
	sort.Strings(w)
	return strings.Join(w, " ")
}
