// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package experimental_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// exactRxFilter is a value filter that answers for every @rx rule without
// transformations by running its pattern: an exact answer, so that a rule
// the engine passes over is one the test can tell would not have matched.
func exactRxFilter() *experimental.ValueFilter {
	var patterns []*regexp.Regexp
	return &experimental.ValueFilter{
		Plan: func(r experimental.ValueFilterRule) int {
			if r.Operator != "rx" || r.Negated || len(r.Transformations) > 0 {
				return -1
			}
			patterns = append(patterns, regexp.MustCompile(r.Argument))
			return len(patterns) - 1
		},
		Planned: func() int { return len(patterns) },
		Classify: func(value string, mayMatch []uint64) {
			for i, re := range patterns {
				if re.MatchString(value) {
					mayMatch[i/64] |= 1 << (i % 64)
				}
			}
		},
	}
}

// TestValueFilterPassesOverRulesPerPhase: a rule whose every collection's
// values the filter rules out is passed over (valuefilter.go's
// cannotMatch), and that proof is made again for each phase: the body's
// phase has values (a form's fields in ARGS) that the headers' phase did
// not, and a count is never taken for one of the collection's values.
func TestValueFilterPassesOverRulesPerPhase(t *testing.T) {
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(`
SecRuleEngine On
SecRequestBodyAccess On
SecRule ARGS|REQUEST_HEADERS|REQUEST_COOKIES|XML:/* "@rx evil" "id:1,phase:1,deny,status:403"
SecRule ARGS:foo "@rx evil" "id:2,phase:2,deny,status:403"
SecRule ARGS_NAMES|REQUEST_HEADERS_NAMES "@rx (?i)^bad" "id:3,phase:2,deny,status:403"
SecRule &ARGS "@rx ^3$" "id:4,phase:1,deny,status:403"
SecRule REQUEST_BODY "@rx (?i)drop" "id:5,phase:2,deny,status:403"
SecRule REQUEST_HEADERS|!REQUEST_HEADERS:Referer "@rx wicked" "id:6,phase:1,deny,status:403"
SecRule REQUEST_URI "@beginsWith /skip/" "id:7,phase:1,pass,nolog,ctl:ruleRemoveTargetById=8;REQUEST_FILENAME"
SecRule REQUEST_FILENAME|ARGS "@rx vile" "id:8,phase:1,deny,status:403"
`))
	if err != nil {
		t.Fatal(err)
	}
	waf.(experimental.WAFWithValueFilter).SetValueFilter(exactRxFilter())

	for _, tc := range []struct {
		name    string
		uri     string
		headers [][2]string
		body    string
		want    int // the rule that interrupts, 0 for none
	}{
		{name: "nothing to find", uri: "/?a=ok&b=fine", headers: [][2]string{{"Accept", "text/html"}}},
		{name: "a header", uri: "/?a=ok", headers: [][2]string{{"X-Note", "an evil value"}}, want: 1},
		{name: "a cookie", uri: "/", headers: [][2]string{{"Cookie", "s=evil"}}, want: 1},
		{name: "a query field", uri: "/?q=evil", want: 1},
		{name: "a body field, in the body's phase", uri: "/?a=ok", body: "foo=evil", want: 2},
		{name: "a body field read by another name", uri: "/?a=ok", body: "bar=evil"},
		{name: "a body field's name", uri: "/?a=ok", body: "badname=1", want: 3},
		{name: "a header's name", uri: "/", headers: [][2]string{{"Badheader", "1"}}, want: 3},
		{name: "a count is not one of the values", uri: "/?a=1&b=2&c=x", want: 4},
		{name: "the raw body", uri: "/", body: "x=1&y=DROP", want: 5},
		{name: "a header a rule's exception names", uri: "/", headers: [][2]string{{"Referer", "wicked"}}},
		{name: "a header beside the exception", uri: "/", headers: [][2]string{{"Referer", "wicked"}, {"X-Note", "wicked"}}, want: 6},
		{name: "a variable ctl took from the rule", uri: "/skip/vile?q=ok"},
		{name: "another variable of that rule", uri: "/skip/vile?q=vile", want: 8},
		{name: "the variable, where ctl did not take it", uri: "/vile", want: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := waf.NewTransaction()
			defer tx.Close()
			tx.ProcessURI(tc.uri, "POST", "HTTP/1.1")
			tx.AddRequestHeader("Host", "example.com")
			if tc.body != "" {
				tx.AddRequestHeader("Content-Type", "application/x-www-form-urlencoded")
			}
			for _, h := range tc.headers {
				tx.AddRequestHeader(h[0], h[1])
			}
			it := tx.ProcessRequestHeaders()
			if it == nil && tc.body != "" {
				if _, _, err := tx.ReadRequestBodyFrom(strings.NewReader(tc.body)); err != nil {
					t.Fatal(err)
				}
			}
			if it == nil {
				if it, err = tx.ProcessRequestBody(); err != nil {
					t.Fatal(err)
				}
			}
			got := 0
			if it != nil {
				got = it.RuleID
			}
			if got != tc.want {
				t.Fatalf("interrupted by rule %d, want %d", got, tc.want)
			}
		})
	}
}

