package detect

import (
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/corazawaf/coraza/v3"
	corazaexp "github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/wasilibs/go-re2"
)

// TestBase64Bound checks the bound base64filter.go skips rules by, on the
// CRS rules that decode base64 (at paranoia 4): for values of every kind
// (base64 of attacks and of random bytes, cut, padded, split by spaces,
// CR/LF, '+' and '/', after a short word and a '.', '=' or '@', random
// text), the rule's own chain never gives more runes than 3/4 of the
// value's leading base64 run, and when the rule
// (Go's regexp) matches, the filter kept it.
func TestBase64Bound(t *testing.T) {
	f, planned := plannedCRS(t)
	ids := map[int]bool{}
	for _, b := range f.base64 {
		r := planned[b.slot]
		ids[max(r.ID, r.ParentID)] = true
	}
	for _, id := range []int{934100, 934101, 934160} {
		if !ids[id] {
			t.Fatalf("rule %d not planned as a base64 rule (planned: %v)", id, ids)
		}
	}
	attacks := []string{
		"eval(", "new Function(", "require('child_process')", "while(true)", "while(!0){}",
		"close(", "fork(", "readFile(", "this.constructor", "module.exports=",
		"_$$ND_FUNC$$_function(){}", "String.fromCharCode(", "console.log(", "spawn(",
		"x", "ab", "open(", "write(",
	}
	rng := rand.New(rand.NewSource(7))
	var values []string
	add := func(s string) {
		values = append(values, s, s+"==", s[:len(s)*3/4], " "+s, s+" x", "a+b/"+s,
			strings.ReplaceAll(s, "A", " A"), strings.ReplaceAll(s, "a", "\r\na"), "%20"+s, s+"\\x41",
			"x."+s, "ab="+s, "user@"+s, "x\t"+s)
	}
	for _, a := range attacks {
		values = append(values, a, "x "+a, strings.ToUpper(a)) // matched before decoding (multiMatch)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding} {
			add(enc.EncodeToString([]byte(a)))
			add(enc.EncodeToString([]byte("xx" + a)))
		}
	}
	alphabet := "abcXYZ019+/= \t\r\n.-_%\\(){}\"'\x80\xff"
	random := 3000
	if testing.Short() || raceEnabled {
		random = 600
	}
	for range random {
		b := make([]byte, 1+rng.Intn(40))
		if rng.Intn(2) == 0 {
			rng.Read(b)
			add(base64.StdEncoding.EncodeToString(b))
			continue
		}
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		values = append(values, string(b))
	}
	skipped, kept, matched := 0, 0, 0
	mayMatch := make([]uint64, (f.slots+63)/64)
	for _, b := range f.base64 {
		r := planned[b.slot]
		re := regexp.MustCompile("(?s)" + r.Argument)
		forms := chainForms(t, r.Transformations)
		engine := engineForms(t, r.Transformations, r.MultiMatch)
		decodeAt := slices.Index(r.Transformations, "base64Decode")
		for _, v := range values {
			fs := forms(v)
			run, known := base64Run(v, b.spaces)
			for i, out := range fs[decodeAt+1:] {
				if known && utf8.RuneCountInString(out) > run*3/4 {
					t.Errorf("rule %d: %q gives %d runes after %v (%q), more than 3/4 of its leading base64 run of %d",
						max(r.ID, r.ParentID), v, utf8.RuneCountInString(out), r.Transformations[:decodeAt+1+i], out, run)
				}
			}
			for _, out := range fs[:decodeAt+1] {
				if utf8.RuneCountInString(out) > len(v) {
					t.Errorf("rule %d: %q has a form before decoding of more runes than its bytes: %q", max(r.ID, r.ParentID), v, out)
				}
			}
			keep := slotKept(f, v, b.slot, mayMatch)
			if !keep {
				skipped++
			} else {
				kept++
			}
			if out, ok := matchedForm(re, engine(v)); ok {
				matched++
				if !keep {
					t.Errorf("rule %d matches %q (form %q) but the filter skips it", max(r.ID, r.ParentID), v, out)
				}
			}
		}
	}
	if skipped == 0 || kept == 0 {
		t.Fatalf("skipped %d, kept %d (rule, value) pairs: the test does not exercise both", skipped, kept)
	}
	if matched == 0 {
		t.Fatal("no value matched a base64 rule")
	}
	t.Logf("%d base64 rules, %d values: %d pairs skipped, %d kept, %d matched", len(f.base64), len(values), skipped, kept, matched)
}

