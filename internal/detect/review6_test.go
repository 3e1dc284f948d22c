package detect

// Review 6: a hostile look at the value filter (valuefilter.go, reach.go,
// patches 0024-0026). Every test here compares the filter's answer with
// what the rule itself does.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/corazawaf/coraza/v3"
	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/config"
)

// genMatch appends to b a random string re matches (or nearly: empty-width
// assertions are ignored; the caller checks with the regexp), choosing
// plain bytes where the pattern lets it.
func genMatch(rng *rand.Rand, re *syntax.Regexp, b []byte, depth int) []byte {
	if depth > 40 || len(b) > 200 {
		return b
	}
	fold := re.Flags&syntax.FoldCase != 0
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if fold && rng.Intn(2) == 0 {
				r = unicode.SimpleFold(r)
				if r >= 0x80 {
					r = unicode.SimpleFold(r)
				}
			}
			b = append(b, string(r)...)
		}
	case syntax.OpCharClass:
		b = append(b, string(pickRune(rng, re.Rune))...)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b = append(b, plainAlphabet[rng.Intn(len(plainAlphabet))])
	case syntax.OpCapture:
		b = genMatch(rng, re.Sub[0], b, depth+1)
	case syntax.OpConcat:
		for _, s := range re.Sub {
			b = genMatch(rng, s, b, depth+1)
		}
	case syntax.OpAlternate:
		b = genMatch(rng, re.Sub[rng.Intn(len(re.Sub))], b, depth+1)
	case syntax.OpStar:
		for n := rng.Intn(3); n > 0; n-- {
			b = genMatch(rng, re.Sub[0], b, depth+1)
		}
	case syntax.OpPlus:
		for n := 1 + rng.Intn(2); n > 0; n-- {
			b = genMatch(rng, re.Sub[0], b, depth+1)
		}
	case syntax.OpQuest:
		if rng.Intn(2) == 0 {
			b = genMatch(rng, re.Sub[0], b, depth+1)
		}
	case syntax.OpRepeat:
		n := re.Min
		if re.Max > re.Min {
			n += rng.Intn(min(re.Max-re.Min, 3) + 1)
		} else if re.Max < 0 {
			n += rng.Intn(3)
		}
		for ; n > 0; n-- {
			b = genMatch(rng, re.Sub[0], b, depth+1)
		}
	}
	return b
}

const plainAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._@:-"

// pickRune picks a rune of a class (pairs of ranges), a plain one when the
// class has one, most of the time.
func pickRune(rng *rand.Rand, ranges []rune) rune {
	if len(ranges) == 0 {
		return 'a'
	}
	var plain []rune
	for i := 0; i+1 < len(ranges); i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < 0x80; r++ {
			if plainByte[r] {
				plain = append(plain, r)
			}
		}
	}
	if len(plain) > 0 && rng.Intn(8) != 0 {
		return plain[rng.Intn(len(plain))]
	}
	i := rng.Intn(len(ranges)/2) * 2
	lo, hi := ranges[i], ranges[i+1]
	if hi-lo > 1000 {
		hi = lo + 1000
	}
	return lo + rune(rng.Intn(int(hi-lo+1)))
}

// TestReview6GeneratedMatches generates, for every rule the filter plans
// in the CRS at paranoia 4, plain values that the rule's own pattern
// matches (walking the pattern's syntax tree), and checks that the filter
// keeps the rule for each: a value the rule matches but the filter skips
// is a detection bypass.
func TestReview6GeneratedMatches(t *testing.T) {
	t.Run("paranoia-4", func(t *testing.T) {
		f, planned := plannedCRS(t)
		review6Generate(t, f, planned)
	})
	// Rules the other tests never plan: the Windows cmd.exe rules
	// (detection.windows_host) and the response side.
	t.Run("paranoia-4-windows-responses", func(t *testing.T) {
		cfg := config.Default()
		cfg.Detection.ParanoiaLevel = 4
		cfg.Detection.WindowsHost = true
		cfg.Detection.Responses.Enabled = true
		f, planned := review6Planned(t, cfg)
		review6Generate(t, f, planned)
	})
}

