package detect

import (
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3"
	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/config"
)

// review16Rules are n random custom rules (or chains) mixing the
// numeric comparisons ccc8220 gave slots to, counts, keyed reads (patch
// 68), TX values rewritten by setvar in the same phase, and skipAfter.
func review16Rules(rng *rand.Rand, n int) string {
	type op struct{ name, arg string }
	ops := []op{
		{"eq", "0"}, {"eq", "1"}, {"ge", "2"}, {"gt", "0"}, {"le", "1"}, {"lt", "1"}, {"lt", "3"}, {"eq", "-1"},
		{"rx", `^\d+$`}, {"rx", `(adm|sel)(in|ect)`}, {"rx", `^(\w+)$`}, {"streq", "1"}, {"within", "0,1,2"},
		{"pm", "admin select"}, {"contains", "sel"}, {"validateByteRange", "48-57"},
		{"eq", "%{tx.n}"}, {"lt", "%{tx.n}"}, {"streq", "%{tx.keep}"},
	}
	vars := []string{
		"ARGS", "ARGS:a", "ARGS:A", "ARGS_GET:a", "ARGS_NAMES", "&ARGS", "&ARGS:a", "&ARGS_GET:b",
		"REQUEST_HEADERS:X-A", "REQUEST_HEADERS:x-a", "&REQUEST_HEADERS:X-A", "REQUEST_COOKIES:c", "&REQUEST_COOKIES",
		"TX:n", "TX:keep", "TX:1", "&TX:keep", "MATCHED_VAR", "ARGS:a|REQUEST_HEADERS:X-A", "ARGS:b|ARGS_NAMES",
		"MATCHED_VARS", "ARGS_NAMES:a", "ARGS_POST:a", "ARGS_POST:p", "ARGS:p", "&ARGS_POST", "REQUEST_HEADERS_NAMES",
		"ARGS|!ARGS:a", "REQUEST_COOKIES:/^d/", "ARGS_GET_NAMES:A",
	}
	ts := []string{"none", "lowercase", "trim", "removeWhitespace", "length", "urlDecodeUni"}
	var b strings.Builder
	id := 7000
	markers := 0
	rule := func(chainChild, last bool) string {
		o := ops[rng.Intn(len(ops))]
		neg := ""
		if rng.Intn(3) == 0 {
			neg = "!"
		}
		operator := neg + "@" + o.name + " " + o.arg
		var acts []string
		if !chainChild {
			id++
			acts = append(acts, fmt.Sprintf("id:%d", id), "phase:"+[]string{"1", "2"}[rng.Intn(2)], "pass", "nolog")
		}
		for k := rng.Intn(3); k > 0; k-- {
			acts = append(acts, "t:"+ts[rng.Intn(len(ts))])
		}
		if neg == "" && rng.Intn(3) == 0 {
			acts = append(acts, "capture")
		}
		switch rng.Intn(6) {
		case 0:
			acts = append(acts, "setvar:tx.n=+1")
		case 1:
			acts = append(acts, "setvar:tx.keep=%{MATCHED_VAR}")
		case 2:
			acts = append(acts, "setvar:tx.n=%{tx.1}")
		case 3:
			if !chainChild {
				acts = append(acts, fmt.Sprintf("ctl:ruleRemoveTargetById=%d;ARGS:a", 7001+rng.Intn(n)))
			}
		}
		if !chainChild && last && rng.Intn(8) == 0 {
			markers++
			acts = append(acts, fmt.Sprintf("skipAfter:M%d", markers))
		}
		if !last {
			acts = append(acts, "chain")
		}
		return fmt.Sprintf("SecRule %s %q %q\n", vars[rng.Intn(len(vars))], operator, strings.Join(acts, ","))
	}
	b.WriteString(`SecAction "id:6999,phase:1,pass,nolog,setvar:tx.n=0"` + "\n")
	for range n {
		links := 1 + rng.Intn(3)
		for k := range links {
			if k > 0 {
				b.WriteString("  ")
			}
			b.WriteString(rule(k > 0, k == links-1))
		}
		if markers > 0 && rng.Intn(4) == 0 {
			b.WriteString(fmt.Sprintf("SecMarker M%d\n", markers))
		}
	}
	for m := 1; m <= markers; m++ {
		b.WriteString(fmt.Sprintf("SecMarker M%d\n", m))
	}
	return b.String()
}

