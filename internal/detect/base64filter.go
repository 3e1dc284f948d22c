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
// and LF, and gives 3 bytes for every 4 it read: a value whose runs of
// base64 bytes are all shorter than 4n/3 decodes to fewer than n bytes,
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
	f.base64 = append(f.base64, base64Slot{slot: slot, minRunes: minRunes, spaces: spaces, multiMatch: r.MultiMatch})
	return slot
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
func base64Run(v string, spaces bool) (int, bool) {
	longest, run := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '%' || c == '\\' || c >= 0x80:
			return 0, false
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '+', c == '/':
			run++
			longest = max(longest, run)
		case c == '\r' || c == '\n':
			// skipped by the decoder
		case spaces && (c == ' ' || c == '\t' || c == '\v' || c == '\f'):
			// removed before decoding
		default:
			run = 0
		}
	}
	return longest, true
}

// classifyBase64 answers for the base64 rules: for a plain value (the
// plain pass has set the slots whose condition holds) it sets the slot
// of each rule whose decoded form may be long enough; for another value
// (every slot set) it clears the slot of each rule that can match
// neither the decoded form nor, under multiMatch, the forms before it.
func (f *valueFilter) classifyBase64(v string, plain bool, mayMatch []uint64) {
	var run [2]int
	var known, done [2]bool
	for _, b := range f.base64 {
		k := 0
		if b.spaces {
			k = 1
		}
		if !done[k] {
			run[k], known[k] = base64Run(v, b.spaces)
			done[k] = true
		}
		decoded := !known[k] || run[k]*3/4 >= b.minRunes
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
}
