// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"fmt"
	"math/rand"
	"testing"
	"unsafe"
)

// The transformation cache answers as a Go map with the same keys would,
// across growth, overwrites and resets, and a reset empties it.
func TestTransformationCacheIsAMap(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	values := make([]string, 3000)
	for i := range values {
		values[i] = fmt.Sprintf("value-%d", i)
	}
	values[0] = "" // the empty value has no bytes
	key := func() transformationKey {
		v := values[rng.Intn(len(values))]
		return transformationKey{value: unsafe.StringData(v), valueLen: len(v), transformationsID: rng.Intn(8)}
	}
	c := newTransformationCache()
	for round := 0; round < 6; round++ {
		want := map[transformationKey]transformationValue{}
		// Grows past maxKeptSlots, is kept after a phase that used it
		// and the small one after, dropped after small ones only.
		n := []int{10, 20000, 100, 30, 20, 10}[round]
		for i := 0; i < n; i++ {
			k := key()
			if got, ok := c.get(k); ok != hasKey(want, k) || got.arg != want[k].arg {
				t.Fatalf("round %d, get %v: %q %v, want %q", round, k, got.arg, ok, want[k].arg)
			}
			v := transformationValue{arg: fmt.Sprint(i)}
			c.put(k, v)
			want[k] = v
		}
		if c.len() != len(want) {
			t.Fatalf("round %d: len %d, want %d", round, c.len(), len(want))
		}
		for k, v := range want {
			if got, ok := c.get(k); !ok || got.arg != v.arg {
				t.Fatalf("round %d, get %v: %q %v, want %q", round, k, got.arg, ok, v.arg)
			}
		}
		c.reset()
		if c.len() != 0 {
			t.Fatalf("round %d: %d values after reset", round, c.len())
		}
		for k := range want {
			if _, ok := c.get(k); ok {
				t.Fatalf("round %d: %v cached after reset", round, k)
			}
		}
		if kept := len(c.slots) > maxKeptSlots; kept != (round == 1 || round == 2) {
			t.Fatalf("round %d: %d slots kept after reset", round, len(c.slots))
		}
	}
}

func hasKey(m map[transformationKey]transformationValue, k transformationKey) bool {
	_, ok := m[k]
	return ok
}
