package detect

import (
	"fmt"
	"hash/maphash"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/config"
)

// The @rx operator remembers values a pattern did not match; that memory
// must never change an answer, whatever order values come in, under
// concurrent use, and captures still work after a remembered miss.
func TestRxMissMemoryNeverChangesAnAnswer(t *testing.T) {
	patterns := []string{
		`(?i)\bunion\b.{1,100}?\bselect\b`,
		`(?i)<script[^>]*>[\s\S]*?`,
		`^[\d.:]+$`,
		`[\n\r]`,
		`^$`, // matches only the empty value
	}
	values := []string{"", "2", "page", "utm_source", "newsletter", "1 union select 2", "<script>alert(1)</script>",
		"127.0.0.1", "a\nb", "UNION  SELECT", strings.Repeat("x", noMatchMaxLen), strings.Repeat("y", noMatchMaxLen+1) + " union select 1"}
	for i := 0; i < 3*noMatchSlots; i++ {
		values = append(values, fmt.Sprintf("value-%d", i)) // enough to evict and collide
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range patterns {
		op, err := newRE2rx(plugintypes.OperatorOptions{Arguments: p})
		if err != nil {
			t.Fatal(err)
		}
		want := regexp.MustCompile("(?s)" + p)
		evaluateInRounds(waf, values, func(state plugintypes.TransactionState, v string, round int) bool {
			if got := op.Evaluate(state, v); got != want.MatchString(v) {
				t.Errorf("%q on %q: got %v, want %v (round %d)", p, v, got, !got, round)
				return false
			}
			return true
		})
	}
}

// evaluateInRounds runs check on every value from four goroutines, three
// rounds each, in orders that differ by goroutine and round, each round in
// a transaction of its own: a value is seen in one request, again in
// another (and kept by a miss memory), then answered from memory. A
// goroutine stops at the first check that returns false.
func evaluateInRounds(waf coraza.WAF, values []string, check func(state plugintypes.TransactionState, v string, round int) bool) {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for round := 0; round < 3; round++ {
				tx := waf.NewTransaction()
				defer tx.Close()
				state := tx.(plugintypes.TransactionState)
				for i := range values {
					if !check(state, values[(i*(g+1)+round)%len(values)], round) {
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

// A value's copy is kept, not the caller's string: a value sliced from a
// request body must not pin the body, and a caller reusing its bytes must
// not change what is remembered.
func TestRxMissMemoryKeepsCopies(t *testing.T) {
	// No literal for the pre-filter to require: every value reaches the memory.
	op, err := newRE2rx(plugintypes.OperatorOptions{Arguments: `[aeiou]{3}`})
	if err != nil {
		t.Fatal(err)
	}
	p := op.(*re2rx).rxPattern
	if p.mayMatch != nil {
		t.Fatal("the pattern has a pre-filter; the test needs one without")
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig())
	if err != nil {
		t.Fatal(err)
	}
	tx1 := waf.NewTransaction().(plugintypes.TransactionState)
	tx2 := waf.NewTransaction().(plugintypes.TransactionState)
	buf := []byte("harmless")
	v := unsafe.String(&buf[0], len(buf)) // a value over the caller's bytes
	p.matches(tx1, v)
	p.matches(tx1, v) // the same request again: not kept
	if known, _ := p.noMatch.has(v); known {
		t.Fatal("a value seen in one request only is remembered")
	}
	p.matches(tx2, v) // another request: kept
	if known, _ := p.noMatch.has("harmless"); !known {
		t.Fatal("a value seen in two requests without a match is not remembered")
	}
	buf[0] = 'c' // a caller reusing its bytes
	if known, _ := p.noMatch.has("harmless"); !known {
		t.Fatal("the remembered value changed with the caller's bytes")
	}
	if known, _ := p.noMatch.has("harmlesS"); known {
		t.Fatal("a different value is answered from memory")
	}
	if !p.matches(tx1, "queue") || !p.matches(tx2, "aeiou") {
		t.Fatal("a matching value is not matched")
	}
}

// The Django profile stops matching the names of Django's own cookies: the
// names are fixed words which no CRS rule matches at any paranoia level,
// in any letter case, so the exclusion costs no detection.
func TestDjangoCookieNamesMatchNothing(t *testing.T) {
	cfg := config.Default()
	cfg.Detection.ParanoiaLevel = 4
	cfg.Detection.InboundThreshold = 1 << 20 // nothing blocks: every rule runs
	cfg.Detection.DjangoProfile = false
	cfg.Detection.WindowsHost = true
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var hits []string
	s.observe = func(tx types.Transaction) {
		for _, m := range tx.MatchedRules() {
			for _, md := range m.MatchedDatas() {
				v := md.Variable().Name()
				if v == "REQUEST_COOKIES_NAMES" {
					hits = append(hits, fmt.Sprintf("%d %s:%s", m.Rule().ID(), v, md.Key()))
				}
			}
		}
	}
	for _, names := range [][]string{
		{"csrftoken", "sessionid", "messages"},
		{"CSRFTOKEN", "SessionId", "MESSAGES"},
	} {
		r := browserRequest("GET", "/", nil)
		r.Header.Set("Cookie", names[0]+"=a; "+names[1]+"=b; "+names[2]+"=c")
		s.Check(r.Context(), r, info())
	}
	if len(hits) > 0 {
		t.Fatalf("CRS rules matched Django's cookie names: %v", hits)
	}
}

// Header names reach Coraza in lower case: rules on a named header still
// see it, and exclusions by header name still apply.
func TestHeaderRulesAfterLowerCasing(t *testing.T) {
	s := stageFromYAML(t, "")
	r := browserRequest("GET", "/", nil)
	r.Header.Set("User-Agent", "Nikto/2.5.0")
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.RuleID != "detect-reputation-scanner" {
		t.Errorf("scanner User-Agent: %+v", d)
	}
	r = browserRequest("GET", "/", nil)
	r.Header.Set("X-CSRFToken", "1' OR '1'='1' UNION SELECT password FROM auth_user--")
	if d := s.Check(r.Context(), r, info()); d.Decided() {
		t.Errorf("X-CSRFToken is excluded by the Django profile, yet: %+v", d)
	}
	r = browserRequest("GET", "/", nil)
	r.Header.Set("Referer", "https://example.com/?q=<script>alert(document.cookie)</script>")
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.RuleID != "detect-xss" {
		t.Errorf("XSS in Referer: %+v", d)
	}
}

// Two values that share their first slot, read by one rule on every
// request (a Host and a header name, say), are both remembered: with one
// slot each they would push each other out on every request and neither
// would ever be answered from memory.
func TestRxMissMemoryKeepsValuesThatShareASlot(t *testing.T) {
	// A pattern no rule uses (patterns are shared), without a pre-filter.
	op, err := newRE2rx(plugintypes.OperatorOptions{Arguments: `[\n\r]{2}x`})
	if err != nil {
		t.Fatal(err)
	}
	p := op.(*re2rx).rxPattern
	slots := func(v string) (*missSlot, *missSlot) {
		return p.noMatch.candidates(maphash.String(p.noMatch.seed, v) | 1)
	}
	a, b := "www.example.com", ""
	a1, a2 := slots(a)
	for i := 0; b == ""; i++ {
		// The same first slot; second slots apart (when both coincide,
		// as for 1 pair in 128, the two do push each other out).
		if v := fmt.Sprintf("value-%d", i); func() bool { b1, b2 := slots(v); return b1 == a1 && b2 != a2 && b2 != a1 }() {
			b = v
		}
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig())
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 4; round++ { // four requests, each with both values
		tx := waf.NewTransaction()
		state := tx.(plugintypes.TransactionState)
		if p.matches(state, a) || p.matches(state, b) {
			t.Fatal("a value without a line break matched")
		}
		_ = tx.Close()
	}
	for _, v := range []string{a, b} {
		if known, _ := p.noMatch.has(v); !known {
			t.Errorf("%q (sharing its first slot with the other) is not remembered after four requests", v)
		}
	}
}

// A pattern that matches every value whole ("^.*$": CRS 920450 on every
// header name, capturing) is answered without RE2, with the same answer
// and the same capture as Go's regexp gives; a value that is not UTF-8
// still goes to RE2, read as Go's regexp reads it (asRunes).
func TestRxPatternMatchingEverything(t *testing.T) {
	useRE2()
	for _, expr := range []string{`^.*$`, `\A.*?\z`, `^.*$x`, `^.+$`} {
		op, err := newRE2rx(plugintypes.OperatorOptions{Arguments: expr})
		if err != nil {
			t.Fatal(err)
		}
		p := op.(*re2rx).rxPattern
		if want := expr == `^.*$` || expr == `\A.*?\z`; p.matchesAll != want {
			t.Errorf("%q: matchesAll %v, want %v", expr, p.matchesAll, want)
		}
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(
		`SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:1,phase:1,pass,nolog,capture,setvar:'tx.n_%{tx.0}=%{tx.0}'"`))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"x-custom", "x-ünïcödé-😀", "a\nb", "x-\xff-not-utf8"}
	for round := 0; round < 3; round++ {
		tx := waf.NewTransaction()
		for _, n := range names {
			tx.AddRequestHeader(n, "v")
		}
		tx.ProcessRequestHeaders()
		got := map[string]bool{}
		for _, m := range tx.(plugintypes.TransactionState).Variables().TX().FindAll() {
			if strings.HasPrefix(m.Key(), "n_") {
				got[m.Value()] = true
				if m.Key() != strings.ToLower("n_"+m.Value()) {
					t.Errorf("captured %q under %q", m.Value(), m.Key())
				}
			}
		}
		// Go's regexp, the released Coraza's @rx: a byte that is not UTF-8
		// is U+FFFD, which '.' matches (RE2 alone does not: review 7).
		re := regexp.MustCompile(`(?s)^.*$`)
		for _, n := range names {
			if want := re.MatchString(n); got[n] != want {
				t.Errorf("round %d: header %q captured %v, want %v", round, n, got[n], want)
			}
		}
		_ = tx.Close()
	}
}
