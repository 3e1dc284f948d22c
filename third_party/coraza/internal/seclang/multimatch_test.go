// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package seclang

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazawaf"
)

// TestMultiMatchAndCountsOfPooledTransactions checks a multiMatch rule
// tries every transformed value of each argument (they share one reused
// buffer, patch 21), and a count's match (from the transaction's arena),
// across transactions reusing a pooled Transaction.
func TestMultiMatchAndCountsOfPooledTransactions(t *testing.T) {
	waf := corazawaf.NewWAF()
	if err := NewParser(waf).FromString(`
SecRule ARGS "@streq abc" "id:1,phase:1,t:none,t:lowercase,t:removeWhitespace,multiMatch,pass,log,msg:'m'"
SecRule &ARGS "@gt 1" "id:2,phase:1,pass,log,msg:'count'"
SecRule ARGS "@rx ^(?:A B C|abc)$" "id:3,phase:1,t:none,t:lowercase,multiMatch,pass,log,msg:'variants'"
`); err != nil {
		t.Fatal(err)
	}
	for round, tc := range []struct {
		args map[string]string
		want string
	}{
		{map[string]string{"a": "A B C", "b": "ABC", "c": "x"}, "1 a=abc; 1 b=abc; 2 =3; 3 a=A B C; 3 b=abc"},
		{map[string]string{"d": "a bc"}, "1 d=abc"},
		{map[string]string{"e": "abc", "f": "q", "g": "r", "h": "ab c"}, "1 e=abc; 1 h=abc; 2 =4; 3 e=abc"},
	} {
		tx := waf.NewTransaction()
		for k, v := range tc.args {
			tx.AddGetRequestArgument(k, v)
		}
		tx.ProcessRequestHeaders()
		var got []string
		for _, m := range tx.MatchedRules() {
			for _, md := range m.MatchedDatas() {
				got = append(got, fmt.Sprintf("%d %s=%s", m.Rule().ID(), md.Key(), md.Value()))
			}
		}
		sort.Strings(got)
		if g := strings.Join(got, "; "); g != tc.want {
			t.Errorf("round %d: matched %q, want %q", round, g, tc.want)
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
