package ratelimit

import (
	"log/slog"

	"github.com/parapet-waf/parapet/internal/config"
)

// OwnLimit is a limit Parapet puts on one of the routes it serves itself
// (the challenge's verify endpoint, CAPTCHA media), counted by client
// (IPv4 address, IPv6 /64) in the store, so instances enforce it together.
type OwnLimit struct {
	// ID names the limit in events and on the 429 page.
	ID string
	// Key is the config key the limit comes from (errors point there).
	Key string
	// Limit is the rate, as in rate_limits: "20/minute burst 20".
	Limit string
	// Paths are the path prefixes it counts.
	Paths []string
}

// NewOwn compiles limits on Parapet's own routes into a rate-limit stage
// answering like rate_limits does (429, Retry-After, RateLimit-*).
func NewOwn(cfg *config.Config, deps Deps, bans *Bans, limits []OwnLimit) (*Limiter, error) {
	l := &Limiter{st: deps.Store, guard: deps.Guard, bans: bans, log: deps.Log}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	var errs config.Errors
	for _, o := range limits {
		r, err := compile(config.RateLimitRule{ID: o.ID, Limit: o.Limit, Paths: o.Paths})
		if err != nil {
			errs = append(errs, cfg.Errorf(o.Key, "%v", err))
			continue
		}
		l.rules = append(l.rules, r)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return l, nil
}
