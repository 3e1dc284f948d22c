package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/geo/geotest"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// torServer stands in for the Tor project's bulk exit list.
func torServer(t *testing.T, list string) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, list)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// as sends a request as if the Heroku-style trusted proxy (loopback here)
// reported client ip.
func (d *django) as(t *testing.T, method, path, ip, ua string) (int, string) {
	t.Helper()
	var body io.Reader
	if method != "GET" { // a GET with a body is a protocol anomaly (CRS 920170)
		body = strings.NewReader("{}")
	}
	req, _ := http.NewRequest(method, d.base+path, body)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"

func TestAccessRulesInFrontOfDjango(t *testing.T) {
	mmdb := geotest.WriteGeoLite2(t, map[string]geotest.Entry{
		"203.0.113.0/25":   {Country: "RU"},
		"203.0.113.128/25": {Country: "KP"},
		"192.0.2.0/24":     {Country: "FR"},
	})
	tor, _ := torServer(t, "ExitAddress 185.220.101.9 2026-11-24 00:00:00\n185.220.101.10\n")
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
feed_cache_dir: %s
geo:
  database: %s
  country_header: X-Country
feeds:
  - name: tor-test
    url: %s/exits
    format: tor
    category: tor
rules:
  - id: bad-range
    ips: [198.51.100.0/24]
  - id: office
    action: allow
    ips: [198.51.100.77]
  - id: no-writes-from-kp
    countries: [KP]
    methods: [POST, PUT, PATCH, DELETE]
  - id: blocked-country
    countries: [RU]
  - id: no-tor
    feeds: [tor-test]
  - id: evil-crawler
    user_agents:
      contains: [EvilCrawler]
    except_paths: [/robots.txt]
`, t.TempDir(), mmdb, tor.URL)
	d := startDjangoWithConfig(t, yaml)
	// Tor exits are blocked once the feed has been fetched from the local server.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := d.as(t, "GET", "/", "185.220.101.9", browser)
		if status == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tor exit never blocked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.waitLog(t, `"rule":"no-tor"`, `"tags":["tor"]`)
	before, _ := d.requests(t)

	blocked := []struct{ name, method, path, ip, ua, rule string }{
		{"IP in blocked range", "GET", "/", "198.51.100.5", browser, "bad-range"},
		{"blocked country", "GET", "/", "203.0.113.5", browser, "blocked-country"},
		{"POST from write-blocked country", "POST", "/api/echo/", "203.0.113.200", browser, "no-writes-from-kp"},
		{"scanner user agent", "GET", "/", "192.0.2.1", "sqlmap/1.7.2#stable (https://sqlmap.org)", "ua-sqlmap"},
		{"custom user agent rule", "GET", "/", "192.0.2.1", "EvilCrawler/2.0", "evil-crawler"},
		{"tor exit", "GET", "/", "185.220.101.10", browser, "no-tor"},
	}
	for _, c := range blocked {
		status, body := d.as(t, c.method, c.path, c.ip, c.ua)
		if status != 403 || !strings.Contains(body, c.rule) {
			t.Errorf("%s: %d, want 403 with reason %s", c.name, status, c.rule)
		}
	}
	after, paths := d.requests(t)
	if after != before {
		t.Fatalf("Django saw %d blocked requests: %v", after-before, paths[len(paths)-(after-before):])
	}

	allowed := []struct{ name, method, path, ip, ua string }{
		{"allow list inside a blocked range", "GET", "/", "198.51.100.77", browser},
		{"GET from write-blocked country", "GET", "/whoami/", "203.0.113.200", browser},
		{"exception path for a UA rule", "GET", "/robots.txt", "192.0.2.1", "EvilCrawler/2.0"},
		{"ordinary visitor", "GET", "/", "192.0.2.50", browser},
	}
	for _, c := range allowed {
		status, body := d.as(t, c.method, c.path, c.ip, c.ua)
		if status == 403 {
			t.Errorf("%s: blocked: %s", c.name, body)
		}
	}
	after2, _ := d.requests(t)
	if after2-after != len(allowed) {
		t.Errorf("Django saw %d of %d allowed requests", after2-after, len(allowed))
	}
	// The country reaches Django in the configured header, and a client
	// cannot forge it.
	req, _ := http.NewRequest("GET", d.base+"/whoami/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.200")
	req.Header.Set("X-Country", "US")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var who map[string]any
	json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who["x_country"] != "KP" {
		t.Errorf("Django saw X-Country %v, want KP", who["x_country"])
	}
	d.waitLog(t, `"client_ip":"203.0.113.5"`, `"country":"RU"`, `"rule":"blocked-country"`)
}

// A feed fetched once is cached on disk; after a restart with the network
// gone, the cached list still blocks.
func TestTorFeedSurvivesRestartWithoutNetwork(t *testing.T) {
	testenv.RequireDjango(t)
	tor, hits := torServer(t, "185.220.101.9\n")
	cache := t.TempDir()
	yaml := fmt.Sprintf("trusted_proxies: [loopback]\nfeed_cache_dir: %s\nfeeds:\n  - name: tor\n    url: %s\n    format: tor\nrules:\n  - id: no-tor\n    feeds: [tor]\n", cache, tor.URL)
	d := startDjangoWithConfig(t, yaml)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if status, _ := d.as(t, "GET", "/", "185.220.101.9", browser); status == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never blocked")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.cmd.Process.Signal(sigterm)
	d.wait(t, 30*time.Second)
	tor.Close()
	if hits.Load() == 0 {
		t.Fatal("feed never fetched")
	}

	d2 := startDjangoWithConfig(t, yaml)
	if status, _ := d2.as(t, "GET", "/", "185.220.101.9", browser); status != 403 {
		t.Fatalf("after restart without network: %d, want 403 from the cached list", status)
	}
	d2.waitLog(t, "feed fetch failed; serving the cached copy")
}
