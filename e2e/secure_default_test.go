package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

// countries_except blocks clients without a country (ZZ: loopback, private
// addresses, addresses the database does not know) unless ZZ is listed:
// the team's own POSTs from localhost are blocked, but not silently: check
// and the start-up log warn about the rule, and the block's log line says
// why. With ZZ listed they pass and nothing is said.
func TestCountriesExceptSaysItCatchesClientsWithoutACountry(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	for _, tc := range []struct {
		countries string
		post      int
		warned    bool
	}{
		{"[DE, AT]", 403, true},
		{"[DE, AT, ZZ]", 200, false},
	} {
		t.Run(tc.countries, func(t *testing.T) {
			addr := testenv.FreeAddr(t)
			cfg := filepath.Join(t.TempDir(), "parapet.yaml")
			os.WriteFile(cfg, []byte("upstream: "+up.URL+"\nlisten: "+addr+"\nrules:\n  - id: writes-from-home-only\n    countries_except: "+tc.countries+"\n    methods: [POST]\n"), 0o600)
			warning := `rules[0].countries_except: rule "writes-from-home-only" also matches clients without a country (ZZ)`
			out, code := run(t, nil, "check", "--config", cfg)
			if code != 0 || strings.Contains(out, warning) != tc.warned {
				t.Fatalf("check (%d), warned %v:\n%s", code, !tc.warned, out)
			}
			p := startParapet(t, addr, nil, "run", "--config", cfg)
			waitStatus(t, p, "/", 200)
			resp, err := http.Post("http://"+addr+"/orders/", "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.post {
				t.Fatalf("POST from loopback: %d, want %d", resp.StatusCode, tc.post)
			}
			if tc.warned {
				p.waitLog(t, `"level":"WARN"`, "config: "+cfg+":5: rules[0].countries_except: rule", `writes-from-home-only\" also matches clients without a country (ZZ)`)
				p.waitLog(t, `"path":"/orders/"`, `"rule":"writes-from-home-only"`, `"reason":"countries_except matched a client without a country (ZZ`)
			} else if l := p.out.Lines("without a country"); len(l) > 0 {
				t.Fatalf("warned with ZZ listed: %s", l[0])
			}
		})
	}
}
