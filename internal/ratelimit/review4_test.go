package ratelimit

import (
	"net/http"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// Fourth hostile review: under a rate-limit rule with action ban,
// requests a browser marks as sent for another site (any client can send
// Sec-Fetch-Site: cross-site) count in a bucket of their own ("|xs") so
// that a third-party page cannot get its visitors banned (SECURITY.md
// #24). That bucket held the whole limit: a client sending the limit as
// itself and then again with the header was served twice the limit (10
// login attempts a minute under a 5/minute rule) and never banned. The
// |xs bucket now holds a quarter of the limit (at least one), in either
// order: 6 of 10 here. (TestBanRuleThrottlesThirdPartyRequests keeps a
// visitor's own requests passing after a third-party page filled the |xs
// bucket, so no per-address rule can tell the two orders apart; the
// quarter bounds what the trick buys.)
func TestReview4ThirdPartyBucketDoublesABanRulesLimit(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Rules = []config.RateLimitRule{{ID: "login", Limit: "5/minute", Paths: []string{"/login/"}, Action: "ban"}}
	l, _ := newLimiter(t, cfg, memDeps(t))
	xs := func(r *http.Request, _ *decision.Info) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Sec-Fetch-Mode", "cors")
	}
	for _, order := range []string{"own first", "third-party first"} {
		served := 0
		ip := "198.51.100.7"
		if order != "own first" {
			ip = "198.51.100.8"
		}
		for pass := 0; pass < 2; pass++ {
			thirdParty := (pass == 0) != (order == "own first")
			for i := 0; i < 5; i++ {
				var d decision.Decision
				if thirdParty {
					d, _ = check(l, "POST", "/login/", ip, xs)
				} else {
					d, _ = check(l, "POST", "/login/", ip)
				}
				if !d.Decided() {
					served++
				}
			}
		}
		if served > 6 {
			t.Errorf("%s: %d login attempts served from one address under a 5/minute ban rule (want at most 5 + a quarter)", order, served)
		}
	}
}
