package admin_test

import (
	"net/http"
	"strings"
	"testing"
)

// A method an endpoint does not take answers 405 in the API's JSON
// ({"error": ...}) with an Allow header naming the methods it takes,
// like every other answer of the API; an unknown path stays a JSON 404.
func TestVisWrongMethodIsJSON405WithAllow(t *testing.T) {
	s := start(t, writeConfig(t, t.TempDir(), app(t), tokens))
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/_parapet/api/status", "GET, HEAD"},
		{"POST", "/_parapet/api/status", "GET, HEAD"},
		{"PUT", "/_parapet/api/bans", "GET, HEAD, POST"},
		{"GET", "/_parapet/api/bans/198.51.100.1", "DELETE"},
		{"POST", "/_parapet/api/rules/office", "DELETE, PATCH"},
		{"PUT", "/_parapet/api/rules", "GET, HEAD, POST"},
		{"GET", "/_parapet/api/under-attack", "POST"},
		{"GET", "/_parapet/api/reload", "POST"},
		{"DELETE", "/_parapet/api/events", "GET, HEAD"},
		{"POST", "/_parapet/api/stats", "GET, HEAD"},
		{"PUT", "/_parapet/api/session", "DELETE, GET, HEAD, POST"},
	} {
		code, body, h := s.call(t, c.method, c.path, rootToken, "", "Host", adminHost)
		if code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d %v, want 405", c.method, c.path, code, body)
			continue
		}
		msg, _ := body["error"].(string)
		if !strings.Contains(msg, c.method) || h.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: 405 body %v (Content-Type %q), want a JSON error naming the method", c.method, c.path, body, h.Get("Content-Type"))
		}
		if got := h.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	if code, body, _ := s.call(t, "GET", "/_parapet/api/nothing-here", rootToken, ""); code != 404 || body["error"] == nil {
		t.Errorf("unknown endpoint: %d %v", code, body)
	}
	// Without a token a wrong method is refused like any request.
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/status", "", ""); code != 401 {
		t.Errorf("DELETE status without a token: %d", code)
	}
}
