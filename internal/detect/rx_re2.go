package detect

import (
	"fmt"
	"hash/maphash"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	corazaexp "github.com/corazawaf/coraza/v3/experimental"
	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/wasilibs/go-re2"
	"github.com/wasilibs/go-re2/experimental"
)

// re2rx is Coraza's @rx operator on RE2 (github.com/wasilibs/go-re2: the
// C++ RE2 through cgo with the re2_cgo build tag, else compiled to
// WebAssembly, translated to Go). CRS patterns are RE2 syntax already.
// Patterns get (?s) but not Coraza's default (?m): CRS is written for
// PCRE without multi-line mode, where ^ and $ anchor the whole value (a
// line break in a textarea must not make an anchored pattern match), as
// Coraza's coraza.rule.no_regex_multiline tag does and its next major
// version will by default. The CRS regression pass rate is the same.
type re2rx struct {
	*rxPattern
}

// rxPattern is one compiled pattern, shared by every rule (in every WAF
// built) that uses it, with what is known about values that do not match.
type rxPattern struct {
	re *re2.Regexp
	// emptyMatches is whether the empty value matches, decided once.
	emptyMatches bool
	// bytes is whether the pattern matches bytes (Latin-1, see
	// matchesArbitraryBytes): its values are not read as runes (asRunes).
	bytes bool
	// matchesAll is whether the pattern matches every UTF-8 value whole,
	// without groups ("^.*$" with (?s)): CRS 920450 runs it on every
	// header name, capturing, to copy the name into TX. Evaluate answers
	// and captures such values without RE2 (matches does not look).
	matchesAll bool
	// mayMatch is Coraza's literal pre-filter for the pattern (nil: none
	// useful): false for values too short for it or missing a literal
	// every match needs, which RE2 would not match either. Most values
	// meet most patterns without their keywords ("union", "<script",
	// "etc/passwd"), so this skips RE2 for them, new or not.
	mayMatch func(string) bool
	// noMatch remembers short values the pattern did not match: the same
	// argument names, cookie names and header values come with nearly
	// every request, and a look-up costs a fraction of a call into RE2
	// (BenchmarkRxOperator). A regex's answer for a value never changes,
	// so a remembered miss is exact: it only ever answers "no match" for
	// a value RE2 itself did not match.
	noMatch missCache
}

const (
	// noMatchMaxLen is the longest value remembered: most values a CRS
	// rule sees on a GET (names, short arguments, header values) are
	// shorter; longer ones repeat less and cost RE2 little per byte.
	noMatchMaxLen = 128
	// noMatchSlots is the size of each pattern's memory of misses: a
	// few thousand names and values across the CRS's patterns, with
	// slots small enough (24 bytes) that looking up a value never seen
	// costs next to nothing beside RE2 (BenchmarkRxOperator, operator-new).
	// At worst, full of the longest values, some 20 KB a pattern.
	noMatchSlots = 128
)

// missCache is a fixed-size set of strings with two candidate slots per
// value (picked by two halves of its hash, seeded at random per pattern),
// so two values that share one slot, such as two header values one rule
// reads on every request, can both be kept. A value is kept only when it
// comes back in another request (each slot remembers the last value
// offered and the request it came in), so values that never repeat across
// requests, such as the fields of a JSON body, cost a hash and a few
// atomic operations, not a copy. The request path takes no lock, and
// memory stays bounded whatever clients send (at most noMatchSlots values
// of noMatchMaxLen bytes per pattern; the request-side CRS uses a few
// hundred patterns). A hit compares the whole string, so the set never
// answers for a value it does not hold, even when slots race.
type missCache struct {
	seed  maphash.Seed
	slots [noMatchSlots]missSlot
}

// missSlot is one slot, its fields side by side so a look-up touches one
// cache line until the hashes agree.
type missSlot struct {
	hash  atomic.Uint64 // hash of value (0: empty)
	offer atomic.Uint64 // the last offer: its value's hash, low bits its request's
	value atomic.Pointer[string]
}

// offerTxBits of an offer word identify the request that made it.
const offerTxBits = 16

// candidates are the two slots a value with hash h may live in (bit 0 of
// h is always set, so it picks neither).
func (c *missCache) candidates(h uint64) (*missSlot, *missSlot) {
	return &c.slots[(h>>1)%noMatchSlots], &c.slots[(h>>32)%noMatchSlots]
}

