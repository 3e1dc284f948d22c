// Package ratelimit is Parapet's flood defense per client: GCRA rate
// limits keyed by client IP (IPv6 by /64), header, cookie or path; bans
// (a cheap stage early in the chain) and automatic bans earned by
// blocks, rate-limit hits and 4xx storms. State lives in a store.Store, so
// several instances enforce one limit together over Redis.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/scope"
	"github.com/parapet-waf/parapet/internal/store"
)

// RuleStoreUnavailable is the rule id of the 503 answered while the store
// is unreachable and store.on_error is closed.
const RuleStoreUnavailable = "store-unavailable"

// Deps are the long-lived parts the stages use.
type Deps struct {
	Store store.Store
	Guard *store.Guard
	Log   *slog.Logger
}

// Limiter is the rate-limit stage. Safe for concurrent use.
type Limiter struct {
	rules  []*rule
	st     store.Store
	guard  *store.Guard
	bans   *Bans
	banFor time.Duration
	hits   atomic.Int64
	log    *slog.Logger
	warned atomic.Bool
	anon   *rule // throttle-anon, where tokens past the bound are counted (nil: off)
}

type rule struct {
	id      string
	limit   store.Limit
	mode    decision.Mode
	action  decision.Action // Throttle, Challenge or Block (ban)
	banFor  time.Duration
	key     []keyPart
	unless  string       // a header whose presence exempts the request (anon throttle)
	scope   *scope.Scope // hosts, paths, path_regex, methods, except_paths
	headers http.Header  // RateLimit-Policy, RateLimit-Limit
	// Keys with header: or cookie: parts count values Parapet cannot
	// verify; throttle.go bounds them per client.
	values    int    // how many key parts are header: or cookie:
	maxValues int    // distinct values per client (throttles.max_tokens_per_client)
	set       string // the store key prefix of a client's set of values
	user      bool   // throttle-user: a new token is not charged (throttle.go)
}

type keyKind uint8

const (
	keyIP keyKind = iota
	keyPath
	keyHeader
	keyCookie
)

type keyPart struct {
	kind keyKind
	name string
}

