package detect

import (
	"fmt"
	"hash/maphash"
	"strings"
	"sync"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
)

// memoizedOperators are the built-in operators, besides @rx, whose answer
// depends on the value alone: their argument (a phrase list, a file of
// phrases) is fixed when the rule is parsed, and libinjection has no
// argument. The CRS runs them over the same header values, cookie and
// argument names on nearly every request; @pmFromFile over a large list
// costs several hundred ns a value. (@within, @streq and the numeric
// operators expand macros from the transaction: not memoized.)
var memoizedOperators = []string{"pm", "pmFromFile", "pmf", "detectSQLi", "detectXSS"}

var memoOnce sync.Once

// memoizeOperators makes every WAF built from now on run the operators of
// memoizedOperators behind a memory of values they did not match, as
// @rx does (rx_re2.go). Coraza resolves operators while parsing, so WAFs
// built before keep theirs.
func memoizeOperators() {
	memoOnce.Do(func() {
		for _, name := range memoizedOperators {
			builtin, ok := plugins.OperatorFactory(name)
			if !ok {
				panic(fmt.Sprintf("detect: Coraza has no @%s operator to memoize", name))
			}
			plugins.RegisterOperator(name, func(options plugintypes.OperatorOptions) (plugintypes.Operator, error) {
				op, err := builtin(options)
				if err != nil {
					return nil, err
				}
				m := newMemoOp(op)
				if name == "detectXSS" {
					m.cannotMatch = cannotBeXSS
				}
				return m, nil
			})
		}
	})
}

// memoOp is an operator whose misses on short values are remembered once
// they come back in another request (missCache). A miss has no side
// effect (captures are made only on a match), so answering it from memory
// is exact.
type memoOp struct {
	inner   plugintypes.Operator
	noMatch missCache
	// cannotMatch, when set, reports values the operator cannot match
	// (answered without memory or operator).
	cannotMatch func(string) bool
}

func newMemoOp(inner plugintypes.Operator) *memoOp {
	o := &memoOp{inner: inner}
	o.noMatch.seed = maphash.MakeSeed()
	return o
}

// Evaluate answers from memory for a remembered miss, else asks the
// wrapped operator.
func (o *memoOp) Evaluate(tx plugintypes.TransactionState, value string) bool {
	if o.cannotMatch != nil && o.cannotMatch(value) {
		return false
	}
	if value == "" || len(value) > noMatchMaxLen {
		return o.inner.Evaluate(tx, value)
	}
	known, h := o.noMatch.has(value)
	if known {
		return false
	}
	if o.inner.Evaluate(tx, value) {
		return true
	}
	o.noMatch.add(value, h, tx.ID())
	return false
}

// cannotBeXSS reports values libinjection's XSS test (libinjection-go
// v0.3.3, IsXSS) cannot flag: those with neither '<' nor '='. IsXSS flags a
// value when its HTML5 tokenizer, started in the data state (run only when
// the value holds '<') or in one of the four attribute-value states,
// yields a doctype, a tag name, a comment, or an attribute value right
// after an attribute name. Doctypes, tags and comments are made only by
// the tag-open state, entered from the data state on '<'. The
// attribute-value states start with a value whose attribute is "none"
// (never flagged), and after an attribute name a value follows only
// through '=' (stateAttributeName and stateAfterAttributeName are the only
// ways into stateBeforeAttributeValue). So without '<' and '=', no token
// IsXSS judges is ever made. TestCannotBeXSSAgreesWithLibinjection checks
// it against the library on attack-like and random values.
func cannotBeXSS(value string) bool {
	return strings.IndexByte(value, '<') < 0 && strings.IndexByte(value, '=') < 0
}
