// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package seclang

import (
	"fmt"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// TestMatchedRulesOfPooledTransactions checks the matched rules and data
// of transactions that reuse one pooled Transaction (and its arena of
// MatchedRule and MatchData values): each sees only its own, whole, even
// when they outnumber a chunk of the arena and the one before matched
// more or fewer.
func TestMatchedRulesOfPooledTransactions(t *testing.T) {
	var rules strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&rules, "SecRule ARGS \"@rx ^v%d-\" \"id:%d,phase:1,pass,log,msg:'rule %d saw %%{MATCHED_VAR}'\"\n", i, i, i)
	}
	waf := corazawaf.NewWAF()
	if err := NewParser(waf).FromString(rules.String()); err != nil {
		t.Fatal(err)
	}
	for round, n := range []int{50, 3, 40, 0, 33} {
		tx := waf.NewTransaction()
		for i := 1; i <= n; i++ {
			// Two values each (one key: in order): the rule matches both.
			tx.AddGetRequestArgument(fmt.Sprintf("a%d", i), fmt.Sprintf("v%d-round%d", i, round))
			tx.AddGetRequestArgument(fmt.Sprintf("a%d", i), fmt.Sprintf("v%d-again%d", i, round))
		}
		tx.ProcessRequestHeaders()
		matched := tx.MatchedRules()
		if len(matched) != n {
			t.Fatalf("round %d: %d matched rules, want %d", round, len(matched), n)
		}
		for i, m := range matched {
			id := i + 1
			if m.Rule().ID() != id {
				t.Errorf("round %d: matched rule %d is %d", round, i, m.Rule().ID())
			}
			if want := fmt.Sprintf("rule %d saw v%d-round%d", id, id, round); m.Message() != want {
				t.Errorf("round %d: rule %d message %q, want %q", round, id, m.Message(), want)
			}
			mds := m.MatchedDatas()
			if len(mds) != 2 {
				t.Fatalf("round %d: rule %d has %d matched data, want 2", round, id, len(mds))
			}
			for j, want := range []string{fmt.Sprintf("a%d=v%d-round%d", id, id, round), fmt.Sprintf("a%d=v%d-again%d", id, id, round)} {
				if got := mds[j].Key() + "=" + mds[j].Value(); got != want {
					t.Errorf("round %d: rule %d matched %q, want %q", round, id, got, want)
				}
			}
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
