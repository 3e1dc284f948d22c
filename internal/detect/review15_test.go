package detect

import (
	"fmt"
	"math/rand"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/corazawaf/coraza/v3"
	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// review15APIAllowList is a common ModSecurity idiom, written as a
// user's detection.directives: a negated @rx with capture whose *miss*
// (the path IS an API path) is the branch that matters: the operator
// matched and captured the endpoint into TX:1, and the next rule checks
// it against an allow-list. Neither rule has a macro, so planRemembered
// gives both a slot (rx and within are valueOnlyOperators, "negated or
// not").
const review15APIAllowList = `detection:
  directives: |
    SecRule REQUEST_FILENAME "!@rx ^/api/v1/(\w+)$" "id:1000,phase:1,pass,nolog,capture,skipAfter:END-API-ALLOWLIST"
    SecRule TX:1 "!@within users,orders" "id:1001,phase:1,deny,status:403,msg:'unknown API endpoint',tag:'attack-custom'"
    SecMarker END-API-ALLOWLIST
`

// TestReview15NegatedCaptureMissIsRemembered: a negated operator's rule
// "misses" exactly when its operator matched, and a capturing operator
// that matched wrote TX:0..9. The answer memory remembers that miss and
// passes over the rule for the value in later requests, so the capture
// is never made: the allow-list rule reads no TX:1 and the request to a
// forbidden endpoint passes. The attacker warms the memory with the
// attack itself (two blocked requests are two offers from two
// transactions); the third goes through.
func TestReview15NegatedCaptureMissIsRemembered(t *testing.T) {
	with := stageFromYAML(t, review15APIAllowList)
	without := stageWithoutFilter(t, review15APIAllowList)
	for i := 1; i <= 4; i++ {
		r := browserRequest("GET", "/api/v1/admin", nil)
		want := observed(without, r)
		r = browserRequest("GET", "/api/v1/admin", nil)
		got := observed(with, r)
		held := with.waf.(corazaexp.WAFWithAnswerMemory).RememberedValues()
		t.Logf("request %d: with the memory %s (memory holds %d values); without the filter %s", i, got, held, want)
		if want.action != decision.Block {
			t.Fatalf("request %d: the stage without the filter does not block /api/v1/admin: %s", i, want)
		}
		if got.action != want.action || got.ruleID != want.ruleID {
			t.Errorf("request %d to /api/v1/admin: %v %s with the answer memory, %v %s without the filter",
				i, got.action, got.ruleID, want.action, want.ruleID)
		}
	}
	// An allowed endpoint still passes.
	r := browserRequest("GET", "/api/v1/users", nil)
	if got := observed(with, r); got.action == decision.Block {
		t.Errorf("/api/v1/users blocked: %s", got)
	}
}

// review15Rules are n random custom rules (or chains) for the
// differential below.
func review15Rules(rng *rand.Rand, n int, negatedCapture bool) string {
	type op struct{ name, arg string }
	ops := []op{
		{"rx", `(adm|sel)(in|ect)`}, {"rx", `^(\w+)$`}, {"rx", `(?i)union\s+(select)`}, {"rx", `<(\w+)`},
		{"pm", "admin select script"}, {"streq", "admin"}, {"beginsWith", "ad"}, {"endsWith", "ers"},
		{"contains", "sel"}, {"within", "users,orders,admin"}, {"strmatch", "ipt"},
		{"detectSQLi", ""}, {"detectXSS", ""}, {"validateByteRange", "32-126"},
	}
	vars := []string{"ARGS", "ARGS_NAMES", "REQUEST_HEADERS:X-A", "REQUEST_COOKIES", "TX:0", "TX:1", "TX:keep", "MATCHED_VAR", "REQUEST_FILENAME"}
	ts := []string{"none", "lowercase", "urlDecodeUni", "removeWhitespace", "compressWhitespace", "trim", "htmlEntityDecode"}
	var b strings.Builder
	id := 5000
	rule := func(chainChild bool, last bool) string {
		o := ops[rng.Intn(len(ops))]
		neg := ""
		if rng.Intn(3) == 0 {
			neg = "!"
		}
		operator := neg + "@" + o.name
		if o.arg != "" {
			operator += " " + o.arg
		}
		var acts []string
		if !chainChild {
			id++
			acts = append(acts, fmt.Sprintf("id:%d", id), "phase:"+[]string{"1", "2"}[rng.Intn(2)], "pass", "nolog")
		}
		for k := rng.Intn(3); k > 0; k-- {
			acts = append(acts, "t:"+ts[rng.Intn(len(ts))])
		}
		if rng.Intn(2) == 0 && (neg == "" || negatedCapture) {
			acts = append(acts, "capture")
		}
		if rng.Intn(4) == 0 {
			acts = append(acts, "multiMatch")
		}
		if rng.Intn(4) == 0 {
			acts = append(acts, "setvar:tx.keep=%{tx.1}")
		}
		if !last {
			acts = append(acts, "chain")
		}
		return fmt.Sprintf("SecRule %s %q %q\n", vars[rng.Intn(len(vars))], operator, strings.Join(acts, ","))
	}
	for range n {
		links := 1 + rng.Intn(3)
		for k := range links {
			if k > 0 {
				b.WriteString("  ")
			}
			b.WriteString(rule(k > 0, k == links-1))
		}
	}
	return b.String()
}

// TestReview15RandomCustomRulesDifferential runs random custom rules of
// valueOnlyOperators (negated or not, capturing or not, chains reading
// captures) over requests drawn from a small pool of values, so that
// values come back and the answer memory learns them, through a WAF with
// the value filter and its memory and through one without: every request
// must match the same rules.
func TestReview15RandomCustomRulesDifferential(t *testing.T) {
	for _, negatedCapture := range []bool{false, true} {
		t.Run(fmt.Sprintf("negatedCapture=%v", negatedCapture), func(t *testing.T) {
			review15Differential(t, negatedCapture)
		})
	}
}

func review15Differential(t *testing.T, negatedCapture bool) {
	seeds := []int64{1, 2, 3}
	for _, seed := range seeds {
		rng := rand.New(rand.NewSource(seed))
		rules := review15Rules(rng, 150, negatedCapture)
		with, filterOnly, without := memoryWAFs(t, "SecRuleEngine On\n"+rules)
		pool := []string{"admin", "users", "orders", "select", "union select", "Union  Select 1", "<script>", "<b>", "a b",
			"x", "ADMIN", "adminers", "%61dmin", "sel&#101;ct", "é", "1' or '1'='1", "plain"}
		run := func(waf coraza.WAF, path string, args [][2]string, xa, cookie string) []int {
			tx := waf.NewTransaction()
			defer tx.Close()
			q := url.Values{}
			for _, a := range args {
				q.Add(a[0], a[1])
			}
			tx.ProcessURI(path+"?"+q.Encode(), "GET", "HTTP/1.1")
			tx.AddRequestHeader("Host", "example.com")
			tx.AddRequestHeader("X-A", xa)
			tx.AddRequestHeader("Cookie", "c="+url.QueryEscape(cookie))
			tx.ProcessRequestHeaders()
			_, _ = tx.ProcessRequestBody()
			return matchedIDs(tx)
		}
		n := 3000
		if raceEnabled {
			n = 300
		}
		bad := 0
		for i := range n {
			pick := func() string { return pool[rng.Intn(len(pool))] }
			// One value per collection: Coraza walks a collection in Go's
			// map order, which would make the last capture random.
			args := [][2]string{{pick(), pick()}}
			path := "/" + url.PathEscape(pick())
			xa, cookie := pick(), pick()
			got := run(with, path, args, xa, cookie)
			want, mid := run(without, path, args, xa, cookie), run(filterOnly, path, args, xa, cookie)
			if again := run(without, path, args, xa, cookie); !slices.Equal(again, want) {
				t.Fatalf("seed %d, request %d: two runs without the filter differ: %v, %v", seed, i, want, again)
			}
			if !slices.Equal(mid, want) {
				t.Errorf("seed %d, request %d: the filter without the memory already differs: %v, %v", seed, i, mid, want)
			}
			if !slices.Equal(got, want) {
				bad++
				if bad <= 5 {
					t.Errorf("seed %d, request %d (path %q args %q X-A %q cookie %q): with the memory %v, without the filter %v",
						seed, i, path, args, xa, cookie, got, want)
					for _, c := range strings.Split("\n"+rules, "\nSecRule ") {
						for _, id := range review15SymDiff(got, want) {
							if strings.Contains(c, fmt.Sprintf("id:%d,", id)) {
								t.Logf("rule %d: SecRule %s", id, strings.TrimSpace(c))
							}
						}
					}
				}
			}
		}
		t.Logf("seed %d: %d of %d requests matched differently; memory holds %d values", seed, bad, n,
			with.(corazaexp.WAFWithAnswerMemory).RememberedValues())
	}
}

func review15SymDiff(a, b []int) []int {
	var d []int
	for _, x := range a {
		if !slices.Contains(b, x) {
			d = append(d, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			d = append(d, x)
		}
	}
	return d
}

// Review 15's shuffled passes (the corpora in a new random order on each
// pass) are part of TestAnswerMemoryChangesNoAnswer.

// TestReview15ConcurrentMemory sends the corpora's requests from several
// goroutines at once through one stage, so that transactions offer,
// store, replace and read the answer memory's entries concurrently (run
// it with -race): every answer must be the stage's without the filter.
func TestReview15ConcurrentMemory(t *testing.T) {
	all := sameAnswerRequests(t)
	var reqs []reqCase
	// Under -race (what this test is for) every fourth of them: the
	// answers themselves are compared at full volume without it
	// (TestAnswerMemoryChangesNoAnswer in make test-volume).
	keep := 1
	if raceEnabled {
		keep = 4
	}
	for i, rq := range all {
		if (!strings.HasPrefix(rq.name, "CRS ") || i%7 == 0) && i%keep == 0 {
			reqs = append(reqs, rq)
		}
	}
	with, without := filterStages(t, config.Default())
	want := make([]decision.Decision, len(reqs))
	for i, rq := range reqs {
		r := rq.make()
		want[i] = without.Check(r.Context(), r, &decision.Info{ID: nextRequestID()})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	differ := 0
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for range 3 {
				for _, i := range rng.Perm(len(reqs)) {
					r := reqs[i].make()
					d := with.Check(r.Context(), r, &decision.Info{ID: nextRequestID()})
					if d.Action != want[i].Action || d.RuleID != want[i].RuleID || !slices.Equal(d.Rules, want[i].Rules) {
						mu.Lock()
						if differ++; differ <= 10 {
							t.Errorf("%s: %v %s %v with the memory, %v %s %v without the filter", reqs[i].name,
								d.Action, d.RuleID, d.Rules, want[i].Action, want[i].RuleID, want[i].Rules)
						}
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests x 3 passes x 4 goroutines; %d answered differently; the memory holds %d values", len(reqs), differ,
		with.waf.(corazaexp.WAFWithAnswerMemory).RememberedValues())
}

// memoryWAFs builds directives three times: with the value filter and its
// answer memory, with the filter alone, and without either (RE2 and the
// memoized operators in all three).
func memoryWAFs(t *testing.T, directives string) (with, filterOnly, without coraza.WAF) {
	t.Helper()
	useRE2()
	memoizeOperators()
	build := func(filter, remember bool) coraza.WAF {
		waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(directives))
		if err != nil {
			t.Fatalf("%v\n%s", err, directives)
		}
		if filter {
			f := newValueFilter().engineFilter()
			f.Remember = remember
			waf.(corazaexp.WAFWithValueFilter).SetValueFilter(f)
		}
		return waf
	}
	return build(true, true), build(true, false), build(false, false)
}
