package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// Without a config, behind a trusted proxy that says the request came over
// plain HTTP, Parapet redirects to HTTPS (Django's SECURE_SSL_REDIRECT);
// a local plain-HTTP request, or any request when no proxy is trusted,
// passes as before.
func TestHTTPSRedirectByDefaultBehindATrustedProxy(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name    string
		env     []string
		proto   string
		status  int
		locaton string
	}{
		{"trusted proxy says http", []string{"PARAPET_TRUSTED_PROXIES=loopback"}, "http", 301, "https://shop.example/cart/?x=1"},
		{"trusted proxy says https", []string{"PARAPET_TRUSTED_PROXIES=loopback"}, "https", 200, ""},
		{"local plain HTTP, proxy trusted but silent", []string{"PARAPET_TRUSTED_PROXIES=loopback"}, "", 200, ""},
		{"no trusted proxy: its header is not believed", nil, "http", 200, ""},
		{"turned off", []string{"PARAPET_TRUSTED_PROXIES=loopback", "PARAPET_EDGE_HTTPS_REDIRECT=false"}, "http", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := testenv.FreeAddr(t)
			p := startParapet(t, addr, append([]string{"PARAPET_UPSTREAM=" + up.URL, "PARAPET_LISTEN=" + addr}, tc.env...))
			waitStatus(t, p, "/healthz", 200)
			req, _ := http.NewRequest("GET", "http://"+addr+"/cart/?x=1", nil)
			req.Host = "shop.example"
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.locaton {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.locaton)
			}
		})
	}
}