// chainForms returns a function giving a value's form after each prefix of
// the transformation chain (the value itself first), as Coraza runs them.
func chainForms(t *testing.T, chain []string) func(string) []string {
	t.Helper()
	var rules strings.Builder
	for k := 0; k <= len(chain); k++ {
		ts := append([]string{"none"}, chain[:k]...)
		fmt.Fprintf(&rules, "SecRule ARGS \"@rx x\" \"id:%d,phase:2,pass,t:%s\"\n", k+1, strings.Join(ts, ",t:"))
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(rules.String()))
	if err != nil {
		t.Fatal(err)
	}
	transforms := make([]func(string) string, len(chain)+1)
	f := newValueFilter()
	ef := f.engineFilter()
	ef.Plan = func(r corazaexp.ValueFilterRule) int {
		transforms[r.ID-1] = r.Transform
		return -1
	}
	waf.(corazaexp.WAFWithValueFilter).SetValueFilter(ef)
	return func(v string) []string {
		out := make([]string, len(transforms))
		for i, tr := range transforms {
			out[i] = tr(v)
		}
		return out
	}
}

// TestBase64RunStopsAtEscapes: a value with an escape the decoders
// before base64Decode would turn into a base64 byte has no bound; the
// bound of another is its leading run, where the decoder stops.
func TestBase64RunStopsAtEscapes(t *testing.T) {
	for _, c := range []struct {
		v      string
		spaces bool
		run    int
		known  bool
	}{
		{"ab cd", false, 2, true},
		{"ab cd", true, 4, true},
		{"ab\r\ncd", false, 4, true},
		{"ab=cd", true, 2, true},
		{"a+b/c", false, 5, true},
		{"ab%41cd", false, 0, false},
		{"ab\\x41", false, 0, false},
		{"ab\xc2\xa0cd", true, 0, false},
		// Only the leading run is decoded.
		{"a.bcdefgh", false, 1, true},
		{".abcdefgh", true, 0, true},
		{"ab cdefgh", false, 2, true},
		{"ab cd\tef.ghijkl", true, 6, true},
		{"user1@example.com", false, 5, true},
		{"ab.cd%41", false, 0, false},
		{"ab cd ef", true, 6, true},
		{"json.items.7.email", true, 4, true},
	} {
		run, known := base64Run(c.v, c.spaces)
		if run != c.run || known != c.known {
			t.Errorf("base64Run(%q, %v) = %d, %v; want %d, %v", c.v, c.spaces, run, known, c.run, c.known)
		}
		if plainValue(c.v) {
			if got := plainBase64Run(c.v, c.spaces); got != c.run {
				t.Errorf("plainBase64Run(%q, %v) = %d; want %d", c.v, c.spaces, got, c.run)
			}
		}
	}
}

