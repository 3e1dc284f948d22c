// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package corazawaf

import (
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/internal/corazarules"
	"github.com/corazawaf/coraza/v3/internal/transformations"
	"github.com/corazawaf/coraza/v3/types/variables"
)

// TestUnchangedPrefixSameResults runs the CRS's transformation chains
// (and a few with a transformation not known to leave values unchanged)
// through transformArg and executeTransformationsMultimatch, which skip
// the first transformations the value's bytes cannot make change, and
// compares them with every transformation run in turn: the same
// transformed value, the same multiMatch list. Values mix plain bytes
// with each kind of byte that changes some transformation.
func TestUnchangedPrefixSameResults(t *testing.T) {
	chains := [][]string{
		{"utf8toUnicode", "urlDecodeUni", "htmlEntityDecode", "jsDecode", "cssDecode", "removeNulls"},
		{"utf8toUnicode", "urlDecodeUni", "removeNulls"},
		{"urlDecodeUni"},
		{"lowercase"},
		{"htmlEntityDecode", "lowercase"},
		{"urlDecodeUni", "jsDecode", "removeWhitespace", "base64Decode", "urlDecodeUni", "jsDecode", "removeWhitespace"},
		{"urlDecodeUni", "replaceComments", "removeWhitespace"},
		{"utf8toUnicode", "urlDecodeUni", "removeNulls", "cmdLine"},
		{"compressWhitespace", "trim", "uppercase", "replaceNulls"},
		{"hexDecode", "lowercase"},
	}
	pieces := []string{"a", "Z", "0", " ", ".", "-", "%", "%41", "+", "&", "&lt;", `\`, `\x41`, "\x00", "/", "/*", "*/", "é", "\u00a0", "'", "<", "=", "\t", "QUJD"}
	rng := rand.New(rand.NewSource(5))
	var values []string
	for range 5000 {
		var b []byte
		for range rng.Intn(6) {
			b = append(b, pieces[rng.Intn(len(pieces))]...)
		}
		values = append(values, string(b))
	}
	// Values past unchangedScanMax take the cache's way.
	for i := range 200 {
		values = append(values, strings.Repeat(values[i], 1+unchangedScanMax/max(1, len(values[i]))))
	}
	for _, names := range chains {
		r := NewRule()
		for _, name := range names {
			tr, err := transformations.GetTransformation(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.AddTransformation(name, tr); err != nil {
				t.Fatal(err)
			}
		}
		cache := newTransformationCache()
		skipped := 0
		for _, v := range values {
			// The reference: every transformation, in turn.
			want, wantList := v, []string{v}
			for _, tp := range r.transformations {
				out, changed, err := tp.Function(want)
				if err != nil {
					continue
				}
				if changed {
					wantList = append(wantList, out)
				}
				want = out
			}
			if r.unchangedPrefix(v) > 0 {
				skipped++
			}
			md := &corazarules.MatchData{Variable_: variables.Args, Key_: "k", Value_: v}
			got, _ := r.transformArg(md, cache)
			if got != want {
				t.Fatalf("%v: transformArg(%q) = %q, want %q", names, v, got, want)
			}
			// Again, from the cache.
			if got, _ := r.transformArg(md, cache); got != want {
				t.Fatalf("%v: cached transformArg(%q) = %q, want %q", names, v, got, want)
			}
			gotList, _ := r.executeTransformationsMultimatch(nil, v)
			if !slices.Equal(gotList, wantList) {
				t.Fatalf("%v: multiMatch(%q) = %q, want %q", names, v, gotList, wantList)
			}
		}
		known := transformations.UnchangedUnless(names[0], r.transformations[0].Function) != transformations.ClassAll
		if known && skipped == 0 {
			t.Errorf("%v: no value skipped any transformation", names)
		}
		if !known && skipped != 0 {
			t.Errorf("%v: %d values skipped a transformation not known to leave them unchanged", names, skipped)
		}
	}
}
