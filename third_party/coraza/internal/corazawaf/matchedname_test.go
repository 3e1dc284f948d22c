// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazarules"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// TestMatchedVarNameWrittenWhenRead checks that MATCHED_VAR_NAME and
// MATCHED_VARS, whose names are built when read, hold what they held when
// every match wrote them: the last match's "VARIABLE:key" (the variable's
// name alone without a key), every match's name in MATCHED_VARS, and
// nothing after the transaction is reset.
func TestMatchedVarNameWrittenWhenRead(t *testing.T) {
	tx := NewWAF().NewTransaction()
	tx.matchVariable(&corazarules.MatchData{Variable_: variables.Args, Key_: "a", Value_: "1"})
	tx.matchVariable(&corazarules.MatchData{Variable_: variables.RequestHeaders, Key_: "user-agent", Value_: "2"})
	if got := tx.variables.MatchedVarName().Get(); got != "REQUEST_HEADERS:user-agent" {
		t.Errorf("MATCHED_VAR_NAME = %q after two matches", got)
	}
	tx.matchVariable(&corazarules.MatchData{Variable_: variables.RequestURI, Value_: "/"})
	if got := tx.Collection(variables.MatchedVarName).FindAll(); len(got) != 1 || got[0].Value() != "REQUEST_URI" {
		t.Errorf("MATCHED_VAR_NAME through Collection = %v, want REQUEST_URI", got)
	}
	var names []string
	for _, m := range tx.variables.MatchedVars().FindAll() {
		names = append(names, m.Key())
	}
	if len(names) != 3 {
		t.Errorf("MATCHED_VARS keys = %q, want 3", names)
	}
	tx.matchVariable(&corazarules.MatchData{Variable_: variables.Args, Key_: "b", Value_: "3"})
	tx.variables.reset()
	if got := tx.variables.MatchedVarName().Get(); got != "" {
		t.Errorf("MATCHED_VAR_NAME = %q after reset", got)
	}
}