// TestSqueezeDecodedAgreesWithCoraza runs the CRS's base64 chains over
// plain values (base64 of attacks without padding, alone, after a word
// and a space, a '.' or an '@', random plain text) and checks that every
// form after decoding, squeezed (squeezedOut bytes dropped, lower-cased),
// is the text squeezeDecoded gives, when it gives one: then a literal in
// a decoded form is in that text.
func TestSqueezeDecodedAgreesWithCoraza(t *testing.T) {
	f, planned := plannedCRS(t)
	rng := rand.New(rand.NewSource(11))
	var values []string
	for _, a := range []string{"eval(", "new Function(", "require('child_process')", "while(true)", "this.constructor",
		"module.exports=", "_$$ND_FUNC$$_function(){}", "String.fromCharCode(", "console.log(1)", "fork(", "a%41/*x*/b"} {
		for _, p := range []string{"", "x", "xy"} {
			e := base64.RawStdEncoding.EncodeToString([]byte(p + a))
			if !plainValue(e) {
				continue
			}
			values = append(values, e, "hello "+e, "user@"+e, e+".json", e[:len(e)/2]+" "+e[len(e)/2:])
		}
	}
	alphabet := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._@:-"
	for range 3000 {
		b := make([]byte, 1+rng.Intn(60))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		if v := string(b); plainValue(v) {
			values = append(values, v)
		}
	}
	// Decoded bytes with the runes case folding or lower-casing makes
	// ASCII, among invalid UTF-8 and whitespace (base64 of them is plain
	// when it has no '+' or '/').
	for _, d := range []string{"\u017Fystem(", "\u212Aill", "\u0130d(", "ev\u0430l(", "\xc5\xc5\xbfx", "\xe2\xe2\x84\xaax",
		"\xc5 \xbfx", "\xe2\x84 \xaax", "\xe2\x84\xc4\xb0", "\xc4\xc4\xb0\xb0", "\xf0\x9f\xc5\xbf", "a\u00a0b\u2000c",
		"\xc5\u00a0\xbf", "re\u017Fquire(", "\u212A\u212A\u017F"} {
		for _, p := range []string{"", "x", "xy", "\xc5", "\xe2\x84"} {
			for _, e := range []string{base64.RawStdEncoding.EncodeToString([]byte(p + d)), base64.StdEncoding.EncodeToString([]byte(p + d))} {
				if e = strings.TrimRight(e, "="); plainValue(e) {
					values = append(values, e, "hello "+e, e[:len(e)/2]+" "+e[len(e)/2:])
				}
			}
		}
	}
	squeeze := squeezeByRunes
	compared, refused := 0, 0
	for _, b := range f.base64 {
		r := planned[b.slot]
		if b.decoded == nil {
			t.Errorf("rule %d: no condition on its decoded forms", max(r.ID, r.ParentID))
		}
		forms := chainForms(t, r.Transformations)
		decodeAt := slices.Index(r.Transformations, "base64Decode")
		for _, v := range values {
			got, ok := squeezeDecoded(v, b.spaces, nil)
			if !ok {
				refused++
				continue
			}
			for i, out := range forms(v)[decodeAt+1:] {
				compared++
				if s := squeeze(out); s != string(got) {
					t.Errorf("rule %d: %q after %v is %q, squeezed %q; squeezeDecoded gives %q",
						max(r.ID, r.ParentID), v, r.Transformations[:decodeAt+1+i], out, s, got)
				}
			}
		}
	}
	if compared == 0 || refused == 0 {
		t.Fatalf("%d forms compared, %d values refused: the test does not exercise both", compared, refused)
	}
}

// slotKept reports whether the filter keeps slot's rule for v (mayMatch:
// scratch of the filter's size).
func slotKept(f *valueFilter, v string, slot int, mayMatch []uint64) bool {
	clear(mayMatch)
	f.classify(v, mayMatch)
	return mayMatch[slot>>6]&(1<<(slot&63)) != 0
}

// matchedForm is the first of a value's forms fs (after each
// transformation of a rule's chain) that re matches where the rule looks:
// its final form, or any form under multiMatch.
func matchedForm(re *regexp.Regexp, fs []string) (string, bool) {
	for _, out := range fs {
		if re.MatchString(out) {
			return out, true
		}
	}
	return "", false
}

// recordedForms are the values the parapetTestRecord operator was called
// with (engineForms).
var recordedForms struct {
	sync.Mutex
	once  sync.Once
	forms []string
}

type recordOperator struct{}

func (recordOperator) Evaluate(_ plugintypes.TransactionState, v string) bool {
	recordedForms.forms = append(recordedForms.forms, v)
	return false
}

