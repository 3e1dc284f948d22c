package csppolicy

import (
	"slices"
	"strings"
	"testing"
)

const starter = "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"

func TestParseAndString(t *testing.T) {
	p := Parse("  Default-Src 'self' ;; img-src data: https://x.example ; img-src *; report-uri /r;")
	if got := p.String(); got != "default-src 'self'; img-src data: https://x.example; report-uri /r" {
		t.Fatalf("round trip: %q", got)
	}
	if got := p.Without("report-uri", "report-to").String(); got != "default-src 'self'; img-src data: https://x.example" {
		t.Fatalf("without report-uri: %q", got)
	}
}

// What a Django site behind the starter policy reports (the shapes
// Chromium and Firefox send) becomes a policy allowing it, directive by
// directive: origins of third-party hosts, keywords for inline code and
// eval, data: and blob:; a missing directive starts from the one it fell
// back to; -elem/-attr go to their parent; 'none' makes way.
func TestSuggestAllowsWhatWasSeen(t *testing.T) {
	seen := []Violation{
		{"script-src-elem", "https://cdn.jsdelivr.net/npm/htmx.org@1.9.10/dist/htmx.min.js", "https://shop.example/", 40},
		{"script-src-elem", "https://CDN.jsdelivr.net:443/npm/alpinejs", "https://shop.example/cart/", 3},
		{"script-src-elem", "inline", "https://shop.example/", 12},
		{"script-src-attr", "inline", "https://shop.example/cart/", 2},
		{"script-src", "eval", "https://shop.example/", 1},
		{"style-src-attr", "inline", "https://shop.example/", 90},
		{"style-src-elem", "https://fonts.googleapis.com/css2", "https://shop.example/", 20},
		{"font-src", "https://fonts.gstatic.com/s/inter/v12/x.woff2", "https://shop.example/", 20},
		{"img-src", "https://www.gravatar.com/avatar/abc", "https://shop.example/u/", 5},
		{"img-src", "data", "https://shop.example/", 9},                       // the starter allows data: images
		{"connect-src", "wss://shop.example/ws/", "https://shop.example/", 4}, // 'self' covers it: stale
		{"connect-src", "https://api.stripe.com/v1", "https://shop.example/pay/", 6},
		{"frame-src", "https://js.stripe.com/v3/", "https://shop.example/pay/", 6},
		{"worker-src", "blob", "https://shop.example/", 1},
		{"object-src", "https://shop.example/x.swf", "https://shop.example/", 1},
		{"form-action", "https://checkout.example/pay", "https://shop.example/pay/", 2},
		{"img-src", "chrome-extension://abcdef/icon.png", "https://shop.example/", 7},
		{"require-trusted-types-for", "trusted-types-sink", "https://shop.example/", 1},
		{"script-src-elem", "", "https://shop.example/", 1},
	}
	s := Suggest(Parse(starter), seen)
	want := "default-src 'self'; script-src 'self' 'unsafe-eval' 'unsafe-inline' https://cdn.jsdelivr.net; " +
		"img-src 'self' data: https://www.gravatar.com; object-src 'self'; base-uri 'self'; frame-ancestors 'self'; " +
		"form-action 'self' https://checkout.example; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; " +
		"font-src 'self' https://fonts.gstatic.com; connect-src 'self' https://api.stripe.com; frame-src 'self' https://js.stripe.com; " +
		"worker-src 'self' blob:"
	if got := s.Policy.String(); got != want {
		t.Fatalf("suggested:\n got %s\nwant %s", got, want)
	}
	total := 0
	for _, v := range seen {
		total += v.Count
	}
	if s.Reports != total {
		t.Errorf("reports %d, want %d", s.Reports, total)
	}
	var jsdelivr *Addition
	for i, a := range s.Added {
		if a.Source == "https://cdn.jsdelivr.net" {
			jsdelivr = &s.Added[i]
		}
	}
	if jsdelivr == nil || jsdelivr.Count != 43 || jsdelivr.Example != "https://shop.example/" || jsdelivr.Directive != "script-src" {
		t.Errorf("jsdelivr addition: %+v", jsdelivr)
	}
	if s.Added[0].Directive != "script-src" || s.Added[0].Source != "https://cdn.jsdelivr.net" {
		t.Errorf("additions not in policy order, most reported first: %+v", s.Added[0])
	}
	for _, a := range s.Added {
		if a.Directive == "script-src" && a.Source == "'unsafe-inline'" && !slices.Equal(a.Reported, []string{"script-src-attr", "script-src-elem"}) {
			t.Errorf("inline script reported under %v, want both -attr and -elem", a.Reported)
		}
	}
	skipped := map[string]string{}
	for _, sk := range s.Skipped {
		skipped[sk.BlockedURI] = sk.Why
	}
	for blocked, why := range map[string]string{
		"chrome-extension://abcdef/icon.png": "browser extension",
		"trusted-types-sink":                 "Trusted Types",
		"":                                   "no blocked URI",
		"wss://shop.example/ws/":             "already allowed",
		"data":                               "already allowed",
	} {
		if !strings.Contains(skipped[blocked], why) {
			t.Errorf("%q skipped for %q, want %q", blocked, skipped[blocked], why)
		}
	}
}