// TestValueFilterRuleSteps: a planned rule's Steps are its
// transformations one by one, so that a filter can make each form the
// rule sees (multiMatch matches every one): run one after another they
// give what Transform gives, and each is its named transformation.
func TestValueFilterRuleSteps(t *testing.T) {
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(`
SecRule ARGS "@rx x" "id:1,phase:2,pass,t:none,t:urlDecodeUni,t:base64Decode,t:lowercase,t:removeWhitespace,multiMatch"
`))
	if err != nil {
		t.Fatal(err)
	}
	var rule experimental.ValueFilterRule
	waf.(experimental.WAFWithValueFilter).SetValueFilter(&experimental.ValueFilter{
		Plan:     func(r experimental.ValueFilterRule) int { rule = r; return -1 },
		Planned:  func() int { return 0 },
		Classify: func(string, []uint64) {},
	})
	if len(rule.Steps) != len(rule.Transformations) || len(rule.Steps) != 4 {
		t.Fatalf("steps %d, transformations %v", len(rule.Steps), rule.Transformations)
	}
	in := "SGVsbG8gV29y%62GQ" // base64 of "Hello World" with a 'b' url-encoded
	want := []string{"SGVsbG8gV29ybGQ", "Hello World", "hello world", "helloworld"}
	v := in
	for i, step := range rule.Steps {
		var changed bool
		v, changed = step(v)
		if v != want[i] || !changed {
			t.Errorf("after step %d (%s): %q (changed %v), want %q", i, rule.Transformations[i], v, changed, want[i])
		}
	}
	if _, changed := rule.Steps[3]("helloworld"); changed {
		t.Error("removeWhitespace reports a change to a value without whitespace")
	}
	if got := rule.Transform(in); got != v {
		t.Errorf("Transform gives %q, the steps %q", got, v)
	}
}

// countingOperators are the calls of @parapetTestCount (a regexp
// operator) by value.
var countingOperators = struct {
	sync.Mutex
	calls map[string]int
}{calls: map[string]int{}}

func init() {
	plugins.RegisterOperator("parapetTestCount", func(o plugintypes.OperatorOptions) (plugintypes.Operator, error) {
		return countingOperator{regexp.MustCompile(o.Arguments)}, nil
	})
}

type countingOperator struct{ re *regexp.Regexp }

func (o countingOperator) Evaluate(_ plugintypes.TransactionState, value string) bool {
	countingOperators.Lock()
	countingOperators.calls[value]++
	countingOperators.Unlock()
	return o.re.MatchString(value)
}