// review6Planned builds the stage from cfg without a filter, then plans it
// with a new one, and returns the filter and the rules it gave a slot.
func review6Planned(t *testing.T, cfg *config.Config) (*valueFilter, map[int]corazaexp.ValueFilterRule) {
	t.Helper()
	useRE2()
	memoizeOperators()
	s, err := buildWith(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	f := newValueFilter()
	ef := f.engineFilter()
	planned := map[int]corazaexp.ValueFilterRule{}
	ef.Plan = func(r corazaexp.ValueFilterRule) int {
		slot := f.plan(r)
		if slot >= 0 && !f.conds[slot].remembered {
			planned[slot] = r
		}
		return slot
	}
	s.waf.(corazaexp.WAFWithValueFilter).SetValueFilter(ef)
	return f, planned
}

func review6Generate(t *testing.T, f *valueFilter, planned map[int]corazaexp.ValueFilterRule) {
	ids := map[int]bool{}
	for _, r := range planned {
		ids[max(r.ID, r.ParentID)] = true
	}
	t.Logf("%d planned rules", len(ids))
	rng := rand.New(rand.NewSource(6))
	mayMatch := make([]uint64, (f.slots+63)/64)
	perRule := 400
	if testing.Short() {
		perRule = 60
	}
	tested, matched, missed := 0, 0, 0
	for slot, r := range planned {
		if r.Operator != "rx" {
			continue
		}
		pattern := "(?s)" + r.Argument
		if matchesArbitraryBytes(pattern) {
			pattern = r.Argument
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			continue
		}
		tree, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			continue
		}
		tree = tree.Simplify()
		reported := 0
		for range perRule {
			s := string(genMatch(rng, tree, nil, 0))
			for _, v := range []string{s, strings.ToUpper(s), strings.ToLower(s), "a " + s + " b", "x" + s} {
				if !plainValue(v) {
					continue
				}
				tested++
				out := r.Transform(v)
				if !re.MatchString(out) {
					continue
				}
				matched++
				clear(mayMatch)
				f.classify(v, mayMatch)
				if mayMatch[slot>>6]&(1<<(slot&63)) == 0 {
					missed++
					if reported++; reported <= 3 {
						t.Errorf("rule %d (@rx %.80q, %v) matches plain %q (transformed %q) but the filter skips it",
							max(r.ID, r.ParentID), r.Argument, r.Transformations, v, out)
					}
				}
			}
		}
	}
	t.Logf("%d plain values tried, %d matched by their rule, %d skipped by the filter", tested, matched, missed)
}

var _ = corazaexp.RxLiterals

