// Copyright 2026 the Parapet authors
// SPDX-License-Identifier: Apache-2.0

package operators

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"

	coreruleset "github.com/corazawaf/coraza-coreruleset"
)

// pmSpan is one occurrence a matcher reports.
type pmSpan struct{ start, end int }

// oldPMMatches is what @pm captured before Parapet's pmMatcher: the
// aho-corasick library's automaton, as Coraza built and iterated it.
func oldPMMatches(ac ahocorasick.AhoCorasick, value string, limit int) []pmSpan {
	var out []pmSpan
	it := ac.Iter(value)
	for len(out) < limit {
		m := it.Next()
		if m == nil {
			break
		}
		out = append(out, pmSpan{m.Start(), m.End()})
	}
	return out
}

func newPMMatches(m *pmMatcher, value string, limit int) []pmSpan {
	var out []pmSpan
	m.each(value, limit, func(start, end int) { out = append(out, pmSpan{start, end}) })
	return out
}

func oldPMBuild(phrases []string, dfa bool) ahocorasick.AhoCorasick {
	b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{
		AsciiCaseInsensitive: true,
		MatchKind:            ahocorasick.LeftMostLongestMatch,
		DFA:                  dfa,
	})
	return b.Build(phrases)
}

// pmCompare fails the test unless both automata give the same answer
// and the same occurrences for every value.
func pmCompare(t *testing.T, name string, phrases []string, values []string) {
	t.Helper()
	old := oldPMBuild(phrases, true)
	m := newPMMatcher(phrases)
	bad := 0
	// An empty phrase matches every value (minPatternLen's contract). The
	// library's prefilter ignores empty phrases: it found no match in a
	// value without a byte its prefilter looks for, and skipped some empty
	// occurrences depending on its statistics of past skips. Not compared.
	for _, p := range phrases {
		if p == "" {
			for _, v := range values {
				if !m.matchAny(v) {
					t.Fatalf("%s: %q: no match with an empty phrase", name, v)
				}
				if got := newPMMatches(m, v, 1); len(got) != 1 || got[0].start != 0 {
					t.Fatalf("%s: %q: first occurrence %v with an empty phrase, want one at 0", name, v, got)
				}
			}
			return
		}
	}
	for _, v := range values {
		want := oldPMMatches(old, v, 1000)
		got := newPMMatches(m, v, 1000)
		anyWant := old.Iter(v).Next() != nil
		if fmt.Sprint(got) != fmt.Sprint(want) || m.matchAny(v) != anyWant {
			t.Errorf("%s: %q: got %v (any %v), want %v (any %v)", name, v, got, m.matchAny(v), want, anyWant)
			if bad++; bad > 5 {
				t.Fatalf("%s: phrases %q", name, phrases)
			}
		}
	}
}

// pmValues makes values to search from a dictionary: every phrase alone
// and in text, in random case, cut short, overlapping the next phrase,
// several together, and random bytes.
func pmValues(r *rand.Rand, phrases []string, n int) []string {
	pick := func() string {
		if len(phrases) == 0 {
			return ""
		}
		return phrases[r.Intn(len(phrases))]
	}
	randCase := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if r.Intn(2) == 0 && 'a' <= c && c <= 'z' {
				b[i] = c - ('a' - 'A')
			}
		}
		return string(b)
	}
	noise := func(k int) string {
		const alphabet = "abcdefghijklmnopqrstuvwxyz ABCXYZ./_-'\"<>()=;:\\0123456789\x00\xc3\xa9\xff\xe2\x80"
		b := make([]byte, k)
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		return string(b)
	}
	var out []string
	for _, p := range phrases {
		out = append(out, p, randCase(p), noise(3)+p+noise(3))
	}
	for len(out) < n {
		var b strings.Builder
		for k := r.Intn(6); k >= 0; k-- {
			p := pick()
			switch r.Intn(7) {
			case 0:
				b.WriteString(noise(r.Intn(20)))
			case 1:
				b.WriteString(randCase(p))
			case 2: // a prefix of a phrase
				if len(p) > 0 {
					b.WriteString(p[:r.Intn(len(p))])
				}
			case 3: // a phrase ending where the next begins
				q := pick()
				k := r.Intn(len(q) + 1)
				if k <= len(p) && strings.HasPrefix(p[len(p)-k:], q[:k]) {
					b.WriteString(p + q[k:])
				} else {
					b.WriteString(p + q)
				}
			case 4: // a suffix of a phrase
				if len(p) > 0 {
					b.WriteString(p[r.Intn(len(p)):])
				}
			default:
				b.WriteString(p)
			}
		}
		out = append(out, b.String())
	}
	return out
}