// TestValueFilterRemembersMisses: with Remember, a rule that ran on a
// value in two transactions without matching it is not run on it again
// (the WAF's answer memory); a value a rule matches is matched every time;
// and a miss is not remembered for a slot two rules share (another rule
// of the slot may match the value).
func TestValueFilterRemembersMisses(t *testing.T) {
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(`
SecRuleEngine On
SecRule ARGS "@parapetTestCount evil" "id:1,phase:1,deny,status:403"
SecRule REQUEST_HEADERS:X-A "@parapetTestCount aaa" "id:2,phase:1,pass,nolog"
SecRule REQUEST_HEADERS:X-A "@parapetTestCount bbb" "id:3,phase:1,deny,status:403"
`))
	if err != nil {
		t.Fatal(err)
	}
	slots := 0
	waf.(experimental.WAFWithValueFilter).SetValueFilter(&experimental.ValueFilter{
		Plan: func(r experimental.ValueFilterRule) int {
			if r.Operator != "parapetTestCount" {
				return -1
			}
			if r.Argument == "bbb" {
				return 1 // rule 2's slot
			}
			slots++
			return slots - 1
		},
		Planned: func() int { return slots },
		Classify: func(_ string, mayMatch []uint64) {
			for i := 0; i < slots; i++ {
				mayMatch[i/64] |= 1 << (i % 64)
			}
		},
		Remember: true,
	})
	send := func(uri, xa string) int {
		tx := waf.NewTransaction()
		defer tx.Close()
		tx.ProcessURI(uri, "GET", "HTTP/1.1")
		tx.AddRequestHeader("Host", "example.com")
		if xa != "" {
			tx.AddRequestHeader("X-A", xa)
		}
		if it := tx.ProcessRequestHeaders(); it != nil {
			return it.RuleID
		}
		return 0
	}
	calls := func(v string) int {
		countingOperators.Lock()
		defer countingOperators.Unlock()
		return countingOperators.calls[v]
	}
	for i, want := range []int{1, 2, 2, 2} {
		if got := send("/?q=benign", ""); got != 0 {
			t.Fatalf("benign request %d interrupted by rule %d", i+1, got)
		}
		if got := calls("benign"); got != want {
			t.Errorf("after request %d the rule ran %d times on the benign value, want %d", i+1, got, want)
		}
	}
	if n := waf.(experimental.WAFWithAnswerMemory).RememberedValues(); n != 1 {
		t.Errorf("the memory holds %d values, want 1 (the benign value: rules 2 and 3 read X-A alone, not the Host header)", n)
	}
	for i := range 4 {
		if got := send("/?q=evil", ""); got != 1 {
			t.Errorf("request %d with the attack: interrupted by rule %d, want 1", i+1, got)
		}
	}
	if got := calls("evil"); got != 4 {
		t.Errorf("the rule ran %d times on the attack in 4 requests, want 4", got)
	}
	for i := range 4 {
		if got := send("/", "bbb"); got != 3 {
			t.Errorf("request %d with X-A: bbb: interrupted by rule %d, want 3 (rule 2's misses are not its slot's)", i+1, got)
		}
	}
}

// TestValueFilterRemembersNoSideEffect: a negated operator's rule misses
// when its operator matched, and with capture that match wrote TX:0-9,
// which a later rule may read (an allow-list of captured endpoints).
// Such a miss is not remembered: passing over the rule would lose the
// capture (review 15).
func TestValueFilterRemembersNoSideEffect(t *testing.T) {
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(`
SecRuleEngine On
SecRule ARGS:p "!@rx ^/api/(\w+)" "id:4,phase:1,pass,nolog,capture"
SecRule TX:1 "@streq admin" "id:5,phase:1,deny,status:403"
`))
	if err != nil {
		t.Fatal(err)
	}
	slots := 0
	waf.(experimental.WAFWithValueFilter).SetValueFilter(&experimental.ValueFilter{
		Plan: func(experimental.ValueFilterRule) int {
			slots++
			return slots - 1
		},
		Planned: func() int { return slots },
		Classify: func(_ string, mayMatch []uint64) {
			for i := 0; i < slots; i++ {
				mayMatch[i/64] |= 1 << (i % 64)
			}
		},
		Remember: true,
	})
	for i := range 4 {
		tx := waf.NewTransaction()
		tx.ProcessURI("/?p=/api/admin", "GET", "HTTP/1.1")
		tx.AddRequestHeader("Host", "example.com")
		it := tx.ProcessRequestHeaders()
		if it == nil || it.RuleID != 5 {
			t.Errorf("request %d to /api/admin: %+v, want rule 5's interruption", i+1, it)
		}
		tx.Close()
	}
}
