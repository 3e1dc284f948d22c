package useragent

import (
	"regexp"
	"strings"
	"testing"
)

// asciiLower lower-cases ASCII letters only, as the matcher's substring
// search does.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FuzzMatcher checks the one-pass matcher against the obvious slow
// answer: a contains pattern matches exactly when the User-Agent holds it
// (ASCII case-insensitively), an exact one when they are equal ignoring
// case, a regex when regexp says so; bad patterns are refused, not
// panicked on.
func FuzzMatcher(f *testing.F) {
	for _, s := range [][4]string{
		{"sqlmap", "sqlmap/1.7.2#stable (https://sqlmap.org)", "curl/8.0", `(?i)^python-requests/`},
		{"Nikto", "Mozilla/5.00 (Nikto/2.1.6)", "", `nikto`},
		{"é", "CAFÉ-bot", "café-bot", `[`},
		{"a", "", "", ""},
		{"zgrab", "ZGRAB/0.x", "Go-http-client/1.1", `(a+)+$`},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, contains, ua, exact, re string) {
		rules := []Rule{{Contains: []string{contains}}, {Exact: []string{exact}}, {Regex: []string{re}}}
		m, err := Compile(rules)
		_, reErr := regexp.Compile(re)
		if contains == "" || reErr != nil {
			if err == nil {
				t.Fatalf("Compile accepted an empty contains pattern or a bad regex %q", re)
			}
			return
		}
		if err != nil {
			t.Fatalf("Compile refused good patterns: %v", err)
		}
		// The matcher keys exact patterns by strings.ToLower, which is not
		// quite strings.EqualFold; the reference does the same.
		lowerUA, lowerExact := strings.ToLower(ua), strings.ToLower(exact)
		hit := make([]bool, m.Rules())
		any := m.Match(ua, hit)
		want := []bool{
			strings.Contains(asciiLower(ua), asciiLower(contains)),
			lowerUA == lowerExact,
			regexp.MustCompile(re).MatchString(ua),
		}
		for i := range want {
			if hit[i] != want[i] {
				t.Fatalf("rule %d (%q %q %q) on %q: matched %v, want %v", i, contains, exact, re, ua, hit[i], want[i])
			}
		}
		if any != (want[0] || want[1] || want[2]) {
			t.Fatalf("Match reported %v with hits %v", any, hit)
		}
	})
}
