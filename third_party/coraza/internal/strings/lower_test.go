// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package strings

import (
	"math/rand"
	"strings"
	"testing"
)

func TestToLowerAsStringsToLower(t *testing.T) {
	for _, s := range []string{"", "a", "A", "tx", "TX", "detection_paranoia_level", "DETECTION_PARANOIA_LEVEL",
		"header_name_920450_user-agent", "abcdefgH", "abcdefghI", "@[`{", "ÄBC", "abcdefgh\xc3\x84", "Z", "z@[", "0123456789abcdeZ"} {
		if got, want := ToLower(s), strings.ToLower(s); got != want {
			t.Errorf("ToLower(%q) = %q, want %q", s, got, want)
		}
	}
	// Every byte at every position of a word and of a tail, and random
	// strings mixing all bytes.
	for b := 0; b < 256; b++ {
		for pos := 0; pos < 11; pos++ {
			buf := []byte("abcdefghijk")
			buf[pos] = byte(b)
			s := string(buf)
			if got, want := ToLower(s), strings.ToLower(s); got != want {
				t.Fatalf("ToLower(%q) = %q, want %q", s, got, want)
			}
		}
	}
	r := rand.New(rand.NewSource(1))
	for n := 0; n < 20000; n++ {
		buf := make([]byte, r.Intn(40))
		for i := range buf {
			if r.Intn(4) == 0 {
				buf[i] = byte(r.Intn(256))
			} else {
				buf[i] = byte('0' + r.Intn(75))
			}
		}
		s := string(buf)
		if got, want := ToLower(s), strings.ToLower(s); got != want {
			t.Fatalf("ToLower(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestToLowerKeepsLowerCaseStrings(t *testing.T) {
	s := "detection_paranoia_level"
	if n := testing.AllocsPerRun(100, func() { _ = ToLower(s) }); n != 0 {
		t.Fatalf("ToLower of a lower-case key allocated %v times", n)
	}
}

func BenchmarkToLower(b *testing.B) {
	for _, s := range []string{"detection_paranoia_level", "user-agent", "DETECTION_PARANOIA_LEVEL"} {
		b.Run("engine/"+s, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_ = ToLower(s)
			}
		})
		b.Run("strings/"+s, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				_ = strings.ToLower(s)
			}
		})
	}
}