// Risky sources are named, in the suggestion and in the base: inline code
// and eval, data: where it can run, wildcard and scheme-only hosts, plain
// HTTP for scripts. data: images are not a risk.
func TestRisksNamed(t *testing.T) {
	base := Parse("default-src 'self'; img-src 'self' data: *.cdn.example; style-src 'self' https:")
	s := Suggest(base, []Violation{
		{"script-src-elem", "inline", "https://a.example/", 1},
		{"script-src-elem", "data", "https://a.example/", 1},
		{"script-src-elem", "http://insecure.example/x.js", "https://a.example/", 1},
		{"style-src-attr", "inline", "https://a.example/", 1},
		{"img-src", "https://other.example/p.png", "https://a.example/", 1},
	})
	got := map[string]bool{}
	for _, r := range s.Risks {
		got[r.Directive+" "+r.Source] = r.New
	}
	want := map[string]bool{
		"script-src 'unsafe-inline'":         true,
		"script-src data:":                   true,
		"script-src http://insecure.example": true,
		"style-src 'unsafe-inline'":          true,
		"style-src https:":                   false,
		"img-src *.cdn.example":              false,
	}
	for k, isNew := range want {
		if n, ok := got[k]; !ok || n != isNew {
			t.Errorf("risk %q: present %v new %v, want new %v", k, ok, n, isNew)
		}
	}
	if _, ok := got["img-src data:"]; ok {
		t.Error("data: images named as a risk")
	}
	if len(got) != len(want) {
		t.Errorf("risks %v, want %v", got, want)
	}
}

// A report about a directive the policy does not restrict (the policy
// changed since) adds nothing: adding the directive would restrict it.
// 'self' is what a same-origin URL becomes, and 'none' makes way for it.
func TestSuggestStaleReportsAndSelf(t *testing.T) {
	s := Suggest(Parse("script-src 'self'; object-src 'none'"), []Violation{
		{"img-src", "https://x.example/a.png", "https://a.example/", 3},
		{"object-src", "http://a.example/movie.swf", "http://a.example/", 1},
	})
	if got := s.Policy.String(); got != "script-src 'self'; object-src 'self'" {
		t.Fatalf("got %q", got)
	}
	if len(s.Skipped) != 1 || !strings.Contains(s.Skipped[0].Why, "does not restrict img-src") {
		t.Fatalf("skipped %+v", s.Skipped)
	}
	for doc, blocked := range map[string]string{
		"http://a.example/":      "https://a.example/x",
		"https://a.example/":     "wss://a.example/ws",
		"http://a.example:8000/": "http://a.example:8000/x",
	} {
		if src, _ := sourceFor(blocked, doc); src != "'self'" {
			t.Errorf("%s on %s: %q, want 'self'", blocked, doc, src)
		}
	}
	for _, c := range [][2]string{
		{"https://a.example/", "http://a.example/x"},
		{"https://a.example/", "https://b.a.example/x"},
		{"http://a.example:8000/", "http://a.example/x"},
	} {
		doc, blocked := c[0], c[1]
		if src, _ := sourceFor(blocked, doc); src == "'self'" {
			t.Errorf("%s on %s taken for 'self'", blocked, doc)
		}
	}
}

// Anyone can post reports: a made-up blocked URI never breaks the
// policy's syntax or smuggles in a directive or a wildcard.
func TestSuggestRefusesMadeUpHosts(t *testing.T) {
	for _, blocked := range []string{
		"https://a.example;script-src *",
		"https://a.example;script-src/",
		"https://*.example/x.js",
		"https://a.example,b.example/",
		"https://\u00e9vil.example/x.js",
		"https://a.example\u202e/x.js",
		"https://a.example:80;x/",
		"https://'unsafe-inline'/",
	} {
		s := Suggest(Parse(starter), []Violation{{"script-src-elem", blocked, "https://site.example/", 1}})
		if got := s.Policy.String(); got != starter {
			t.Errorf("%q made the policy %q", blocked, got)
		}
	}
}
