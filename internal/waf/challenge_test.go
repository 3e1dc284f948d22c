package waf

import (
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/testenv"
)

var (
	tokenRe     = regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]+)"`)
	challengeRe = regexp.MustCompile(`data-challenge="([0-9a-f]{32})" data-difficulty="(\d+)"`)
)

// pass gets the challenge page for path, solves it and returns the
// clearance cookie.
func pass(t *testing.T, base, path, ua string) *http.Cookie {
	t.Helper()
	resp, body := get(t, base+path, "User-Agent", ua)
	tm, cm := tokenRe.FindStringSubmatch(body), challengeRe.FindStringSubmatch(body)
	if resp.StatusCode != 403 || tm == nil || cm == nil {
		t.Fatalf("%s: want the challenge page, got %d", path, resp.StatusCode)
	}
	var nonce [16]byte
	b, _ := hex.DecodeString(cm[1])
	copy(nonce[:], b)
	diff := 0
	for _, c := range cm[2] {
		diff = diff*10 + int(c-'0')
	}
	form := url.Values{"token": {tm[1]}, "answer": {challenge.SolvePoW(nonce, uint8(diff))}}
	req, _ := http.NewRequest("POST", base+challenge.PathPrefix+"verify", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", ua)
	resp, _ = do(t, req)
	for _, c := range resp.Cookies() {
		if c.Name == "parapet_clearance" {
			return c
		}
	}
	t.Fatalf("verify: %d without a cookie", resp.StatusCode)
	return nil
}

func getWith(t *testing.T, u, ua string, c *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("User-Agent", ua)
	if c != nil {
		req.AddCookie(c)
	}
	resp, _ := do(t, req)
	return resp.StatusCode
}

const ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"

// A clearance lets a client past challenges, never past a block: a block
// rule written after the challenge rule still blocks the cleared client.
func TestClearanceNeverPassesABlock(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, `
challenge:
  difficulty: 8
rules:
  - id: shop-humans
    action: challenge
    paths: [/shop/]
  - id: shop-internal
    paths: [/shop/internal/]
`)
	ck := pass(t, p.URL, "/shop/cart/", ua)
	if s := getWith(t, p.URL+"/shop/cart/", ua, ck); s != 200 {
		t.Fatalf("cleared client on a challenged path: %d", s)
	}
	hits := up.hits.Load()
	resp, body := func() (*http.Response, string) {
		req, _ := http.NewRequest("GET", p.URL+"/shop/internal/x", nil)
		req.Header.Set("User-Agent", ua)
		req.AddCookie(ck)
		return do(t, req)
	}()
	if resp.StatusCode != 403 || !strings.Contains(body, "shop-internal") || tokenRe.MatchString(body) {
		t.Fatalf("cleared client on a blocked path: %d", resp.StatusCode)
	}
	if up.hits.Load() != hits {
		t.Fatal("blocked request reached the upstream")
	}
}

// Without a configured secret, one random secret serves the process: a
// reload keeps clearances valid (and the warning is logged once), while a
// changed challenge policy invalidates them.
func TestRandomSecretSurvivesReloadPolicyChangeDoesNot(t *testing.T) {
	up := newUpstream(t, nil)
	var logs testenv.Buffer
	deps := testDepsLogging(t, slog.New(slog.NewTextHandler(&logs, nil)))
	build := func(difficulty string) *Chain {
		return mustBuild(t, deps, "upstream: "+up.URL+"\nchallenge:\n  difficulty: "+difficulty+"\nrules:\n  - id: humans\n    action: challenge\n    paths: [/]\n")
	}
	p := startParapet(t, up.URL, "")
	p.handler.Swap(build("8"))
	ck := pass(t, p.URL, "/page/", ua)
	p.handler.Swap(build("8")) // a reload with the same policy
	if s := getWith(t, p.URL+"/page/", ua, ck); s != 200 {
		t.Fatalf("after a reload: %d, the clearance should hold", s)
	}
	if n := strings.Count(logs.String(), "using a random secret"); n != 1 {
		t.Fatalf("random-secret warning logged %d times:\n%s", n, logs.String())
	}
	p.handler.Swap(build("9")) // the policy changed
	if s := getWith(t, p.URL+"/page/", ua, ck); s != 403 {
		t.Fatalf("after a policy change: %d, the clearance should be void", s)
	}
}

// An allow rule wins over everything, the crawler-liar check included.
func TestAllowRuleBeatsCrawlerLiar(t *testing.T) {
	up := newUpstream(t, nil)
	ranges := filepath.Join(t.TempDir(), "googlebot.json")
	_ = os.WriteFile(ranges, []byte(`{"prefixes":[{"ipv4Prefix":"66.249.64.0/27"}]}`), 0o600)
	p := startParapet(t, up.URL, `
challenge:
  crawlers:
    list:
      - name: google
        user_agents: [Googlebot]
        file: `+ranges+`
rules:
  - id: monitoring
    action: allow
    paths: [/health/]
`)
	bot := "Mozilla/5.0 (compatible; Googlebot/2.1)"
	// The test server's clients come from 127.0.0.1: not Google.
	if s := getWith(t, p.URL+"/", bot, nil); s != 403 {
		t.Fatalf("fake Googlebot: %d, want 403", s)
	}
	if s := getWith(t, p.URL+"/health/", bot, nil); s != 200 {
		t.Fatalf("fake Googlebot on an allow-listed path: %d, want 200", s)
	}
}

// The count that raises a client's difficulty is kept in the store: with
// Redis, answers given to one instance raise what the other asks.
func TestDifficultyCountSharedThroughRedis(t *testing.T) {
	up := newUpstream(t, nil)
	redis := testenv.StartRedis(t)
	yaml := "trusted_proxies: [loopback]\nstore:\n  type: redis\n  url: " + redis.URL() + "\nchallenge:\n  secret: a-shared-secret-0123456789\n  difficulty: 4\n  max_difficulty: 8\nrules:\n  - id: humans\n    action: challenge\n    paths: [/]\n"
	a, b := startParapet(t, up.URL, yaml), startParapet(t, up.URL, yaml)
	client := routeClient{t, a.URL, "198.51.100.20"}
	for i := 0; i < 8; i++ {
		tok, _ := client.page("/")
		client.do("POST", challenge.PathPrefix+"verify", url.Values{"token": {tok}, "answer": {"x"}}, nil)
	}
	_, body := routeClient{t, b.URL, client.ip}.do("GET", "/", nil, nil)
	if m := challengeRe.FindStringSubmatch(body); m == nil || m[2] != "7" {
		t.Fatalf("the other instance after 8 wrong answers on the first: %v, want difficulty 4+3", m)
	}
	_, body = routeClient{t, b.URL, "198.51.100.21"}.do("GET", "/", nil, nil)
	if m := challengeRe.FindStringSubmatch(body); m == nil || m[2] != "4" {
		t.Fatalf("another client: %v, want difficulty 4", m)
	}
}
