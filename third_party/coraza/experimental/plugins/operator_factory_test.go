// Copyright 2026 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package plugins_test

import (
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/internal/operators"
)

func TestOperatorFactory(t *testing.T) {
	t.Run("unknown operator", func(t *testing.T) {
		if _, ok := plugins.OperatorFactory("no_such_operator"); ok {
			t.Error("a factory for an operator never registered")
		}
	})

	t.Run("wrap a built-in operator under its own name", func(t *testing.T) {
		const name = "streq"
		builtin, ok := plugins.OperatorFactory(name)
		if !ok {
			t.Fatalf("no factory for the built-in @%s", name)
		}
		t.Cleanup(func() { plugins.RegisterOperator(name, builtin) })

		calls := 0
		plugins.RegisterOperator(name, func(options plugintypes.OperatorOptions) (plugintypes.Operator, error) {
			inner, err := builtin(options)
			if err != nil {
				return nil, err
			}
			return countingOperator{inner: inner, calls: &calls}, nil
		})

		op, err := operators.Get(name, plugintypes.OperatorOptions{Arguments: "abc"})
		if err != nil {
			t.Fatal(err)
		}
		if !op.Evaluate(nil, "abc") || op.Evaluate(nil, "abd") {
			t.Error("the wrapped @streq does not answer as the built-in one")
		}
		if calls != 2 {
			t.Errorf("the wrapper saw %d evaluations, want 2", calls)
		}
	})
}

type countingOperator struct {
	inner plugintypes.Operator
	calls *int
}

func (o countingOperator) Evaluate(tx plugintypes.TransactionState, value string) bool {
	*o.calls++
	return o.inner.Evaluate(tx, value)
}