// pmDictionaries returns the phrase lists of every @pm and @pmFromFile
// in the rule sets of root (.conf and .data files), read as the
// operators read them.
func pmDictionaries(t *testing.T, root fs.FS) map[string][]string {
	t.Helper()
	dicts := map[string][]string{}
	inline := regexp.MustCompile(`"@pm ([^"]*)"`)
	err := fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(root, path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".data"):
			var lines []string
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				l := strings.TrimSpace(sc.Text())
				if l == "" || l[0] == '#' {
					continue
				}
				lines = append(lines, strings.ToLower(l))
			}
			dicts[path] = lines
		case strings.HasSuffix(path, ".conf"):
			for i, m := range inline.FindAllStringSubmatch(string(data), -1) {
				dicts[fmt.Sprintf("%s@pm#%d", path, i)] = strings.Split(strings.ToLower(m[1]), " ")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dicts
}

// parapetCRS is the rules directory of the CRS Parapet ships (the
// coraza-coreruleset/v4 its go.mod requires, from the module cache), or
// nil outside Parapet's repository.
func parapetCRS(t *testing.T) fs.FS {
	t.Helper()
	if _, err := os.Stat("../../../../go.mod"); err != nil {
		return nil
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/corazawaf/coraza-coreruleset/v4")
	cmd.Dir = "../../../.."
	out, err := cmd.Output()
	if err != nil {
		t.Logf("Parapet's CRS not found: %v", err)
		return nil
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "rules")
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	return os.DirFS(dir)
}

// TestPMMatcherSameAsLibraryOnCRS compares pmMatcher with the
// aho-corasick library's automaton on every CRS phrase list (Coraza's
// test CRS, and the one Parapet ships when run in its repository).
func TestPMMatcherSameAsLibraryOnCRS(t *testing.T) {
	roots := map[string]fs.FS{"coraza-coreruleset": coreruleset.FS}
	if p := parapetCRS(t); p != nil {
		roots["parapet-crs"] = p
	}
	n := 3000
	if testing.Short() {
		n = 500
	}
	for rootName, root := range roots {
		dicts := pmDictionaries(t, root)
		if len(dicts) < 10 {
			t.Fatalf("%s: only %d phrase lists found", rootName, len(dicts))
		}
		t.Logf("%s: %d phrase lists", rootName, len(dicts))
		r := rand.New(rand.NewSource(1))
		for name, phrases := range dicts {
			pmCompare(t, rootName+"/"+name, phrases, pmValues(r, phrases, n))
		}
	}
}

// TestPMMatcherSameAsLibraryOnRandomPhrases compares pmMatcher with the
// library on small random dictionaries over a few bytes (so phrases
// overlap, contain one another, and share prefixes and suffixes), with
// empty phrases, upper-case and non-ASCII bytes.
func TestPMMatcherSameAsLibraryOnRandomPhrases(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	const alphabet = "abAB \xc3\xff"
	word := func(max int) string {
		b := make([]byte, r.Intn(max+1))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		return string(b)
	}
	rounds := 3000
	if testing.Short() {
		rounds = 500
	}
	for i := 0; i < rounds; i++ {
		phrases := make([]string, 1+r.Intn(8))
		for j := range phrases {
			phrases[j] = word(5)
			if phrases[j] == "" && r.Intn(4) != 0 {
				phrases[j] = "a" // empty phrases in about one round in ten
			}
		}
		values := pmValues(r, phrases, 60)
		for j := 0; j < 20; j++ {
			values = append(values, word(30))
		}
		pmCompare(t, fmt.Sprintf("round %d", i), phrases, values)
	}
}

// TestPMMatcherLargeDictionary compares pmMatcher with the library's
// NFA (as @pmFromFile built it for large files) on a dictionary with
// many more states than the automaton keeps rows for.
func TestPMMatcherLargeDictionary(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	var phrases []string
	for i := 0; i < 5000; i++ {
		phrases = append(phrases, fmt.Sprintf("%010x", r.Int63n(1<<40))[:2+r.Intn(8)])
	}
	m := newPMMatcher(phrases)
	if int(m.nDense) >= len(m.fail) {
		t.Fatalf("%d states, all with rows: the test does not reach the sparse ones", len(m.fail))
	}
	old := oldPMBuild(phrases, false)
	for _, v := range pmValues(r, phrases, 20000) {
		want := oldPMMatches(old, v, 1000)
		if got := newPMMatches(m, v, 1000); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%q: got %v, want %v", v, got, want)
		}
	}
}

