// Copyright 2022 Juan Pablo Tosso
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//	http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.
package collections

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/types/variables"
)

// Case Insensitive Map
// This is for headers and other collections that are case insensitive
func TestMap(t *testing.T) {
	c := NewMap(variables.RequestHeaders)
	c.SetIndex("user", 1, "value")
	c.Set("user-agent", []string{"value2"})
	if c.Get("user")[0] != "value" {
		t.Error("Error setting index")
	}
	if len(c.FindAll()) == 0 {
		t.Error("Error finding all")
	}
	if len(c.FindString("a")) > 0 {
		t.Error("Error should not find string")
	}
	if l := len(c.FindRegex(regexp.MustCompile("user.*"))); l != 2 {
		t.Errorf("Error should find regex, got %d", l)
	}

	c.Add("user-agent", "value3")

	wantStr := `REQUEST_HEADERS:
    user: value
    user-agent: value2,value3
`

	if have := fmt.Sprint(c); have != wantStr {
		// Map order is not guaranteed, not pretty but checking twice is the simplest for now.
		wantStr = `REQUEST_HEADERS:
    user-agent: value2,value3
    user: value
`
		if have != wantStr {
			t.Errorf("String() = %q, want %q", have, wantStr)
		}
	}

	if c.Len() != len(c.data) {
		t.Fatal("The lengths are not equal.")
	}

}

// TestMapTotalValuesVsLen is a regression test for GHSA-3ww9-vw83-9w5x: Len
// counts distinct keys, so a caller enforcing an argument limit against Len
// was blind to many values piling up under one repeated key. TotalValues
// must count every value instead.
func TestMapTotalValuesVsLen(t *testing.T) {
	c := NewMap(variables.ArgsGet)
	for i := 0; i < 1000; i++ {
		c.Add("repeated", "v")
	}
	if c.Len() != 1 {
		t.Fatalf("expected Len() == 1 for a single repeated key, got %d", c.Len())
	}
	if c.TotalValues() != 1000 {
		t.Fatalf("expected TotalValues() == 1000, got %d", c.TotalValues())
	}

	c.Add("distinct", "v")
	if c.Len() != 2 {
		t.Fatalf("expected Len() == 2 after adding a distinct key, got %d", c.Len())
	}
	if c.TotalValues() != 1001 {
		t.Fatalf("expected TotalValues() == 1001, got %d", c.TotalValues())
	}
}

func TestMapTotalValuesEmpty(t *testing.T) {
	c := NewMap(variables.ArgsGet)
	if got := c.TotalValues(); got != 0 {
		t.Fatalf("expected TotalValues() == 0 for an empty map, got %d", got)
	}
}

// TestMapTotalValuesTracksAllMutations is a regression test for the counter
// TotalValues now maintains incrementally (see GHSA-6r3q-mjv7-xr8m follow-up:
// recomputing it by walking every key on each call made checkArgumentLimit
// quadratic). Every mutating method must keep the counter in sync, not just
// Add.
func TestMapTotalValuesTracksAllMutations(t *testing.T) {
	c := NewMap(variables.ArgsGet)

	c.Set("key", []string{"v1", "v2", "v3"})
	if got := c.TotalValues(); got != 3 {
		t.Fatalf("after Set with 3 values: expected TotalValues() == 3, got %d", got)
	}

	// Set overwriting the same key with fewer values must shrink the count,
	// not just grow it.
	c.Set("key", []string{"v1"})
	if got := c.TotalValues(); got != 1 {
		t.Fatalf("after Set shrinking to 1 value: expected TotalValues() == 1, got %d", got)
	}

	// SetIndex growing past the current length appends.
	c.SetIndex("key", 5, "v-at-5")
	if got := c.TotalValues(); got != 2 {
		t.Fatalf("after SetIndex append: expected TotalValues() == 2, got %d", got)
	}

	// SetIndex overwriting an existing index must not change the count.
	c.SetIndex("key", 0, "v1-overwritten")
	if got := c.TotalValues(); got != 2 {
		t.Fatalf("after SetIndex overwrite: expected TotalValues() == 2, got %d", got)
	}

	// SetIndex on a brand new key.
	c.SetIndex("new-key", 0, "v")
	if got := c.TotalValues(); got != 3 {
		t.Fatalf("after SetIndex on a new key: expected TotalValues() == 3, got %d", got)
	}

	c.Remove("key")
	if got := c.TotalValues(); got != 1 {
		t.Fatalf("after Remove: expected TotalValues() == 1, got %d", got)
	}

	// Removing a key that was never present must be a no-op.
	c.Remove("does-not-exist")
	if got := c.TotalValues(); got != 1 {
		t.Fatalf("after Remove of a missing key: expected TotalValues() == 1, got %d", got)
	}

	c.Reset()
	if got := c.TotalValues(); got != 0 {
		t.Fatalf("after Reset: expected TotalValues() == 0, got %d", got)
	}
}

