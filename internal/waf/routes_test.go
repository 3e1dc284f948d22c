package waf

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/challenge"
)

// routeClient talks to Parapet as one client behind the trusted loopback
// proxy.
type routeClient struct {
	t    *testing.T
	base string
	ip   string
}

func (c routeClient) do(method, path string, form url.Values, cookie *http.Cookie) (*http.Response, string) {
	c.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, c.base+path, body)
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("User-Agent", ua)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return do(c.t, req)
}

// page gets a challenge page and returns its token and (for PoW) a
// solution.
func (c routeClient) page(path string) (token, answer string) {
	c.t.Helper()
	resp, body := c.do("GET", path, nil, nil)
	tm := tokenRe.FindStringSubmatch(body)
	if resp.StatusCode != 403 || tm == nil {
		c.t.Fatalf("%s as %s: want a challenge page, got %d", path, c.ip, resp.StatusCode)
	}
	if cm := challengeRe.FindStringSubmatch(body); cm != nil {
		var nonce [16]byte
		b, _ := hex.DecodeString(cm[1])
		copy(nonce[:], b)
		diff := 0
		for _, ch := range cm[2] {
			diff = diff*10 + int(ch-'0')
		}
		answer = challenge.SolvePoW(nonce, uint8(diff))
	}
	return tm[1], answer
}

func clearanceCookie(resp *http.Response) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == "parapet_clearance" {
			return ck
		}
	}
	return nil
}

// The challenge endpoints pass the bans, the access rules' blocks and the
// rate limits: a banned client's solved challenge earns no clearance, a
// guesser gets challenge.attempt_limit answers (and as many new tokens) and
// then 429s, CAPTCHA media are limited; a client banned with action
// challenge can still pass one, and under-attack mode does not challenge
// the challenge.
func TestChallengeEndpointsPassBansAndLimits(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, `
trusted_proxies: [loopback]
challenge:
  difficulty: 8
  attempt_limit: 5/minute burst 5
  media_limit: 3/minute burst 3
rules:
  - id: shop-humans
    action: challenge
    paths: [/shop/]
  - id: blocked-net
    ips: [203.0.113.0/24]
`)
	bans := p.handler.Chain().flood.bans
	ctx := context.Background()

	// Banned after it was shown the challenge: its answer is refused.
	mallory := routeClient{t, p.URL, "198.51.100.66"}
	tok, ans := mallory.page("/shop/")
	bans.Ban(ctx, netip.MustParseAddr(mallory.ip), "test ban", "test", "block", time.Hour)
	resp, body := mallory.do("POST", challenge.PathPrefix+"verify", url.Values{"token": {tok}, "answer": {ans}}, nil)
	if resp.StatusCode != 403 || !strings.Contains(body, "banned") || clearanceCookie(resp) != nil {
		t.Fatalf("banned client's solved challenge: %d, cookie %v", resp.StatusCode, clearanceCookie(resp))
	}
	if resp, _ := mallory.do("GET", challenge.PathPrefix+"pow.js", nil, nil); resp.StatusCode != 403 {
		t.Fatalf("banned client fetching the challenge script: %d", resp.StatusCode)
	}
	// An access rule's block holds there too.
	if resp, body := (routeClient{t, p.URL, "203.0.113.5"}).do("GET", challenge.PathPrefix+"pow.js", nil, nil); resp.StatusCode != 403 || !strings.Contains(body, "blocked-net") {
		t.Fatalf("blocked network on the challenge endpoint: %d", resp.StatusCode)
	}

	// A guesser: attempt_limit answers, each a new page and token; then 429.
	guesser := routeClient{t, p.URL, "198.51.100.77"}
	tok, _ = guesser.page("/shop/")
	var codes []int
	fresh := 0
	for i := 0; i < 9; i++ {
		resp, body := guesser.do("POST", challenge.PathPrefix+"verify", url.Values{"token": {tok}, "answer": {"x"}}, nil)
		codes = append(codes, resp.StatusCode)
		if m := tokenRe.FindStringSubmatch(body); m != nil {
			fresh++
			tok = m[1]
		}
		if i == 8 && (resp.Header.Get("Retry-After") == "" || !strings.Contains(body, RuleChallengeAttempts)) {
			t.Fatalf("over the attempt limit: %d %v", resp.StatusCode, resp.Header)
		}
	}
	if fmt.Sprint(codes) != "[403 403 403 403 403 429 429 429 429]" || fresh != 5 {
		t.Fatalf("9 wrong answers: statuses %v, %d fresh tokens; want 5 tries (5 tokens), then 429", codes, fresh)
	}

	// CAPTCHA media: media_limit images, then 429.
	viewer := routeClient{t, p.URL, "198.51.100.88"}
	tok, _ = viewer.page("/shop/")
	codes = codes[:0]
	for i := 0; i < 5; i++ {
		resp, _ := viewer.do("GET", challenge.PathPrefix+"captcha.png?t="+url.QueryEscape(tok), nil, nil)
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("5 CAPTCHA images: %v, want 3 then 429", codes)
	}

	// Banned with action challenge: it may pass the challenge, and then in.
	carol := routeClient{t, p.URL, "198.51.100.99"}
	bans.Ban(ctx, netip.MustParseAddr(carol.ip), "test ban", "test", "challenge", time.Hour)
	tok, ans = carol.page("/")
	resp, _ = carol.do("POST", challenge.PathPrefix+"verify", url.Values{"token": {tok}, "answer": {ans}}, nil)
	ck := clearanceCookie(resp)
	if resp.StatusCode != 303 || ck == nil {
		t.Fatalf("challenge-banned client passing the challenge: %d", resp.StatusCode)
	}
	if resp, _ := carol.do("GET", "/", nil, ck); resp.StatusCode != 200 {
		t.Fatalf("challenge-banned client with clearance: %d", resp.StatusCode)
	}
}

