// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package transformations

import (
	"math/rand"
	"strings"
	"testing"
)

// TestUnchangedUnless checks every entry of unchangedUnless against its
// transformation: on values with no byte of the entry's classes (random
// ones over every other byte, and edge cases), the value comes back
// unchanged, changed false, no error. It also checks that values with a
// byte of the classes do change for some inputs (the classes are not
// wider than a test can tell), and that a plugin's function of a built-in
// name gets ClassAll.
func TestUnchangedUnless(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	if len(unchangedUnless) < 16 {
		t.Fatalf("unchangedUnless has %d entries", len(unchangedUnless))
	}
	for name, e := range unchangedUnless {
		fn := transformations[name]
		if UnchangedUnless(name, fn) != e.classes {
			t.Fatalf("%s: UnchangedUnless of the built-in is not its entry", name)
		}
		var allowed []byte
		for c := 0; c < 256; c++ {
			if byteClass[c]&e.classes == 0 {
				allowed = append(allowed, byte(c))
			}
		}
		values := []string{"", "a", "x y", "//", "*/", "&", "-- ", "a.b:c@d_e-f"}
		for range 20000 {
			n := rng.Intn(40)
			b := make([]byte, n)
			for i := range b {
				b[i] = allowed[rng.Intn(len(allowed))]
			}
			values = append(values, string(b))
		}
		checked := 0
		for _, v := range values {
			if ClassesOf(v)&e.classes != 0 {
				continue
			}
			checked++
			out, changed, err := fn(v)
			if out != v || changed || err != nil {
				t.Fatalf("%s(%q) = %q, %v, %v: want the value unchanged", name, v, out, changed, err)
			}
		}
		if checked < 10000 {
			t.Fatalf("%s: only %d values checked", name, checked)
		}
	}
	// Each class named is needed by at least one value (the table is not
	// wider than necessary by a whole class).
	changes := map[string][]string{
		"urldecodeuni":       {"%41", "a+b"},
		"htmlentitydecode":   {"&lt;"},
		"jsdecode":           {`\x41`},
		"cssdecode":          {`\41`},
		"utf8tounicode":      {"é"},
		"removenulls":        {"a\x00"},
		"replacenulls":       {"a\x00"},
		"replacecomments":    {"a/*b*/"},
		"lowercase":          {"A", "É"},
		"uppercase":          {"a", "é"},
		"removewhitespace":   {"a b", "a\u00a0b"},
		"compresswhitespace": {"a  b", "a\u00a0b"},
		"trim":               {" a"},
	}
	for name, vs := range changes {
		for _, v := range vs {
			if out, _, _ := transformations[name](v); out == v {
				t.Errorf("%s(%q) unchanged: the test's example is wrong", name, v)
			}
			if ClassesOf(v)&unchangedUnless[name].classes == 0 {
				t.Errorf("%s: %q changes but has none of the classes", name, v)
			}
		}
	}
	own := func(s string) (string, bool, error) { return strings.ToUpper(s), true, nil }
	if got := UnchangedUnless("lowercase", own); got != ClassAll {
		t.Errorf("a plugin's lowercase: %b, want ClassAll", got)
	}
	if got := UnchangedUnless("base64Decode", transformations["base64decode"]); got != ClassAll {
		t.Errorf("base64Decode: %b, want ClassAll", got)
	}
}
