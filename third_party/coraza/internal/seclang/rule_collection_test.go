// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package seclang

import (
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// Parapet: the RULE collection's fields are written when something uses
// them (patch 13), yet every reader sees the fields of the rule being
// evaluated: from a macro, as a variable, after rules that read nothing,
// in a chained rule (no msg of its own: the parent's stays), and in the
// next transaction of a pooled Transaction.
func TestRuleCollectionHoldsTheRuleBeingEvaluated(t *testing.T) {
	waf := corazawaf.NewWAF()
	if err := NewParser(waf).FromString(`
SecRule ARGS:a "@rx x" "id:10,phase:1,pass,nolog,severity:2,rev:'7',msg:'ten saw %{MATCHED_VAR}',logdata:'data %{MATCHED_VAR_NAME}',setvar:'tx.ten=%{rule.id}|%{rule.msg}|%{rule.severity}|%{rule.rev}|%{rule.logdata}'"
SecRule ARGS:a "@rx nothing" "id:11,phase:1,pass,nolog,msg:'eleven'"
SecAction "id:12,phase:1,pass,nolog,msg:'twelve'"
SecAction "id:13,phase:1,pass,nolog,setvar:'tx.thirteen=%{rule.id}|%{rule.msg}'"
SecRule RULE:id "@streq 14" "id:14,phase:1,pass,nolog,setvar:tx.fourteen=%{matched_var}"
SecRule ARGS:a "@rx x" "id:15,phase:1,pass,nolog,msg:'parent',chain"
  SecRule ARGS:b "@rx y" "setvar:'tx.chained=%{rule.msg}'"
SecRule RULE:msg "@streq parent" "id:16,phase:1,pass,nolog,setvar:tx.sixteen=seen"
`); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		tx := waf.NewTransaction()
		tx.ProcessURI("/?a=xyz&b=y", "GET", "HTTP/1.1")
		tx.ProcessRequestHeaders()
		want := map[string]string{
			"ten":      "10|ten saw xyz|critical|7|data ARGS:a",
			"thirteen": "13|twelve",
			"fourteen": "14",
			"chained":  "parent",
			"sixteen":  "seen", // 16 has no msg of its own: 15's stays
		}
		for k, w := range want {
			got := tx.Variables().TX().Get(k)
			if len(got) != 1 || got[0] != w {
				t.Errorf("round %d: tx.%s = %q, want %q", round, k, got, w)
			}
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