// New compiles the rate limits: the built-in ones (rate_limits.defaults),
// the throttle classes, then cfg's rules. Problems point at the config line.
func New(cfg *config.Config, deps Deps, bans *Bans) (*Limiter, error) {
	l := &Limiter{st: deps.Store, guard: deps.Guard, bans: bans, banFor: cfg.AutoBan.Duration, log: deps.Log}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	var errs config.Errors
	own := map[string]bool{}
	for _, rc := range cfg.RateLimits.Rules {
		own[rc.ID] = true
	}
	type src struct {
		path string
		rc   config.RateLimitRule
	}
	var all []src
	if cfg.RateLimits.Defaults {
		for _, rc := range config.DefaultRateLimits() {
			if !own[rc.ID] {
				all = append(all, src{"rate_limits.defaults", rc})
			}
		}
	}
	th := cfg.RateLimits.Throttles
	if th.Anon != "" {
		all = append(all, src{"rate_limits.throttles.anon", config.RateLimitRule{ID: "throttle-anon", Limit: th.Anon, Paths: th.Paths}})
	}
	if th.User != "" {
		all = append(all, src{"rate_limits.throttles.user", config.RateLimitRule{ID: "throttle-user", Limit: th.User, Key: "header:" + th.TokenHeader, Paths: th.Paths}})
	}
	for i, rc := range cfg.RateLimits.Rules {
		all = append(all, src{fmt.Sprintf("rate_limits.rules[%d]", i), rc})
	}
	for _, s := range all {
		r, err := compile(s.rc)
		if err != nil {
			path := s.path
			var fe fieldError
			if errors.As(err, &fe) && strings.HasPrefix(path, "rate_limits.rules[") {
				path += "." + fe.field
			}
			errs = append(errs, cfg.Errorf(path, "%v", err))
			continue
		}
		r.maxValues, r.set = th.MaxTokensPerClient, "kv:"+r.id+"|"
		switch r.id {
		case "throttle-anon":
			// With the user throttle on, a request with a token is its
			// business; without it, DRF counts a request whose token no
			// authentication class claims as anonymous, and so does the
			// anon throttle: any token would otherwise exempt a request.
			if th.User != "" {
				r.unless = http.CanonicalHeaderKey(th.TokenHeader)
			}
			l.anon = r
		case "throttle-user":
			r.user, r.set = true, "tk:"
		}
		l.rules = append(l.rules, r)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return l, nil
}

type fieldError struct {
	field string
	err   error
}

func (e fieldError) Error() string { return e.err.Error() }

func compile(rc config.RateLimitRule) (*rule, error) {
	lim, err := store.ParseLimit(rc.Limit)
	if err != nil {
		return nil, fieldError{"limit", err}
	}
	r := &rule{id: rc.ID, limit: lim, banFor: rc.BanFor}
	r.mode, _ = decision.ParseMode(rc.Mode)
	switch rc.Action {
	case "", "throttle":
		r.action = decision.Throttle
	case "challenge":
		r.action = decision.Challenge
	case "ban":
		r.action = decision.Block
	}
	sc, errs := scope.Compile(scope.Spec{Hosts: rc.Hosts, Paths: rc.Paths, PathRegex: rc.PathRegex, Methods: rc.Methods, ExceptPaths: rc.ExceptPaths})
	if len(errs) > 0 {
		var fe *scope.FieldError
		if errors.As(errs[0], &fe) {
			return nil, fieldError{fmt.Sprintf("%s[%d]", fe.Field, fe.Index), fe.Err}
		}
		return nil, errs[0]
	}
	r.scope = sc
	key := rc.Key
	if key == "" {
		key = "ip"
	}
	for _, part := range strings.Split(key, "+") {
		kind, name, _ := strings.Cut(part, ":")
		switch kind {
		case "ip":
			r.key = append(r.key, keyPart{kind: keyIP})
		case "path":
			r.key = append(r.key, keyPart{kind: keyPath})
		case "header":
			r.key = append(r.key, keyPart{kind: keyHeader, name: http.CanonicalHeaderKey(name)})
			r.values++
		case "cookie":
			r.key = append(r.key, keyPart{kind: keyCookie, name: name})
			r.values++
		default:
			return nil, fieldError{"key", fmt.Errorf("%q must be ip, path, header:NAME or cookie:NAME", part)}
		}
	}
	window := int(lim.Period / time.Second)
	r.headers = http.Header{
		"Ratelimit-Policy": {fmt.Sprintf("%d;w=%d;burst=%d", lim.Rate, window, lim.Burst)},
		"Ratelimit-Limit":  {strconv.Itoa(lim.Rate)},
	}
	return r, nil
}

// Name implements decision.Stage.
func (l *Limiter) Name() string { return "ratelimit" }

// Hits is the number of requests found over a limit (the rate-limit hit
// metric until Prometheus metrics exist).
func (l *Limiter) Hits() int64 { return l.hits.Load() }

// Check implements decision.Stage: every matching rule counts the request;
// the first one over its limit answers.
func (l *Limiter) Check(ctx context.Context, r *http.Request, info *decision.Info) decision.Decision {
	if l.guard.Skip() {
		if l.guard.FailOpen() {
			return decision.Pass
		}
		return unavailable()
	}
	var buf [128]byte
	for _, rr := range l.rules {
		if !rr.matches(r) {
			continue
		}
		if rr.action == decision.Challenge && info.Cleared {
			continue
		}
		b := bucket{rule: rr, n: 1}
		if rr.values == 0 {
			b.keys[0], _ = rr.appendKey(buf[:0], r, info, false)
		} else if err := l.valueBucket(ctx, &b, r, info); err != nil {
			if l.guard.Failed("ratelimit", err) {
				return decision.Pass
			}
			return unavailable()
		}
		if rr = b.rule; rr == nil { // the anon throttle counts it
			continue
		}
		// Another site's page can make its visitors' browsers send
		// requests (ThirdParty): under a ban rule they fill buckets of
		// their own and are throttled, never banned, and never fill the
		// visitor's own bucket so that its next request gets it banned.
		// Their bucket holds a quarter of the limit: any client can mark
		// its requests so, and a client sending the limit as itself and
		// then as another site's page is served 1.25 times the limit,
		// not twice.
		thirdParty := rr.action == decision.Block && ThirdParty(r)
		limit := rr.limit
		if thirdParty {
			limit = thirdPartyLimit(limit)
		}
		var res store.Result
		var err error
		for i, key := range b.keys[:b.n] {
			if thirdParty {
				key = append(key, "|xs"...)
			}
			if res, err = l.st.GCRA(ctx, string(key), limit); err != nil || !res.Allowed {
				break
			}
			if i == 0 && b.admit != nil {
				if err = l.admit(ctx, rr, info, b.admit); err != nil {
					break
				}
			}
		}
		if err != nil {
			if l.guard.Failed("ratelimit", err) {
				return decision.Pass
			}
			return unavailable()
		}
		l.guard.OK()
		if res.Allowed {
			continue
		}
		l.hits.Add(1)
		l.checkProxy(r, info)
		d := rr.decision(res)
		if thirdParty {
			d.Action = decision.Throttle
			d.Reason = "over rate limit " + limit.String() + ", the share of " + rr.limit.String() + " for requests sent for another site's page (throttled, not banned)"
			info.AddTag("third-party")
		}
		if rr.mode == decision.Monitor {
			info.Matched = append(info.Matched, d)
			continue
		}
		if d.Action == decision.Block && l.bans != nil {
			banFor := rr.banFor
			if banFor <= 0 {
				banFor = l.banFor
			}
			l.bans.Ban(ctx, info.ClientIP, "over rate limit "+rr.id+" ("+rr.limit.String()+")", rr.id, "block", banFor)
		}
		return d
	}
	return decision.Pass
}

// thirdPartyLimit is the share of a ban rule's limit that requests sent
// for another site's page get: a quarter of the rate and burst, at least
// one, over the same period.
func thirdPartyLimit(l store.Limit) store.Limit {
	return store.Limit{Rate: max(1, l.Rate/4), Period: l.Period, Burst: max(1, l.Burst/4)}
}

// checkProxy warns once when a limited request came through a proxy that
// is not trusted (X-Forwarded-For present, client = peer): then every
// client behind that proxy shares one limit (Heroku without
// trusted_proxies: heroku).
func (l *Limiter) checkProxy(r *http.Request, info *decision.Info) {
	if l.warned.Load() || r.Header.Get("X-Forwarded-For") == "" {
		return
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || peer.Addr().Unmap() != info.ClientIP.Unmap() {
		return
	}
	if l.warned.CompareAndSwap(false, true) {
		l.log.Warn("rate limit hit by a proxy's address: requests carry X-Forwarded-For from a peer not in trusted_proxies, so every client behind it shares one limit; set trusted_proxies (heroku on Heroku)", "peer", peer.Addr().String())
	}
}

func unavailable() decision.Decision {
	return decision.Decision{Action: decision.Block, Status: http.StatusServiceUnavailable, RuleID: RuleStoreUnavailable,
		Reason: "store unreachable and store.on_error is closed", RetryAfter: 5 * time.Second}
}

func (rr *rule) decision(res store.Result) decision.Decision {
	retry := res.RetryAfter
	if retry < time.Second {
		retry = time.Second
	}
	h := make(http.Header, 4)
	for k, v := range rr.headers {
		h[k] = v
	}
	h["Ratelimit-Remaining"] = []string{"0"}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(int((retry + time.Second - 1) / time.Second))}
	d := decision.Decision{Action: rr.action, Mode: rr.mode, RuleID: rr.id, RetryAfter: retry, Headers: h,
		Reason: "over rate limit " + rr.limit.String()}
	if rr.action == decision.Block {
		d.Reason += ": client banned"
	}
	return d
}

// matches reports whether the rule counts r: a limit restricts, so any
// reading of the path in its scope counts (package scope).
func (rr *rule) matches(r *http.Request) bool {
	if !rr.scope.Covers(r, scope.Restrict) {
		return false
	}
	if rr.unless != "" && r.Header.Get(rr.unless) != "" {
		return false
	}
	return true
}

// appendKey builds the store key "rl:<rule>|<parts>"; ok is false when a
// header or cookie the key needs is missing. Header and cookie values
// (tokens, sessions) are hashed so no secret is stored. byClient puts the
// client's key ("@" and its address) in place of every header and cookie
// value: the bucket of the client's requests without a value, or with one
// not admitted (throttle.go).
func (rr *rule) appendKey(b []byte, r *http.Request, info *decision.Info, byClient bool) ([]byte, bool) {
	b = append(b, "rl:"...)
	b = append(b, rr.id...)
	for _, k := range rr.key {
		b = append(b, '|')
		switch k.kind {
		case keyIP:
			b = AppendClientKey(b, info.ClientIP)
		case keyPath:
			b = append(b, scope.Normalize(r.URL.Path)...) // one bucket for the spellings of a path
		case keyHeader, keyCookie:
			if byClient {
				b = AppendClientKey(append(b, '@'), info.ClientIP)
				continue
			}
			v := k.value(r)
			if v == "" {
				return nil, false
			}
			b = appendDigest(b, v)
		}
	}
	return b, true
}

// value is the header's or cookie's value in r ("" when missing).
func (k keyPart) value(r *http.Request) string {
	if k.kind == keyHeader {
		return r.Header.Get(k.name)
	}
	c, err := r.Cookie(k.name)
	if err != nil {
		return ""
	}
	return c.Value
}

func appendDigest(b []byte, v string) []byte {
	sum := sha256.Sum256([]byte(v))
	return hex.AppendEncode(b, sum[:12])
}

// ClientKey is how a client is counted and banned: its IPv4 address, or
// its IPv6 /64 (one subscriber's network).
func ClientKey(ip netip.Addr) string {
	return string(AppendClientKey(nil, ip))
}

// AppendClientKey appends ClientKey(ip) to b.
func AppendClientKey(b []byte, ip netip.Addr) []byte {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.AppendTo(b)
	}
	return ip.AppendTo(b)
}

// ParseClientKey turns an address typed by a person (`parapet ban add`)
// into the key bans use.
func ParseClientKey(s string) (string, error) {
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is6() && p.Bits() == 64 {
		return p.Masked().String(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return "", fmt.Errorf("%q is not an IP address (IPv6 may be given as its /64)", s)
	}
	return ClientKey(ip), nil
}
