package ratelimit

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

func withHeader(name, v string) func(*http.Request, *decision.Info) {
	return func(r *http.Request, _ *decision.Info) { r.Header.Set(name, v) }
}

func withCookie(name, v string) func(*http.Request, *decision.Info) {
	return func(r *http.Request, _ *decision.Info) { r.AddCookie(&http.Cookie{Name: name, Value: v}) }
}

// With the anon throttle alone, a request with a token is anonymous to
// it (nothing else counts it); with the user throttle on too, the user
// throttle counts it instead.
func TestAnonThrottleAloneCountsTokenRequests(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Throttles.Anon = "3/hour"
	l, _ := newLimiter(t, cfg, memDeps(t))
	passed := 0
	for i := 0; i < 10; i++ {
		if d, _ := check(l, "GET", "/api/items/", "192.0.2.1", withHeader("Authorization", fmt.Sprint("x", i%2))); !d.Decided() {
			passed++
		} else if d.RuleID != "throttle-anon" {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if passed != 3 {
		t.Fatalf("anon 3/hour alone, 10 requests with Authorization: %d passed", passed)
	}
	cfg.RateLimits.Throttles.User = "5/hour"
	l, _ = newLimiter(t, cfg, memDeps(t))
	for i := 0; i < 5; i++ {
		if d, _ := check(l, "GET", "/api/items/", "192.0.2.1", withHeader("Authorization", "Token a")); d.Decided() {
			t.Fatalf("with the user throttle on, token request %d: %+v", i+1, d)
		}
	}
}

// With the user throttle alone, made-up tokens past the bound, and
// requests without a token, count in the client's bucket at the user
// rate (as DRF's UserRateThrottle counts anonymous requests by address).
func TestUserThrottleAloneCountsMadeUpTokensByClient(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Throttles.User = "3/hour"
	cfg.RateLimits.Throttles.MaxTokensPerClient = 2
	l, _ := newLimiter(t, cfg, memDeps(t))
	passed := 0
	for i := 0; i < 30; i++ {
		d, info := check(l, "GET", "/api/items/", "192.0.2.2", withHeader("Authorization", fmt.Sprint("Token random-", i)))
		if !d.Decided() {
			passed++
		}
		if i >= 2 && !slices.Contains(info.Tags, "token-not-admitted") {
			t.Fatalf("token %d admitted past the bound of 2: %v", i, info.Tags)
		}
	}
	if passed != 2+3 {
		t.Fatalf("30 made-up tokens: %d passed, want 2 own buckets + 3 by address", passed)
	}
	if d, _ := check(l, "GET", "/api/items/", "192.0.2.2"); d.RuleID != "throttle-user" {
		t.Fatalf("no token, after the address's bucket is used up: %+v", d)
	}
	if d, _ := check(l, "GET", "/api/items/", "192.0.2.2", withHeader("Authorization", "Token random-1")); d.Decided() {
		t.Fatalf("an admitted token lost its bucket: %+v", d)
	}
}

// A rule keyed by a cookie counts requests without it, and with values
// the client has not brought before, in the client's bucket: made-up
// sessions buy nothing. A session it brought before keeps a bucket of
// its own, apart from the address's.
func TestCookieKeyBoundedPerClient(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Throttles.MaxTokensPerClient = 4
	cfg.RateLimits.Rules = []config.RateLimitRule{{ID: "exports", Limit: "3/hour", Key: "cookie:sessionid", Paths: []string{"/export/"}}}
	l, _ := newLimiter(t, cfg, memDeps(t))
	passed := 0
	for i := 0; i < 20; i++ {
		var mod []func(*http.Request, *decision.Info)
		if i%2 == 0 {
			mod = append(mod, withCookie("sessionid", fmt.Sprint("made-up-", i)))
		}
		if d, _ := check(l, "GET", "/export/", "198.51.100.1", mod...); !d.Decided() {
			passed++
		}
	}
	if passed != 3 {
		t.Fatalf("20 requests with made-up or no sessions: %d passed, want 3", passed)
	}

	// A real session: its first request takes one from the address, the
	// rest count in its own bucket only.
	real := withCookie("sessionid", "real")
	for i := 0; i < 3; i++ {
		if d, info := check(l, "GET", "/export/", "198.51.100.2", real); d.Decided() {
			t.Fatalf("session request %d: %+v %v", i+1, d, info.Tags)
		}
	}
	if d, _ := check(l, "GET", "/export/", "198.51.100.2", real); d.RuleID != "exports" {
		t.Fatalf("4th request of one session: %+v", d)
	}
	for i := 0; i < 2; i++ { // the address has 2 left
		if d, _ := check(l, "GET", "/export/", "198.51.100.2"); d.Decided() {
			t.Fatalf("request %d without a session from the same address: %+v", i+1, d)
		}
	}

	// At most max_tokens_per_client values per client get buckets.
	cfg.RateLimits.Rules[0].Limit = "100/hour"
	l, _ = newLimiter(t, cfg, memDeps(t))
	for i := 0; i < 10; i++ {
		check(l, "GET", "/export/", "198.51.100.3", withCookie("sessionid", fmt.Sprint("s", i)))
	}
	for i := 0; i < 10; i++ {
		_, info := check(l, "GET", "/export/", "198.51.100.3", withCookie("sessionid", fmt.Sprint("s", i)))
		if isNew := slices.Contains(info.Tags, "key-value-new"); isNew != (i >= 4) {
			t.Errorf("session %d of 10 seen again: new=%v (bound 4)", i, isNew)
		}
	}
}

// A ban rule throttles what a browser sends for another site's page,
// in buckets of its own holding a quarter of the limit (see
// TestReview4ThirdPartyBucketDoublesABanRulesLimit): never a ban, and the
// visitor's own bucket stays whole.
func TestBanRuleThrottlesThirdPartyRequests(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Rules = []config.RateLimitRule{{ID: "search", Limit: "5/minute", Paths: []string{"/search/"}, Action: "ban"}}
	l, bans := newLimiter(t, cfg, memDeps(t))
	img := func(r *http.Request, _ *decision.Info) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Sec-Fetch-Mode", "no-cors")
		r.Header.Set("Sec-Fetch-Dest", "image")
	}
	if d, _ := check(l, "GET", "/search/", "198.51.100.9", img); d.Decided() {
		t.Fatalf("first image: %+v", d)
	}
	for i := 0; i < 40; i++ {
		d, info := check(l, "GET", "/search/", "198.51.100.9", img)
		if d.Action != decision.Throttle || d.RuleID != "search" || !slices.Contains(info.Tags, "third-party") {
			t.Fatalf("image %d past the quarter of 5/minute: %+v %v", i+2, d, info.Tags)
		}
	}
	if d, _ := check(bans, "GET", "/", "198.51.100.9"); d.Decided() {
		t.Fatalf("the visitor was banned: %+v", d)
	}
	for i := 0; i < 5; i++ {
		if d, _ := check(l, "GET", "/search/", "198.51.100.9"); d.Decided() {
			t.Fatalf("the visitor's own search %d: %+v", i+1, d)
		}
	}
	if d, _ := check(l, "GET", "/search/", "198.51.100.9"); d.Action != decision.Block {
		t.Fatalf("the visitor's own 6th search: %+v", d)
	}
	if d, _ := check(bans, "GET", "/", "198.51.100.9"); d.RuleID != RuleBanned {
		t.Fatalf("not banned after its own requests: %+v", d)
	}
}
