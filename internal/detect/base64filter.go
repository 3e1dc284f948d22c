package detect

import (
	"regexp/syntax"
	"strings"

	corazaexp "github.com/corazawaf/coraza/v3/experimental"
)

// Rules that decode base64 (the CRS's 934100, 934101 and 934160:
// t:urlDecodeUni,t:jsDecode,t:base64Decode,...) run on every value, plain
// or not: the decoded form of a value can be any bytes. But it cannot be
// long. Coraza's base64Decode decodes from the start of its input up to
// the first byte outside the alphabet (or '=', or a space), skipping CR
// and LF, and gives 3 bytes for every 4 it read: a value whose leading
// run of base64 bytes is shorter than 4n/3 decodes to fewer than n bytes,
// and the transformations after it (decoders and removals) do not make
// it longer, in runes. A pattern whose shortest match has more runes
// cannot match it, and the rule is skipped for that value.
//
// The transformations before base64Decode must leave such runs as they
// are: urlDecode(Uni) and jsDecode change nothing in a value without '%'
// or '\' (but '+', counted as part of a run), removeWhitespace joins runs
// across whitespace (then whitespace does not end a run). Values with
// '%', '\' or a byte above 0x7f are given the rule.

// base64Before are the transformations a planned chain may have before
// base64Decode (see above).
var base64Before = map[string]bool{
	"none": true, "urlDecode": true, "urlDecodeUni": true, "jsDecode": true, "removeWhitespace": true,
}

// base64After are those it may have after: none gives a result of more
// runes than its input (TestBase64Bound runs the CRS chains).
var base64After = map[string]bool{
	"none": true, "urlDecode": true, "urlDecodeUni": true, "jsDecode": true,
	"removeWhitespace": true, "replaceComments": true, "lowercase": true,
}

// base64Slot is a planned base64 rule: its slot, the fewest runes a match
// has, whether whitespace is removed before decoding, and whether the
// rule matches every form of the value (multiMatch: the value and each
// form before decoding too).
type base64Slot struct {
	slot       int
	minRunes   int
	spaces     bool
	multiMatch bool
	// decoded is what the decoded forms of a plain value must hold for
	// the pattern to match one of them (nil: nothing known).
	decoded *decodedCondition
	// steps are the rule's transformations (decodeAt: base64Decode's
	// place), to make the decoded forms of the values squeezeDecoded
	// refuses (formsMeet).
	steps    []func(string) (string, bool)
	decodeAt int
	// lastChange is the last step after decoding whose result squeezes
	// differently from its input (decodeAt if none): the steps after it
	// are squeezeKeeps.
	lastChange int
}

// A decodedCondition is what a plain value's decoded forms need for a
// rule to match one: every literal of all and one of anyOf (when hasAny
// is set), each looked for in the squeezed decoded text (squeezeDecoded).
// Ids are needles of the filter's decoded matcher.
type decodedCondition struct {
	all    []int32
	anyOf  []int32
	hasAny bool
}

// planBase64 plans an @rx rule whose chain decodes base64; -1 when the
// chain or the pattern is not one the bound holds for. The forms of a
// value before decoding (matched under multiMatch) are made by safe
// transformations: for a plain value the rule's slot also gets the
// pattern's plain condition (valuefilter.go), and a value that is not
// plain is given the rule unless it has fewer bytes than a match has
// runes (no form before decoding is longer, in runes, than the value).
func (f *valueFilter) planBase64(r corazaexp.ValueFilterRule) int {
	if r.Operator != "rx" || r.Negated || strings.Contains(r.Argument, "%{") {
		return -1
	}
	decode := -1
	for i, t := range r.Transformations {
		if t == "base64Decode" {
			if decode >= 0 {
				return -1
			}
			decode = i
		}
	}
	if decode < 0 {
		return -1
	}
	spaces := false
	for _, t := range r.Transformations[:decode] {
		if !base64Before[t] {
			return -1
		}
		spaces = spaces || t == "removeWhitespace"
	}
	for _, t := range r.Transformations[decode+1:] {
		if !base64After[t] {
			return -1
		}
	}
	pattern := "(?s)" + r.Argument
	if matchesArbitraryBytes(pattern) {
		return -1 // matched as bytes: the bound is in runes
	}
	minRunes := patternMinRunes(pattern)
	if minRunes < 2 {
		return -1
	}
	// The plain pass sets the slot when the pattern's plain condition
	// holds: always, if it has none.
	c, ok := f.rxCondition(pattern)
	if !ok {
		c = rxCondition{}
	}
	f.conds = append(f.conds, c)
	slot := len(f.conds) - 1
	f.base64 = append(f.base64, base64Slot{slot: slot, minRunes: minRunes, spaces: spaces, multiMatch: r.MultiMatch,
		decoded: f.decodedCondition(pattern), steps: r.Steps, decodeAt: decode,
		lastChange: lastSqueezeChange(r.Transformations, decode)})
	return slot
}

