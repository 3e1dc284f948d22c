package useragent

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func defaultRules() ([]Rule, []string) {
	var rules []Rule
	var ids []string
	for _, d := range Defaults() {
		if d.Off {
			continue
		}
		rules = append(rules, Rule{Contains: d.Contains})
		ids = append(ids, d.ID)
	}
	return rules, ids
}

func TestDefaultsCatchScannersNotBrowsers(t *testing.T) {
	rules, ids := defaultRules()
	m, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{
		"sqlmap/1.7.2#stable (https://sqlmap.org)":                                                        "ua-sqlmap",
		"Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)":                                        "ua-nikto",
		"Mozilla/5.0 (Windows NT 10.0) Nuclei - Open-source project (github.com/projectdiscovery/nuclei)": "ua-nuclei",
		"masscan/1.3 (https://github.com/robertdavidgraham/masscan)":                                      "ua-masscan",
		"Mozilla/5.0 zgrab/0.x": "ua-zgrab",
		"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)": "ua-nmap",
		"WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)":                  "ua-wpscan",
		"gobuster/3.6":              "ua-gobuster",
		"Fuzz Faster U Fool v2.1.0": "ua-ffuf",
		"libwww-perl/6.67":          "ua-libwww-perl",
		"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; Acunetix-Product)": "ua-acunetix",
		"SQLMAP/1.0": "ua-sqlmap",
	}
	for ua, want := range bad {
		i, ok := m.First(ua)
		if !ok || ids[i] != want {
			got := "nothing"
			if ok {
				got = ids[i]
			}
			t.Errorf("%q: matched %s, want %s", ua, got, want)
		}
	}
	good := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"MyApp/4.2 (iPhone; iOS 17.5; Scale/3.00)",
		"python-requests/2.31.0",
		"curl/8.5.0",
		"",
	}
	for _, ua := range good {
		if i, ok := m.First(ua); ok {
			t.Errorf("%q matched %s", ua, ids[i])
		}
	}
}

func TestExactRegexAndOrder(t *testing.T) {
	m, err := Compile([]Rule{
		{Exact: []string{"Java/1.8.0_151"}},
		{Regex: []string{`(?i)^python-urllib/\d`}},
		{Contains: []string{"bot"}},
		{Contains: []string{"evilbot"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]int{"java/1.8.0_151": 0, "Java/1.8.0_151 extra": -1, "Python-urllib/3.11": 1, "an EvilBot/1": 2, "x": -1}
	for ua, want := range cases {
		got, ok := m.First(ua)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("%q: %d, want %d", ua, got, want)
		}
	}
	hit := make([]bool, 4)
	m.Match("an EvilBot/1", hit)
	if !hit[2] || !hit[3] {
		t.Fatalf("Match should report every rule: %v", hit)
	}
}

func TestBadPatterns(t *testing.T) {
	_, err := Compile([]Rule{{Contains: []string{"ok"}}, {Regex: []string{"fine", "("}}})
	var pe *PatternError
	if !errors.As(err, &pe) || pe.Rule != 1 || pe.Field != "regex" || pe.Index != 1 {
		t.Fatalf("got %v", err)
	}
	if _, err := Compile([]Rule{{Contains: []string{""}}}); err == nil {
		t.Fatal("empty pattern accepted")
	}
}

// BenchmarkUserAgent matches 1,000 patterns (the defaults plus generated
// tool names) against a browser and a scanner User-Agent.
func BenchmarkUserAgent(b *testing.B) {
	rules, _ := defaultRules()
	r := rand.New(rand.NewPCG(7, 7))
	letters := "abcdefghijklmnopqrstuvwxyz"
	for len(rules) < 1000 {
		n := 5 + r.IntN(8)
		w := make([]byte, n)
		for i := range w {
			w[i] = letters[r.IntN(len(letters))]
		}
		rules = append(rules, Rule{Contains: []string{fmt.Sprintf("%s-scanner/", w)}})
	}
	m, err := Compile(rules)
	if err != nil {
		b.Fatal(err)
	}
	hit := make([]bool, len(rules))
	for name, ua := range map[string]string{
		"chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"sqlmap": "sqlmap/1.7.2#stable (https://sqlmap.org)",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(hit)
				m.Match(ua, hit)
			}
		})
	}
}

// The matcher remembers answers for recent User-Agents in a small table
// that many User-Agents share: whatever lands in a slot, from however many
// goroutines, every answer is the one matching gives, and a caller's
// own hit slice is never cleared or shared.
func TestRememberedAnswersAgreeWithMatching(t *testing.T) {
	rules, _ := defaultRules()
	rules = append(rules, Rule{Exact: []string{"curl/8.5.0"}}, Rule{Regex: []string{`(?i)^python-requests/`}})
	m, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	var uas []string
	for i := range 3 * memoSlots {
		switch i % 4 {
		case 0:
			uas = append(uas, fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64) Chrome/%d.0 Safari/537.36", i))
		case 1:
			uas = append(uas, fmt.Sprintf("sqlmap/1.%d#stable", i))
		case 2:
			uas = append(uas, fmt.Sprintf("python-requests/2.%d", i))
		default:
			uas = append(uas, "curl/8.5.0")
		}
	}
	uas = append(uas, "Mozilla/5.0 "+string(make([]byte, memoMaxUA))+" sqlmap") // longer than the memo keeps
	want := make([][]bool, len(uas))
	wantAny := make([]bool, len(uas))
	for i, ua := range uas {
		want[i] = make([]bool, m.Rules())
		wantAny[i] = m.match(ua, want[i])
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 20000 {
				i := r.IntN(len(uas))
				hit := make([]bool, m.Rules())
				hit[0] = true // Match adds to what the caller has
				anyHit := m.Match(uas[i], hit)
				if anyHit != wantAny[i] {
					errs <- fmt.Errorf("%q: Match says %v, matching says %v", uas[i], anyHit, wantAny[i])
					return
				}
				for j := range hit {
					if hit[j] != (want[i][j] || j == 0) || m.Hits(uas[i])[j] != want[i][j] {
						errs <- fmt.Errorf("%q rule %d: remembered answer differs from matching", uas[i], j)
						return
					}
				}
				first, ok := m.First(uas[i])
				if ok != wantAny[i] || ok && !want[i][first] {
					errs <- fmt.Errorf("%q: First says %d, %v", uas[i], first, ok)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
