package detect

import (
	"bytes"
	"fmt"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3"
	corazaexp "github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/detect/corpus"
)

// outcome is what a request got from a stage: the decision and every
// rule that matched, in order.
type outcome struct {
	action  decision.Action
	ruleID  string
	status  int
	rules   []string
	matched []int
}

func (o outcome) String() string {
	return fmt.Sprintf("%v %s %d rules=%v matched=%v", o.action, o.ruleID, o.status, o.rules, o.matched)
}

// observed runs r through s and returns its outcome.
func observed(s *Stage, r *http.Request) outcome {
	var o outcome
	s.observe = func(tx types.Transaction) {
		for _, m := range tx.MatchedRules() {
			o.matched = append(o.matched, m.Rule().ID())
		}
	}
	d := s.Check(r.Context(), r, &decision.Info{ID: nextRequestID()})
	o.action, o.ruleID, o.status, o.rules = d.Action, d.RuleID, d.Status, d.Rules
	return o
}

// corpusRequest builds a corpus entry as the corpus client sends it
// (without the Django session: the stage sees one request alone).
func corpusRequest(t *testing.T, dir string, c corpus.Request) *http.Request {
	t.Helper()
	var body []byte
	var ct string
	token := "AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY"
	switch {
	case c.Form != nil:
		v := url.Values{}
		var parts []string
		if c.CSRF {
			parts = append(parts, "csrfmiddlewaretoken="+token)
		}
		for _, kv := range c.Form {
			parts = append(parts, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
		}
		_ = v
		body, ct = []byte(strings.Join(parts, "&")), "application/x-www-form-urlencoded"
	case c.JSON != "":
		body, ct = []byte(c.JSON), "application/json"
	case c.Multipart != nil:
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if c.CSRF {
			_ = mw.WriteField("csrfmiddlewaretoken", token)
		}
		for _, kv := range c.Multipart.Fields {
			_ = mw.WriteField(kv[0], kv[1])
		}
		for _, f := range c.Multipart.Files {
			content := []byte(f.Content)
			if f.Path != "" {
				var err error
				if content, err = os.ReadFile(filepath.Join(dir, f.Path)); err != nil {
					t.Fatal(err)
				}
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, f.Field, strings.ReplaceAll(f.Name, `"`, `\"`)))
			if f.Type != "" {
				h.Set("Content-Type", f.Type)
			}
			w, _ := mw.CreatePart(h)
			_, _ = w.Write(content)
		}
		_ = mw.Close()
		body, ct = b.Bytes(), mw.FormDataContentType()
	case c.Body != "":
		body, ct = []byte(c.Body), c.ContentType
	}
	method := c.Method
	if method == "" {
		method = "GET"
		if body != nil {
			method = "POST"
		}
	}
	r := browserRequest(method, c.Path, bytes.NewReader(body))
	if body == nil {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if c.CSRF && c.Form == nil && c.Multipart == nil {
		r.Header.Set("X-CSRFToken", token)
	}
	for k, v := range c.Headers {
		r.Header.Set(k, v)
	}
	return r
}

// crsSampleEvery is how the tests comparing two engines' answers sample
// the CRS regression tests: all of them, or every tenth with -short and
// under the race detector.
func crsSampleEvery() int {
	if testing.Short() || raceEnabled {
		return 10
	}
	return 1
}

// sameAnswerRequests are the requests the tests comparing two engines'
// answers run: both corpora, the held-out cases, and the CRS regression
// tests that are one plain request (sampled by crsSampleEvery).
func sameAnswerRequests(t *testing.T) []reqCase {
	t.Helper()
	var reqs []reqCase
	for _, file := range []string{"attacks.yaml", "legit.yaml"} {
		c, err := corpus.Load(filepath.Join("..", "..", "testdata", "detect", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, cr := range c.Requests {
			reqs = append(reqs, reqCase{file + ": " + cr.Name, func() *http.Request { return corpusRequest(t, c.Dir, cr) }})
		}
	}
	for _, rc := range append(heldoutAttacks(), heldoutLegit()...) {
		reqs = append(reqs, reqCase{"held-out: " + rc.name, rc.make})
	}
	every, n := crsSampleEvery(), 0
	eachCRSTestFile(t, func(p string, f *crsTestFile) {
		for _, tc := range f.Tests {
			if n++; n%every != 0 || len(tc.Stages) != 1 || tc.Stages[0].Input.EncodedRequest != "" {
				continue
			}
			in := tc.Stages[0].Input
			reqs = append(reqs, reqCase{fmt.Sprintf("CRS %s #%d", p, tc.TestID), func() *http.Request {
				return crsRequest(in.Method, in.URI, in.Version, in.Headers, in.Data, in.AutocompleteHeaders)
			}})
		}
	})
	return reqs
}

// paranoia4Monitor evaluates every rule up to paranoia level 4 and only
// records (monitor mode, no threshold, 8 MB of body read): every rule
// gets to answer every request.
func paranoia4Monitor() *config.Config {
	c := config.Default()
	c.Detection.ParanoiaLevel = 4
	c.Detection.InboundThreshold = 1 << 20
	c.Detection.Mode = "monitor"
	c.Detection.BodyLimit = 8 << 20
	return c
}

// TestValueFilterChangesNoAnswer runs every request of the attack and
// legitimate corpora, the held-out cases, the benchmark requests and the
// CRS regression tests through the stage with the value filter and
// without it, and requires the same decision and the same matched rules,
// in the same order: the filter only skips evaluations that cannot match.
// Two configurations: the default (blocking at the threshold, the Django
// profile), and every rule of paranoia level 4 evaluated in monitor mode.
func TestValueFilterChangesNoAnswer(t *testing.T) {
	reqs := append(sameAnswerRequests(t),
		reqCase{"bench GET", typicalGET},
		reqCase{"bench form", func() *http.Request { return formPOST(form2KB()) }},
		reqCase{"bench JSON", func() *http.Request {
			r := formPOST(json10KB())
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
	)
	every := crsSampleEvery()
	pl4 := paranoia4Monitor()
	for _, cfg := range []struct {
		name string
		cfg  *config.Config
	}{{"default", config.Default()}, {"paranoia-4-monitor", pl4}} {
		t.Run(cfg.name, func(t *testing.T) {
			with, without := filterStages(t, cfg.cfg)
			differ, named := 0, 0
			for _, rq := range reqs {
				a, b := observed(with, rq.make()), observed(without, rq.make())
				if len(b.rules) > 0 {
					named++
				}
				if a.String() != b.String() {
					differ++
					t.Errorf("%s:\n with the filter:    %s\n without the filter: %s", rq.name, a, b)
				}
			}
			t.Logf("%d requests, %d with rules named in the decision, %d answered differently", len(reqs), named, differ)
			if len(reqs) < 500 && every == 1 {
				t.Errorf("only %d requests", len(reqs))
			}
		})
	}
}

// TestPlainValuesUnderSafeTransformations checks the premise of the
// filter: every transformation chain the filter reasons about (each of
// safeTransformations alone, and the chain of every rule it plans)
// turns a plain value into a string that, lower-cased, is part of the
// value lower-cased, with or without its spaces.
func TestPlainValuesUnderSafeTransformations(t *testing.T) {
	var rules strings.Builder
	id := 1
	for name := range safeTransformations {
		fmt.Fprintf(&rules, "SecRule ARGS \"@rx x\" \"id:%d,phase:2,pass,t:%s\"\n", id, name)
		id++
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(rules.String()))
	if err != nil {
		t.Fatal(err)
	}
	var chains []corazaexp.ValueFilterRule
	collect := func(w coraza.WAF) {
		f := newValueFilter()
		ef := f.engineFilter()
		plan := ef.Plan
		ef.Plan = func(r corazaexp.ValueFilterRule) int {
			slot := plan(r)
			if slot >= 0 && !f.conds[slot].remembered {
				chains = append(chains, r)
			}
			return slot
		}
		w.(corazaexp.WAFWithValueFilter).SetValueFilter(ef)
	}
	collect(waf)
	if len(chains) != len(safeTransformations) {
		t.Fatalf("%d single-transformation rules planned, want %d", len(chains), len(safeTransformations))
	}
	useRE2()
	memoizeOperators()
	crs, err := buildWith(config.Default(), false)
	if err != nil {
		t.Fatal(err)
	}
	collect(crs.waf)

	rng := rand.New(rand.NewSource(1))
	alphabet := "aZz09 ._@:-.."
	values := []string{".", "..", "...", "a.", ".a", "A B", "x:1", "a-b", "0x41", "abc.def@ghi", "Select", "UNION Select", "..a", "a..", "@"}
	for range 3000 {
		b := make([]byte, 1+rng.Intn(12))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		values = append(values, string(b))
	}
	checked := 0
	for _, v := range values {
		if !plainValue(v) {
			continue
		}
		checked++
		lower := strings.ToLower(v)
		nospace := strings.ReplaceAll(lower, " ", "")
		for _, r := range chains {
			if slices.Contains(r.Transformations, "base64Decode") {
				continue // planned by its decoded length: TestBase64Bound
			}
			out := strings.ToLower(r.Transform(v))
			if !strings.Contains(lower, out) && !strings.Contains(nospace, out) {
				t.Fatalf("rule %d (%v) turns plain %q into %q", max(r.ID, r.ParentID), r.Transformations, v, out)
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d plain values checked", checked)
	}
	t.Logf("%d plain values through %d planned chains", checked, len(chains))
}

// plannedCRS builds the CRS at paranoia 4 (every rule) without a filter,
// then plans it with a new one, and returns the filter and the rules it
// gave a slot, by slot.
func plannedCRS(t testing.TB) (*valueFilter, map[int]corazaexp.ValueFilterRule) {
	t.Helper()
	useRE2()
	memoizeOperators()
	cfg := config.Default()
	cfg.Detection.ParanoiaLevel = 4
	crs, err := buildWith(cfg, false)
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
	crs.waf.(corazaexp.WAFWithValueFilter).SetValueFilter(ef)
	return f, planned
}

// TestValueFilterNeverSkipsAMatch asks the filter about plain values
// made to hold what the rules look for (each literal and phrase it knows,
// alone, inside words, upper-cased, split by a space) and random ones,
// and checks every planned rule directly: when the rule's transformations
// and operator (@rx as Go's regexp, @pm as its phrases) match the value,
// the filter must have given the rule's slot.
func TestValueFilterNeverSkipsAMatch(t *testing.T) {
	f, planned := plannedCRS(t)
	type check struct {
		rule    corazaexp.ValueFilterRule
		re      *regexp.Regexp
		phrases []string
	}
	checks := map[int]check{}
	kinds := map[string]int{}
	for slot, r := range planned {
		if r.Operator == analyzerOperator {
			continue // answered by the analysis itself: TestAnalyzerFilterAnswersAsTheOperator
		}
		c := check{rule: r}
		if r.Operator == "rx" {
			re, err := regexp.Compile("(?s)" + r.Argument)
			if err != nil {
				continue // RE2-only syntax: covered by the differential test
			}
			c.re = re
		} else {
			op := r.Op
			if m, ok := op.(*memoOp); ok {
				op = m.inner
			}
			c.phrases = op.(corazaexp.PhraseOperator).Phrases()
		}
		kinds[r.Operator]++
		checks[slot] = c
	}
	if kinds["pmFromFile"] < 10 || kinds["pm"] < 2 || kinds["rx"] < 200 {
		t.Fatalf("planned rules by operator: %v", kinds)
	}
	// Seeds: what the filter looks for, and what each rule's own data
	// says it looks for (so that a phrase or literal the filter dropped
	// is tried too).
	seeds := append([]string{"a", "1", "x y", "select from", "etc passwd"}, f.literals.words...)
	for _, c := range checks {
		if c.re != nil {
			_, all, anyOf, _, _ := corazaexp.RxLiterals("(?s)" + c.rule.Argument)
			if len(all) > 0 {
				seeds = append(seeds, strings.Join(all, " "), strings.Join(all, ""))
			}
			for _, a := range anyOf {
				seeds = append(seeds, strings.Join(append(all[:len(all):len(all)], a), " "))
			}
			// A value holding a member of each set the pattern restricted
			// to plain bytes requires (restrict.go), with and without
			// spaces, by each member of each set in turn.
			if _, sets, ok := plainRequirements("(?s)" + c.rule.Argument); ok && len(sets) > 0 {
				pick := make([]string, len(sets))
				for i, set := range sets {
					pick[i] = set[0]
				}
				for i, set := range sets {
					for _, m := range set {
						p := slices.Clone(pick)
						p[i] = m
						seeds = append(seeds, strings.Join(p, " "), strings.Join(p, ""))
					}
				}
			}
		}
		seeds = append(seeds, c.phrases...)
	}
	rng := rand.New(rand.NewSource(2))
	var values []string
	every := 4
	if testing.Short() || raceEnabled {
		every = 16
	}
	for i, w := range seeds {
		if i%every != 0 {
			continue
		}
		values = append(values, w, "x"+w+"y", strings.ToUpper(w), "a "+w+" b", "1"+w+"-2")
		if len(w) > 2 {
			k := 1 + rng.Intn(len(w)-1)
			values = append(values, w[:k]+" "+w[k:])
		}
	}
	alphabet := "abcdefghijklmnopqrstuvwxyzEST0189 ._@:-"
	for range 2000 {
		b := make([]byte, 1+rng.Intn(24))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		values = append(values, string(b))
	}
	mayMatch := make([]uint64, (f.slots+63)/64)
	tested, matched := 0, 0
	for _, v := range values {
		if !plainValue(v) {
			continue
		}
		tested++
		clear(mayMatch)
		f.classify(v, mayMatch)
		for slot, c := range checks {
			out := c.rule.Transform(v)
			hit := false
			if c.re != nil {
				hit = c.re.MatchString(out)
			} else {
				lower := strings.ToLower(out)
				for _, p := range c.phrases {
					if strings.Contains(lower, p) {
						hit = true
						break
					}
				}
			}
			if !hit {
				continue
			}
			matched++
			if mayMatch[slot>>6]&(1<<(slot&63)) == 0 {
				t.Errorf("rule %d (@%s %.60q, %v) matches plain %q (transformed %q) but the filter skips it",
					max(c.rule.ID, c.rule.ParentID), c.rule.Operator, c.rule.Argument, c.rule.Transformations, v, out)
			}
		}
	}
	t.Logf("%d plain values, %d planned rules checked (%v), %d (rule, value) matches all kept", tested, len(checks), kinds, matched)
}

// filterStages builds cfg's stage with the value filter (and Coraza's
// answer memory) and without it, with RE2 and the memoized operators.
func filterStages(t *testing.T, cfg *config.Config) (with, without *Stage) {
	t.Helper()
	useRE2()
	memoizeOperators()
	with, err := buildWith(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	without, err = buildWith(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return with, without
}
