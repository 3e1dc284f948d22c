package ratelimit

import (
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
)

// Rate-limit rules scope requests as access rules do (package scope): HEAD
// follows GET, paths and path_regex are one list (any of them; they used
// to be required together), and every spelling of a path counts.
func TestRateLimitScope(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Rules = []config.RateLimitRule{
		{ID: "reads", Limit: "1/hour burst 1", Methods: []string{"GET"}, Paths: []string{"/export/"}},
		{ID: "either", Limit: "1/hour burst 1", Paths: []string{"/a/"}, PathRegex: []string{`^/b/\d+/$`}},
		{ID: "private", Limit: "1/hour burst 1", Paths: []string{"/media/private/"}},
	}
	l, _ := newLimiter(t, cfg, memDeps(t))
	for _, c := range []struct {
		name, method, first, second, ip, rule string
	}{
		{"HEAD counts with GET", "HEAD", "/export/", "/export/", "192.0.2.1", "reads"},
		{"path prefix", "POST", "/a/x", "/a/y", "192.0.2.2", "either"},
		{"path regex alone", "POST", "/b/1/", "/b/2/", "192.0.2.3", "either"},
		{"spellings of one path", "GET", "/media/private/a.pdf", "/media//private/./a.pdf", "192.0.2.4", "private"},
		{"dot segments", "GET", "/media/private/a.pdf", "/media/public/../private/a.pdf", "192.0.2.5", "private"},
	} {
		method := c.method
		if method == "HEAD" {
			check(l, "GET", c.first, c.ip)
		} else if d, _ := check(l, method, c.first, c.ip); d.Decided() {
			t.Fatalf("%s: first request refused: %+v", c.name, d)
		}
		if d, _ := check(l, method, c.second, c.ip); d.RuleID != c.rule {
			t.Errorf("%s: second request: rule %q (%v), want %q", c.name, d.RuleID, d.Action, c.rule)
		}
	}
	// Out of scope: another method, another path.
	for _, c := range []struct{ method, target string }{
		{"POST", "/export/"},
		{"GET", "/b/x/"},
	} {
		for i := 0; i < 3; i++ {
			if d, _ := check(l, c.method, c.target, "198.51.100.9"); d.Decided() {
				t.Errorf("%s %s: %+v", c.method, c.target, d)
				break
			}
		}
	}
}

// hosts narrow a rate limit to some hosts (Django's ALLOWED_HOSTS syntax).
func TestRateLimitHosts(t *testing.T) {
	cfg := config.Default()
	cfg.RateLimits.Defaults = false
	cfg.RateLimits.Rules = []config.RateLimitRule{{ID: "api-host", Limit: "1/hour burst 1", Hosts: []string{"api.example.com"}}}
	l, _ := newLimiter(t, cfg, memDeps(t))
	for i := 0; i < 3; i++ {
		if d, _ := check(l, "GET", "http://www.example.com/", "192.0.2.7"); d.Decided() {
			t.Fatalf("another host: %+v", d)
		}
	}
	check(l, "GET", "http://api.example.com/", "192.0.2.7")
	if d, _ := check(l, "GET", "http://API.example.com:443/x", "192.0.2.7"); d.RuleID != "api-host" {
		t.Errorf("second request to the host: %+v", d)
	}
}
