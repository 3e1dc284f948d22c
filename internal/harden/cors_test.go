package harden

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parapet-waf/parapet/internal/decision"
)

// A CORS rule relaxes the same-origin policy, so it is a grant (package
// scope): a path whose readings disagree is not covered, and is neither
// answered at the edge nor decorated. HEAD follows GET in allowed_methods.
func TestCORSScope(t *testing.T) {
	s := stage(t, "harden:\n  cors:\n    - paths: [/api/public/]\n      allowed_origins: [https://app.example]\n      allowed_methods: [GET, PUT]\n      allowed_headers: [X-Token]\n")
	preflight := func(target, method string) decision.Decision {
		r := httptest.NewRequest(http.MethodOptions, "http://www.example.com"+target, nil)
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Access-Control-Request-Method", method)
		r.Header.Set("Access-Control-Request-Headers", "x-token")
		return s.Check(r.Context(), r, &decision.Info{})
	}
	for _, c := range []struct {
		target, method string
		status         int // 0: not answered at the edge
	}{
		{"/api/public/items", "PUT", http.StatusNoContent},
		{"/api/public/items", "GET", http.StatusNoContent},
		{"/api/public/items", "HEAD", http.StatusNoContent},
		{"/api/public/items", "DELETE", http.StatusForbidden},
		{"/api/public/../account/", "PUT", 0},
		{"/api/public//items", "PUT", http.StatusNoContent},
		{"/api/account/", "PUT", 0},
	} {
		d := preflight(c.target, c.method)
		got := 0
		if d.Action == decision.Respond || d.Action == decision.Block {
			got = d.Status
		}
		if got != c.status {
			t.Errorf("preflight %s %s: %d (%+v), want %d", c.method, c.target, got, d, c.status)
		}
	}
	// The response of a request whose path walks out of the rule gets no
	// Access-Control-Allow-Origin.
	for target, want := range map[string]string{"/api/public/items": "https://app.example", "/api/public/../account/": ""} {
		req := httptest.NewRequest(http.MethodGet, "http://www.example.com"+target, nil)
		req.Header.Set("Origin", "https://app.example")
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Request: req, Body: http.NoBody}
		if err := s.CheckResponse(req.Context(), resp, &decision.Info{}); err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q, want %q", target, got, want)
		}
	}
}
