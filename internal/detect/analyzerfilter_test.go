package detect

import (
	"math/rand"
	"testing"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// TestAnalyzerFilterAnswersAsTheOperator: for attack and ordinary values,
// plain or not, the filter's answer for every analyzer rule of the CRS
// build (each place's group) is the operator's own answer.
func TestAnalyzerFilterAnswersAsTheOperator(t *testing.T) {
	f, _ := plannedCRS(t)
	n := 0
	for _, g := range f.groups {
		n += len(g)
	}
	if n < 30 {
		t.Fatalf("%d analyzer rules planned, want every place's groups", n)
	}
	values := []string{
		"", "a", "hello world", "alice@example.com", "2026-12-05", "42",
		"1' OR '1'='1", "1 union select password from users--", "<script>alert(1)</script>",
		"<img src=x onerror=alert(1)>", "; cat /etc/passwd", "$(id)", "`whoami`",
		"../../../../etc/passwd", "..\\..\\windows\\win.ini", "{{7*7}}", "${7*7}",
		"http://169.254.169.254/latest/meta-data/", "//evil.example/", "https://evil.example",
		"foo\r\nSet-Cookie: a=b", `{"$ne": null}`, "*)(uid=*))(|(uid=*", "<!--#exec cmd=\"ls\"-->",
		"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", "__import__('os').system('id')",
		"O'Brien", "select a name", "drop by tomorrow", "x onload", "user[$ne]",
	}
	rng := rand.New(rand.NewSource(3))
	alphabet := "ab1 '\"<>;()/.\\$-{}=|&%*#"
	for range 400 {
		b := make([]byte, 1+rng.Intn(20))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		values = append(values, string(b))
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig())
	if err != nil {
		t.Fatal(err)
	}
	mayMatch := make([]uint64, (f.slots+63)/64)
	matched := 0
	for _, v := range values {
		tx := waf.NewTransaction()
		clear(mayMatch)
		f.classify(v, mayMatch)
		for g, slots := range f.groups {
			if len(slots) == 0 {
				continue
			}
			f.classifyGroup(g, v, mayMatch)
			for _, s := range slots {
				want := s.op.Evaluate(tx.(plugintypes.TransactionState), v)
				got := mayMatch[s.slot>>6]&(1<<(s.slot&63)) != 0
				if got != want {
					t.Errorf("place %d classes %v, %q: filter says %v, the operator %v", s.op.place, s.op.classes, v, got, want)
				}
				if want {
					matched++
				}
			}
		}
		_ = tx.Close()
	}
	if matched < 20 {
		t.Fatalf("only %d (rule, value) matches: the test does not exercise the analyzer", matched)
	}
	t.Logf("%d analyzer rules, %d values, %d matches, all answered as the operator", n, len(values), matched)
}