// The decoded forms of a plain value. Its leading run (of letters and
// digits: a plain value has no other base64 byte, nor '%' or '\', so the
// transformations before base64Decode leave it as it is but for its
// spaces) decodes to arbitrary bytes, which the transformations after
// (base64After) change only where they have '%' or '\' (urlDecode,
// jsDecode), '+' (made a space by urlDecode), a '/' and a '*'
// (replaceComments, once whitespace between them is removed), whitespace
// (removed) or a byte above 0x7f (lowercase makes U+212A 'k'); the forms
// after decoding are the decoded bytes and their transformations.
// squeezeDecoded refuses decoded bytes with '%', '\', or both '/' and '*',
// and otherwise drops whitespace and '+', writes each of the three runes
// that case folding or lower-casing makes an ASCII letter (foldedToASCII)
// as that letter, drops the other bytes above 0x7f, and lower-cases the
// rest: every ASCII literal in any decoded form, so squeezed, is then in
// the squeezed text (dropping and folding only join and equate more). No
// transformation after decoding joins the bytes of such a rune across
// others (removeWhitespace, given bytes above 0x7f, turns each invalid
// byte into U+FFFD: a lone lead byte is not joined to what follows the
// whitespace), so only contiguous bytes are read as one. A pattern whose
// literals are missing from the squeezed text cannot match any decoded
// form, whether it folds case or the chain lower-cases (review 12).

// decodedCondition is the condition of pattern's literals on the
// squeezed decoded text; nil when they say nothing.
func (f *valueFilter) decodedCondition(pattern string) *decodedCondition {
	_, all, anyOf, _, ok := corazaexp.RxLiterals(pattern)
	if !ok {
		return nil
	}
	c := &decodedCondition{}
	for _, lit := range all {
		if l, ok := squeezedLiteral(lit); ok {
			c.all = append(c.all, f.decoded.id(l))
		}
	}
	if anyOf != nil {
		c.hasAny = true
		for _, lit := range anyOf {
			l, ok := squeezedLiteral(lit)
			if !ok {
				c.hasAny, c.anyOf = false, nil // the group says nothing we can check
				break
			}
			c.anyOf = append(c.anyOf, f.decoded.id(l))
		}
	}
	if len(c.all) == 0 && !c.hasAny {
		return nil
	}
	return c
}

// squeezedLiteral is lit as it is looked for in squeezed text (dropped
// bytes dropped, lower-cased); false when lit is not ASCII or fewer than
// two bytes are left (a weaker condition: left out).
func squeezedLiteral(lit string) (string, bool) {
	if !isASCII(lit) {
		return "", false
	}
	b := make([]byte, 0, len(lit))
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if squeezedOut(c) {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b), len(b) >= 2
}

// squeezedOut are the bytes squeezed text drops: whitespace
// (unicode.IsSpace's ASCII ones), '+' and the bytes above 0x7f.
func squeezedOut(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == '+' || c >= 0x80
}

