// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package collections

import (
	"math/rand"
	"regexp"
	"testing"
)

// TestKeyStartAgreesWithMatchString checks the first-byte shortcut of the
// FindRegex methods against the regex itself, for anchored and unanchored
// patterns, case folding (Kelvin sign, long s), classes, repeats, and
// POSIX-compiled regexes (^ at a line start), over keys built from the
// patterns' words and random ones.
func TestKeyStartAgreesWithMatchString(t *testing.T) {
	returnTo := `(?i)^(?:next|return_?to|returnurl|return_url|redirect|redirect_?to|redirect_?uri|redirect_url|continue|goto|dest|destination|success_url|callback|back|came_from)$`
	patterns := []string{
		returnTo, `^header_name_920450_`, `(?i)^abc`, `^(?:abc|abd)`, `^a.c`, `^\d+_x`, `(?m)^abc`,
		`^.*$`, `^`, `^$`, `^x*`, `^x*y`, `^(?:x|y?)z`, `^[a-c]{0,2}d`, `^[a-c]{2}d`, `(?i)^[k-m]ey`,
		`(?i)^key`, `(?i)^success_url$`, `^ĉapelo_`, `^\xff`, `^[^a-z]`, `^\bword`, `^(?:^abc|^def)`,
		`^(a)|^b`, `^a|b`, `(?i)^(?:ſ|k)x`, `^[\x{80}-\x{10FFFF}]`, `\Aabc`, `^(?:)abc`, `^\pL+`,
	}
	words := []string{
		"", "abc", "ABC", "abd", "next", "NEXT", "return_to", "returnto", "Redirect_URI", "success_url",
		"ſuccess_url", "SUCCESS_URL", "key", "\u212aey", "Key", "ley", "header_name_920450_host", "ĉapelo_1",
		"capelo_1", "12_x", "x\nabc", "abc\nx", "\xff\xfe", "ĉ\xff", "xz", "yz", "z", "xxy", "y", "d", "abd",
		"acd", "bd", "word", "def", "b", "a", "1", "ſx", "Kx", "\u212ax", "é", "json.items.12.note",
	}
	rng := rand.New(rand.NewSource(7))
	alphabet := []string{"a", "b", "c", "d", "k", "K", "x", "y", "z", "n", "e", "_", ".", "1", "\n", "ſ", "\u212a", "ĉ", "\xff", "é", " "}
	keys := append([]string(nil), words...)
	for range 4000 {
		n := rng.Intn(8)
		k := ""
		for range n {
			k += alphabet[rng.Intn(len(alphabet))]
		}
		keys = append(keys, k)
	}
	for _, w := range words {
		keys = append(keys, w+"x", "x"+w, "\n"+w)
	}
	for _, p := range patterns {
		res := []*regexp.Regexp{regexp.MustCompile(p)}
		if re, err := regexp.CompilePOSIX(p); err == nil {
			res = append(res, re)
		}
		for _, re := range res {
			prefix, _ := re.LiteralPrefix()
			start := newKeyStart(re)
			for _, k := range keys {
				if got, want := keyMatches(re, prefix, &start, k), re.MatchString(k); got != want {
					t.Errorf("pattern %q, key %q: keyMatches %v, MatchString %v", p, k, got, want)
				}
			}
		}
	}
	// The shortcut is taken where it matters: the analyzer's return_to
	// pattern rejects a JSON body's keys by their first byte.
	start := newKeyStart(regexp.MustCompile(returnTo))
	if !start.known || start.allows("json.items.12.note") || !start.allows("Next") {
		t.Errorf("return_to pattern: known %v, allows json.items.12.note %v, Next %v", start.known, start.allows("json.items.12.note"), start.allows("Next"))
	}
}
