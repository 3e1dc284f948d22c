// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package coraza

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// phasePlanRules mixes phases, phase-0 markers, nested and repeated
// skipAfter targets, a skipAfter whose marker lies in an earlier part of
// the list (carried to the next phase), a marker removed by ctl, skip:N
// and rules removed by ctl, the shapes Eval's phase plan jumps over.
const phasePlanRules = `
SecRuleEngine On
SecRequestBodyAccess On
SecAction "id:1,phase:1,pass,nolog,setvar:tx.pl=%{ARGS.pl}"
SecRule ARGS:rm "@streq 1" "id:2,phase:1,pass,nolog,ctl:ruleRemoveById=0-0"
SecRule ARGS:rm "@streq 2" "id:3,phase:1,pass,nolog,ctl:ruleRemoveById=12"
SecRule TX:pl "@lt 2" "id:10,phase:1,pass,skipAfter:END-A"
SecRule TX:pl "@lt 2" "id:11,phase:2,pass,skipAfter:END-A"
SecRule ARGS "@contains x" "id:12,phase:1,pass,setvar:tx.score=+1"
SecRule ARGS "@contains x" "id:13,phase:2,pass,setvar:tx.score=+1"
SecRule TX:pl "@lt 3" "id:14,phase:1,pass,skipAfter:END-B"
SecRule ARGS "@contains y" "id:15,phase:1,pass,setvar:tx.score=+10"
SecRule ARGS "@contains y" "id:16,phase:2,pass,setvar:tx.score=+10"
SecMarker END-B
SecRule ARGS "@contains z" "id:17,phase:2,pass,skip:1,setvar:tx.score=+100"
SecRule ARGS "@contains z" "id:18,phase:2,pass,setvar:tx.score=+1000"
SecMarker END-A
SecRule ARGS "@contains w" "id:19,phase:1,pass,skipAfter:END-C"
SecRule ARGS "@contains w" "id:20,phase:2,pass,setvar:tx.score=+5"
SecMarker END-C
SecRule ARGS "@contains v" "id:21,phase:2,pass,skipAfter:END-A"
SecRule ARGS "@contains v" "id:22,phase:2,pass,setvar:tx.score=+7"
SecRule ARGS "@contains u" "id:23,phase:2,pass,skipAfter:NOWHERE"
SecRule ARGS "@contains q" "id:24,phase:2,pass,setvar:tx.score=+9"
SecRule TX:score "@ge 1" "id:30,phase:2,pass,setvar:tx.seen=1"
`

// TestPhasePlanSameAnswers runs requests through the same rules with and
// without the phase plan and compares the rules matched and the TX
// collection: the plan must change nothing but the walk.
func TestPhasePlanSameAnswers(t *testing.T) {
	newWAF := func(plan bool) WAF {
		t.Helper()
		w, err := NewWAF(NewWAFConfig().WithDirectives(phasePlanRules))
		if err != nil {
			t.Fatal(err)
		}
		if !plan {
			w.(wafWrapper).waf.Rules.DropPlan()
		}
		return w
	}
	planned, walked := newWAF(true), newWAF(false)
	run := func(w WAF, query string) string {
		tx := w.NewTransaction()
		defer tx.Close()
		tx.ProcessURI("/?"+query, "GET", "HTTP/1.1")
		tx.ProcessRequestHeaders()
		if _, err := tx.ProcessRequestBody(); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range tx.MatchedRules() {
			ids = append(ids, fmt.Sprint(m.Rule().ID()))
		}
		var txv []string
		for _, md := range tx.(plugintypes.TransactionState).Variables().TX().FindAll() {
			txv = append(txv, md.Key()+"="+md.Value())
		}
		slices.Sort(txv)
		return strings.Join(ids, ",") + " " + strings.Join(txv, ",")
	}
	var n int
	for _, pl := range []string{"1", "2", "3", "4"} {
		for _, rm := range []string{"0", "1", "2"} {
			for _, a := range []string{"x", "y", "z", "w", "v", "u", "q", "xyzw", "zq", "vuq", "wv", "xu"} {
				q := "pl=" + pl + "&rm=" + rm + "&a=" + a
				want, got := run(walked, q), run(planned, q)
				if got != want {
					t.Errorf("%s: matched %s with the plan, %s without", q, got, want)
				}
				if strings.Contains(got, "seen=1") {
					n++
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no request scored: the rules test nothing")
	}
}
