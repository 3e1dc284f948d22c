package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

func TestAutoBan(t *testing.T) {
	deps := memDeps(t)
	bans := NewBans(deps)
	cfg := config.Default().AutoBan
	cfg.StatusThreshold, cfg.BlockThreshold, cfg.ThrottleThreshold = 10, 5, 3
	ab := NewAutoBan(cfg, deps, bans)
	ctx := context.Background()
	ip := func(s string) *decision.Info { return &decision.Info{ClientIP: netip.MustParseAddr(s)} }
	plain := httptest.NewRequest("GET", "/", nil)

	// A 404 storm from the app.
	for i := 0; i < 9; i++ {
		ab.Observe(ctx, plain, ip("192.0.2.1"), 404)
		ab.Observe(ctx, plain, ip("192.0.2.1"), 200) // successes do not count, nor reset
	}
	if d, _ := check(bans, "GET", "/", "192.0.2.1"); d.Decided() {
		t.Fatalf("banned below the threshold: %+v", d)
	}
	ab.Observe(ctx, plain, ip("192.0.2.1"), 404)
	d, _ := check(bans, "GET", "/", "192.0.2.1")
	if d.Action != decision.Block || d.RuleID != RuleBanned {
		t.Fatalf("after the 10th 404: %+v", d)
	}
	list, _ := deps.Store.Bans(ctx)
	if len(list) != 1 || list[0].Reason != "10 401/403/404 answers from the app in 1m0s" || list[0].Source != "auto" {
		t.Fatalf("ban list: %+v", list)
	}

	// Rate-limit hits and blocks.
	throttled := ip("192.0.2.2")
	throttled.Final = decision.Decision{Action: decision.Throttle, RuleID: "rl-login"}
	for i := 0; i < 3; i++ {
		ab.Observe(ctx, plain, throttled, 429)
	}
	blocked := ip("192.0.2.3")
	blocked.Final = decision.Decision{Action: decision.Block, RuleID: "path-dotfiles"}
	for i := 0; i < 5; i++ {
		ab.Observe(ctx, plain, blocked, 403)
	}
	for _, a := range []string{"192.0.2.2", "192.0.2.3"} {
		if d, _ := check(bans, "GET", "/", a); d.RuleID != RuleBanned {
			t.Fatalf("%s not banned: %+v", a, d)
		}
	}

	// An allow-listed client is never banned, whatever the app answers,
	// nor this machine; 503s of Parapet's own do not count.
	office := ip("192.0.2.4")
	office.Final = decision.Decision{Action: decision.Allow, Final: true, RuleID: "office"}
	busy := ip("192.0.2.5")
	busy.Final = decision.Decision{Action: decision.Block, Status: 503, RuleID: "upstream-busy"}
	for i := 0; i < 100; i++ {
		ab.Observe(ctx, plain, office, 404)
		ab.Observe(ctx, plain, busy, 503)
	}
	for i := 0; i < 100; i++ {
		ab.Observe(ctx, plain, ip("127.0.0.1"), 404)
	}
	for _, a := range []string{"192.0.2.4", "192.0.2.5", "127.0.0.1"} {
		if d, _ := check(bans, "GET", "/", a); d.Decided() {
			t.Fatalf("%s banned: %+v", a, d)
		}
	}

	// A challenge ban lets a client with clearance through.
	cfg.Action = "challenge"
	ab = NewAutoBan(cfg, deps, bans)
	for i := 0; i < 10; i++ {
		ab.Observe(ctx, plain, ip("192.0.2.6"), 401)
	}
	if d, _ := check(bans, "GET", "/", "192.0.2.6"); d.Action != decision.Challenge {
		t.Fatalf("challenge ban: %+v", d)
	}
	if d, _ := check(bans, "GET", "/", "192.0.2.6", func(_ *http.Request, i *decision.Info) { i.Cleared = true }); d.Decided() {
		t.Fatalf("cleared client still refused: %+v", d)
	}
}