// engineForms returns a function giving the forms of a value that a rule
// with chain (and multiMatch) matches, as Coraza makes them: the values
// its operator is called with.
func engineForms(t *testing.T, chain []string, multiMatch bool) func(string) []string {
	t.Helper()
	recordedForms.once.Do(func() {
		plugins.RegisterOperator("parapetTestRecord", func(plugintypes.OperatorOptions) (plugintypes.Operator, error) {
			return recordOperator{}, nil
		})
	})
	mm := ""
	if multiMatch {
		mm = ",multiMatch"
	}
	ts := append([]string{"none"}, chain...)
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(fmt.Sprintf(
		"SecRuleEngine On\nSecRule ARGS_GET:v \"@parapetTestRecord\" \"id:1,phase:1,pass,t:%s%s\"", strings.Join(ts, ",t:"), mm)))
	if err != nil {
		t.Fatal(err)
	}
	return func(v string) []string {
		recordedForms.Lock()
		defer recordedForms.Unlock()
		recordedForms.forms = nil
		tx := waf.NewTransaction()
		tx.AddGetRequestArgument("v", v)
		tx.ProcessRequestHeaders()
		_ = tx.Close()
		return slices.Clone(recordedForms.forms)
	}
}

// TestFoldedToASCIIIsComplete checks foldedToASCII against every rune: a
// rune above 0x7f that strings.ToLower turns into ASCII, or whose case
// folding orbit (Go's regexp) has an ASCII letter, is in it with that
// letter, and RE2's (?i) (the @rx engine) matches an ASCII letter with no
// other rune of the Basic Multilingual Plane than Go's regexp does.
func TestFoldedToASCIIIsComplete(t *testing.T) {
	got := map[rune]byte{}
	for _, f := range foldedToASCII {
		r, _ := utf8.DecodeRuneInString(f.utf8)
		got[r] = f.letter
	}
	want := map[rune]byte{}
	folds := map[rune]bool{} // those that fold with an ASCII letter
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if l := strings.ToLower(string(r)); strings.IndexFunc(l, func(c rune) bool { return c < utf8.RuneSelf }) >= 0 {
			if len(l) != 1 {
				t.Errorf("strings.ToLower(%U) is %q: ASCII with more", r, l)
			}
			want[r] = l[0]
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				want[r] = byte(unicode.ToLower(f))
				folds[r] = true
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("foldedToASCII is %v, want %v", got, want)
	}
	re := re2.MustCompile(`(?i)^[a-z]$`)
	for r := rune(utf8.RuneSelf); r <= 0xffff; r++ {
		if utf8.ValidRune(r) && re.MatchString(string(r)) != folds[r] {
			t.Errorf("RE2: (?i)[a-z] matches %U: %v, Go's folding: %v", r, !folds[r], folds[r])
		}
	}
}

// squeezeByRunes is squeezed text made by reading s rune by rune, as
// UTF-8 decoding does (squeezeText reads bytes one at a time).
func squeezeByRunes(s string) string {
	var b []byte
	for _, r := range s {
		switch {
		case r == '\u017F':
			b = append(b, 's')
		case r == '\u212A':
			b = append(b, 'k')
		case r == '\u0130':
			b = append(b, 'i')
		case r >= utf8.RuneSelf || squeezedOut(byte(r)):
		case 'A' <= r && r <= 'Z':
			b = append(b, byte(r)+'a'-'A')
		default:
			b = append(b, byte(r))
		}
	}
	return string(b)
}

// TestSqueezeTextReadsRunes: squeezeText and squeezeByte (a byte at a
// time) give the text squeezeByRunes gives, on random bytes made mostly of
// the bytes of the runes foldedToASCII has, other UTF-8 and ASCII.
func TestSqueezeTextReadsRunes(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	pieces := []string{"\xc4", "\xc5", "\xe2", "\x84", "\xaa", "\xb0", "\xbf", "\xc3", "\xf0\x9f", "\u017F", "\u212A",
		"\u0130", "\u0131", "\u00e9", "a", "Z", " ", "+", "\t", "%", "\x00", "\xff"}
	n := 20000
	if raceEnabled {
		n = 2000
	}
	for range n {
		var b strings.Builder
		for range rng.Intn(12) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		text := b.String()
		want := squeezeByRunes(text)
		if got := string(squeezeText(nil, text)); got != want {
			t.Fatalf("squeezeText(%q) = %q, want %q", text, got, want)
		}
		var fold foldScanner
		var got []byte
		for i := 0; i < len(text); i++ {
			got = squeezeByte(got, text[i], &fold)
		}
		if string(got) != want {
			t.Fatalf("squeezeByte over %q gives %q, want %q", text, got, want)
		}
	}
}