// base64Value is the value of a base64 byte; -1 for another byte.
func base64Value(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return int(c - 'A')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 26
	case '0' <= c && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// squeezeDecoded appends to dst the squeezed text of what base64Decode
// makes of the plain value v (spaces: removed before decoding), as
// Coraza's decoder does it: from the start to the first byte outside the
// alphabet (a space, when not removed, ends it too), 3 bytes for 4, and
// 1 or 2 for a last 2 or 3. ok is false when the decoded bytes have '%',
// '\', or both '/' and '*' (replaceComments makes a comment of "/*", and
// of "/ *" after removeWhitespace: review 12).
func squeezeDecoded(v string, spaces bool, dst []byte) (out []byte, ok bool) {
	var x, n int
	var slash, star bool
	var fold foldScanner
	emit := func(c byte) bool {
		switch c {
		case '%', '\\':
			return false
		case '/':
			slash = true
		case '*':
			star = true
		}
		if slash && star {
			return false
		}
		dst = squeezeByte(dst, c, &fold)
		return true
	}
	for i := 0; i < len(v); i++ {
		if spaces && v[i] == ' ' {
			continue
		}
		d := base64Value(v[i])
		if d < 0 {
			break
		}
		x = x<<6 | d
		if n++; n == 4 {
			if !emit(byte(x>>16)) || !emit(byte(x>>8)) || !emit(byte(x)) {
				return dst, false
			}
			x, n = 0, 0
		}
	}
	switch n {
	case 2:
		x <<= 12
		if !emit(byte(x >> 16)) {
			return dst, false
		}
	case 3:
		x <<= 6
		if !emit(byte(x>>16)) || !emit(byte(x>>8)) {
			return dst, false
		}
	}
	return dst, true
}

// foldedToASCII are the runes above 0x7f that become an ASCII letter in a
// match: by a pattern's case folding ((?i): Unicode simple folding, in
// RE2 and Go's regexp) or by t:lowercase (strings.ToLower), as UTF-8,
// with that letter. TestFoldedToASCIIIsComplete checks every rune.
var foldedToASCII = [...]struct {
	utf8   string
	letter byte
}{
	{"\u0130", 'i'}, // LATIN CAPITAL LETTER I WITH DOT ABOVE: lower-cased, 'i'
	{"\u017F", 's'}, // LATIN SMALL LETTER LONG S: folds with 's'
	{"\u212A", 'k'}, // KELVIN SIGN: folds with 'k', lower-cased 'k'
}

// A foldScanner finds the runes of foldedToASCII in a stream of bytes
// above 0x7f, as UTF-8 decoding reads them (none of their first bytes
// continues another rune, so a rune's bytes are its wherever they are):
// state is the prefix of one read so far, a state of foldNext.
type foldScanner struct{ state uint8 }

// foldNext and foldLetter are the scanner's moves on a byte above 0x7f
// (indexed by the byte - 0x80): the next state, and the letter of the
// rune the byte ends (0: none). Made from foldedToASCII.
var foldNext, foldLetter = foldMoves()

func foldMoves() (next [][128]uint8, letter [][128]byte) {
	prefixes := []string{""} // state i has read prefixes[i]
	state := map[string]uint8{"": 0}
	runes := map[string]byte{}
	for _, f := range foldedToASCII {
		runes[f.utf8] = f.letter
		for n := 1; n < len(f.utf8); n++ {
			if _, ok := state[f.utf8[:n]]; !ok {
				state[f.utf8[:n]] = uint8(len(prefixes))
				prefixes = append(prefixes, f.utf8[:n])
			}
		}
	}
	next = make([][128]uint8, len(prefixes))
	letter = make([][128]byte, len(prefixes))
	for i, p := range prefixes {
		for c := 0x80; c < 0x100; c++ {
			// The longest end of what was read that is a rune or the
			// start of one.
			for read := p + string([]byte{byte(c)}); read != ""; read = read[1:] {
				if l, ok := runes[read]; ok {
					letter[i][c-0x80] = l
					break
				}
				if s, ok := state[read]; ok {
					next[i][c-0x80] = s
					break
				}
			}
		}
	}
	return next, letter
}

// next takes the next byte above 0x7f; the letter of the rune it ends, or
// 0.
func (s *foldScanner) next(c byte) byte {
	l := foldLetter[s.state][c-0x80]
	s.state = foldNext[s.state][c-0x80]
	return l
}

// squeezeByte appends the next byte c of a text to dst as the text's
// squeezed form has it (fold: the runes being read).
func squeezeByte(dst []byte, c byte, fold *foldScanner) []byte {
	if c >= 0x80 {
		if letter := fold.next(c); letter != 0 {
			dst = append(dst, letter)
		}
		return dst
	}
	fold.state = 0
	if squeezedOut(c) {
		return dst
	}
	if 'A' <= c && c <= 'Z' {
		c += 'a' - 'A'
	}
	return append(dst, c)
}

// squeezeText appends text squeezed to dst: squeezeByte over its bytes,
// written out (a call a byte costs formsMeet's kilobytes;
// TestSqueezeTextReadsRunes holds the two to one answer).
func squeezeText(dst []byte, text string) []byte {
	var fold foldScanner
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 0x80 {
			if letter := fold.next(c); letter != 0 {
				dst = append(dst, letter)
			}
			continue
		}
		fold.state = 0
		switch {
		case 'a' <= c && c <= 'z':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case squeezedOut(c):
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// squeezeKeeps are the transformations whose result squeezes as their
// input does (TestSqueezeKeepsUnderWhitespaceAndCase): they remove
// whitespace or change case, which the squeeze drops or folds itself.
var squeezeKeeps = map[string]bool{"none": true, "removeWhitespace": true, "lowercase": true}

// lastSqueezeChange is the last of chain's transformations after the one
// at decode that is not in squeezeKeeps; decode if none.
func lastSqueezeChange(chain []string, decode int) int {
	last := decode
	for i := decode + 1; i < len(chain); i++ {
		if !squeezeKeeps[chain[i]] {
			last = i
		}
	}
	return last
}

// formSeparator ends each form in formsMeet's text: no needle (squeezed
// literals are ASCII) runs across it.
const formSeparator = 0x80

// formsMeet reports whether a plain value's forms from decoding on, made
// by the rule's own transformations as the engine makes them, and
// squeezed, meet b's condition. It answers for the values squeezeDecoded
// refuses: their decoded bytes have '%', '\' or a comment, which the
// transformations after decoding change, so one squeezed text does not
// stand for every form; each form does for itself.
//
// Without multiMatch the rule matches the last step's result. With it,
// the engine takes a step's result only when the transformation reports
// a change, and matches each (review 13: removeWhitespace writes invalid
// UTF-8 as U+FFFD but reports no change without whitespace, and the next
// decoder reads the raw bytes). The forms after lastChange squeeze as
// its does: they are not made. b has a decoded condition (classifyBase64
// asks only then).
func (f *valueFilter) formsMeet(v string, b *base64Slot, sc *classifyScratch) bool {
	text := sc.forms[:0]
	form := beforeDecoding(v, b.spaces)
	for i := b.decodeAt; i <= b.lastChange; i++ {
		out, changed := b.steps[i](form)
		switch {
		case !b.multiMatch:
			form = out
		case changed:
			form = out
			text = append(squeezeText(text, form), formSeparator)
		case i == b.decodeAt:
			// No decoded form: what follows is made from the value as
			// it is.
			text = append(squeezeText(text, form), formSeparator)
		}
	}
	if !b.multiMatch {
		text = append(squeezeText(text, form), formSeparator)
	}
	sc.forms = text
	sc.formsHits = f.decodedAC.find(text, sc.formsHit, sc.formsHits[:0])
	met := b.decoded.metBy(sc.formsHit)
	for _, id := range sc.formsHits {
		sc.formsHit[id>>6] = 0
	}
	return met
}

// beforeDecoding is what the transformations before base64Decode
// (base64Before) make of the plain value v: v, without its spaces where
// they are removed (a plain value has no '%', '+' or '\' for the decoders;
// TestBeforeDecodingIsTheSteps).
func beforeDecoding(v string, spaces bool) string {
	if spaces {
		return strings.ReplaceAll(v, " ", "")
	}
	return v
}

// metBy reports whether squeezed text holding the needles of hit meets c.
func (c *decodedCondition) metBy(hit []uint64) bool {
	return literalsHit(c.all, c.anyOf, c.hasAny, hit)
}

// patternMinRunes is the fewest runes a match of pattern (Go syntax) has;
// 0 if it does not parse.
func patternMinRunes(pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0
	}
	return minRunes(re.Simplify())
}

func minRunes(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minRunes(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minRunes(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minRunes(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if m := minRunes(s); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	case syntax.OpNoMatch:
		return 1 << 30
	default: // empty match, assertions, star, quest
		return 0
	}
}

// base64Run is the most bytes base64Decode can read from v, after the
// transformations before it, and whether that is known (false: v has
// '%', '\' or a byte above 0x7f). spaces: whitespace is removed first.
// Coraza's base64Decode (the strict one, not base64DecodeExt) stops at
// the first byte outside the alphabet, '=' and ' ' included, skipping
// only CR and LF: what it reads is v's leading run, and a run after the
// first byte that ends it is never decoded. '+' is counted in the run
// although urlDecode turns it into a space, which ends decoding.
func base64Run(v string, spaces bool) (int, bool) {
	run := 0
	ended := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '%' || c == '\\' || c >= 0x80:
			return 0, false
		case ended:
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '+', c == '/':
			run++
		case c == '\r' || c == '\n':
			// skipped by the decoder
		case spaces && (c == ' ' || c == '\t' || c == '\v' || c == '\f'):
			// removed before decoding
		default:
			ended = true // the decoder stops here
		}
	}
	return run, true
}

// plainBase64Run is base64Run of a plain value (known: it has no '%',
// '\' or byte above 0x7f), read only up to the end of its leading run.
func plainBase64Run(v string, spaces bool) int {
	run := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			run++
		case spaces && c == ' ':
		default:
			return run
		}
	}
	return run
}

