package detect

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// The memoized operators (@pm, @pmFromFile, @pmf, @detectSQLi, @detectXSS)
// answer every value as the operator they wrap does, whatever order values
// come in, once misses are remembered, and under concurrent use.
func TestMemoizedOperatorsNeverChangeAnAnswer(t *testing.T) {
	memoizeOperators()
	root := fstest.MapFS{"data/phrases.txt": {Data: []byte("# attack words\nunion select\n<script\n/etc/passwd\n")}}
	values := []string{"", "2", "page", "utm_source", "newsletter", "1 union select 2", "UNION SELECT",
		"<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "1' or '1'='1", "1) or (1=1",
		"/etc/passwd", "../../etc/passwd", "O'Brien", "union station", "select a seat",
		strings.Repeat("x", noMatchMaxLen), strings.Repeat("y", noMatchMaxLen+1) + " union select 1"}
	for i := 0; i < 3*noMatchSlots; i++ {
		values = append(values, fmt.Sprintf("value-%d", i)) // enough to evict and collide
	}
	waf, err := coraza.NewWAF(coraza.NewWAFConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, args string }{
		{"pm", "union <script passwd"},
		{"pmFromFile", "phrases.txt"},
		{"pmf", "phrases.txt"},
		{"detectSQLi", ""},
		{"detectXSS", ""},
	} {
		factory, ok := plugins.OperatorFactory(c.name)
		if !ok {
			t.Fatalf("no @%s", c.name)
		}
		op, err := factory(plugintypes.OperatorOptions{Arguments: c.args, Path: []string{"data"}, Root: root})
		if err != nil {
			t.Fatalf("@%s: %v", c.name, err)
		}
		memo, ok := op.(*memoOp)
		if !ok {
			t.Fatalf("@%s is %T, not memoized", c.name, op)
		}
		var matches atomic.Int64
		evaluateInRounds(waf, values, func(state plugintypes.TransactionState, v string, round int) bool {
			got, want := memo.Evaluate(state, v), memo.inner.Evaluate(state, v)
			if got != want {
				t.Errorf("@%s on %q: got %v, want %v (round %d)", c.name, v, got, want, round)
				return false
			}
			if got {
				matches.Add(1)
			}
			return true
		})
		if matches.Load() == 0 {
			t.Errorf("@%s matched none of the values: the test proves nothing", c.name)
		}
		// A miss seen in two requests is answered from memory after.
		fresh := newMemoOp(memo.inner)
		for _, id := range []string{"first", "second"} {
			tx := waf.NewTransactionWithID(id)
			if fresh.Evaluate(tx.(plugintypes.TransactionState), "page") {
				t.Fatalf("@%s matched \"page\"", c.name)
			}
			tx.Close()
		}
		if known, _ := fresh.noMatch.has("page"); !known {
			t.Errorf("@%s did not remember a value it missed in two requests", c.name)
		}
	}
}
