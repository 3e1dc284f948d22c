package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

func TestHostAllowedLikeDjango(t *testing.T) {
	g := New(config.Edge{AllowedHosts: []string{"example.com", ".example.org", "[::1]", "LocalHost"}, AllowedMethods: []string{"GET"}}, config.Default().Limits, config.Default().WebSockets)
	for host, want := range map[string]bool{
		"example.com":           true,
		"EXAMPLE.com:8443":      true,
		"example.com.":          true,
		"www.example.com":       false,
		"example.org":           true,
		"a.b.example.org":       true,
		"badexample.org":        false,
		"[::1]:80":              true,
		"localhost":             true,
		"":                      false,
		"example.com@evil":      false,
		"evil.com#.example.org": false,
	} {
		if got := g.HostAllowed(host); got != want {
			t.Errorf("HostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	any := New(config.Edge{AllowedHosts: []string{"*"}, AllowedMethods: []string{"GET"}}, config.Default().Limits, config.Default().WebSockets)
	if !any.HostAllowed("whatever") {
		t.Error("* should allow any host")
	}
}

// Paths that are never a Django URL (NUL and control bytes, invalid or
// overlong UTF-8, raw or percent-encoded) and "*" outside OPTIONS get a 400
// at the edge; ordinary and non-ASCII UTF-8 paths pass.
func TestBadPathsAre400(t *testing.T) {
	g := New(config.Edge{AllowedMethods: []string{"GET", "OPTIONS"}}, config.Default().Limits, config.Default().WebSockets)
	for target, bad := range map[string]bool{
		"/articles/?page=2":        false,
		"/caf%C3%A9/":              false,
		"/%E2%82%AC?q=%ff":         false, // the query is the app's business
		"/a%00b":                   true,
		"/a%0d%0aSet-Cookie:%20x":  true,
		"/caf%e9":                  true,
		"/%c0%af..%c0%af/etc":      true,
		"/%ed%a0%80":               true, // a UTF-16 surrogate
		"/a%7fb":                   true,
		"*":                        true,
		"/ok/../still-a-real-path": false,
	} {
		r := httptest.NewRequest("GET", "http://x"+strings.TrimPrefix(target, "*"), nil)
		r.RequestURI = target
		if target == "*" {
			r.URL.Path = "*"
		}
		d := g.Check(context.Background(), r, &decision.Info{Scheme: "http"})
		if got := d.RuleID == RuleBadPath; got != bad {
			t.Errorf("%q: rule %q status %d, want bad=%v", target, d.RuleID, d.Status, bad)
		}
		if bad && d.Status != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", target, d.Status)
		}
	}
	opt := httptest.NewRequest("OPTIONS", "http://x/", nil)
	opt.RequestURI, opt.URL.Path = "*", "*"
	if d := g.Check(context.Background(), opt, &decision.Info{Scheme: "http"}); d.Decided() {
		t.Errorf("OPTIONS * refused: %+v", d)
	}
}

// Upgrades: a well-formed WebSocket handshake passes where websockets
// allows it (403 elsewhere, 400 when malformed); any other upgrade is
// taken off the request, which goes on as plain HTTP/1.1.
func TestUpgrades(t *testing.T) {
	ws := "Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Version: 13|Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
	cases := []struct {
		name, cfg, method, path, headers string
		status                           int
		stripped                         bool
	}{
		{"websocket, defaults", "", "GET", "/anything/", ws, 0, false},
		{"websocket on a listed path", "/ws/", "GET", "/ws/chat", ws, 0, false},
		{"websocket elsewhere", "/ws/", "GET", "/admin/", ws, 403, false},
		{"websocket through dot segments", "/ws/", "GET", "/ws/../admin/", ws, 403, false},
		{"websocket disabled", "off", "GET", "/ws/", ws, 403, false},
		{"websocket without a key", "", "GET", "/ws/", "Upgrade: websocket|Connection: Upgrade|Sec-WebSocket-Version: 13", 400, false},
		{"websocket by POST", "", "POST", "/ws/", ws, 400, false},
		{"h2c", "", "GET", "/", "Upgrade: h2c|Connection: Upgrade, HTTP2-Settings|HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA", 0, true},
		{"made-up token", "off", "GET", "/", "Upgrade: tunnel|Connection: upgrade", 0, true},
		{"Upgrade without Connection", "", "GET", "/", "Upgrade: h2c", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wsCfg := config.WebSockets{Enabled: tc.cfg != "off"}
			if strings.HasPrefix(tc.cfg, "/") {
				wsCfg.Paths = []string{tc.cfg}
			}
			g := New(config.Edge{AllowedMethods: []string{"GET", "POST"}}, config.Default().Limits, wsCfg)
			r := httptest.NewRequest(tc.method, "http://x"+tc.path, nil)
			for _, kv := range strings.Split(tc.headers, "|") {
				k, v, _ := strings.Cut(kv, ": ")
				r.Header.Set(k, v)
			}
			info := &decision.Info{}
			d := g.Check(context.Background(), r, info)
			if d.Status != tc.status || d.Decided() != (tc.status != 0) {
				t.Fatalf("decision %+v, want status %d", d, tc.status)
			}
			if stripped := r.Header.Get("Upgrade") == ""; stripped != tc.stripped {
				t.Fatalf("Upgrade stripped %v, want %v (headers %v)", stripped, tc.stripped, r.Header)
			}
			if tc.stripped && strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") {
				t.Fatalf("Connection still asks for an upgrade: %v", r.Header)
			}
		})
	}
}

// https_redirect: auto (the default) redirects what a trusted proxy says
// came over plain HTTP, and leaves alone what Parapet cannot know (a local
// plain-HTTP request, no trusted proxy); true redirects everything not
// known to be HTTPS; false nothing.
func TestHTTPSRedirectModes(t *testing.T) {
	for _, tc := range []struct {
		mode      config.Toggle
		scheme    string
		fromProxy bool
		redirect  bool
	}{
		{config.Auto, "http", true, true},
		{config.Auto, "https", true, false},
		{config.Auto, "http", false, false},
		{config.On, "http", false, true},
		{config.On, "https", true, false},
		{config.Off, "http", true, false},
	} {
		g := New(config.Edge{HTTPSRedirect: tc.mode, HTTPSRedirectExempt: []string{"/healthz"}, AllowedMethods: []string{"GET"}}, config.Default().Limits, config.WebSockets{Enabled: true})
		for _, path := range []string{"/a?b=1", "/healthz"} {
			r := httptest.NewRequest("GET", "http://example.com"+path, nil)
			d := g.Check(context.Background(), r, &decision.Info{Scheme: tc.scheme, SchemeFromProxy: tc.fromProxy})
			want := tc.redirect && path != "/healthz"
			if got := d.RuleID == RuleHTTPSRedirect; got != want {
				t.Errorf("%s %s fromProxy=%v %s: redirect %v, want %v", tc.mode, tc.scheme, tc.fromProxy, path, got, want)
			}
			if want && d.Headers.Get("Location") != "https://example.com/a?b=1" {
				t.Errorf("Location %q", d.Headers.Get("Location"))
			}
		}
	}
}