func (c *missCache) has(v string) (bool, uint64) {
	h := maphash.String(c.seed, v) | 1 // never 0, the empty slot
	a, b := c.candidates(h)
	return a.holds(v, h) || b.holds(v, h), h
}

func (s *missSlot) holds(v string, h uint64) bool {
	if s.hash.Load() != h {
		return false
	}
	p := s.value.Load()
	return p != nil && *p == v
}

// add offers v, whose hash is h, from transaction txID; it is kept (a
// copy: v may be a slice of a large request body) if the last value
// offered to either of its slots was v from another transaction, in an
// empty candidate slot if there is one. Offers compare hashes only, so a
// collision can at worst keep or skip a value early: what is kept is
// still a value RE2 did not match.
func (c *missCache) add(v string, h uint64, txID string) {
	const txMask = 1<<offerTxBits - 1
	offer := h&^txMask | maphash.String(c.seed, txID)&txMask
	a, b := c.candidates(h)
	if !a.seenElsewhere(h, offer) && !b.seenElsewhere(h, offer) {
		return
	}
	s := a
	if a.hash.Load() != 0 {
		s = b // empty, or both taken: a value whose first choice is busy still gets in
	}
	kept := strings.Clone(v) // a new variable: v itself must not escape
	s.value.Store(&kept)
	s.hash.Store(h)
}

// seenElsewhere records offer in the slot and reports whether the one it
// replaced was the same value's from another request.
func (s *missSlot) seenElsewhere(h, offer uint64) bool {
	const txMask = 1<<offerTxBits - 1
	prev := s.offer.Swap(offer)
	return prev&^txMask == h&^txMask && prev != offer
}

var (
	re2Once  sync.Once
	re2On    atomic.Bool
	re2Cache sync.Map // pattern -> *rxPattern, shared by every WAF built
)

// useRE2 makes every WAF built from now on evaluate @rx with RE2. Coraza
// resolves operators while parsing, so WAFs built before keep theirs.
func useRE2() {
	re2Once.Do(func() {
		plugins.RegisterOperator("rx", newRE2rx)
		re2On.Store(true)
	})
}

// re2Registered reports whether useRE2 has run in this process.
func re2Registered() bool { return re2On.Load() }

func newRE2rx(options plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	data := "(?s)" + options.Arguments
	compile := re2.Compile
	if matchesArbitraryBytes(data) {
		// As Coraza does (with rsc.io/binaryregexp): a pattern for bytes
		// that are not UTF-8 matches bytes, without the flags.
		data, compile = options.Arguments, experimental.CompileLatin1
	} else if _, err := syntax.Parse(data, syntax.Perl); err != nil {
		// Go's parser words the error as Coraza would, and RE2 would
		// also print it to stderr.
		return nil, err
	}
	if v, ok := re2Cache.Load(data); ok {
		return &re2rx{v.(*rxPattern)}, nil
	}
	p, err := compileRxPattern(data, compile)
	if err != nil {
		return nil, fmt.Errorf("compiling %q: %w", options.Arguments, err)
	}
	if data != options.Arguments { // UTF-8 patterns: the pre-filter reasons in runes
		p.mayMatch = corazaexp.RxPrefilter(data)
	} else {
		p.bytes = true
	}
	v, _ := re2Cache.LoadOrStore(data, p)
	return &re2rx{v.(*rxPattern)}, nil
}

func compileRxPattern(data string, compile func(string) (*re2.Regexp, error)) (*rxPattern, error) {
	re, err := compile(data)
	if err != nil {
		return nil, err
	}
	p := &rxPattern{re: re, emptyMatches: re.MatchString(""), matchesAll: matchesEveryValue(data)}
	p.noMatch.seed = maphash.MakeSeed()
	return p, nil
}

// Evaluate matches value, capturing up to 9 groups when the rule captures.
func (o *re2rx) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if o.matchesAll && utf8.ValidString(value) {
		if tx.Capturing() {
			tx.CaptureField(0, value)
		}
		return true
	}
	if !o.matches(tx, value) {
		return false
	}
	if !tx.Capturing() {
		return true
	}
	text, runes := o.readAs(value)
	match := o.re.FindStringSubmatchIndex(text)
	if match == nil {
		return false
	}
	for i := 0; i < len(match)/2 && i < 9; i++ {
		switch {
		case match[2*i] < 0:
			tx.CaptureField(i, "")
		case runes:
			tx.CaptureField(i, value[valueOffset(value, match[2*i]):valueOffset(value, match[2*i+1])])
		default:
			tx.CaptureField(i, value[match[2*i]:match[2*i+1]])
		}
	}
	return true
}