// TestReview6ChainsOfSafeTransformations checks the premise of the filter
// (valuefilter.go: "and so does any chain of them") for every chain of
// one or two safe transformations, and random chains of three, over every
// plain value of up to five bytes of a small alphabet: the result,
// lower-cased, must be part of the value lower-cased with or without its
// spaces. It failed (finding 1) for every chain with removeWhitespace
// before removeCommentsChar ("a- -a" -> "aa") until plainValue refused
// "- -".
func TestReview6ChainsOfSafeTransformations(t *testing.T) {
	var names []string
	for n := range safeTransformations {
		if n != "none" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var chains [][]string
	for _, a := range names {
		chains = append(chains, []string{a})
		for _, b := range names {
			chains = append(chains, []string{a, b})
		}
	}
	rng := rand.New(rand.NewSource(7))
	triples := 3000
	if raceEnabled || testing.Short() {
		triples = 300
	}
	for range triples {
		chains = append(chains, []string{names[rng.Intn(len(names))], names[rng.Intn(len(names))], names[rng.Intn(len(names))]})
	}
	var rules strings.Builder
	for i, c := range chains {
		fmt.Fprintf(&rules, "SecRule ARGS \"@rx x\" \"id:%d,phase:2,pass,t:%s\"\n", i+1, strings.Join(c, ",t:"))
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(rules.String()))
	if err != nil {
		t.Fatal(err)
	}
	var planned []corazaexp.ValueFilterRule
	f := newValueFilter()
	ef := f.engineFilter()
	ef.Plan = func(r corazaexp.ValueFilterRule) int {
		slot := f.plan(r)
		if slot >= 0 && !f.conds[slot].remembered {
			planned = append(planned, r)
		}
		return slot
	}
	waf.(corazaexp.WAFWithValueFilter).SetValueFilter(ef)
	if len(planned) != len(chains) {
		t.Fatalf("%d of %d chains planned", len(planned), len(chains))
	}
	// Every plain value of up to 5 bytes over alphabet (48,912). Under the
	// race detector or -short, where that takes minutes, without '_' and
	// '@' (which no transformation treats apart from letters) and with
	// 300 of the random chains of three: the join it found, "a- -a",
	// still shows.
	alphabet, maxLen := "a-. :_@1A", 5
	if raceEnabled || testing.Short() {
		alphabet = "a-. :1A"
	}
	var values []string
	var gen func(prefix string)
	gen = func(prefix string) {
		if plainValue(prefix) {
			values = append(values, prefix)
		}
		if len(prefix) == maxLen {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			gen(prefix + alphabet[i:i+1])
		}
	}
	gen("")
	bad := map[string]string{}
	for _, r := range planned {
		key := strings.Join(r.Transformations, ",")
		for _, v := range values {
			lower := strings.ToLower(v)
			nospace := strings.ReplaceAll(lower, " ", "")
			out := strings.ToLower(r.Transform(v))
			if !strings.Contains(lower, out) && !strings.Contains(nospace, out) {
				if _, ok := bad[key]; !ok {
					bad[key] = fmt.Sprintf("%q -> %q", v, out)
				}
			}
		}
	}
	keys := make([]string, 0, len(bad))
	for k := range bad {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("chain %s turns plain %s", k, bad[k])
	}
	t.Logf("%d chains over %d plain values", len(planned), len(values))
}

// review6Pair builds the stage from cfg with the value filter and without.
func review6Pair(t *testing.T, cfg *config.Config) (with, without *Stage) {
	t.Helper()
	useRE2()
	memoizeOperators()
	var err error
	if with, err = buildWith(cfg, true); err != nil {
		t.Fatal(err)
	}
	if without, err = buildWith(cfg, false); err != nil {
		t.Fatal(err)
	}
	return with, without
}

// Finding 1 (fixed; this failed before): plainValue admitted "- -" (a hyphen, a
// space, a hyphen: no "--"), but t:removeWhitespace makes it "--", which
// t:removeCommentsChar then deletes, joining the two sides: "dr- -op"
// becomes "drop", which is in neither the value lower-cased nor the value
// without its spaces ("dr--op"). The filter then skips every rule whose
// chain has removeWhitespace before removeCommentsChar and whose literal
// or phrase spans the gap. No CRS rule has that chain (942190 has
// urlDecodeUni,removeCommentsChar; 933210/933211 replaceComments before
// removeWhitespace), but detection.directives takes raw SecLang and the
// filter plans those rules too: a site's own rule is bypassed.
func TestReview6FindingRemoveWhitespaceThenRemoveCommentsChar(t *testing.T) {
	cfg := config.Default()
	cfg.Detection.Directives = `
SecRule ARGS "@pm drop truncate" "id:1000001,phase:2,deny,status:403,log,msg:'SQL keyword (comments stripped)',t:none,t:urlDecodeUni,t:removeWhitespace,t:removeCommentsChar"
SecRule ARGS "@rx (?i)union\s*select" "id:1000002,phase:2,deny,status:403,log,msg:'SQL union (comments stripped)',t:none,t:removeWhitespace,t:removeCommentsChar"
`
	with, without := review6Pair(t, cfg)
	for _, c := range []struct{ body, rule string }{
		{"q=dr-+-op+table+users", "1000001"},
		{"q=uni-+-on+sel-+-ect+name+from+users", "1000002"},
	} {
		a, b := observed(with, form("/search/", c.body)), observed(without, form("/search/", c.body))
		if !strings.Contains(fmt.Sprint(b.matched), c.rule) || b.status != 403 {
			t.Fatalf("%s: without the filter the site's rule %s should block it: %s", c.body, c.rule, b)
		}
		if a.String() != b.String() {
			t.Errorf("BYPASS %s:\n with the filter:    %s\n without the filter: %s", c.body, a, b)
		}
	}
}

// TestReview6CraftedRequests puts values an attacker who read the filter
// would try (hex, base64 and other encodings of attacks in plain bytes,
// Unicode case-folding twins of ASCII letters, path tricks on dots and
// colons, "- -") in every place a request carries values (query and form
// arguments and their names, JSON keys and values, cookies and their
// names, headers, multipart field names and file names), and requires
// the same outcome with the filter and without, at paranoia 1 (default)
// and 4 (monitor, every rule evaluated).
func TestReview6CraftedRequests(t *testing.T) {
	values := []string{
		"0x756e696f6e2073656c656374", "0x73656c656374", "0x41", "0x2f6574632f706173737764",
		"dW5pb24gc2VsZWN0IHBhc3N3b3JkIGZyb20gdXNlcnM", "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
		"cm0gLXJmIC8", "L2V0Yy9wYXNzd2Q", "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA",
		"\u212Aill", "\u017Felect", "\u017Fleep 5", "\u0130nsert", "unıon select", "sel\u200bect",
		"1 union select 1 2", "1 or 1 1", "select name from users", "union all select", "sleep 5",
		"etc passwd", "etc:passwd", "C:boot.ini", "boot.ini", "web.config", ".htaccess", "..", "...", ".. ..",
		"a.php:stream", "shell.php.", "shell.php", "x.phtml", "java.lang.Runtime", "java.lang.ProcessBuilder",
		"system", "phpinfo", "eval", "base64_decode", "passthru", "cat etc passwd", "wget attacker.example",
		"nikto", "sqlmap", "nmap", "masscan", "jndi:ldap:attacker.example:1389", "jndi:ldap", "ldap:", "http:evil",
		"file:etc", "data:text", "php:filter", "expect:id", "javascript:alert", "vbscript:msgbox", "onerror", "onload",
		"document.cookie", "window.location", "constructor", "__proto__", "prototype", "process.env", "require",
		"a- -b", "dr- -op table users", "uni- -on sel- -ect", "1- -1", "x@y.z", "a_b-c.d:e@f", "@@version",
		"benchmark", "waitfor delay", "pg_sleep", "information_schema.tables", "sys.user_objects",
		"PHPSESSID", "jsessionid", "ASPSESSIONID", "0xdeadbeef", "0b1010", "1e309", "NaN", "Infinity",
		"select", "SELECT", "Select", "union", "UNION",
	}
	var reqs []func() *http.Request
	for _, v := range values {
		v := v
		q := url.QueryEscape(v)
		reqs = append(reqs,
			func() *http.Request { return browserRequest("GET", "/search/?q="+q, nil) },
			func() *http.Request { return browserRequest("GET", "/search/?"+q+"=1", nil) },
			func() *http.Request { return form("/search/", "q="+q+"&"+q+"=x") },
			func() *http.Request {
				b, _ := json.Marshal(map[string]any{v: v, "n": map[string]string{v: "x"}})
				r := browserRequest("POST", "/api/", bytes.NewReader(b))
				r.Header.Set("Content-Type", "application/json")
				return r
			},
			func() *http.Request {
				r := browserRequest("GET", "/", nil)
				r.Header.Set("Cookie", "c="+q+"; "+q+"=1")
				r.Header.Set("X-Custom", v)
				r.Header.Set("User-Agent", v)
				r.Header.Set("Referer", v)
				return r
			},
			func() *http.Request {
				var b bytes.Buffer
				mw := multipart.NewWriter(&b)
				_ = mw.WriteField(v, v)
				h := textproto.MIMEHeader{}
				h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, v, v))
				w, _ := mw.CreatePart(h)
				_, _ = w.Write([]byte("hello"))
				_ = mw.Close()
				r := browserRequest("POST", "/upload/", &b)
				r.Header.Set("Content-Type", mw.FormDataContentType())
				return r
			},
		)
	}
	pl4 := config.Default()
	pl4.Detection.ParanoiaLevel = 4
	pl4.Detection.InboundThreshold = 1 << 20
	pl4.Detection.Mode = "monitor"
	pl4.Detection.WindowsHost = true
	for _, c := range []struct {
		name string
		cfg  *config.Config
	}{{"default", config.Default()}, {"paranoia-4-monitor", pl4}} {
		t.Run(c.name, func(t *testing.T) {
			with, without := review6Pair(t, c.cfg)
			differ, matchedAny := 0, 0
			for i, mk := range reqs {
				a, b := observed(with, mk()), observed(without, mk())
				if len(b.rules) > 0 {
					matchedAny++
				}
				if a.String() != b.String() {
					differ++
					t.Errorf("value %q, place %d:\n with the filter:    %s\n without the filter: %s", values[i/6], i%6, a, b)
				}
			}
			t.Logf("%d requests, %d named rules, %d differ", len(reqs), matchedAny, differ)
		})
	}
}