func BenchmarkMapTotalValues(b *testing.B) {
	c := NewMap(variables.ArgsGet)
	for i := 0; i < 1000; i++ {
		c.Add("repeated", "v")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.TotalValues()
	}
}

// Case Sensitive Map
// This is for ARGS, ARGS_GET, ARGS_POST and other collections that are case sensitive
func TestNewCaseSensitiveKeyMap(t *testing.T) {
	c := NewCaseSensitiveKeyMap(variables.ArgsPost)
	c.SetIndex("key", 1, "value")
	c.Set("key2", []string{"value2"})
	if c.Get("key")[0] != "value" {
		t.Error("Error setting index")
	}
	if len(c.FindAll()) == 0 {
		t.Error("Error finding all")
	}
	if len(c.FindString("a")) > 0 {
		t.Error("Error should not find string")
	}
	if l := len(c.FindRegex(regexp.MustCompile("k.*"))); l != 2 {
		t.Errorf("Error should find regex, got %d", l)
	}

	c.Add("key2", "value3")

	wantStr := `ARGS_POST:
    key: value
    key2: value2,value3
`

	if have := fmt.Sprint(c); have != wantStr {
		// Map order is not guaranteed, not pretty but checking twice is the simplest for now.
		wantStr = `ARGS_POST:
    key2: value2,value3
    key: value
`
		if have != wantStr {
			t.Errorf("String() = %q, want %q", have, wantStr)
		}
	}

	if c.Len() != len(c.data) {
		t.Fatal("The lengths are not equal.")
	}

}

func TestFindAllBulkAllocIndependence(t *testing.T) {
	m := NewMap(variables.ArgsGet)
	m.Add("key1", "value1")
	m.Add("key2", "value2")
	m.Add("key3", "value3")

	results := m.FindAll()
	if len(results) != 3 {
		t.Fatalf("expected 3 results, got %d", len(results))
	}

	// Mutate first result's value through the MatchData interface
	// and verify others are not affected
	values := make([]string, len(results))
	for i, r := range results {
		values[i] = r.Value()
	}

	// Verify all values are distinct and correct
	seen := map[string]bool{}
	for _, v := range values {
		if seen[v] {
			t.Errorf("duplicate value found: %s", v)
		}
		seen[v] = true
	}
	if !seen["value1"] || !seen["value2"] || !seen["value3"] {
		t.Errorf("expected value1, value2, value3 but got %v", values)
	}
}

func TestFindStringBulkAlloc(t *testing.T) {
	m := NewMap(variables.ArgsGet)
	m.Add("key", "val1")
	m.Add("key", "val2")

	results := m.FindString("key")
	if len(results) != 2 {
		t.Fatalf("expected 2 results, got %d", len(results))
	}

	// Each result should have distinct values
	if results[0].Value() == results[1].Value() {
		t.Errorf("expected distinct values, got %q and %q", results[0].Value(), results[1].Value())
	}
}

// Parapet: a key with one value is found in one allocation, with the
// key as added, its variable and value; each call gets its own match.
func TestFindStringOneValue(t *testing.T) {
	m := NewMap(variables.RequestHeaders)
	m.Add("User-Agent", "curl/8")
	got := m.FindString("user-agent")
	if len(got) != 1 || got[0].Key() != "User-Agent" || got[0].Value() != "curl/8" || got[0].Variable() != variables.RequestHeaders {
		t.Fatalf("got %v", got)
	}
	if cap(got) != len(got) {
		t.Errorf("capacity %d, length %d: a caller's append would write into the shared slice", cap(got), len(got))
	}
	// Until the map changes, the matches are built once.
	if n := testing.AllocsPerRun(100, func() { _ = m.FindString("user-agent") }); n != 0 {
		t.Errorf("%v allocations per repeated call, want 0", n)
	}
	n := 0
	if allocs := testing.AllocsPerRun(100, func() { n++; m.Set("x-n", []string{strconv.Itoa(n)}); _ = m.FindString("user-agent") }); allocs > 3 {
		t.Errorf("%v allocations per call after a change, want the match's one (and Set's)", allocs)
	}
}

