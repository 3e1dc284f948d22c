package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/store"
	"github.com/parapet-waf/parapet/internal/testenv"
)

func memDeps(t testing.TB) Deps {
	m, err := store.NewMemory(context.Background(), store.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return Deps{Store: m, Guard: store.NewGuard(true, nil)}
}

func newLimiter(t testing.TB, cfg *config.Config, deps Deps) (*Limiter, *Bans) {
	t.Helper()
	bans := NewBans(deps)
	l, err := New(cfg, deps, bans)
	if err != nil {
		t.Fatal(err)
	}
	return l, bans
}

func check(s decision.Stage, method, path, ip string, mod ...func(*http.Request, *decision.Info)) (decision.Decision, *decision.Info) {
	r := httptest.NewRequest(method, path, nil)
	info := &decision.Info{ClientIP: netip.MustParseAddr(ip)}
	for _, m := range mod {
		m(r, info)
	}
	return s.Check(r.Context(), r, info), info
}

func TestDefaultLoginLimit(t *testing.T) {
	l, _ := newLimiter(t, config.Default(), memDeps(t))
	for i := 0; i < 5; i++ {
		if d, _ := check(l, "POST", "/accounts/login/", "203.0.113.5"); d.Decided() {
			t.Fatalf("login %d refused: %+v", i+1, d)
		}
	}
	d, _ := check(l, "POST", "/accounts/login/", "203.0.113.5")
	if d.Action != decision.Throttle || d.RuleID != "rl-login" || d.RetryAfter < 11*time.Second || d.RetryAfter > 12*time.Second {
		t.Fatalf("6th login: %+v", d)
	}
	if d.Headers.Get("RateLimit-Limit") != "5" || d.Headers.Get("RateLimit-Remaining") != "0" || d.Headers.Get("RateLimit-Reset") != "12" || d.Headers.Get("RateLimit-Policy") != "5;w=60;burst=5" {
		t.Fatalf("headers: %v", d.Headers)
	}
	// Reading the login page, and other clients, are not affected.
	if d, _ := check(l, "GET", "/accounts/login/", "203.0.113.5"); d.Decided() {
		t.Fatalf("GET after the POST limit: %+v", d)
	}
	if d, _ := check(l, "POST", "/accounts/login/", "203.0.113.6"); d.Decided() {
		t.Fatalf("other client: %+v", d)
	}
	// Admin login has the same strict limit.
	for i := 0; i < 5; i++ {
		check(l, "POST", "/admin/login/", "198.51.100.1")
	}
	if d, _ := check(l, "POST", "/admin/login/", "198.51.100.1"); d.RuleID != "rl-login" {
		t.Fatalf("admin login: %+v", d)
	}
}

func TestIPv6CountedByPrefix(t *testing.T) {
	l, _ := newLimiter(t, config.Default(), memDeps(t))
	for i := 0; i < 5; i++ {
		check(l, "POST", "/login/", "2001:db8:1:2::"+string(rune('a'+i)))
	}
	if d, _ := check(l, "POST", "/login/", "2001:db8:1:2:ffff::1"); d.RuleID != "rl-login" {
		t.Fatalf("same /64 not limited together: %+v", d)
	}
	if d, _ := check(l, "POST", "/login/", "2001:db8:1:3::1"); d.Decided() {
		t.Fatalf("other /64 limited: %+v", d)
	}
}

func TestThrottleClasses(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Throttles.Anon = "3/hour"
	cfg.RateLimits.Throttles.User = "5/hour"
	l, _ := newLimiter(t, cfg, memDeps(t))
	token := func(v string) func(*http.Request, *decision.Info) {
		return func(r *http.Request, _ *decision.Info) { r.Header.Set("Authorization", v) }
	}
	for i := 0; i < 3; i++ {
		check(l, "GET", "/api/items/", "192.0.2.1")
	}
	if d, _ := check(l, "GET", "/api/items/", "192.0.2.1"); d.RuleID != "throttle-anon" {
		t.Fatalf("4th anonymous request: %+v", d)
	}
	// The same address with a token counts by the token, separately per token.
	for i := 0; i < 5; i++ {
		if d, _ := check(l, "GET", "/api/items/", "192.0.2.1", token("Token aaa")); d.Decided() {
			t.Fatalf("user request %d: %+v", i+1, d)
		}
	}
	if d, _ := check(l, "GET", "/api/items/", "192.0.2.99", token("Token aaa")); d.RuleID != "throttle-user" {
		t.Fatalf("6th request with one token, from elsewhere: %+v", d)
	}
	if d, _ := check(l, "GET", "/api/items/", "192.0.2.1", token("Token bbb")); d.Decided() {
		t.Fatalf("another token: %+v", d)
	}
	if d, _ := check(l, "GET", "/not-api/", "192.0.2.1"); d.Decided() {
		t.Fatalf("outside the API paths: %+v", d)
	}
}

// A made-up token on every request is not a fresh bucket each time: a
// client's first max_tokens_per_client tokens get buckets of their own,
// later new ones count against the client's anonymous bucket, and a
// token it brought before keeps its bucket. Two limiters on one Redis
// (two instances) share the bound.
func TestThrottleRandomTokensBoundedPerClient(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Throttles.Anon = "3/hour"
	cfg.RateLimits.Throttles.User = "100/hour"
	cfg.RateLimits.Throttles.MaxTokensPerClient = 4
	srv := testenv.StartRedis(t)
	rs, err := store.NewRedis(store.RedisOptions{URL: srv.URL(), Prefix: "tk-test:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	shared := Deps{Store: rs, Guard: store.NewGuard(false, nil)}
	a, _ := newLimiter(t, cfg, shared)
	b, _ := newLimiter(t, cfg, shared)
	mem, _ := newLimiter(t, cfg, memDeps(t))
	for name, ls := range map[string][2]*Limiter{"memory": {mem, mem}, "redis, two instances": {a, b}} {
		t.Run(name, func(t *testing.T) {
			token := func(v string) func(*http.Request, *decision.Info) {
				return func(r *http.Request, _ *decision.Info) { r.Header.Set("Authorization", v) }
			}
			passed := 0
			var last decision.Decision
			var lastInfo *decision.Info
			for i := 0; i < 30; i++ {
				d, info := check(ls[i%2], "GET", "/api/items/", "198.51.100.7", token(fmt.Sprintf("Token random-%d", i)))
				if !d.Decided() {
					passed++
				}
				last, lastInfo = d, info
			}
			if passed != 4+3 || last.RuleID != "throttle-anon" || !slices.Contains(lastInfo.Tags, "token-not-admitted") {
				t.Fatalf("30 made-up tokens: %d passed (want 4 own buckets + 3 anonymous), last %+v %v", passed, last, lastInfo.Tags)
			}
			if d, _ := check(ls[1], "GET", "/api/items/", "198.51.100.7", token("Token random-0")); d.Decided() {
				t.Fatalf("an admitted token lost its bucket: %+v", d)
			}
			if d, _ := check(ls[0], "GET", "/api/items/", "198.51.100.8", token("Token random-29")); d.Decided() {
				t.Fatalf("another client's first token: %+v", d)
			}
		})
	}
}

func TestRuleActionsAndModes(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Rules = []config.RateLimitRule{
		{ID: "search", Limit: "1/minute", Paths: []string{"/search/"}, Action: "challenge"},
		{ID: "export", Limit: "1/minute", Paths: []string{"/export/"}, Action: "ban", BanFor: time.Hour},
		{ID: "watch", Limit: "1/minute", PathRegex: []string{`^/feed/\d+$`}, Mode: "monitor"},
		{ID: "per-session", Limit: "1/minute", Key: "cookie:sessionid+path", Paths: []string{"/cart/"}},
	}
	deps := memDeps(t)
	l, bans := newLimiter(t, cfg, deps)
	cleared := func(_ *http.Request, i *decision.Info) { i.Cleared = true }

	check(l, "GET", "/search/", "192.0.2.1")
	if d, _ := check(l, "GET", "/search/", "192.0.2.1"); d.Action != decision.Challenge || d.RuleID != "search" {
		t.Fatalf("challenge rule: %+v", d)
	}
	if d, _ := check(l, "GET", "/search/", "192.0.2.1", cleared); d.Decided() {
		t.Fatalf("a client with clearance was challenged: %+v", d)
	}

	check(l, "GET", "/export/", "192.0.2.2")
	if d, _ := check(l, "GET", "/export/", "192.0.2.2"); d.Action != decision.Block || d.RuleID != "export" {
		t.Fatalf("ban rule: %+v", d)
	}
	if d, _ := check(bans, "GET", "/anything/", "192.0.2.2"); d.Action != decision.Block || d.RuleID != RuleBanned || !strings.Contains(d.Reason, "export") {
		t.Fatalf("banned client on another path: %+v", d)
	}
	if d, _ := check(bans, "GET", "/anything/", "192.0.2.3"); d.Decided() {
		t.Fatalf("unbanned client: %+v", d)
	}

	check(l, "GET", "/feed/1", "192.0.2.4")
	d, info := check(l, "GET", "/feed/1", "192.0.2.4")
	if d.Decided() || len(info.Matched) != 1 || info.Matched[0].RuleID != "watch" || info.Matched[0].Mode != decision.Monitor {
		t.Fatalf("monitor rule: %+v %+v", d, info.Matched)
	}

	session := func(v string) func(*http.Request, *decision.Info) {
		return func(r *http.Request, _ *decision.Info) { r.AddCookie(&http.Cookie{Name: "sessionid", Value: v}) }
	}
	check(l, "POST", "/cart/", "192.0.2.5", session("s1"))
	if d, _ := check(l, "POST", "/cart/", "192.0.2.6", session("s1")); d.RuleID != "per-session" {
		t.Fatalf("same session from another address: %+v", d)
	}
	if d, _ := check(l, "POST", "/cart/", "192.0.2.7", session("s2")); d.Decided() {
		t.Fatalf("other session: %+v", d)
	}
	// A request without the cookie counts in its address's bucket, which
	// s1's first request (a session new to 192.0.2.5) took one from.
	if d, _ := check(l, "POST", "/cart/", "192.0.2.5"); d.RuleID != "per-session" {
		t.Fatalf("no session cookie, after a new session from the address: %+v", d)
	}
	// No secret reaches the store: the session value is hashed in the key.
	r := httptest.NewRequest("POST", "/cart/", nil)
	r.AddCookie(&http.Cookie{Name: "sessionid", Value: "secret-session-value"})
	key, _ := l.rules[3].appendKey(nil, r, &decision.Info{}, false)
	if strings.Contains(string(key), "secret-session-value") {
		t.Fatalf("session value in the store key %q", key)
	}
}

func TestBadRateLimitConfigRefusedWithLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(file, []byte("rate_limits:\n  rules:\n    - id: a\n      limit: 5/fortnight\n    - id: b\n      limit: 5/minute\n      path_regex: ['(']\n      key: header\n"), 0o600)
	_, err := config.Load(file, nil)
	if err == nil || !strings.Contains(err.Error(), file+":8: rate_limits.rules[1].key") {
		t.Fatalf("load: %v", err)
	}
	os.WriteFile(file, []byte("rate_limits:\n  rules:\n    - id: a\n      limit: 5/fortnight\n    - id: b\n      limit: 5/minute\n      path_regex: ['(']\n"), 0o600)
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, memDeps(t), nil)
	for _, want := range []string{file + ":4: rate_limits.rules[0].limit: \"5/fortnight\"", file + ":7: rate_limits.rules[1].path_regex[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// A store that cannot be reached: on_error open lets requests through,
// closed answers 503; both count the errors.
func TestStoreDownOpenOrClosed(t *testing.T) {
	rs, err := store.NewRedis(store.RedisOptions{URL: "redis://" + testenv.FreeAddr(t), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for _, open := range []bool{true, false} {
		deps := Deps{Store: rs, Guard: store.NewGuard(open, nil)}
		l, bans := newLimiter(t, config.Default(), deps)
		d, _ := check(l, "POST", "/login/", "192.0.2.1")
		db, _ := check(bans, "POST", "/login/", "192.0.2.1")
		if open && (d.Decided() || db.Decided()) {
			t.Fatalf("fail open refused: %+v %+v", d, db)
		}
		if !open && (d.Status != 503 || d.RuleID != RuleStoreUnavailable || db.Status != 503) {
			t.Fatalf("fail closed let through: %+v %+v", d, db)
		}
		// The first store.TripAfter calls found the store down; the rest
		// answer at once (circuit open) instead of each waiting for it.
		for i := 0; i < 100; i++ {
			check(l, "GET", "/", "192.0.2.1")
		}
		if deps.Guard.Errors() != store.TripAfter || !deps.Guard.Down() {
			t.Fatalf("errors counted: %d", deps.Guard.Errors())
		}
	}
}

func TestParseClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":             "203.0.113.7",
		"::ffff:203.0.113.7":      "203.0.113.7",
		"2001:db8:1:2:3:4:5:6":    "2001:db8:1:2::/64",
		"2001:db8:1:2::/64":       "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1/64": "2001:db8:1:2::/64",
	} {
		if got, err := ParseClientKey(in); err != nil || got != want {
			t.Errorf("ParseClientKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "example.com", "203.0.113.0/24", "2001:db8::/48", "1.2.3"} {
		if _, err := ParseClientKey(bad); err == nil {
			t.Errorf("ParseClientKey(%q) accepted", bad)
		}
	}
}

// A limit hit by the address of a proxy Parapet does not trust (the
// Heroku router without trusted_proxies: heroku) is logged once: every
// client behind it shares one limit.
func TestWarnsOnceAboutUntrustedProxy(t *testing.T) {
	var logs testenv.Buffer
	deps := memDeps(t)
	deps.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	l, _ := newLimiter(t, config.Default(), deps)
	viaRouter := func(r *http.Request, _ *decision.Info) {
		r.RemoteAddr = "10.1.2.3:41000"
		r.Header.Set("X-Forwarded-For", "198.51.100.9")
	}
	for i := 0; i < 10; i++ {
		check(l, "POST", "/login/", "10.1.2.3", viaRouter)
	}
	if n := len(logs.Lines("trusted_proxies", "10.1.2.3")); n != 1 {
		t.Fatalf("%d warnings:\n%s", n, logs.String())
	}
	// Behind a trusted proxy (client differs from the peer): no warning.
	var quiet testenv.Buffer
	deps.Log = slog.New(slog.NewJSONHandler(&quiet, nil))
	l, _ = newLimiter(t, config.Default(), deps)
	for i := 0; i < 10; i++ {
		check(l, "POST", "/login/", "198.51.100.9", viaRouter)
	}
	if quiet.String() != "" {
		t.Fatalf("warned behind a trusted proxy: %s", quiet.String())
	}
}

// A key with the path counts the spellings of one path that a view may
// normalise alike (the scope covers them all) in one bucket.
func TestPathKeyCountsSpellingsTogether(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Rules = []config.RateLimitRule{
		{ID: "files", Limit: "2/minute", Key: "ip+path", Paths: []string{"/files/"}},
	}
	l, _ := newLimiter(t, cfg, memDeps(t))
	for i, p := range []string{"/files/private/a.txt", "/files//private/a.txt"} {
		if d, _ := check(l, "GET", p, "192.0.2.9"); d.Decided() {
			t.Fatalf("request %d (%s) refused: %+v", i+1, p, d)
		}
	}
	if d, _ := check(l, "GET", "/files/public/../private/a.txt", "192.0.2.9"); d.Action != decision.Throttle || d.RuleID != "files" {
		t.Fatalf("third spelling of the same file: %+v, want throttled by files", d)
	}
	if d, _ := check(l, "GET", "/files/private/b.txt", "192.0.2.9"); d.Decided() {
		t.Fatalf("another file shares the bucket: %+v", d)
	}
}
