// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package seclang

import (
	"sort"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// Parapet: rule evaluation skips excluded matches as it goes (patch 14)
// instead of filtering them into a new slice. Exclusions by name in any
// letter case, by regex, by ctl and with a count still hold, on every
// transaction of a pooled Transaction.
func TestRuleExclusionsSkipMatches(t *testing.T) {
	waf := corazawaf.NewWAF()
	if err := NewParser(waf).FromString(`
SecRule ARGS|!ARGS:Skip|!ARGS:/^utm_/ "@rx ." "id:20,phase:1,pass,nolog,setvar:'tx.m20_%{MATCHED_VAR_NAME}=1'"
SecRule ARGS:keep "@rx ." "id:21,phase:1,pass,nolog,ctl:ruleRemoveTargetById=22;ARGS:keep"
SecRule ARGS "@rx ." "id:22,phase:1,pass,nolog,setvar:'tx.m22_%{MATCHED_VAR_NAME}=1'"
SecRule &ARGS|!ARGS:skip "@eq 3" "id:23,phase:1,pass,nolog,setvar:tx.m23=1"
SecRule REQUEST_COOKIES|!REQUEST_COOKIES:sessionid "@rx ." "id:24,phase:1,pass,nolog,setvar:'tx.m24_%{MATCHED_VAR_NAME}=1'"
`); err != nil {
		t.Fatal(err)
	}
	want := "m20_args:keep m22_args:skip m22_args:utm_source m22_args:utm_x m23 m24_request_cookies:theme"
	for round := 0; round < 3; round++ {
		tx := waf.NewTransaction()
		tx.ProcessURI("/?keep=1&skip=2&utm_source=3&UTM_x=4", "GET", "HTTP/1.1")
		tx.AddRequestHeader("Cookie", "sessionid=abc; theme=dark")
		tx.ProcessRequestHeaders()
		var got []string
		for _, m := range tx.Variables().TX().FindAll() {
			if k := m.Key(); strings.HasPrefix(k, "m2") {
				got = append(got, k)
			}
		}
		sort.Strings(got)
		if g := strings.Join(got, " "); g != want {
			t.Errorf("round %d: matched %s\nwant %s", round, g, want)
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