// TestFindStringSeesEveryChange checks FindString, which keeps the
// matches of the last few keys while the map is unchanged, answers what
// the map holds after each kind of change, for more keys than it keeps.
func TestFindStringSeesEveryChange(t *testing.T) {
	m := NewMap(variables.TX)
	want := func(key string, values ...string) {
		t.Helper()
		got := m.FindString(key)
		var vals []string
		for _, md := range got {
			vals = append(vals, md.Value())
		}
		if strings.Join(vals, ",") != strings.Join(values, ",") {
			t.Errorf("FindString(%q) = %q, want %q", key, vals, values)
		}
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 2*keyMatchesCacheSize; i++ {
			m.Set(fmt.Sprintf("k%d", i), []string{fmt.Sprintf("v%d-%d", i, round)})
		}
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < 2*keyMatchesCacheSize; i++ {
				want(fmt.Sprintf("k%d", i), fmt.Sprintf("v%d-%d", i, round))
			}
		}
		want("absent")
		m.Add("absent", "now")
		want("absent", "now")
		m.Add("ABSENT", "twice")
		want("absent", "now", "twice")
		m.SetIndex("absent", 1, "second")
		want("absent", "now", "second")
		m.SetFirst(NewFirstValues("absent"), 0, "first")
		want("absent", "first", "second")
		m.Remove("absent")
		want("absent")
		// One value: its match is kept with it (keyValue.one) and must
		// follow every write of the value, while a match read before
		// keeps the old value.
		m.SetOne("one", "a")
		want("one", "a")
		before := m.FindString("one")
		m.SetOne("one", "b")
		want("one", "b")
		if before[0].Value() != "a" {
			t.Errorf("a match read before SetOne changed to %q", before[0].Value())
		}
		m.SetFirst(NewFirstValues("one"), 0, "c")
		want("one", "c")
		m.SetIndex("one", 0, "d")
		want("one", "d")
		m.Set("one", []string{"e"})
		want("one", "e")
		m.Remove("one")
		m.Add("one", "f")
		want("one", "f")
		want("k0", fmt.Sprintf("v0-%d", round))
		m.Reset()
		want("k0")
		want("one")
	}
}

func TestFindRegexBulkAlloc(t *testing.T) {
	m := NewMap(variables.ArgsGet)
	m.Add("abc", "val1")
	m.Add("abd", "val2")
	m.Add("xyz", "val3")

	re := regexp.MustCompile("^ab")
	results := m.FindRegex(re)
	if len(results) != 2 {
		t.Fatalf("expected 2 results, got %d", len(results))
	}

	// Verify keys match regex
	for _, r := range results {
		if r.Key() != "abc" && r.Key() != "abd" {
			t.Errorf("unexpected key: %s", r.Key())
		}
	}
}

func TestFindAllEmptyMap(t *testing.T) {
	m := NewMap(variables.ArgsGet)
	results := m.FindAll()
	if results != nil {
		t.Errorf("expected nil for empty map, got %v", results)
	}
}

func BenchmarkFindAll(b *testing.B) {
	b.ReportAllocs()
	m := NewMap(variables.RequestHeaders)
	for i := 0; i < 20; i++ {
		m.Add(fmt.Sprintf("x-header-%d", i), fmt.Sprintf("value-%d", i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.FindAll()
	}
}

func BenchmarkFindRegex(b *testing.B) {
	b.ReportAllocs()
	m := NewMap(variables.RequestHeaders)
	for i := 0; i < 20; i++ {
		m.Add(fmt.Sprintf("x-header-%d", i), fmt.Sprintf("value-%d", i))
	}
	// Matches keys ending in 0-9 (x-header-0 .. x-header-9), roughly half.
	re := regexp.MustCompile(`^x-header-\d$`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.FindRegex(re)
	}
}

func BenchmarkFindString(b *testing.B) {
	b.ReportAllocs()
	m := NewMap(variables.RequestHeaders)
	// Single key with multiple values
	for i := 0; i < 20; i++ {
		m.Add("x-forwarded-for", fmt.Sprintf("10.0.0.%d", i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = m.FindString("x-forwarded-for")
	}
}

func BenchmarkTxSetGet(b *testing.B) {
	keys := make(map[int]string, b.N)
	for i := 0; i < b.N; i++ {
		keys[i] = fmt.Sprintf("key%d", i)
	}
	c := NewCaseSensitiveKeyMap(variables.RequestHeaders)

	b.Run("Set", func(b *testing.B) {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.Set(keys[i], []string{"value2"})
		}
	})
	b.Run("Get", func(b *testing.B) {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c.Get(keys[i])
		}
	})
	b.ReportAllocs()
}

// SetFirst answers as SetIndex(key, 0, value) does, whatever else changed
// the map between two calls.
func TestSetFirstIsSetIndexZero(t *testing.T) {
	fast, slow := NewMap(variables.Rule), NewMap(variables.Rule)
	f := NewFirstValues("id", "msg")
	both := func(fn func(m *Map)) { fn(fast); fn(slow) }
	check := func(step string) {
		t.Helper()
		for _, k := range []string{"id", "msg", "other"} {
			if a, b := fast.Get(k), slow.Get(k); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: %s is %v, want %v", step, k, a, b)
			}
		}
		all := func(m *Map) []string {
			var out []string
			for _, md := range m.FindAll() {
				out = append(out, md.Key()+"="+md.Value())
			}
			sort.Strings(out)
			return out
		}
		if a, b := all(fast), all(slow); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: FindAll has %v, want %v", step, a, b)
		}
	}
	set := func(i int, key, value string) {
		fast.SetFirst(f, i, value)
		slow.SetIndex(key, 0, value)
	}
	set(0, "id", "1") // a key not there yet
	check("first")
	set(0, "id", "2") // written in place
	check("second")
	set(1, "msg", "hello")
	check("third")
	set(1, "msg", "hello again")
	set(0, "id", "2b")
	check("fourth")
	both(func(m *Map) { m.Set("id", []string{"x", "y"}) }) // another change
	set(0, "id", "3")
	check("after Set")
	both(func(m *Map) { m.Remove("msg") })
	set(1, "msg", "again")
	check("after Remove")
	both(func(m *Map) { m.Reset() })
	set(1, "msg", "reset")
	set(0, "id", "4")
	check("after Reset")
	both(func(m *Map) { m.Add("other", "z") })
	set(0, "id", "5")
	check("after Add")
}

