package ratelimit

import (
	"context"
	"net/http"
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

	// A 404 storm from the app.
	for i := 0; i < 9; i++ {
		ab.Observe(ctx, ip("192.0.2.1"), 404)
		ab.Observe(ctx, ip("192.0.2.1"), 200) // successes do not count, nor reset
	}
	if d, _ := check(bans, "GET", "/", "192.0.2.1"); d.Decided() {
		t.Fatalf("banned below the threshold: %+v", d)
	}
	ab.Observe(ctx, ip("192.0.2.1"), 404)
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
		ab.Observe(ctx, throttled, 429)
	}
	blocked := ip("192.0.2.3")
	blocked.Final = decision.Decision{Action: decision.Block, RuleID: "path-dotfiles"}
	for i := 0; i < 5; i++ {
		ab.Observe(ctx, blocked, 403)
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
		ab.Observe(ctx, office, 404)
		ab.Observe(ctx, busy, 503)
	}
	for i := 0; i < 100; i++ {
		ab.Observe(ctx, ip("127.0.0.1"), 404)
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
		ab.Observe(ctx, ip("192.0.2.6"), 401)
	}
	if d, _ := check(bans, "GET", "/", "192.0.2.6"); d.Action != decision.Challenge {
		t.Fatalf("challenge ban: %+v", d)
	}
	if d, _ := check(bans, "GET", "/", "192.0.2.6", func(_ *http.Request, i *decision.Info) { i.Cleared = true }); d.Decided() {
		t.Fatalf("cleared client still refused: %+v", d)
	}
}
