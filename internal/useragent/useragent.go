// Package useragent matches a User-Agent against many rules at once: every
// substring pattern of every rule in one Aho–Corasick pass (ASCII
// case-insensitive), exact matches through a map, regexes only where given.
package useragent

import (
	"fmt"
	"regexp"
	"strings"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"

	"github.com/parapet-waf/parapet/internal/memo"
)

// Rule is one group of patterns; a User-Agent matches the rule when any of
// its patterns matches.
type Rule struct {
	// Contains are case-insensitive substrings.
	Contains []string
	// Exact are case-insensitive whole strings.
	Exact []string
	// Regex are RE2 patterns (add (?i) for case-insensitivity).
	Regex []string
}

// PatternError names a bad pattern: its rule, field and index.
type PatternError struct {
	Rule    int
	Field   string
	Index   int
	Pattern string
	Reason  string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("rule %d: %s[%d] %q: %s", e.Rule, e.Field, e.Index, e.Pattern, e.Reason)
}

// Matcher matches User-Agents against compiled rules. Safe for concurrent use.
type Matcher struct {
	rules    int
	ac       *ahocorasick.AhoCorasick
	acRule   []int // pattern index -> rule
	exact    map[string][]int
	regexes  []*regexp.Regexp
	regexFor []int // regex index -> rule
	memo     *memo.Table[answer]
}

// A site's traffic comes from a few hundred User-Agents at most, and every
// request is matched more than once (access rules, the crawler check), so
// the matcher remembers its answers for recent User-Agents (memoSlots of
// them, each of at most memoMaxUA bytes).
const (
	memoSlots = 512
	memoMaxUA = 512
)

// answer is what a User-Agent matches; shared, never modified.
type answer struct {
	hit []bool
	any bool
}

// Compile builds a matcher over rules (rule i is reported as index i).
func Compile(rules []Rule) (*Matcher, error) {
	m := &Matcher{rules: len(rules), exact: map[string][]int{}}
	m.memo = memo.New(memoSlots, memoMaxUA, func(ua string) answer {
		hit := make([]bool, m.rules)
		return answer{hit: hit, any: m.match(ua, hit)}
	})
	var patterns []string
	for i, r := range rules {
		for j, s := range r.Contains {
			if s == "" {
				return nil, &PatternError{Rule: i, Field: "contains", Index: j, Pattern: s, Reason: "empty pattern matches everything"}
			}
			patterns = append(patterns, s)
			m.acRule = append(m.acRule, i)
		}
		for _, s := range r.Exact {
			k := strings.ToLower(s)
			m.exact[k] = append(m.exact[k], i)
		}
		for j, s := range r.Regex {
			re, err := regexp.Compile(s)
			if err != nil {
				return nil, &PatternError{Rule: i, Field: "regex", Index: j, Pattern: s, Reason: strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
			}
			m.regexes = append(m.regexes, re)
			m.regexFor = append(m.regexFor, i)
		}
	}
	if len(patterns) > 0 {
		b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{AsciiCaseInsensitive: true, MatchKind: ahocorasick.StandardMatch, DFA: true})
		ac := b.Build(patterns)
		m.ac = &ac
	}
	return m, nil
}

// Rules is the number of rules compiled.
func (m *Matcher) Rules() int { return m.rules }

// Match sets hit[i] for every rule i the User-Agent matches; hit must have
// Rules() elements and is not cleared first. It reports whether any matched.
func (m *Matcher) Match(ua string, hit []bool) bool {
	e := m.memo.Get(ua)
	for i, h := range e.hit {
		if h {
			hit[i] = true
		}
	}
	return e.any
}

// Hits returns, for every rule i, whether the User-Agent matches it. The
// slice is shared: the caller must not modify it.
func (m *Matcher) Hits(ua string) []bool { return m.memo.Get(ua).hit }

// match is Match without the memo.
func (m *Matcher) match(ua string, hit []bool) bool {
	any := false
	if m.ac != nil {
		it := m.ac.IterOverlapping(ua)
		for mt := it.Next(); mt != nil; mt = it.Next() {
			hit[m.acRule[mt.Pattern()]] = true
			any = true
		}
	}
	if len(m.exact) > 0 {
		if rs, ok := m.exact[strings.ToLower(ua)]; ok {
			for _, r := range rs {
				hit[r] = true
			}
			any = true
		}
	}
	for i, re := range m.regexes {
		if !hit[m.regexFor[i]] && re.MatchString(ua) {
			hit[m.regexFor[i]] = true
			any = true
		}
	}
	return any
}

// First returns the lowest-numbered rule the User-Agent matches.
func (m *Matcher) First(ua string) (int, bool) {
	e := m.memo.Get(ua)
	if !e.any {
		return -1, false
	}
	for i, h := range e.hit {
		if h {
			return i, true
		}
	}
	return -1, false
}