// classifyBase64 answers for the base64 rules: for a plain value (the
// plain pass has set the slots whose condition holds; sc its scratch) it
// sets the slot of each rule whose decoded form may be long enough and,
// when the rule's literals say something, holds them (squeezeDecoded);
// for another value (every slot set) it clears the slot of each rule that
// can match neither the decoded form nor, under multiMatch, the forms
// before it.
func (f *valueFilter) classifyBase64(v string, plain bool, mayMatch []uint64, sc *classifyScratch) {
	var run [2]int
	var known, done, squeezed, unknown [2]bool
	var hits [2][]int32
	for _, b := range f.base64 {
		k := 0
		if b.spaces {
			k = 1
		}
		if !done[k] {
			if plain {
				run[k], known[k] = plainBase64Run(v, b.spaces), true
			} else {
				run[k], known[k] = base64Run(v, b.spaces)
			}
			done[k] = true
		}
		decoded := !known[k] || run[k]*3/4 >= b.minRunes
		if decoded && plain && b.decoded != nil {
			if !squeezed[k] {
				squeezed[k] = true
				var ok bool
				sc.decoded, ok = squeezeDecoded(v, b.spaces, sc.decoded[:0])
				unknown[k] = !ok
				if ok {
					hits[k] = f.decodedAC.find(sc.decoded, sc.decodedHit[k], sc.decodedHits[k][:0])
					sc.decodedHits[k] = hits[k]
				}
			}
			if unknown[k] {
				decoded = f.formsMeet(v, &b, sc)
			} else {
				decoded = b.decoded.metBy(sc.decodedHit[k])
			}
		}
		bit := uint64(1) << (b.slot & 63)
		switch {
		case decoded:
			mayMatch[b.slot>>6] |= bit
		case plain:
			// the plain condition's answer stands
		case b.multiMatch && len(v) >= b.minRunes:
		default:
			mayMatch[b.slot>>6] &^= bit
		}
	}
	for k := range hits {
		for _, id := range hits[k] {
			sc.decodedHit[k][id>>6] = 0
		}
	}
}
