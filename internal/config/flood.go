package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Store configures where shared state lives: rate-limit buckets, counters,
// bans, challenge nonces, under-attack state.
type Store struct {
	// Type is memory (default: this instance only, bounded) or redis
	// (shared by every instance).
	Type string `yaml:"type"`
	// URL is the Redis URL, redis:// or rediss:// (TLS), Heroku's form;
	// REDIS_URL is used when it is empty. Add ?skip_verify=true, or set
	// TLSSkipVerify, for Heroku Key-Value Store's self-signed certificate.
	URL string `yaml:"url" secret:"userinfo"`
	// TLSSkipVerify accepts a rediss:// server's certificate without
	// verifying it (Heroku Key-Value Store's are self-signed), so REDIS_URL,
	// which Heroku rotates, is used as it is. The connection is still
	// encrypted; ignored for redis://.
	TLSSkipVerify bool `yaml:"tls_skip_verify"`
	// KeyPrefix starts every Redis key, so several apps can share a Redis.
	KeyPrefix string `yaml:"key_prefix"`
	// OnError is what decisions do while the store is unreachable: open
	// (default: let requests through, unlimited) or closed (answer 503).
	// Either way it is logged loudly (at most every 10s) and counted.
	OnError string `yaml:"on_error"`
	// Timeout bounds each Redis command.
	Timeout time.Duration `yaml:"timeout"`
	// MaxKeys bounds the memory store's rate-limit buckets and counters
	// (least recently used keys are evicted past it): about 135 bytes per
	// key, 64 MiB at 500,000. Challenge nonces and flags are kept apart,
	// up to a fifth as many, so a flood of clients cannot evict them.
	MaxKeys int `yaml:"max_keys"`
	// MaxBans bounds the bans the memory store keeps.
	MaxBans int `yaml:"max_bans"`
	// BanFile is where the memory store keeps bans across restarts
	// (written atomically; `parapet ban` edits it too). Empty:
	// $TMPDIR/parapet-bans.json.
	BanFile string `yaml:"ban_file"`
}

// RateLimits configures GCRA rate limits.
type RateLimits struct {
	// Defaults turns on the built-in limits that protect a Django app
	// (rl-login, rl-password-reset, rl-signup, rl-writes, rl-reads); a rule
	// of yours with the same id replaces one.
	Defaults bool `yaml:"defaults"`
	// Throttles are DRF-style throttle classes for API paths.
	Throttles Throttles `yaml:"throttles"`
	// Rules are your limits, checked in order after the built-in ones;
	// every matching rule counts the request, the first over its limit answers.
	Rules []RateLimitRule `yaml:"rules"`
}

// RateLimitRule is one GCRA limit.
type RateLimitRule struct {
	// ID names the rule in logs, bans and the 429 page.
	ID string `yaml:"id"`
	// Limit is rate/period with an optional burst: "5/minute burst 5",
	// "100/hour", "10/s".
	Limit string `yaml:"limit"`
	// Key is what is counted: ip (default; IPv6 by /64), path,
	// header:NAME, cookie:NAME, or several joined by + ("ip+path").
	// Parapet cannot verify a header or cookie value: a client may bring
	// at most throttles.max_tokens_per_client distinct values per period
	// (at least an hour), and a request without the value, or with a new
	// one, counts in the client's own bucket (by address): made-up
	// values buy nothing.
	Key string `yaml:"key"`
	// Mode is enforce (default) or monitor (log what would happen).
	Mode string `yaml:"mode"`
	// Action past the limit: throttle (default, 429), challenge (a client
	// with clearance is not challenged) or ban (the client is banned for
	// BanFor).
	Action string `yaml:"action"`
	// BanFor is the ban's length for action ban (default auto_ban.duration).
	BanFor time.Duration `yaml:"ban_for"`
	// Hosts limits the rule to these hosts (Django's ALLOWED_HOSTS
	// syntax; empty: every host).
	Hosts []string `yaml:"hosts"`
	// Paths limits the rule to path prefixes (empty: every path); with
	// PathRegex, one list: a path matching any of them is counted.
	Paths []string `yaml:"paths"`
	// PathRegex limits the rule to paths matching any of these (RE2).
	PathRegex []string `yaml:"path_regex"`
	// Methods limits the rule to these methods (empty: all; GET also
	// covers HEAD).
	Methods []string `yaml:"methods"`
	// ExceptPaths are path prefixes the rule never counts.
	ExceptPaths []string `yaml:"except_paths"`
}