// TestSqueezeKeepsUnderWhitespaceAndCase: the transformations of
// squeezeKeeps (Coraza's own) give text that squeezes as their input
// does, for every rune alone and random bytes made mostly of the bytes
// of foldedToASCII's runes, whitespace runes and invalid UTF-8: formsMeet
// does not make those forms.
func TestSqueezeKeepsUnderWhitespaceAndCase(t *testing.T) {
	var texts []string
	step := 1
	if raceEnabled {
		step = 17
	}
	for r := rune(0); r <= unicode.MaxRune; r += rune(step) {
		if utf8.ValidRune(r) {
			texts = append(texts, string(r), "\xc5"+string(r)+"\xbf", "\xe2\x84"+string(r)+"\xaa")
		}
	}
	rng := rand.New(rand.NewSource(14))
	pieces := []string{"\xc4", "\xc5", "\xe2", "\x84", "\xaa", "\xb0", "\xbf", "\u017F", "\u212A", "\u0130", "\u00a0",
		"\u2028", "\u3000", "\u0085", " ", "\t", "+", "a", "Q", "\xff", "\xc2"}
	for range 20000 / step {
		var b strings.Builder
		for range rng.Intn(10) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		texts = append(texts, b.String())
	}
	for name := range squeezeKeeps {
		forms := chainForms(t, []string{name})
		for _, text := range texts {
			out := forms(text)[1]
			if a, b := squeezeText(nil, text), squeezeText(nil, out); string(a) != string(b) {
				t.Fatalf("%s(%q) = %q squeezes to %q, its input to %q", name, text, out, b, a)
			}
		}
	}
}

// TestBeforeDecodingIsTheSteps: for plain values, beforeDecoding gives
// what the chain's transformations before base64Decode make (Coraza's
// own, run as the engine runs them with and without multiMatch), for
// chains of every transformation base64Before allows, in random orders.
func TestBeforeDecodingIsTheSteps(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	var before []string
	for name := range base64Before {
		before = append(before, name)
	}
	slices.Sort(before)
	var rules strings.Builder
	for id := 1; id <= 60; id++ {
		chain := []string{}
		for n := rng.Intn(5); n > 0; n-- {
			chain = append(chain, before[rng.Intn(len(before))])
		}
		chain = append(chain, "base64Decode", "lowercase")
		mm := ""
		if id%2 == 0 {
			mm = ",multiMatch"
		}
		fmt.Fprintf(&rules, "SecRule ARGS \"@rx evil\" \"id:%d,phase:2,pass,t:%s%s\"\n", id, strings.Join(chain, ",t:"), mm)
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().WithDirectives(rules.String()))
	if err != nil {
		t.Fatal(err)
	}
	f := newValueFilter()
	waf.(corazaexp.WAFWithValueFilter).SetValueFilter(f.engineFilter())
	if len(f.base64) != 60 {
		t.Fatalf("%d of 60 rules planned as base64 rules", len(f.base64))
	}
	alphabet := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._@:-"
	for range 2000 {
		v := make([]byte, 1+rng.Intn(40))
		for i := range v {
			v[i] = alphabet[rng.Intn(len(alphabet))]
		}
		if !plainValue(string(v)) {
			continue
		}
		for _, b := range f.base64 {
			form := string(v)
			for _, step := range b.steps[:b.decodeAt] {
				if out, changed := step(form); changed || !b.multiMatch {
					form = out
				}
			}
			if got := beforeDecoding(string(v), b.spaces); got != form {
				t.Fatalf("%q: beforeDecoding gives %q, the steps %q", v, got, form)
			}
		}
	}
}