// asRunes is value as Go's regexp (the released Coraza's @rx) and Django
// (UTF-8, errors="replace") read it: each byte that is not part of a
// UTF-8 sequence is U+FFFD, which '.', a negated class or '\W' matches.
// RE2 matches no such byte with any of them, so one 0xFF byte in an
// attack (in a URL path, a comment, a string literal) kept every pattern
// spanning it from matching (review 7, finding 1).
func asRunes(value string) string {
	var b strings.Builder
	b.Grow(len(value) + 16)
	for i := 0; i < len(value); {
		r, n := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(value[i : i+n])
		}
		i += n
	}
	return b.String()
}

// valueOffset is the offset in value of the rune that starts at off in
// asRunes(value) (len(value) at its end): captures are the value's own
// bytes. A walk from the start, for the few captures of a match.
func valueOffset(value string, off int) int {
	at := 0
	for i := 0; i < len(value); {
		if at >= off {
			return i
		}
		r, n := utf8.DecodeRuneInString(value[i:])
		if r == utf8.RuneError && n == 1 {
			at += 3
		} else {
			at += n
		}
		i += n
	}
	return len(value)
}

// matches reports whether the pattern matches value, from what is known
// when it can: most values match no rule, so the search for captures
// runs only once RE2 has said there is a match.
func (p *rxPattern) matches(tx plugintypes.TransactionState, value string) bool {
	switch {
	case value == "":
		return p.emptyMatches
	case p.mayMatch != nil && !p.mayMatch(value):
		return false
	case len(value) > noMatchMaxLen:
		return p.match(value)
	}
	known, h := p.noMatch.has(value)
	if known {
		return false
	}
	if p.match(value) {
		return true
	}
	p.noMatch.add(value, h, tx.ID())
	return false
}

// match runs RE2 on value read as Go's regexp reads it (readAs).
func (p *rxPattern) match(value string) bool {
	text, _ := p.readAs(value)
	return p.re.MatchString(text)
}

// readAs is the text RE2 searches for value: value itself, or, for a
// UTF-8 pattern and a value that is not UTF-8, asRunes(value) (runes
// true: offsets in it are not the value's).
func (p *rxPattern) readAs(value string) (text string, runes bool) {
	if p.bytes || utf8.ValidString(value) {
		return value, false
	}
	return asRunes(value), true
}

// matchesEveryValue reports whether a UTF-8 pattern is "^.*$" in
// single-line mode, or the same written otherwise: the whole text, any
// runes, no groups. It matches every valid UTF-8 value, all of it.
func matchesEveryValue(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 {
		return false
	}
	star := re.Sub[1]
	return re.Sub[0].Op == syntax.OpBeginText && re.Sub[2].Op == syntax.OpEndText &&
		star.Op == syntax.OpStar && star.Sub[0].Op == syntax.OpAnyChar
}

// matchesArbitraryBytes reports whether a pattern's \x escapes spell bytes
// that are not valid UTF-8 (Coraza's rule for choosing a byte matcher,
// internal/operators/rx.go, Apache-2.0).
func matchesArbitraryBytes(expr string) bool {
	decoded := make([]byte, 0, len(expr))
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c != '\\' {
			decoded = append(decoded, c)
			continue
		}
		if i+3 >= len(expr) {
			decoded = append(decoded, expr[i:]...)
			break
		}
		if expr[i+1] != 'x' {
			decoded = append(decoded, expr[i])
			continue
		}
		sub := expr[i:]
		advance := 3
		if len(sub) >= 6 && sub[2] == '{' {
			if end := strings.IndexByte(sub, '}'); end != -1 {
				sub = `\x` + sub[3:end]
				advance = end
			}
		}
		v, mb, _, err := strconv.UnquoteChar(sub, 0)
		if err != nil || mb {
			decoded = append(decoded, expr[i])
			continue
		}
		decoded = append(decoded, byte(v))
		i += advance
	}
	return !utf8.Valid(decoded)
}