// TestReview6AnswerListsAcrossManySlices reads more collections in a
// phase than the engine keeps answer lists for (8), changes TX between
// reads (so TX's slice is rebuilt while the others stay), and comes back
// to each: every rule that should match a plain value must, with the
// filter as without it.
func TestReview6AnswerListsAcrossManySlices(t *testing.T) {
	cols := []string{"ARGS", "ARGS_NAMES", "ARGS_GET", "ARGS_GET_NAMES", "ARGS_POST", "ARGS_POST_NAMES",
		"REQUEST_HEADERS", "REQUEST_HEADERS_NAMES", "REQUEST_COOKIES", "REQUEST_COOKIES_NAMES", "TX"}
	var rules strings.Builder
	rules.WriteString("SecRuleEngine DetectionOnly\n")
	id := 100
	for round := range 3 {
		for _, c := range cols {
			id++
			fmt.Fprintf(&rules, "SecRule %s \"@rx (?i)zz%dzz\" \"id:%d,phase:2,pass,log,t:none,t:lowercase\"\n", c, round, id)
			id++
			fmt.Fprintf(&rules, "SecAction \"id:%d,phase:2,pass,nolog,setvar:tx.k%d=zz%dzz,setvar:tx.j%d=plain value\"\n", id, id, (round+1)%3, id)
		}
	}
	build := func(filter bool) coraza.WAF {
		useRE2()
		w, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(rules.String()))
		if err != nil {
			t.Fatal(err)
		}
		if filter {
			useValueFilter(w)
		}
		return w
	}
	run := func(w coraza.WAF) []int {
		tx := w.NewTransaction()
		defer tx.Close()
		tx.ProcessURI("/x?a=zz0zz&zz1zz=b&c=d", "GET", "HTTP/1.1")
		tx.AddRequestHeader("X-A", "zz2zz")
		tx.AddRequestHeader("zz0zz", "plain")
		tx.AddRequestHeader("Cookie", "zz1zz=zz2zz; e=f")
		tx.ProcessRequestHeaders()
		tx.AddPostRequestArgument("zz2zz", "zz0zz")
		tx.AddPostRequestArgument("g", "zz1zz")
		if _, err := tx.ProcessRequestBody(); err != nil {
			t.Fatal(err)
		}
		var ids []int
		for _, m := range tx.MatchedRules() {
			if m.Rule().ID() < 1000 && m.Rule().ID()%2 == 1 {
				ids = append(ids, m.Rule().ID())
			}
		}
		return ids
	}
	a, b := run(build(true)), run(build(false))
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("with the filter %v\nwithout        %v", a, b)
	}
	if len(b) < 12 {
		t.Errorf("only %d rules matched: the probe does not exercise the lists", len(b))
	}
	t.Logf("%d matches: %v", len(b), b)
}