// Throttles are Django REST framework's AnonRateThrottle and
// UserRateThrottle at the edge.
type Throttles struct {
	// Anon limits requests without a token, by client IP ("100/hour"; empty: off).
	// Without the user throttle it counts requests with a token too.
	Anon string `yaml:"anon"`
	// User limits requests with a token, by the token ("1000/hour"; empty: off).
	// Without the anon throttle it counts requests without a token by client IP.
	User string `yaml:"user"`
	// MaxTokensPerClient bounds the distinct tokens one client (IPv4
	// address, IPv6 /64) may bring in the user limit's period (at least an
	// hour; the set is kept in the store): Parapet cannot verify a token,
	// so a new one past the bound gets no bucket of its own and is counted
	// as a request without a token (anon, or by client IP). It bounds the
	// values of rate_limits.rules keyed by header: or cookie: too.
	MaxTokensPerClient int `yaml:"max_tokens_per_client"`
	// TokenHeader holds the token (Authorization).
	TokenHeader string `yaml:"token_header"`
	// Paths are the API path prefixes the throttles cover.
	Paths []string `yaml:"paths"`
}

// AutoBan bans clients that misbehave repeatedly. Allow-listed clients
// and loopback addresses are never banned automatically, and requests a
// browser sends for another site's page (Sec-Fetch-Site: cross-site) do
// not count.
type AutoBan struct {
	// Enabled turns automatic bans on.
	Enabled bool `yaml:"enabled"`
	// Action is what a banned client gets: block (403) or challenge.
	Action string `yaml:"action"`
	// Duration is how long a ban lasts.
	Duration time.Duration `yaml:"duration"`
	// Window is the time the thresholds count over.
	Window time.Duration `yaml:"window"`
	// Statuses are the app's answers that count towards StatusThreshold.
	Statuses []int `yaml:"statuses"`
	// StatusThreshold bans a client that got this many Statuses answers
	// from the app in Window (a 404 storm; 0: off).
	StatusThreshold int `yaml:"status_threshold"`
	// BlockThreshold bans a client whose requests were blocked this many
	// times in Window (0: off).
	BlockThreshold int `yaml:"block_threshold"`
	// ThrottleThreshold bans a client rate-limited this many times in
	// Window (0: off).
	ThrottleThreshold int `yaml:"throttle_threshold"`
}

// UnderAttack configures under-attack mode: every client without a
// challenge clearance is challenged.
type UnderAttack struct {
	// Enabled switches it on now, whatever the load.
	Enabled bool `yaml:"enabled"`
	// RequestRate switches it on when all instances together receive more
	// requests per second than this (0: off).
	RequestRate int `yaml:"request_rate"`
	// UpstreamLatency switches it on when the app's average response time
	// over a second passes this (0: off).
	UpstreamLatency time.Duration `yaml:"upstream_latency"`
	// UpstreamConcurrency switches it on when more requests than this are
	// at the app at once (0: off).
	UpstreamConcurrency int `yaml:"upstream_concurrency"`
	// CalmFor keeps it on until every measure has stayed below half its
	// threshold for this long (hysteresis).
	CalmFor time.Duration `yaml:"calm_for"`
	// ExemptPaths are never challenged by it (webhooks, health checks).
	ExemptPaths []string `yaml:"exempt_paths"`
}

// UpstreamLimit caps concurrent requests to the app, so it is never driven
// past what gunicorn can serve.
type UpstreamLimit struct {
	// MaxConcurrent is how many requests may be at the app at once
	// (gunicorn workers x threads; 0: no cap).
	MaxConcurrent int `yaml:"max_concurrent"`
	// Queue is how many more may wait for a slot; past it: 503.
	Queue int `yaml:"queue"`
	// QueueTimeout is how long one may wait; past it: 503 + Retry-After.
	QueueTimeout time.Duration `yaml:"queue_timeout"`
}