// BenchmarkPMMatcher searches every CRS phrase list for a typical
// 100-byte value and a 10 KB JSON body (no phrase in either), with the
// library's automaton ("old") and pmMatcher ("new"); "any" is @pm
// without capture, "capture" lists the occurrences as with capture.
func BenchmarkPMMatcher(b *testing.B) {
	t := &testing.T{}
	root := parapetCRS(t)
	if root == nil {
		root = coreruleset.FS
	}
	var phrases [][]string
	for _, p := range pmDictionaries(t, root) {
		phrases = append(phrases, p)
	}
	short := "first_name=Jane&last_name=Doe&email=jane.doe%40example.com&comment=Looking+forward+to+the+next+order"
	var long strings.Builder
	for i := 0; long.Len() < 10<<10; i++ {
		fmt.Fprintf(&long, `{"id":%d,"name":"Customer number %d","email":"user%d@example.org","note":"Delivered on time, thanks a lot","tags":["new","priority"]},`, i, i, i)
	}
	values := map[string]string{"100B": short[:100], "10KB": long.String()}
	olds := make([]ahocorasick.AhoCorasick, len(phrases))
	news := make([]*pmMatcher, len(phrases))
	for i, p := range phrases {
		olds[i] = oldPMBuild(p, len(strings.Join(p, "")) <= 32<<10)
		news[i] = newPMMatcher(p)
	}
	for _, size := range []string{"100B", "10KB"} {
		v := values[size]
		b.Run("old/"+size+"/any", func(b *testing.B) {
			b.SetBytes(int64(len(v) * len(olds)))
			for i := 0; i < b.N; i++ {
				for _, m := range olds {
					m.Iter(v).Next()
				}
			}
		})
		b.Run("new/"+size+"/any", func(b *testing.B) {
			b.SetBytes(int64(len(v) * len(news)))
			for i := 0; i < b.N; i++ {
				for _, m := range news {
					m.matchAny(v)
				}
			}
		})
		b.Run("old/"+size+"/capture", func(b *testing.B) {
			b.SetBytes(int64(len(v) * len(olds)))
			for i := 0; i < b.N; i++ {
				for _, m := range olds {
					oldPMMatches(m, v, 10)
				}
			}
		})
		b.Run("new/"+size+"/capture", func(b *testing.B) {
			b.SetBytes(int64(len(v) * len(news)))
			for i := 0; i < b.N; i++ {
				for _, m := range news {
					m.each(v, 10, func(int, int) {})
				}
			}
		})
	}
}

// BenchmarkPMMatcherBuild builds the automata of every CRS phrase list,
// with the library ("old") and as pmMatcher ("new"), and reports the heap
// they keep (kept-MB) and what building them allocated (alloc-MB).
func BenchmarkPMMatcherBuild(b *testing.B) {
	t := &testing.T{}
	root := parapetCRS(t)
	if root == nil {
		root = coreruleset.FS
	}
	var phrases [][]string
	for _, p := range pmDictionaries(t, root) {
		phrases = append(phrases, p)
	}
	measure := func(b *testing.B, build func([]string) any) {
		var before, after runtime.MemStats
		kept := make([]any, len(phrases))
		for i := 0; i < b.N; i++ {
			clear(kept)
			runtime.GC()
			runtime.ReadMemStats(&before)
			for j, p := range phrases {
				kept[j] = build(p)
			}
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "kept-MB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB")
			runtime.KeepAlive(kept)
		}
	}
	// The library's DFA up to 32 KB of phrases, its NFA past that, as
	// @pmFromFile built them before.
	b.Run("old", func(b *testing.B) {
		measure(b, func(p []string) any { return oldPMBuild(p, len(strings.Join(p, "")) <= 32<<10) })
	})
	b.Run("new", func(b *testing.B) { measure(b, func(p []string) any { return newPMMatcher(p) }) })
}