// TestReview16RandomNumericKeyedDifferential: as review 15's
// differential, with numeric comparisons, counts, keyed reads of keys
// that appear several times or not at all, and TX rewritten in-phase.
func TestReview16RandomNumericKeyedDifferential(t *testing.T) {
	seeds := []int64{1, 2, 3, 4}
	for _, seed := range seeds {
		rng := rand.New(rand.NewSource(seed))
		rules := review16Rules(rng, 150)
		with, filterOnly, without := memoryWAFs(t, "SecRuleEngine On\nSecRequestBodyAccess On\n"+rules)
		pool := []string{"0", "1", "2", " 1", "+1", "01", "-1", "1e3", "99999999999999999999", "admin", "select",
			"x", "", "12", "1 ", "a b", "ADMIN"}
		type req struct {
			args    [][2]string
			xa      []string
			cookie  string
			nCookie int
			body    string
		}
		run := func(waf coraza.WAF, rq req) []int {
			tx := waf.NewTransaction()
			defer tx.Close()
			q := url.Values{}
			for _, a := range rq.args {
				q.Add(a[0], a[1])
			}
			tx.ProcessURI("/p?"+q.Encode(), "GET", "HTTP/1.1")
			tx.AddRequestHeader("Host", "example.com")
			for _, x := range rq.xa {
				tx.AddRequestHeader("X-A", x)
			}
			cs := []string{"c=" + url.QueryEscape(rq.cookie)}
			for k := 0; k < rq.nCookie; k++ {
				cs = append(cs, fmt.Sprintf("d%d=1", k))
			}
			tx.AddRequestHeader("Cookie", strings.Join(cs, "; "))
			if rq.body != "" {
				tx.AddRequestHeader("Content-Type", "application/x-www-form-urlencoded")
			}
			tx.ProcessRequestHeaders()
			if rq.body != "" {
				_, _, _ = tx.WriteRequestBody([]byte(rq.body))
			}
			_, _ = tx.ProcessRequestBody()
			return matchedIDs(tx)
		}
		n := 2000
		if raceEnabled {
			n = 200
		}
		bad, flaky, matches := 0, 0, 0
		seen := map[int]bool{}
		for i := range n {
			pick := func() string { return pool[rng.Intn(len(pool))] }
			var rq req
			// keys a (one or two values), b sometimes: one key per value
			// list keeps Coraza's walk order fixed.
			rq.args = append(rq.args, [2]string{"a", pick()})
			if rng.Intn(2) == 0 {
				rq.args = append(rq.args, [2]string{"a", pick()})
			}
			if rng.Intn(3) == 0 {
				rq.args = [][2]string{{"b", pick()}}
			}
			for k := rng.Intn(3); k >= 0; k-- {
				rq.xa = append(rq.xa, pick())
			}
			rq.cookie, rq.nCookie = pick(), rng.Intn(3)
			if rng.Intn(2) == 0 {
				rq.body = url.Values{[]string{"a", "p"}[rng.Intn(2)]: {pick()}}.Encode()
			}
			want := run(without, rq)
			if again := run(without, rq); !slices.Equal(again, want) {
				flaky++
				continue
			}
			got, mid := run(with, rq), run(filterOnly, rq)
			matches += len(want)
			for _, id := range want {
				seen[id] = true
			}
			if !slices.Equal(mid, want) {
				t.Errorf("seed %d, request %d: the filter without the memory already differs: %v, %v", seed, i, mid, want)
			}
			if !slices.Equal(got, want) {
				bad++
				if bad <= 5 {
					t.Errorf("seed %d, request %d (%+v): with the memory %v, without the filter %v", seed, i, rq, got, want)
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
		t.Logf("seed %d: %d of %d requests matched differently (%d nondeterministic skipped); %d rule matches, %d distinct rules; memory holds %d values",
			seed, bad, n, flaky, matches, len(seen), with.(corazaexp.WAFWithAnswerMemory).RememberedValues())
	}
}

// TestReview16CRSKeyedWarmThenAttack: the CRS at paranoia 4 (monitor,
// every rule answers) and the default configuration, through the value
// filter with its memory and without the filter. Requests are drawn from
// pools of header, cookie and argument values, benign and hostile, under
// keys that CRS rules read by name (User-Agent, Referer, Content-Type,
// Range, Accept, Cookie names, ARGS named as the CRS's session and
// numeric rules expect), sometimes with a key sent twice or with a
// different case; the memory is warmed by the benign ones first.
func TestReview16CRSKeyedWarmThenAttack(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  *config.Config
	}{{"paranoia-4-monitor", paranoia4Monitor()}, {"default", config.Default()}} {
		t.Run(c.name, func(t *testing.T) {
			useRE2()
			memoizeOperators()
			with, err := buildWith(c.cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			without, err := buildWith(c.cfg, false)
			if err != nil {
				t.Fatal(err)
			}
			benign := []string{"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0", "1", "0", "4", "en-US,en;q=0.5",
				"bytes=0-1", "text/html", "application/x-www-form-urlencoded", "https://www.example.com/a", "abc", "12345", "-1", " 1"}
			hostile := []string{"1' OR '1'='1", "<script>alert(1)</script>", "../../../etc/passwd", "() { :; }; /bin/bash -c id",
				"bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17,18-19,20-21,22-23,24-25,26-27,28-29,30-31,32-33,34-35,36-37,38-39,40-41,42-43,44-45,46-47,48-49,50-51,52-53,54-55,56-57,58-59,60-61,62-63,64-65",
				"sqlmap/1.5", "nikto", "${jndi:ldap://x/a}", ";cat /etc/passwd", "1 union select password from users--",
				"javascript:alert(1)", "0x41414141", "%00", "PHPSESSID=../../x", "text/html; charset=utf-7"}
			headers := []string{"User-Agent", "Referer", "Content-Type", "Range", "Accept", "X-Forwarded-For", "Accept-Charset", "Origin"}
			argNames := []string{"id", "q", "page", "PHPSESSID", "ID", "sessionid", "a"}
			cookieNames := []string{"sessionid", "csrftoken", "c", "PHPSESSID", "Sessionid"}
			rng := rand.New(rand.NewSource(16))
			mk := func(pool []string) *http.Request {
				pick := func() string { return pool[rng.Intn(len(pool))] }
				q := url.Values{}
				for k := rng.Intn(3); k >= 0; k-- {
					q.Add(argNames[rng.Intn(len(argNames))], pick())
				}
				r := browserRequest("GET", "/p/?"+q.Encode(), nil)
				for k := rng.Intn(3); k >= 0; k-- {
					h := headers[rng.Intn(len(headers))]
					if rng.Intn(4) == 0 {
						r.Header[strings.ToLower(h)] = append(r.Header[strings.ToLower(h)], pick())
					} else {
						r.Header.Add(h, pick())
					}
				}
				var cs []string
				for k := rng.Intn(3); k > 0; k-- {
					cs = append(cs, cookieNames[rng.Intn(len(cookieNames))]+"="+url.QueryEscape(pick()))
				}
				if len(cs) > 0 {
					r.Header.Set("Cookie", strings.Join(cs, "; "))
				}
				return r
			}
			type saved struct {
				r    func() *http.Request
				name string
			}
			var reqs []saved
			for i := 0; i < 150; i++ {
				seed := rng.Int63()
				pool := benign
				if i >= 50 && i%2 == 0 {
					pool = append(append([]string{}, benign...), hostile...)
				}
				reqs = append(reqs, saved{func() *http.Request {
					rng = rand.New(rand.NewSource(seed))
					return mk(pool)
				}, fmt.Sprintf("request %d (seed %d)", i, seed)})
			}
			want := make([]string, len(reqs))
			flaky := make([]bool, len(reqs))
			for i, rq := range reqs {
				want[i] = observed(without, rq.r()).String()
				for k := 0; k < 4; k++ {
					if observed(without, rq.r()).String() != want[i] {
						flaky[i] = true // Coraza walks collections in map order
					}
				}
			}
			differ := 0
			for pass := 1; pass <= 3; pass++ {
				for i, rq := range reqs {
					if flaky[i] {
						continue
					}
					if got := observed(with, rq.r()).String(); got != want[i] {
						if withoutCanAnswer(without, rq.r, got, 200) {
							// Coraza walks ARGS in map order: a capture
							// chained to TX:1 (CRS 942130) reads the last
							// matching argument's, so some answers come
							// only now and then, with or without the filter.
							continue
						}
						differ++
						if differ <= 8 {
							r := rq.r()
							t.Errorf("pass %d, %s %s %v:\n with the memory:    %s\n without the filter: %s", pass, rq.name, r.URL, r.Header, got, want[i])
						}
					}
				}
			}
			nflaky := 0
			for _, f := range flaky {
				if f {
					nflaky++
				}
			}
			t.Logf("%d requests answered differently by two runs without the filter (skipped)", nflaky)
			t.Logf("%d requests x 3 passes, %d differ; memory holds %d values", len(reqs), differ,
				with.waf.(corazaexp.WAFWithAnswerMemory).RememberedValues())
		})
	}
}

// TestReview16Probe942130Order is not about the value filter: it logs
// how often CRS 942130 (PL2; an @rx with capture chained to
// TX:1 "@streq %{TX.2}") fires on one request whose two arguments both
// match the parent: the chain reads the captures of whichever value the
// parent matched last, and Coraza walks ARGS in Go map order, so the
// outcome varies from run to run without any filter (1 to 9 in 40 runs
// misses). Such requests are skipped by the differentials above.
func TestReview16Probe942130Order(t *testing.T) {
	useRE2()
	memoizeOperators()
	without, err := buildWith(paranoia4Monitor(), false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i < 40; i++ {
		r := browserRequest("GET", "/p/?PHPSESSID=text%2Fhtml%3B+charset%3Dutf-7&id=1%27+OR+%271%27%3D%271&q=1", nil)
		if slices.Contains(observed(without, r).rules, "942130") {
			n++
		}
	}
	t.Logf("942130 matched %d of 40 without the filter", n)
}

// review16Gates are a user's detection.directives in the shape of the
// CRS paranoia gates: a TX counter rewritten by setvar in the phase, read
// by numeric comparisons without macros (now with slots, ccc8220), and a
// count gate.
const review16Gates = `detection:
  directives: |
    SecAction "id:1600,phase:1,pass,nolog,setvar:tx.hits=0"
    SecRule ARGS "@rx ^admin$" "id:1601,phase:1,pass,nolog,setvar:tx.hits=+1"
    SecRule ARGS_NAMES "@streq debug" "id:1602,phase:1,pass,nolog,setvar:tx.hits=+1"
    SecRule TX:hits "@lt 1" "id:1603,phase:1,pass,nolog,skipAfter:END-1600"
    SecRule TX:hits "@ge 2" "id:1604,phase:1,deny,status:403,msg:'two hits',tag:'attack-custom'"
    SecRule &ARGS:debug "!@eq 0" "id:1605,phase:1,pass,nolog,chain"
      SecRule TX:hits "@eq 1" "setvar:tx.hits=+1"
    SecRule TX:hits "@gt 1" "id:1606,phase:1,deny,status:403,msg:'debug hit',tag:'attack-custom'"
    SecMarker END-1600
`

// TestReview16NumericGatesWarmThenAttack warms the memory with the
// values the gates read on benign requests ("0", "1"), then sends the
// requests that push the counter over, three times each.
func TestReview16NumericGatesWarmThenAttack(t *testing.T) {
	with := stageFromYAML(t, review16Gates)
	without := stageWithoutFilter(t, review16Gates)
	targets := []string{"/?q=x", "/?q=admin", "/?debug=1", "/?q=x", "/?q=admin", "/?debug=0",
		"/?q=admin&debug=1", "/?q=admin&q=admin", "/?debug=admin", "/?DEBUG=1&q=admin"}
	for pass := 1; pass <= 3; pass++ {
		for _, target := range targets {
			want := observed(without, browserRequest("GET", target, nil))
			got := observed(with, browserRequest("GET", target, nil))
			if got.action != want.action || got.ruleID != want.ruleID || !slices.Equal(got.matched, want.matched) {
				t.Errorf("pass %d, %s: with the memory %s; without the filter %s", pass, target, got, want)
			}
			if pass == 3 {
				t.Logf("%s: %v %s", target, want.action, want.ruleID)
			}
		}
	}
}

// withoutCanAnswer reports whether stage s gives answer to the request
// make builds in one of up to n runs: an answer the engine gives only now
// and then (its walk of a collection in Go's map order) is not the filter's.
func withoutCanAnswer(s *Stage, make func() *http.Request, answer string, n int) bool {
	for range n {
		if observed(s, make()).String() == answer {
			return true
		}
	}
	return false
}