func defaultStore() Store {
	return Store{Type: "memory", KeyPrefix: "parapet:", OnError: "open", Timeout: 250 * time.Millisecond,
		MaxKeys: 500_000, MaxBans: 100_000}
}

func defaultRateLimits() RateLimits {
	return RateLimits{Defaults: true, Throttles: Throttles{TokenHeader: "Authorization", MaxTokensPerClient: 10, Paths: []string{"/api/"}}}
}

func defaultAutoBan() AutoBan {
	return AutoBan{Enabled: true, Action: "block", Duration: time.Hour, Window: time.Minute,
		Statuses: []int{401, 403, 404}, StatusThreshold: 60, BlockThreshold: 30, ThrottleThreshold: 60}
}

func defaultUnderAttack() UnderAttack { return UnderAttack{CalmFor: 2 * time.Minute} }

func defaultUpstreamLimit() UpstreamLimit {
	return UpstreamLimit{Queue: 100, QueueTimeout: 5 * time.Second}
}

// DefaultRateLimits are the built-in limits (rate_limits.defaults): strict
// for the POSTs attackers brute-force on a Django site, lenient for reads.
func DefaultRateLimits() []RateLimitRule {
	post := []string{"POST"}
	return []RateLimitRule{
		{ID: "rl-login", Limit: "5/minute burst 5", Methods: post, Paths: []string{
			"/login/", "/accounts/login/", "/admin/login/", "/api-auth/login/", "/auth/login/",
			"/users/login/", "/api/token/", "/api/auth/login/", "/dj-rest-auth/login/"}},
		{ID: "rl-password-reset", Limit: "5/hour burst 3", Methods: post, Paths: []string{
			"/password_reset/", "/accounts/password_reset/", "/accounts/password/reset/",
			"/admin/password_reset/", "/dj-rest-auth/password/reset/"}},
		{ID: "rl-signup", Limit: "10/hour burst 5", Methods: post, Paths: []string{
			"/signup/", "/register/", "/accounts/signup/", "/accounts/register/", "/dj-rest-auth/registration/"}},
		{ID: "rl-writes", Limit: "120/minute burst 60", Methods: []string{"POST", "PUT", "PATCH", "DELETE"}},
		{ID: "rl-reads", Limit: "1200/minute burst 300", Methods: []string{"GET", "HEAD", "OPTIONS"}},
	}
}

var rateKeyPart = regexp.MustCompile(`^(ip|path|(header|cookie):[A-Za-z0-9!#$%&'*+.^_|~-]+)$`)

