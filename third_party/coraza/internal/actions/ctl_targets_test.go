// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package actions_test

import (
	"fmt"
	"testing"

	"github.com/corazawaf/coraza/v3"
)

// TestCtlNamingRulesAppliesOnEveryTransaction checks the ctl actions that
// name rules by tag, message or id range (their targets are remembered
// after the first transaction): every transaction, first or later, of two
// WAFs with different rules gets exactly the exceptions its own rules call
// for.
func TestCtlNamingRulesAppliesOnEveryTransaction(t *testing.T) {
	// Rules 10 (tag t1, msg m1) and 11 (tag t2, msg m2) deny "evil" in
	// any argument; 12 (tag t1), evaluated before 11, only in argument c.
	// The ctl in rule 1 is the one under test.
	const rules = `
SecRule ARGS "@contains evil" "id:10,phase:1,deny,status:403,tag:t1,msg:'m1'"
SecRule ARGS:c "@contains evil" "id:12,phase:1,deny,status:403,tag:t1"
SecRule ARGS "@contains evil" "id:11,phase:1,deny,status:403,tag:t2,msg:'m2'"
`
	cases := []struct {
		ctl string
		// which rule interrupts a request with "evil" in argument a, b or
		// c, in this WAF and in the other one below (nil: 10 for each)
		want, other map[string]int
	}{
		{"ruleRemoveTargetByTag=t1;ARGS:a", map[string]int{"a": 11, "b": 10, "c": 10}, nil},
		{"ruleRemoveTargetByTag=t1;ARGS:c", map[string]int{"a": 10, "b": 10, "c": 11}, nil}, // 12 too
		{"ruleRemoveTargetByMsg=m1;ARGS:b", map[string]int{"a": 10, "b": 11, "c": 10}, nil},
		// Ids name rules of any WAF: the other one's 10 is named too.
		{"ruleRemoveTargetById=10-10;ARGS:a", map[string]int{"a": 11, "b": 10, "c": 10}, map[string]int{"a": 12, "b": 10, "c": 10}},
		{"ruleRemoveTargetById=10-11;ARGS:c", map[string]int{"a": 10, "b": 10, "c": 12}, map[string]int{"a": 10, "b": 10, "c": 12}},
		{"ruleRemoveByTag=t1", map[string]int{"a": 11, "b": 11, "c": 11}, nil}, // 12 too
		{"ruleRemoveByMsg=m2", map[string]int{"a": 10, "b": 10, "c": 10}, nil},
	}
	for _, c := range cases {
		t.Run(c.ctl, func(t *testing.T) {
			waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(
				fmt.Sprintf("SecRuleEngine On\nSecAction \"id:1,phase:1,pass,nolog,ctl:%s\"\n", c.ctl) + rules))
			if err != nil {
				t.Fatal(err)
			}
			// A second WAF whose rules 10 and 12 carry other tags and
			// messages: the rules the first one's ctl found must not be
			// applied to it (its 10 stays whole and comes first).
			other, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(
				fmt.Sprintf("SecRuleEngine On\nSecAction \"id:1,phase:1,pass,nolog,ctl:%s\"\n", c.ctl) + `
SecRule ARGS "@contains evil" "id:10,phase:1,deny,status:403,tag:t3,msg:'m3'"
SecRule ARGS "@contains evil" "id:12,phase:1,deny,status:403,tag:t3,msg:'m3'"`))
			if err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 3; round++ {
				for _, arg := range []string{"a", "b", "c"} {
					if got, want := interruptingRule(t, waf, arg), c.want[arg]; got != want {
						t.Errorf("round %d, evil in %s: interrupted by rule %d, want %d", round, arg, got, want)
					}
					want := 10
					if c.other != nil {
						want = c.other[arg]
					}
					if got := interruptingRule(t, other, arg); got != want {
						t.Errorf("round %d, other WAF, evil in %s: interrupted by rule %d, want %d", round, arg, got, want)
					}
				}
			}
		})
	}
}

func interruptingRule(t *testing.T, waf coraza.WAF, arg string) int {
	t.Helper()
	tx := waf.NewTransaction()
	defer tx.Close()
	tx.ProcessURI("/?"+arg+"=evil", "GET", "HTTP/1.1")
	if it := tx.ProcessRequestHeaders(); it != nil {
		return it.RuleID
	}
	return 0
}