// TestKeyMatchesIsMatchString checks the literal-prefix shortcut of the
// FindRegex methods: for every pattern and key, keyMatches answers what
// the regex itself answers.
func TestKeyMatchesIsMatchString(t *testing.T) {
	patterns := []string{
		`^header_name_920450_`, `header_name_`, `^abc|xyz`, `(?i)^abc`, `abc$`, `^a.c`,
		`^(?:abc|abd)`, `ab+c`, `^ĉapelo_`, `^\d+_x`, `(?m)^abc`, `^.*$`, `^`, `x*`,
		`^json\.\d+\.field$`, `^\xff`,
	}
	keys := []string{
		"", "abc", "xabc", "ABC", "abd", "header_name_920450_host", "tx.header_name_920450_x",
		"header_name_", "ab", "abbbc", "ĉapelo_1", "capelo_1", "12_x", "x\nabc", "json.3.field",
		"\xff\xfe", "ĉ\xff", "xyz", "zyx",
	}
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		prefix, _ := re.LiteralPrefix()
		for _, k := range keys {
			start := newKeyStart(re)
			if got, want := keyMatches(re, prefix, &start, k), re.MatchString(k); got != want {
				t.Errorf("pattern %q (prefix %q), key %q: keyMatches %v, MatchString %v", p, prefix, k, got, want)
			}
		}
	}
	// The shortcut is taken where it matters.
	if prefix, _ := regexp.MustCompile(`^header_name_920450_`).LiteralPrefix(); prefix != "header_name_920450_" {
		t.Errorf("CRS 920450's key pattern has literal prefix %q", prefix)
	}
}

// TestFindRegexSeesEveryChange: FindRegex's matches are kept by pattern
// until the map changes; every kind of change is seen, and regexes
// compiled apart from the same source share the entry.
func TestFindRegexSeesEveryChange(t *testing.T) {
	m := NewMap(variables.RequestHeaders)
	want := func(pattern string, values ...string) {
		t.Helper()
		var vals []string
		for _, md := range m.FindRegex(regexp.MustCompile(pattern)) {
			vals = append(vals, md.Value())
		}
		sort.Strings(vals)
		if strings.Join(vals, ",") != strings.Join(values, ",") {
			t.Errorf("FindRegex(%q) = %q, want %q", pattern, vals, values)
		}
	}
	for round := 0; round < 3; round++ {
		for i := 0; i < 2*keyMatchesCacheSize; i++ {
			m.Set(fmt.Sprintf("x-k%d", i), []string{fmt.Sprintf("v%d-%d", i, round)})
		}
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < 2*keyMatchesCacheSize; i++ {
				want(fmt.Sprintf("^x-k%d$", i), fmt.Sprintf("v%d-%d", i, round))
			}
		}
		want("^y-")
		m.Add("y-a", "now")
		want("^y-", "now")
		m.Add("Y-B", "twice")
		want("^y-", "now", "twice")
		m.SetIndex("y-a", 1, "second")
		want("^y-", "now", "second", "twice")
		m.SetFirst(NewFirstValues("y-b"), 0, "first")
		want("^y-", "first", "now", "second")
		m.SetOne("y-a", "one")
		want("^y-", "first", "one")
		m.Remove("y-b")
		want("^y-", "one")
		m.Reset()
		want("^y-")
		want("^x-k0$")
	}
}