// validateFlood checks store, rate_limits, auto_ban, under_attack and
// upstream_limit. Limit strings and regexes are checked when the chain is
// built (internal/ratelimit).
func (c *Config) validateFlood(bad func(path, format string, args ...any)) {
	s := c.Store
	switch s.Type {
	case "memory":
	case "redis":
		if s.URL == "" {
			bad("store.type", "redis needs a URL (store.url, PARAPET_STORE_URL or REDIS_URL)")
		}
	default:
		bad("store.type", "%q must be memory or redis", s.Type)
	}
	if s.URL != "" {
		if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("store.url", "%q is not a redis:// or rediss:// URL", redactURL(s.URL))
		}
	}
	if s.OnError != "open" && s.OnError != "closed" {
		bad("store.on_error", "%q must be open or closed", s.OnError)
	}
	if s.Timeout <= 0 {
		bad("store.timeout", "must be a positive duration (e.g. 250ms)")
	}
	if s.MaxKeys < 1000 {
		bad("store.max_keys", "%d is too small (at least 1000)", s.MaxKeys)
	}
	if s.MaxBans < 1 {
		bad("store.max_bans", "must be positive")
	}
	ids := map[string]bool{}
	for i, r := range c.RateLimits.Rules {
		p := fmt.Sprintf("rate_limits.rules[%d]", i)
		if r.ID == "" {
			bad(p+".id", "every rate limit needs an id (it names the rule in logs and bans)")
		} else if ids[r.ID] {
			bad(p+".id", "%q is used twice", r.ID)
		}
		ids[r.ID] = true
		if r.Limit == "" {
			bad(p+".limit", "is required, e.g. \"5/minute burst 5\"")
		}
		if r.Key != "" {
			for _, part := range strings.Split(r.Key, "+") {
				if !rateKeyPart.MatchString(part) {
					bad(p+".key", "%q must be ip, path, header:NAME or cookie:NAME (joined by +)", r.Key)
					break
				}
			}
		}
		if r.Mode != "" && r.Mode != "enforce" && r.Mode != "monitor" {
			bad(p+".mode", "%q must be enforce or monitor", r.Mode)
		}
		switch r.Action {
		case "", "throttle", "challenge", "ban":
		default:
			bad(p+".action", "%q must be throttle, challenge or ban", r.Action)
		}
		if r.BanFor < 0 || (r.BanFor > 0 && r.Action != "ban") {
			bad(p+".ban_for", "only a rule with action ban takes a positive ban_for")
		}
		checkPrefixes(bad, p+".paths", r.Paths)
		checkPrefixes(bad, p+".except_paths", r.ExceptPaths)
		for j, m := range r.Methods {
			if !methodToken.MatchString(m) {
				bad(fmt.Sprintf("%s.methods[%d]", p, j), "%q is not an upper-case HTTP method", m)
			}
		}
	}
	th := c.RateLimits.Throttles
	if (th.Anon != "" || th.User != "") && th.TokenHeader == "" {
		bad("rate_limits.throttles.token_header", "must name the header holding the API token")
	}
	if th.MaxTokensPerClient < 1 || th.MaxTokensPerClient > 10_000 {
		bad("rate_limits.throttles.max_tokens_per_client", "%d must be between 1 and 10000", th.MaxTokensPerClient)
	}
	checkPrefixes(bad, "rate_limits.throttles.paths", th.Paths)

	ab := c.AutoBan
	if ab.Action != "block" && ab.Action != "challenge" {
		bad("auto_ban.action", "%q must be block or challenge", ab.Action)
	}
	if ab.Enabled {
		if ab.Duration <= 0 {
			bad("auto_ban.duration", "must be a positive duration (e.g. 1h)")
		}
		if ab.Window <= 0 {
			bad("auto_ban.window", "must be a positive duration (e.g. 1m)")
		}
	}
	for i, st := range ab.Statuses {
		if st < 400 || st > 599 {
			bad(fmt.Sprintf("auto_ban.statuses[%d]", i), "%d must be a 4xx or 5xx status", st)
		}
	}
	for path, n := range map[string]int{"auto_ban.status_threshold": ab.StatusThreshold, "auto_ban.block_threshold": ab.BlockThreshold, "auto_ban.throttle_threshold": ab.ThrottleThreshold} {
		if n < 0 {
			bad(path, "must not be negative (0 turns it off)")
		}
	}
	ua := c.UnderAttack
	if ua.RequestRate < 0 || ua.UpstreamConcurrency < 0 || ua.UpstreamLatency < 0 {
		bad("under_attack", "thresholds must not be negative (0 turns one off)")
	}
	if ua.CalmFor <= 0 {
		bad("under_attack.calm_for", "must be a positive duration (e.g. 2m)")
	}
	checkPrefixes(bad, "under_attack.exempt_paths", ua.ExemptPaths)
	ul := c.UpstreamLimit
	if ul.MaxConcurrent < 0 || ul.Queue < 0 {
		bad("upstream_limit", "max_concurrent and queue must not be negative")
	}
	if ul.MaxConcurrent > 0 && ul.QueueTimeout <= 0 {
		bad("upstream_limit.queue_timeout", "must be a positive duration (e.g. 5s)")
	}
}

func checkPrefixes(bad func(path, format string, args ...any), path string, prefixes []string) {
	for i, p := range prefixes {
		if !strings.HasPrefix(p, "/") {
			bad(fmt.Sprintf("%s[%d]", path, i), "%q must start with /", p)
		}
	}
}
