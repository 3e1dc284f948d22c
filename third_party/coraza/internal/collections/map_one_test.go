// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"reflect"
	"sort"
	"testing"

	"github.com/corazawaf/coraza/v3/types/variables"
)

// mapState is everything a reader sees of a Map: its matches (sorted),
// TotalValues and Get of each key.
func mapState(m *Map, keys []string) []string {
	var s []string
	for _, md := range m.FindAll() {
		s = append(s, md.Key()+"="+md.Value())
	}
	sort.Strings(s)
	s = append(s, "total="+string(rune('0'+m.TotalValues())))
	for _, k := range keys {
		s = append(s, k+":"+joinValues(m.Get(k)))
		v, ok := m.FirstValue(k)
		if ok {
			s = append(s, k+" first "+v)
		}
	}
	return s
}

func joinValues(v []string) string {
	out := ""
	for _, x := range v {
		out += x + ";"
	}
	return out
}

// TestSetOneIsSetOfOne runs the same changes on two maps, one writing
// with SetOne, the other with Set(key, []string{value}), over keys
// absent, holding one value and holding several, across Resets (which
// leave spare slices for new keys): every reader must see the same.
func TestSetOneIsSetOfOne(t *testing.T) {
	keys := []string{"a", "B", "c"}
	one, set := NewMap(variables.TX), NewMap(variables.TX)
	step := func(name string, f func(m *Map)) {
		t.Helper()
		f(one)
		f(set)
		if got, want := mapState(one, keys), mapState(set, keys); !reflect.DeepEqual(got, want) {
			t.Fatalf("after %s: SetOne map %q, Set map %q", name, got, want)
		}
	}
	for round := 0; round < 3; round++ {
		step("add", func(m *Map) { m.Add("a", "1"); m.Add("a", "2"); m.Add("B", "3") })
		before := one.FindAll()
		kept := make([]string, len(before))
		for i, md := range before {
			kept[i] = md.Value()
		}
		one.SetOne("a", "x")
		set.Set("a", []string{"x"})
		step("set over two values", func(*Map) {})
		one.SetOne("b", "y")
		set.Set("b", []string{"y"})
		step("set over one value", func(*Map) {})
		one.SetOne("c", "z")
		set.Set("c", []string{"z"})
		step("set a new key", func(*Map) {})
		step("remove", func(m *Map) { m.Remove("c") })
		for i, md := range before {
			if md.Value() != kept[i] {
				t.Fatalf("a match made before SetOne changed: %q, was %q", md.Value(), kept[i])
			}
		}
		matches := one.FindAll()
		step("reset", func(m *Map) { m.Reset() })
		if len(matches) == 0 || matches[0].Value() == "" {
			t.Fatal("a match made before Reset lost its value")
		}
		// New keys take the spare slices: the old keys must not come back.
		step("add after reset", func(m *Map) { m.Add("c", "5"); m.Set("a", []string{"6", "7"}); m.SetOne("d", "8") })
		want := []string{"a=6", "a=7", "c=5", "d=8", "total=4", "a:6;7;", "a first 6", "B:", "c:5;", "c first 5"}
		if got := mapState(one, keys); !reflect.DeepEqual(got, want) {
			t.Fatalf("after a reset and new keys: %q, want %q", got, want)
		}
		step("reset again", func(m *Map) { m.Reset() })
	}
	if len(one.spare) == 0 {
		t.Fatal("Reset kept no spare slice: the reuse is not tested")
	}
}
