package detect

import (
	"html"
	"math/rand/v2"
	"net/url"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"

	"github.com/parapet-waf/parapet/internal/config"
)

// everyRxPattern is every @rx pattern Parapet runs: the CRS request and
// response files and Parapet's own rules.
func everyRxPattern(t *testing.T) []string {
	texts := crsFileTexts(t, "@owasp_crs/REQUEST-9[2-4]*.conf")
	texts = append(texts, crsFileTexts(t, "@owasp_crs/RESPONSE-95*.conf")...)
	texts = append(texts, base, djangoBefore(config.DefaultDetection().AdminPaths, config.DefaultDetection().PasswordPaths), djangoAfter, djangoDatabaseErrors, windowsShellRules)
	out := rxPatterns(t, texts...)
	if len(out) < 250 {
		t.Fatalf("found %d patterns, want 250 or more", len(out))
	}
	return out
}

// patternWithFilter is a pattern as @rx compiled it.
type patternWithFilter struct {
	pattern string
	*rxPattern
}

// prefiltered are the patterns that @rx gives a pre-filter.
func prefiltered(t *testing.T, patterns []string) []patternWithFilter {
	t.Helper()
	var out []patternWithFilter
	for _, pat := range patterns {
		op, err := newRE2rx(plugintypes.OperatorOptions{Arguments: pat})
		if err != nil {
			t.Fatal(err)
		}
		if p := op.(*re2rx).rxPattern; p.mayMatch != nil {
			out = append(out, patternWithFilter{pat, p})
		}
	}
	return out
}

// The literal pre-filter in front of RE2 never turns a match into a miss:
// for every pattern Parapet runs and every payload of the CRS's own
// regression tests (as sent, URL-decoded, lower-cased and HTML-unescaped,
// roughly what the CRS transformations hand the operator), a value the
// pre-filter rejects is one RE2 does not match either. Most patterns get a
// pre-filter, and it rejects most benign values, or it would be no use.
func TestRxPrefilterNeverHidesAMatch(t *testing.T) {
	values := crsPayloadValues(t)
	patterns := everyRxPattern(t)
	every := 1
	if raceEnabled {
		every = 7 // RE2 under the race detector is slow; a sample of the values
	}
	withFilter := prefiltered(t, patterns)
	rejected, checked := 0, 0
	for _, pf := range withFilter {
		pat, p := pf.pattern, pf.rxPattern
		for i := 0; i < len(values); i += every {
			v := values[i]
			if p.mayMatch(v) {
				continue
			}
			checked++
			if p.re.MatchString(v) {
				t.Errorf("pattern %.80q matches %.120q, which its pre-filter rejected", pat, v)
			}
		}
		if p.mayMatch(benignValue(64, -1)) {
			continue
		}
		rejected++
	}
	filtered := len(withFilter)
	t.Logf("%d of %d patterns have a pre-filter, %d of them reject a benign sentence; %d rejections checked against RE2 over %d values",
		filtered, len(patterns), rejected, checked, len(values))
	if filtered < len(patterns)/2 || rejected < filtered/2 {
		t.Fatalf("the pre-filter is of little use: %d of %d patterns, %d reject a benign value", filtered, len(patterns), rejected)
	}
}

// crsPayloadValues are the URIs, bodies and header values of the CRS
// regression tests, with decoded variants.
func crsPayloadValues(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		for _, w := range []string{v, strings.ToLower(v), html.UnescapeString(v)} {
			if w != "" && !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	eachCRSTestFile(t, func(_ string, f *crsTestFile) {
		for _, tc := range f.Tests {
			for _, st := range tc.Stages {
				in := st.Input
				var raw []string
				if in.URI != nil {
					raw = append(raw, *in.URI)
					if _, q, ok := strings.Cut(*in.URI, "?"); ok {
						raw = append(raw, strings.Split(q, "&")...)
					}
				}
				if in.Data != nil {
					raw = append(raw, *in.Data)
					raw = append(raw, strings.Split(*in.Data, "&")...)
				}
				for _, h := range in.Headers {
					raw = append(raw, h)
				}
				for _, v := range raw {
					add(v)
					if d, err := url.QueryUnescape(v); err == nil {
						add(d)
						if _, val, ok := strings.Cut(d, "="); ok {
							add(val)
						}
					}
				}
			}
		}
	})
	if len(out) < 1000 {
		t.Fatalf("only %d payload values", len(out))
	}
	return out
}

// The pre-filter accepts strings made to match: for every pattern Parapet
// runs, random strings generated from the pattern's own syntax tree
// (random branches, repeat counts, class members and letter case), those
// RE2 matches are all accepted. Payload lists only try the shapes someone
// wrote down; this walks every branch of every pattern.
func TestRxPrefilterAcceptsGeneratedMatches(t *testing.T) {
	samples := 300
	if raceEnabled {
		samples = 40
	}
	rng := rand.New(rand.NewPCG(5, 8))
	withFilter := prefiltered(t, everyRxPattern(t))
	filtered, checked := len(withFilter), 0
	for _, pf := range withFilter {
		pat, p := pf.pattern, pf.rxPattern
		re, err := syntax.Parse("(?s)"+pat, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		re = re.Simplify()
		for i := 0; i < samples; i++ {
			var b strings.Builder
			if i%3 == 1 {
				b.WriteString("x ") // something before the match
			}
			generateMatch(&b, re, rng)
			if i%3 == 2 {
				b.WriteString(" y")
			}
			v := b.String()
			if !p.re.MatchString(v) {
				continue // an anchor or word boundary the walk could not honour
			}
			checked++
			if !p.mayMatch(v) {
				t.Errorf("pattern %.100q matches %.120q, which its pre-filter rejected", pat, v)
				break
			}
		}
	}
	t.Logf("%d generated matches accepted (%d patterns with a pre-filter, %d strings each)", checked, filtered, samples)
	if filtered < 150 || checked < samples*filtered/2 {
		t.Fatalf("only %d of %d generated strings matched their pattern", checked, samples*filtered)
	}
}

// generateMatch appends a string re may match (anchors and word boundaries
// are not honoured; the caller checks with the regex).
func generateMatch(b *strings.Builder, re *syntax.Regexp, rng *rand.Rand) {
	fold := re.Flags&syntax.FoldCase != 0
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if fold && rng.IntN(2) == 0 {
				r = unicode.SimpleFold(r)
			}
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return
		}
		i := rng.IntN(len(re.Rune)/2) * 2
		lo, hi := re.Rune[i], re.Rune[i+1]
		if hi > lo+255 {
			hi = lo + 255
		}
		b.WriteRune(lo + rune(rng.IntN(int(hi-lo)+1)))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		const anyChars = "a.-_ 0\"'<(/\\\n"
		b.WriteByte(anyChars[rng.IntN(len(anyChars))])
	case syntax.OpCapture:
		generateMatch(b, re.Sub[0], rng)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			generateMatch(b, sub, rng)
		}
	case syntax.OpAlternate:
		generateMatch(b, re.Sub[rng.IntN(len(re.Sub))], rng)
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := 0, 3
		switch re.Op {
		case syntax.OpPlus:
			lo = 1
		case syntax.OpQuest:
			hi = 1
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Max
			if hi < 0 || hi > lo+3 {
				hi = lo + 3
			}
		}
		for n := lo + rng.IntN(hi-lo+1); n > 0; n-- {
			generateMatch(b, re.Sub[0], rng)
		}
	}
}
