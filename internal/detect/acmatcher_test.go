package detect

import (
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// TestACMatcherFindsEveryNeedle compares acMatcher.find with a plain
// search for every needle, on random needles and texts over a small
// alphabet (so needles overlap, nest and share suffixes) and on the value
// filter's own needles: the same set of needles found; and findPlain, on
// the plain texts and their upper-cased forms, with a search in the text
// and in the text without its spaces.
func TestACMatcherFindsEveryNeedle(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	word := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return string(b)
	}
	plainChecked := 0
	check := func(needles []string, texts []string) {
		t.Helper()
		m := newACMatcher(needles)
		hit := make([]uint64, (len(needles)+63)/64)
		for _, text := range texts {
			got := m.find([]byte(text), hit, nil)
			for _, id := range got {
				hit[id>>6] = 0
			}
			slices.Sort(got)
			var want []int32
			for id, n := range needles {
				if strings.Contains(text, n) {
					want = append(want, int32(id))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("text %q: found %v, want %v", text, got, want)
			}
			if !plainValue(text) {
				continue
			}
			// findPlain: the needles of the value lower-cased, with and
			// without its spaces, in one pass.
			nospace := strings.ReplaceAll(text, " ", "")
			want = want[:0]
			for id, n := range needles {
				if strings.Contains(text, n) || strings.Contains(nospace, n) {
					want = append(want, int32(id))
				}
			}
			for _, v := range []string{text, strings.ToUpper(text)} {
				got := m.findPlain(v, hit, nil)
				for _, id := range got {
					hit[id>>6] = 0
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("findPlain(%q): found %v, want %v", v, got, want)
				}
				plainChecked++
			}
		}
	}
	for range 50 {
		var needles, texts []string
		for range 1 + rng.Intn(60) {
			needles = append(needles, word("abcd e", 1+rng.Intn(5)))
		}
		for range 200 {
			texts = append(texts, word("abcde f", rng.Intn(30)))
		}
		check(needles, texts)
	}
	f, _ := plannedCRS(t)
	vf := f.literals.words
	if len(vf) < 1000 {
		t.Fatalf("the value filter has %d needles", len(vf))
	}
	var texts []string
	for range 3000 {
		texts = append(texts, strings.ToLower(vf[rng.Intn(len(vf))])+word("abcdefghijklmnopqrstuvwxyz0123456789 .-_@:", rng.Intn(20))+vf[rng.Intn(len(vf))])
	}
	check(vf, texts)
	if plainChecked < 1000 {
		t.Fatalf("findPlain checked on %d texts only", plainChecked)
	}
}

// BenchmarkValueFilterClassify classifies every value and name of the
// 10 KB JSON body (BenchmarkDetectJSON10KB's) with the CRS's filter: the
// Aho-Corasick pass and the conditions, without the engine around them.
func BenchmarkValueFilterClassify(b *testing.B) {
	f, _ := plannedCRS(b)
	var values []string
	for _, part := range strings.FieldsFunc(json10KB(), func(r rune) bool { return strings.ContainsRune(`{}[],:"`, r) }) {
		values = append(values, part, "json.items.0."+part)
	}
	mayMatch := make([]uint64, (f.slots+63)/64)
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range values {
			clear(mayMatch)
			f.classify(v, mayMatch)
		}
	}
}

// TestLenOnlyForAgreesWithReach checks the per-signature lists of the
// CRS's filter against each rule's own reach answer, for all 256
// signatures: the same slots, in lenOnly's order.
func TestLenOnlyForAgreesWithReach(t *testing.T) {
	f, _ := plannedCRS(t)
	if len(f.lenOnly) < 10 {
		t.Fatalf("%d rules answered by length alone", len(f.lenOnly))
	}
	kept := 0
	for sig := range 256 {
		var want []lenOnlySlot
		for _, slot := range f.lenOnly {
			if c := &f.conds[slot]; c.reach == nil || c.reach.canMatch(uint8(sig)) {
				want = append(want, lenOnlySlot{slot: slot, minLen: c.minLen})
			}
		}
		for range 2 { // made, then remembered
			if got := f.lenOnlyFor(uint8(sig)); !slices.Equal(got, want) {
				t.Fatalf("signature %08b: %v, want %v", sig, got, want)
			}
		}
		kept += len(want)
	}
	if kept == 0 || kept == 256*len(f.lenOnly) {
		t.Fatalf("%d of %d (signature, rule) pairs kept: the reach tells nothing apart", kept, 256*len(f.lenOnly))
	}
}
