package detect

import (
	"fmt"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	lru "github.com/hashicorp/golang-lru/v2"
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
	// noMatch remembers short values the pattern did not match: the same
	// argument names, cookie names and header values come with nearly
	// every request, and a look-up costs a fraction of a call into RE2
	// (BenchmarkRxOperator). A regex's answer for a value never changes,
	// so a remembered miss is exact; the cache is bounded (least recently
	// used out) and only ever turns a call into "no match" for a value
	// RE2 itself said does not match.
	noMatch *lru.Cache[string, struct{}]
}

const (
	// noMatchMaxLen is the longest value remembered: most values a CRS
	// rule sees on a GET (names, short arguments, header values) are
	// shorter; longer ones repeat less and cost RE2 little per byte.
	noMatchMaxLen = 128
	// noMatchEntries bounds each pattern's memory of misses (about 300
	// patterns at most are used on the request side, so at worst some
	// 300 × 256 × 200 bytes ≈ 15 MB when every cache is full of long
	// values).
	noMatchEntries = 256
)

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
	v, _ := re2Cache.LoadOrStore(data, p)
	return &re2rx{v.(*rxPattern)}, nil
}

func compileRxPattern(data string, compile func(string) (*re2.Regexp, error)) (*rxPattern, error) {
	re, err := compile(data)
	if err != nil {
		return nil, err
	}
	miss, err := lru.New[string, struct{}](noMatchEntries)
	if err != nil {
		return nil, err
	}
	return &rxPattern{re: re, emptyMatches: re.MatchString(""), noMatch: miss}, nil
}

// Evaluate matches value, capturing up to 9 groups when the rule captures.
func (o *re2rx) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if !o.matches(value) {
		return false
	}
	if !tx.Capturing() {
		return true
	}
	match := o.re.FindStringSubmatchIndex(value)
	if match == nil {
		return false
	}
	for i := 0; i < len(match)/2 && i < 9; i++ {
		if match[2*i] >= 0 {
			tx.CaptureField(i, value[match[2*i]:match[2*i+1]])
		} else {
			tx.CaptureField(i, "")
		}
	}
	return true
}

// matches reports whether the pattern matches value, from what is known
// when it can: most values match no rule, so the search for captures
// runs only once RE2 has said there is a match.
func (p *rxPattern) matches(value string) bool {
	switch {
	case value == "":
		return p.emptyMatches
	case len(value) > noMatchMaxLen:
		return p.re.MatchString(value)
	}
	if _, ok := p.noMatch.Get(value); ok {
		return false
	}
	if p.re.MatchString(value) {
		return true
	}
	// A copy: value may be a slice of a large request body.
	p.noMatch.Add(strings.Clone(value), struct{}{})
	return false
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
