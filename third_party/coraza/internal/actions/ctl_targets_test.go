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
	// any argument; 12 (tag t1) only in argument c. The ctl in rule 1 is
	// the one under test.
	const rules = `
SecRule ARGS "@contains evil" "id:10,phase:1,deny,status:403,tag:t1,msg:'m1'"
SecRule ARGS "@contains evil" "id:11,phase:1,deny,status:403,tag:t2,msg:'m2'"
SecRule ARGS:c "@contains evil" "id:12,phase:1,deny,status:403,tag:t1"
`
	cases := []struct {
		ctl string
		// which rule interrupts a request with "evil" in argument a, b or c
		// (0: none)
		want map[string]int
	}{
		{"ruleRemoveTargetByTag=t1;ARGS:a", map[string]int{"a": 11, "b": 10, "c": 10}},
		{"ruleRemoveTargetByMsg=m1;ARGS:b", map[string]int{"a": 10, "b": 11, "c": 10}},
		{"ruleRemoveTargetById=10-10;ARGS:a", map[string]int{"a": 11, "b": 10, "c": 10}},
		{"ruleRemoveByTag=t1", map[string]int{"a": 11, "b": 11, "c": 11}},
		{"ruleRemoveByMsg=m2", map[string]int{"a": 10, "b": 10, "c": 10}},
	}
	for _, c := range cases {
		t.Run(c.ctl, func(t *testing.T) {
			waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(
				fmt.Sprintf("SecRuleEngine On\nSecAction \"id:1,phase:1,pass,nolog,ctl:%s\"\n", c.ctl) + rules))
			if err != nil {
				t.Fatal(err)
			}
			// A second WAF whose rules carry the tags and messages in other
			// places: what the first remembered must not leak into it.
			other, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(
				fmt.Sprintf("SecRuleEngine On\nSecAction \"id:1,phase:1,pass,nolog,ctl:%s\"\n", c.ctl) +
					`SecRule ARGS "@contains evil" "id:20,phase:1,deny,status:403,tag:t3,msg:'m3'"`))
			if err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 3; round++ {
				for arg, want := range c.want {
					if got := interruptingRule(t, waf, arg); got != want {
						t.Errorf("round %d, evil in %s: interrupted by rule %d, want %d", round, arg, got, want)
					}
					if got := interruptingRule(t, other, arg); got != 20 {
						t.Errorf("round %d, other WAF, evil in %s: interrupted by rule %d, want 20", round, arg, got)
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