// The CSP report collector is one of Parapet's own routes: a banned client
// is refused there, and under-attack mode (which challenges every client
// without clearance) does not challenge reports or the challenge itself.
func TestOwnRoutesUnderAttackAndBans(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "trusted_proxies: [loopback]\nchallenge:\n  difficulty: 8\nunder_attack:\n  enabled: true\n")
	report := func(ip string) int {
		req, _ := http.NewRequest("POST", p.URL+"/_parapet/csp-report", strings.NewReader(`{"csp-report":{"document-uri":"https://site/","violated-directive":"img-src","blocked-uri":"https://x.example/a.png"}}`))
		req.Header.Set("Content-Type", "application/csp-report")
		req.Header.Set("X-Forwarded-For", ip)
		resp, _ := do(t, req)
		return resp.StatusCode
	}
	if s := report("198.51.100.10"); s != 204 {
		t.Fatalf("CSP report under attack: %d, want 204 (never challenged)", s)
	}
	visitor := routeClient{t, p.URL, "198.51.100.11"}
	tok, ans := visitor.page("/")
	resp, _ := visitor.do("POST", challenge.PathPrefix+"verify", url.Values{"token": {tok}, "answer": {ans}}, nil)
	if resp.StatusCode != 303 || clearanceCookie(resp) == nil {
		t.Fatalf("passing the challenge under attack: %d", resp.StatusCode)
	}
	p.handler.Chain().flood.bans.Ban(context.Background(), netip.MustParseAddr("198.51.100.12"), "test ban", "test", "block", time.Hour)
	if s := report("198.51.100.12"); s != 403 {
		t.Fatalf("CSP report from a banned client: %d, want 403", s)
	}
}

func TestChallengeLimitErrorsAtTheirLines(t *testing.T) {
	_, err := buildFromYAML(t, "upstream: http://127.0.0.1:1\nchallenge:\n  attempt_limit: 5/fortnight\n  media_limit: lots\nharden:\n  csp:\n    report_limit: often\n")
	for _, want := range []string{"p.yaml:3: challenge.attempt_limit", "p.yaml:4: challenge.media_limit", "p.yaml:7: harden.csp.report_limit"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// A browser posts one CSP report per violation: Chromium sent some 140
// for one page with 300 style attributes. They are not the visitor's
// writes: 150 of them leave the visitor's own form posts alone (rl-writes
// allows bursts of 60) and never get the visitor throttled or banned.
// harden.csp.report_limit bounds them instead: past it, 429 (rule
// csp-report-limit).
func TestCSPReportsSpareTheVisitorsRateLimits(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "trusted_proxies: [loopback]\n")
	visitor := routeClient{t, p.URL, "198.51.100.20"}
	report := func(c routeClient, i int) int {
		req, _ := http.NewRequest("POST", c.base+"/_parapet/csp-report", strings.NewReader(fmt.Sprintf(`{"csp-report":{"document-uri":"https://site/list/","violated-directive":"style-src-attr","blocked-uri":"inline","column-number":%d}}`, i)))
		req.Header.Set("Content-Type", "application/csp-report")
		req.Header.Set("X-Forwarded-For", c.ip)
		resp, _ := do(t, req)
		return resp.StatusCode
	}
	codes := map[int]int{}
	for i := 0; i < 150; i++ {
		codes[report(visitor, i)]++
	}
	if codes[204] != 150 {
		t.Errorf("150 reports from one page view: %v, want 150 x 204", codes)
	}
	if resp, _ := visitor.do("POST", "/comments/", url.Values{"text": {"hello"}}, nil); resp.StatusCode != 200 {
		t.Fatalf("the visitor's own form post after the reports: %d, want 200", resp.StatusCode)
	}
	if resp, _ := visitor.do("GET", "/", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("the visitor after the reports: %d, want 200", resp.StatusCode)
	}

	// The report limit: a flood past burst 300 is throttled.
	flooder := routeClient{t, p.URL, "198.51.100.21"}
	codes = map[int]int{}
	for i := 0; i < 320; i++ {
		codes[report(flooder, i)]++
	}
	if codes[429] == 0 || codes[204] < 300 {
		t.Errorf("320 reports at once: %v, want the first 300 taken and the rest 429", codes)
	}
	if !slices.ContainsFunc(p.logs.lines(t), func(l map[string]any) bool { return l["rule"] == RuleCSPReportLimit }) {
		t.Error("no log line with rule " + RuleCSPReportLimit)
	}
}
