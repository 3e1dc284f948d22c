// Copyright 2023 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package transformations

import (
	"math/rand"
	"strings"
	"testing"
	"unicode"
)

func TestRemoveWhiteSpace(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{
			input: "",
			want:  "",
		},
		{
			input: "test",
			want:  "test",
		},
		{
			input: "t e s t",
			want:  "test",
		},
	}

	for _, tc := range tests {
		tt := tc
		t.Run(tt.input, func(t *testing.T) {
			have, changed, err := removeWhitespace(tt.input)
			if err != nil {
				t.Error(err)
			}
			if tt.input == tt.want && changed || tt.input != tt.want && !changed {
				t.Errorf("input %q, have %q with changed %t", tt.input, have, changed)
			}
			if have != tt.want {
				t.Errorf("have %q, want %q", have, tt.want)
			}
		})
	}
}

// TestRemoveWhitespaceASCIIFastPath compares removeWhitespace with its
// rune-by-rune form on random inputs over ASCII spaces, letters, every
// control byte, and non-ASCII bytes (valid and invalid UTF-8, U+0085,
// U+00A0): the same output and changed flag.
func TestRemoveWhitespaceASCIIFastPath(t *testing.T) {
	for c := 0; c < utf8RuneSelf; c++ {
		if asciiSpace[c] != unicode.IsSpace(rune(c)) {
			t.Fatalf("asciiSpace[%#x] = %v, unicode.IsSpace says %v", c, asciiSpace[c], !asciiSpace[c])
		}
	}
	pieces := []string{"a", "Z", " ", "\t", "\n", "\v", "\f", "\r", "\x00", "\x1c", "\x7f", "\u0085", "\u00a0", "é", "\xff", "\xc2", "  ",
		"\u2003", "\u3000", "\u2028", "\u1680", "\ufffd", "\xe2\x80", "\xf0\x9f\x98\x80", "\xed\xa0\x80"}
	rng := rand.New(rand.NewSource(9))
	for range 200000 {
		var b strings.Builder
		for range rng.Intn(12) {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		in := b.String()
		got, gotChanged, _ := removeWhitespace(in)
		want, wantChanged, _ := removeWhitespaceRunes(in)
		if got != want || gotChanged != wantChanged {
			t.Fatalf("removeWhitespace(%q) = %q, %v; want %q, %v", in, got, gotChanged, want, wantChanged)
		}
	}
}
