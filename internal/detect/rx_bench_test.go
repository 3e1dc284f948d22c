package detect

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/wasilibs/go-re2"
)

// crsRxPatterns are the @rx patterns of the request-side CRS attack files
// (920-944) that compile with Go's regexp and RE2 alike.
func crsRxPatterns(tb testing.TB) []string {
	tb.Helper()
	out := rxPatterns(tb, crsFileTexts(tb, "@owasp_crs/REQUEST-9[2-4]*.conf")...)
	if len(out) < 100 {
		tb.Fatalf("found %d CRS patterns, want 100 or more", len(out))
	}
	return out
}

// crsFileTexts are the contents of the CRS files matching glob.
func crsFileTexts(tb testing.TB, glob string) []string {
	tb.Helper()
	files, err := fs.Glob(coreruleset.FS, glob)
	if err != nil || len(files) == 0 {
		tb.Fatalf("CRS files %s: %v", glob, err)
	}
	var texts []string
	for _, f := range files {
		data, err := fs.ReadFile(coreruleset.FS, f)
		if err != nil {
			tb.Fatal(err)
		}
		texts = append(texts, string(data))
	}
	return texts
}

// rxPatterns are the distinct @rx patterns in SecLang texts that compile
// with Go's regexp (and so with RE2), without byte patterns.
func rxPatterns(tb testing.TB, texts ...string) []string {
	tb.Helper()
	rx := regexp.MustCompile(`"@rx ((?:[^"\\]|\\.)*)"`)
	seen := map[string]bool{}
	var out []string
	for _, text := range texts {
		for _, m := range rx.FindAllStringSubmatch(text, -1) {
			p := strings.ReplaceAll(m[1], `\"`, `"`)
			if seen[p] || matchesArbitraryBytes(p) {
				continue
			}
			if _, err := regexp.Compile("(?s)" + p); err != nil {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// benignValue is a value of n bytes such as a form or header carries.
func benignValue(n int, salt int) string {
	s := strings.Repeat("the union station stop is served on sundays ", n/40+2)
	if salt < 0 {
		return s[:n]
	}
	tag := strconv.Itoa(salt)
	if len(tag) > n {
		return tag[len(tag)-n:]
	}
	return s[:n-len(tag)] + tag
}

// BenchmarkRxOperator compares, per value length, what matching one value
// against one CRS pattern costs (ns/match, averaged over every request-side
// CRS pattern): Go's regexp, RE2 (WebAssembly, or cgo with -tags re2_cgo)
// called directly, and Parapet's @rx operator when the value was seen
// before (a remembered miss) and when every value is new.
//
//	go test -run '^$' -bench RxOperator -benchtime 200x ./internal/detect/
func BenchmarkRxOperator(b *testing.B) {
	patterns := crsRxPatterns(b)
	std := make([]*regexp.Regexp, len(patterns))
	r2 := make([]*re2.Regexp, len(patterns))
	ops := make([]plugintypes.Operator, len(patterns))
	for i, p := range patterns {
		std[i] = regexp.MustCompile("(?s)" + p)
		var err error
		if r2[i], err = re2.Compile("(?s)" + p); err != nil {
			b.Fatal(err)
		}
		if ops[i], err = newRE2rx(plugintypes.OperatorOptions{Arguments: p}); err != nil {
			b.Fatal(err)
		}
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig())
	if err != nil {
		b.Fatal(err)
	}
	// Two requests taking turns: a miss is remembered once a value comes
	// back in another request.
	txs := [2]plugintypes.TransactionState{
		waf.NewTransaction().(plugintypes.TransactionState),
		waf.NewTransaction().(plugintypes.TransactionState),
	}

	perMatch := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/match")
	}
	for _, n := range []int{2, 8, 16, 32, 64, 128, 512} {
		v := benignValue(n, -1)
		b.Run(fmt.Sprintf("len=%d/go-regexp", n), func(b *testing.B) {
			for b.Loop() {
				for _, re := range std {
					re.MatchString(v)
				}
			}
			perMatch(b, len(std))
		})
		b.Run(fmt.Sprintf("len=%d/re2", n), func(b *testing.B) {
			for b.Loop() {
				for _, re := range r2 {
					re.MatchString(v)
				}
			}
			perMatch(b, len(r2))
		})
		// RE2 on a new value each round, as operator-new below.
		salt := 0
		b.Run(fmt.Sprintf("len=%d/re2-new", n), func(b *testing.B) {
			for b.Loop() {
				salt++
				v := benignValue(n, salt)
				for _, re := range r2 {
					re.MatchString(v)
				}
			}
			perMatch(b, len(r2))
		})
		b.Run(fmt.Sprintf("len=%d/operator-seen", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				for _, op := range ops {
					op.Evaluate(txs[i%2], v)
				}
			}
			perMatch(b, len(ops))
		})
		// Every value new: the price of remembering misses when nothing
		// repeats (values over noMatchMaxLen are not remembered).
		salt = 1 << 20
		b.Run(fmt.Sprintf("len=%d/operator-new", n), func(b *testing.B) {
			for b.Loop() {
				salt++
				v := benignValue(n, salt)
				for _, op := range ops {
					op.Evaluate(txs[salt%2], v)
				}
			}
			perMatch(b, len(ops))
		})
	}
}
