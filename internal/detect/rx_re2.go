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
	re *re2.Regexp
}

var (
	re2Once  sync.Once
	re2On    atomic.Bool
	re2Cache sync.Map // pattern -> *re2.Regexp, shared by every WAF built
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
		return &re2rx{re: v.(*re2.Regexp)}, nil
	}
	re, err := compile(data)
	if err != nil {
		return nil, fmt.Errorf("compiling %q: %w", options.Arguments, err)
	}
	re2Cache.Store(data, re)
	return &re2rx{re: re}, nil
}

// Evaluate matches value, capturing up to 9 groups when the rule captures.
func (o *re2rx) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if !tx.Capturing() {
		return o.re.MatchString(value)
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
