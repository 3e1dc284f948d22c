// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package seclang

import (
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// TestTargetRemovalsOfPooledTransactions checks ctl target removals made
// by one transaction apply to it alone, whatever the case of the removed
// key, and not to the next transaction reusing the pooled Transaction
// (the removals' map and slices are reused, emptied).
func TestTargetRemovalsOfPooledTransactions(t *testing.T) {
	waf := corazawaf.NewWAF()
	if err := NewParser(waf).FromString(`
SecRule ARGS:trigger "@streq on" "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=10;ARGS:Secret,ctl:ruleRemoveTargetByTag=xss-like;ARGS:/^rich_/"
SecRule ARGS "@rx attack" "id:10,phase:1,pass,log,msg:'ten'"
SecRule ARGS "@rx attack" "id:11,phase:1,pass,log,msg:'eleven',tag:'xss-like'"
SecRule &ARGS "@eq 0" "id:12,phase:1,pass,log,msg:'twelve'"
`); err != nil {
		t.Fatal(err)
	}
	for round, tc := range []struct {
		trigger bool
		want    map[int][]string // rule id: the argument names it matched
	}{
		{true, map[int][]string{10: {"rich_text"}, 11: {"secret"}}},
		{false, map[int][]string{10: {"rich_text", "secret"}, 11: {"rich_text", "secret"}}},
		{true, map[int][]string{10: {"rich_text"}, 11: {"secret"}}},
		{false, map[int][]string{10: {"rich_text", "secret"}, 11: {"rich_text", "secret"}}},
	} {
		tx := waf.NewTransaction()
		if tc.trigger {
			tx.AddGetRequestArgument("trigger", "on")
		}
		tx.AddGetRequestArgument("secret", "attack")
		tx.AddGetRequestArgument("rich_text", "attack")
		tx.ProcessRequestHeaders()
		got := map[int][]string{}
		for _, m := range tx.MatchedRules() {
			if m.Rule().ID() == 1 {
				continue
			}
			for _, md := range m.MatchedDatas() {
				got[m.Rule().ID()] = append(got[m.Rule().ID()], md.Key())
			}
		}
		for id, keys := range tc.want {
			if !sameKeys(got[id], keys) {
				t.Errorf("round %d (trigger %v): rule %d matched %v, want %v", round, tc.trigger, id, got[id], keys)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("round %d: rules matched %v, want %v", round, got, tc.want)
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func sameKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, k := range a {
		seen[k]++
	}
	for _, k := range b {
		if seen[k] == 0 {
			return false
		}
		seen[k]--
	}
	return true
}