// What another site's page makes a visitor's browser send does not count
// towards auto-bans: blocks of a few dozen <img src=/.env?n> would
// otherwise ban the visitor. Only a top-level navigation its user
// started counts, like a request without Fetch Metadata.
func TestAutoBanIgnoresWhatThirdPartyPagesSend(t *testing.T) {
	deps := memDeps(t)
	bans := NewBans(deps)
	cfg := config.Default().AutoBan
	cfg.BlockThreshold = 5
	ab := NewAutoBan(cfg, deps, bans)
	ctx := context.Background()
	for i, c := range []struct {
		name    string
		headers []string // Site, Mode, Dest, User
		counts  bool
	}{
		{"img", []string{"cross-site", "no-cors", "image", ""}, false},
		{"script", []string{"cross-site", "no-cors", "script", ""}, false},
		{"stylesheet", []string{"cross-site", "no-cors", "style", ""}, false},
		{"img crossorigin", []string{"cross-site", "cors", "image", ""}, false},
		{"fetch", []string{"cross-site", "cors", "empty", ""}, false},
		{"fetch no-cors", []string{"cross-site", "no-cors", "empty", ""}, false},
		{"iframe", []string{"cross-site", "navigate", "iframe", ""}, false},
		{"popup navigated by script", []string{"cross-site", "navigate", "document", ""}, false},
		{"link clicked on another site", []string{"cross-site", "navigate", "document", "?1"}, true},
		{"same-site img", []string{"same-site", "no-cors", "image", ""}, true},
		{"same-origin fetch", []string{"same-origin", "cors", "empty", ""}, true},
		{"no Fetch Metadata (curl, old browsers)", nil, true},
	} {
		addr := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
		for n := 0; n < 5; n++ {
			r := httptest.NewRequest("GET", "/.env?n", nil)
			for j, name := range []string{"Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User"} {
				if j < len(c.headers) && c.headers[j] != "" {
					r.Header.Set(name, c.headers[j])
				}
			}
			info := &decision.Info{ClientIP: addr, Final: decision.Decision{Action: decision.Block, RuleID: "path-dotfiles"}}
			ab.Observe(ctx, r, info, 403)
		}
		d, _ := check(bans, "GET", "/", addr.String())
		if banned := d.RuleID == RuleBanned; banned != c.counts {
			t.Errorf("%s: banned %v after 5 blocks, want %v", c.name, banned, c.counts)
		}
	}
}

// Over plain HTTP browsers send no Fetch Metadata: an Origin or Referer
// naming another host is then the evidence of another site's page. A
// redirect to HTTPS (edge.https_redirect) is no block and never counts.
func TestAutoBanIgnoresThirdPartyPagesOverPlainHTTP(t *testing.T) {
	deps := memDeps(t)
	bans := NewBans(deps)
	cfg := config.Default().AutoBan
	cfg.BlockThreshold = 5
	ab := NewAutoBan(cfg, deps, bans)
	ctx := context.Background()
	for i, c := range []struct {
		name, host, origin, referer string
		final                       decision.Decision
		counts                      bool
	}{
		{"img, Referer of another site", "victim.test:8000", "", "http://evil.test:9000/", dotfiles, false},
		{"img, Referer of another site, no port", "victim.test", "", "http://EVIL.test/cats.html", dotfiles, false},
		{"form post, Origin of another site", "victim.test", "http://evil.test", "", dotfiles, false},
		{"sandboxed frame, Origin null", "victim.test", "null", "", dotfiles, false},
		{"same host, other port", "victim.test:8000", "", "http://victim.test:9000/", dotfiles, true},
		{"same host", "Victim.test", "", "http://victim.test/page/", dotfiles, true},
		{"IPv6 host", "[2001:db8::1]:80", "", "http://[2001:db8::1]/", dotfiles, true},
		{"no Referer (curl, referrerpolicy=no-referrer)", "victim.test", "", "", dotfiles, true},
		{"Referer not a URL", "victim.test", "", "::", dotfiles, true},
		{"HTTPS redirect", "victim.test", "", "", decision.Decision{Action: decision.Respond, Status: 301, RuleID: "edge-https-redirect"}, false},
	} {
		addr := netip.AddrFrom4([4]byte{198, 51, 100, byte(100 + i)})
		for n := 0; n < 5; n++ {
			r := httptest.NewRequest("GET", "http://"+c.host+"/.env?n", nil)
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if c.referer != "" {
				r.Header.Set("Referer", c.referer)
			}
			info := &decision.Info{ClientIP: addr, Final: c.final}
			ab.Observe(ctx, r, info, 403)
		}
		d, _ := check(bans, "GET", "/", addr.String())
		if banned := d.RuleID == RuleBanned; banned != c.counts {
			t.Errorf("%s: banned %v after 5, want %v", c.name, banned, c.counts)
		}
	}
}

var dotfiles = decision.Decision{Action: decision.Block, RuleID: "path-dotfiles"}
