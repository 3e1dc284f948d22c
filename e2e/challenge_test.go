package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/testenv"
)

const challengeSecret = "e2e-challenge-secret-0123456789abcdef"

// visitor is one client as the trusted proxy (loopback) reports it.
type visitor struct {
	ip, ua string
	cookie string // clearance cookie value, once earned
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type reply struct {
	status int
	header http.Header
	body   string
}

func (v *visitor) do(t *testing.T, d *django, method, path string, body url.Values, hdr map[string]string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	if v.ip != "" { // else the client is this machine
		req.Header.Set("X-Forwarded-For", v.ip)
	}
	req.Header.Set("User-Agent", v.ua)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if v.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "parapet_clearance", Value: v.cookie})
	}
	for k, val := range hdr {
		req.Header.Set(k, val)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

var (
	tokenRe     = regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]+)"`)
	challengeRe = regexp.MustCompile(`data-challenge="([0-9a-f]{32})" data-difficulty="(\d+)"`)
)

// page is a served challenge page.
type page struct {
	token      string
	nonce      [16]byte
	difficulty uint8
}

func challengePage(t *testing.T, r reply) page {
	t.Helper()
	m := tokenRe.FindStringSubmatch(r.body)
	if r.status != 403 || m == nil {
		t.Fatalf("want a challenge page, got %d:\n%.600s", r.status, r.body)
	}
	p := page{token: m[1]}
	if c := challengeRe.FindStringSubmatch(r.body); c != nil {
		b, _ := hex.DecodeString(c[1])
		copy(p.nonce[:], b)
		var d int
		fmt.Sscan(c[2], &d)
		p.difficulty = uint8(d)
	}
	return p
}

func isChallenge(r reply) bool { return r.status == 403 && tokenRe.MatchString(r.body) }

// solve answers the page's proof of work like the browser's worker does
// and posts the answer; it returns the verify endpoint's reply.
func (v *visitor) solve(t *testing.T, d *django, p page) reply {
	t.Helper()
	ans := challenge.SolvePoW(p.nonce, p.difficulty)
	return v.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "answer": {ans}}, nil)
}

func clearanceFrom(t *testing.T, r reply) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == "parapet_clearance" {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
				t.Errorf("clearance cookie flags: %+v", c)
			}
			return c.Value
		}
	}
	t.Fatalf("no clearance cookie in %d reply: %v", r.status, r.header)
	return ""
}

func writeConfig(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The whole proof-of-work flow in front of Django, and every way a
// clearance must not work.
func TestChallengeProofOfWorkInFrontOfDjango(t *testing.T) {
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
challenge:
  secret: %s
  difficulty: 12
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/, /login/, /api/]
`, challengeSecret)
	d := startDjangoWithConfig(t, yaml)
	before, _ := d.requests(t)

	alice := &visitor{ip: "192.0.2.10", ua: browser}
	first := alice.do(t, d, "GET", "/whoami/?from=challenge", nil, nil)
	p := challengePage(t, first)
	if p.difficulty != 12 {
		t.Fatalf("difficulty %d, want 12", p.difficulty)
	}
	if !strings.Contains(first.body, `src="/_parapet/challenge/pow.js"`) || !strings.Contains(first.body, "<noscript>") {
		t.Fatal("page lacks the worker script or the no-JS fallback")
	}
	if cc := first.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("challenge page Cache-Control %q", cc)
	}
	for _, asset := range []string{"pow.js", "worker.js"} {
		r := alice.do(t, d, "GET", challenge.PathPrefix+asset, nil, nil)
		if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "javascript") {
			t.Fatalf("%s: %d %s", asset, r.status, r.header.Get("Content-Type"))
		}
	}

	passed := alice.solve(t, d, p)
	if passed.status != 303 || passed.header.Get("Location") != "/whoami/?from=challenge" {
		t.Fatalf("verify: %d to %q, want 303 to the page asked for", passed.status, passed.header.Get("Location"))
	}
	alice.cookie = clearanceFrom(t, passed)
	landed := alice.do(t, d, "GET", passed.header.Get("Location"), nil, nil)
	if landed.status != 200 || !strings.Contains(landed.body, `"x_forwarded_for": "192.0.2.10"`) && !strings.Contains(landed.body, `"x_forwarded_for":"192.0.2.10"`) {
		t.Fatalf("cleared visitor: %d %s", landed.status, landed.body)
	}
	if after, paths := d.requests(t); after-before != 1 {
		t.Fatalf("Django saw %d requests, want only the cleared one: %v", after-before, paths)
	}
	d.waitLog(t, `"rule":"challenge-passed"`)

	// A solved nonce cannot be used twice.
	if r := alice.solve(t, d, p); r.status != 403 || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("replayed answer: %d, cookies %v", r.status, r.header.Values("Set-Cookie"))
	}
	d.waitLog(t, `"rule":"challenge-failed"`, "replay")
	// A wrong answer gets no cookie and a new page.
	p2 := challengePage(t, (&visitor{ip: alice.ip, ua: alice.ua}).do(t, d, "GET", "/whoami/", nil, nil))
	if !challenge.VerifyPoW(p2.nonce, "1", p2.difficulty) {
		if r := alice.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p2.token}, "answer": {"1"}}, nil); !isChallenge(r) || len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("wrong answer: %d cookies %v", r.status, r.header.Values("Set-Cookie"))
		}
	}

	// The clearance is bound to the address (IPv4 /32 by default) and the browser.
	neighbour := &visitor{ip: "192.0.2.200", ua: browser, cookie: alice.cookie}
	if r := neighbour.do(t, d, "GET", "/whoami/", nil, nil); !isChallenge(r) {
		t.Errorf("same /24, other address, with the cookie: %d, want the challenge page", r.status)
	}
	cfg, err := config.Load(writeConfig(t, yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	signer := challenge.NewSigner([]byte(challengeSecret), challenge.PolicyVersion(cfg.Challenge))
	aliceClient := challenge.Client{IP: netip.MustParseAddr(alice.ip), UserAgent: browser}
	// Sanity: the test's signer is the binary's, so its refusals below are
	// refusals of the property each case changes.
	if r := (&visitor{ip: alice.ip, ua: browser, cookie: signer.Clearance(aliceClient, time.Now().Add(time.Hour))}).do(t, d, "GET", "/whoami/", nil, nil); r.status != 200 {
		t.Fatalf("a cookie signed like the binary's refused: %d", r.status)
	}
	harder := cfg.Challenge
	harder.Difficulty = 20
	otherPolicy := challenge.NewSigner([]byte(challengeSecret), challenge.PolicyVersion(harder))
	forger := challenge.NewSigner([]byte("not the secret, but a guess at it"), challenge.PolicyVersion(cfg.Challenge))
	refused := []struct {
		name string
		v    *visitor
		tag  string
	}{
		{"other network", &visitor{ip: "198.51.100.10", ua: browser, cookie: alice.cookie}, "clearance-invalid"},
		{"other address", &visitor{ip: "192.0.2.11", ua: browser, cookie: alice.cookie}, "clearance-invalid"},
		{"other User-Agent", &visitor{ip: alice.ip, ua: "Mozilla/5.0 (Macintosh) Safari/605.1.15", cookie: alice.cookie}, "clearance-invalid"},
		{"expired", &visitor{ip: alice.ip, ua: browser, cookie: signer.Clearance(aliceClient, time.Now().Add(-time.Minute))}, "clearance-expired"},
		{"other policy", &visitor{ip: alice.ip, ua: browser, cookie: otherPolicy.Clearance(aliceClient, time.Now().Add(time.Hour))}, "clearance-old-policy"},
		{"forged", &visitor{ip: alice.ip, ua: browser, cookie: forger.Clearance(aliceClient, time.Now().Add(time.Hour))}, "clearance-invalid"},
		{"garbage", &visitor{ip: alice.ip, ua: browser, cookie: "AAAA.bm90IGEgY29va2ll"}, ""},
	}
	mid, _ := d.requests(t)
	for _, c := range refused {
		if r := c.v.do(t, d, "GET", "/whoami/?case="+url.QueryEscape(c.name), nil, nil); !isChallenge(r) {
			t.Errorf("%s cookie: %d, want the challenge page", c.name, r.status)
		}
		if c.tag != "" {
			d.waitLog(t, `case=`+url.QueryEscape(c.name), `"`+c.tag+`"`)
		}
	}
	if after, paths := d.requests(t); after != mid {
		t.Fatalf("Django saw requests with refused cookies: %v", paths[len(paths)-(after-mid):])
	}

	// Clients that cannot run a challenge get 429 (JSON when they ask for it).
	bob := &visitor{ip: "192.0.2.20", ua: browser}
	js := bob.do(t, d, "GET", "/whoami/", nil, map[string]string{"Accept": "application/json"})
	if js.status != 429 || !strings.HasPrefix(js.header.Get("Content-Type"), "application/json") || !strings.Contains(js.body, "check-humans") {
		t.Errorf("JSON client: %d %s %s", js.status, js.header.Get("Content-Type"), js.body)
	}
	api := bob.do(t, d, "POST", "/api/echo/", url.Values{"a": {"1"}}, nil)
	if api.status != 429 || tokenRe.MatchString(api.body) {
		t.Errorf("POST to an API path: %d, want 429 without a page", api.status)
	}
	xhr := bob.do(t, d, "GET", "/whoami/", nil, map[string]string{"Sec-Fetch-Mode": "cors"})
	if xhr.status != 429 || tokenRe.MatchString(xhr.body) {
		t.Errorf("fetch() from a page: %d, want 429 without a page", xhr.status)
	}
	if nav := bob.do(t, d, "GET", "/whoami/", nil, map[string]string{"Sec-Fetch-Mode": "navigate"}); !isChallenge(nav) {
		t.Errorf("a navigation: %d, want the challenge page", nav.status)
	}

	// A form post interrupted by the challenge is not lost silently: the
	// page says so, and after passing the visitor is back on the form.
	post := bob.do(t, d, "POST", "/login/", url.Values{"username": {"alice"}, "password": {"x"}}, map[string]string{"Referer": d.base + "/login/?next=/account/"})
	if !isChallenge(post) || !strings.Contains(post.body, "Your form was not sent") {
		t.Fatalf("interrupted POST: %d\n%.500s", post.status, post.body)
	}
	back := bob.solve(t, d, challengePage(t, post))
	if back.status != 303 || back.header.Get("Location") != "/login/?next=/account/" {
		t.Fatalf("after an interrupted POST: %d to %q, want the form page", back.status, back.header.Get("Location"))
	}
	if _, paths := d.requests(t); strings.Contains(strings.Join(paths, " "), "POST /login/") {
		t.Fatalf("the interrupted POST reached Django: %v", paths)
	}
}

// The image CAPTCHA (the no-JavaScript fallback): image and audio are
// served by Parapet, the answer (derived from the challenge with the
// shared secret, the way every instance checks it) clears, a wrong one
// burns the challenge.
func TestChallengeImageCaptcha(t *testing.T) {
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
challenge:
  kind: captcha
  secret: %s
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/]
`, challengeSecret)
	d := startDjangoWithConfig(t, yaml)
	cfg, err := config.Load(writeConfig(t, yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	answers, err := challenge.New(cfg, challenge.Options{Secret: []byte(challengeSecret)})
	if err != nil {
		t.Fatal(err)
	}
	signer := answers.Signer()
	carol := &visitor{ip: "192.0.2.30", ua: browser}
	client := challenge.Client{IP: netip.MustParseAddr(carol.ip), UserAgent: browser}

	r := carol.do(t, d, "GET", "/whoami/", nil, nil)
	p := challengePage(t, r)
	if !strings.Contains(r.body, "captcha.png?t=") || !strings.Contains(r.body, "captcha.wav?t=") || strings.Contains(r.body, "pow.js") {
		t.Fatalf("captcha page lacks image/audio or still loads the PoW:\n%.800s", r.body)
	}
	img := carol.do(t, d, "GET", challenge.PathPrefix+"captcha.png?t="+p.token, nil, nil)
	if img.status != 200 || img.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(img.body, "\x89PNG") {
		t.Fatalf("image: %d %s", img.status, img.header.Get("Content-Type"))
	}
	wav := carol.do(t, d, "GET", challenge.PathPrefix+"captcha.wav?t="+p.token, nil, nil)
	if wav.status != 200 || wav.header.Get("Content-Type") != "audio/wav" || !strings.HasPrefix(wav.body, "RIFF") {
		t.Fatalf("audio: %d %s", wav.status, wav.header.Get("Content-Type"))
	}
	// Another client cannot fetch (or answer) carol's puzzle.
	if r := (&visitor{ip: "198.51.100.1", ua: browser}).do(t, d, "GET", challenge.PathPrefix+"captcha.png?t="+p.token, nil, nil); r.status != 403 {
		t.Errorf("someone else's captcha image: %d", r.status)
	}

	tok, err := signer.Open(p.token, client, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	right := answers.CaptchaAnswer(tok.Nonce)
	wrong := fmt.Sprintf("%06d", (atoi(right)+1)%1_000_000)
	if r := carol.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "captcha": {wrong}}, nil); !isChallenge(r) || !strings.Contains(r.body, "not right") {
		t.Fatalf("wrong digits: %d", r.status)
	}
	// One guess per puzzle: the right answer after a wrong one is refused.
	if r := carol.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "captcha": {right}}, nil); r.status != 403 || len(r.header.Values("Set-Cookie")) > 0 {
		t.Fatalf("second guess on a used puzzle: %d", r.status)
	}
	p = challengePage(t, carol.do(t, d, "GET", "/whoami/", nil, nil))
	tok, _ = signer.Open(p.token, client, time.Now())
	ok := carol.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "captcha": {answers.CaptchaAnswer(tok.Nonce)}}, nil)
	if ok.status != 303 || ok.header.Get("Location") != "/whoami/" {
		t.Fatalf("right digits: %d %q", ok.status, ok.header.Get("Location"))
	}
	carol.cookie = clearanceFrom(t, ok)
	if r := carol.do(t, d, "GET", "/whoami/", nil, nil); r.status != 200 {
		t.Fatalf("after the captcha: %d", r.status)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

// siteverify stands in for Cloudflare's and hCaptcha's verify endpoints:
// only the right secret with the widget's good response succeeds.
func siteverify(t *testing.T, secret string) (*httptest.Server, *[]url.Values) {
	var seen []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		seen = append(seen, r.PostForm)
		ok := r.PostForm.Get("secret") == secret && r.PostForm.Get("response") == "widget-said-human"
		w.Header().Set("Content-Type", "application/json")
		if ok {
			fmt.Fprint(w, `{"success":true,"hostname":"example.com"}`)
		} else {
			fmt.Fprint(w, `{"success":false,"error-codes":["invalid-input-response"]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestChallengeTurnstileAndHCaptcha(t *testing.T) {
	for _, c := range []struct{ kind, field, widget string }{
		{"turnstile", "cf-turnstile-response", `class="cf-turnstile" data-sitekey="site-key-1"`},
		{"hcaptcha", "h-captcha-response", `class="h-captcha" data-sitekey="site-key-1"`},
	} {
		t.Run(c.kind, func(t *testing.T) {
			srv, seen := siteverify(t, "widget-secret")
			yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
challenge:
  kind: %s
  secret: %s
  %s:
    site_key: site-key-1
    secret: widget-secret
    verify_url: %s/siteverify
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/]
`, c.kind, challengeSecret, c.kind, srv.URL)
			d := startDjangoWithConfig(t, yaml)
			dan := &visitor{ip: "192.0.2.40", ua: browser}
			r := dan.do(t, d, "GET", "/whoami/", nil, nil)
			p := challengePage(t, r)
			if !strings.Contains(r.body, c.widget) {
				t.Fatalf("page lacks the %s widget:\n%.800s", c.kind, r.body)
			}
			bad := dan.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, c.field: {"bot-made-this-up"}}, nil)
			if !isChallenge(bad) || len(bad.header.Values("Set-Cookie")) > 0 {
				t.Fatalf("failed widget: %d", bad.status)
			}
			p = challengePage(t, dan.do(t, d, "GET", "/whoami/", nil, nil))
			good := dan.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, c.field: {"widget-said-human"}}, nil)
			if good.status != 303 {
				t.Fatalf("passed widget: %d", good.status)
			}
			dan.cookie = clearanceFrom(t, good)
			if r := dan.do(t, d, "GET", "/whoami/", nil, nil); r.status != 200 {
				t.Fatalf("after the widget: %d", r.status)
			}
			if len(*seen) != 2 || (*seen)[1].Get("remoteip") != dan.ip {
				t.Fatalf("verify endpoint calls: %v", *seen)
			}
		})
	}
}

// Googlebot from Google's published ranges is never challenged; a client
// whose User-Agent claims Googlebot from elsewhere is blocked as a liar.
func TestChallengeGoodCrawlersAndLiars(t *testing.T) {
	ranges := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"creationTime":"2026-11-24T00:00:00","prefixes":[{"ipv6Prefix":"2001:4860:4801:10::/64"},{"ipv4Prefix":"66.249.64.0/27"}]}`)
	}))
	t.Cleanup(ranges.Close)
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
feed_cache_dir: %s
challenge:
  secret: %s
  crawlers:
    list:
      - name: google
        user_agents: [Googlebot]
        url: %s/googlebot.json
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/]
`, t.TempDir(), challengeSecret, ranges.URL)
	d := startDjangoWithConfig(t, yaml)
	googlebot := "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	real := &visitor{ip: "66.249.64.5", ua: googlebot}
	// The ranges are fetched in the background once the config is active;
	// until they are in, nobody is judged by them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := real.do(t, d, "GET", "/whoami/", nil, nil)
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Googlebot from its range never let through: %d", r.status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.waitLog(t, `"client_ip":"66.249.64.5"`, `"crawler:google"`)
	if r := (&visitor{ip: "2001:4860:4801:10::1", ua: googlebot}).do(t, d, "GET", "/whoami/", nil, nil); r.status != 200 {
		t.Errorf("Googlebot from its IPv6 range: %d", r.status)
	}
	liar := &visitor{ip: "203.0.113.66", ua: googlebot}
	r := liar.do(t, d, "GET", "/", nil, nil)
	if r.status != 403 || !strings.Contains(r.body, "crawler-liar") || isChallenge(r) {
		t.Fatalf("fake Googlebot: %d\n%.300s", r.status, r.body)
	}
	d.waitLog(t, `"client_ip":"203.0.113.66"`, `"rule":"crawler-liar"`, `"fake-crawler"`)
	// On a challenged path too: a liar is blocked, not offered a way in.
	if r := liar.do(t, d, "GET", "/whoami/", nil, nil); r.status != 403 || !strings.Contains(r.body, "crawler-liar") || isChallenge(r) {
		t.Fatalf("fake Googlebot on a challenged path: %d", r.status)
	}
	// An ordinary browser at the same address is still only challenged.
	if r := (&visitor{ip: "203.0.113.66", ua: browser}).do(t, d, "GET", "/whoami/", nil, nil); !isChallenge(r) {
		t.Errorf("browser: %d, want the challenge", r.status)
	}
}

// The challenge endpoints pass bans and limits, counted in the shared
// store: a client guessing answers across two instances on one Redis gets
// challenge.attempt_limit tries in all (each wrong one a new challenge),
// then 429s; a client banned with `parapet ban add` gets no clearance for
// a solved challenge on either instance. Before, each wrong answer was
// answered with a fresh challenge at any rate, banned or not.
func TestChallengeAttemptsCappedAcrossInstancesThroughRedis(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL(), "PARAPET_CHALLENGE_SECRET=" + challengeSecret,
		"PARAPET_CHALLENGE_DIFFICULTY=8", "PARAPET_CHALLENGE_ATTEMPT_LIMIT=4/minute burst 4",
		`PARAPET_RULES=[{"id":"check-humans","action":"challenge","paths":["/whoami/"]}]`}
	a, b := edgeParapet(t, sock, env...), edgeParapet(t, sock, env...)
	da, db := &django{process: a, base: "http://" + a.addr}, &django{process: b, base: "http://" + b.addr}

	guesser := &visitor{ip: "198.51.100.50", ua: browser}
	p := challengePage(t, guesser.do(t, da, "GET", "/whoami/", nil, nil))
	var codes []int
	for i := 0; i < 8; i++ {
		d := da
		if i%2 == 1 {
			d = db
		}
		r := guesser.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "captcha": {"000000"}}, nil)
		codes = append(codes, r.status)
		if isChallenge(r) {
			p = challengePage(t, r)
		}
	}
	if fmt.Sprint(codes) != "[403 403 403 403 429 429 429 429]" {
		t.Fatalf("8 wrong answers over two instances: %v, want 4 tries then 429", codes)
	}
	b.waitLog(t, `"rule":"challenge-attempts"`, `"decision":"throttle"`)

	mallory := &visitor{ip: "198.51.100.51", ua: browser}
	p = challengePage(t, mallory.do(t, da, "GET", "/whoami/", nil, nil))
	if out, code := run(t, env, "ban", "add", mallory.ip, "--for", "1h"); code != 0 {
		t.Fatalf("ban add: %d %s", code, out)
	}
	for _, d := range []*django{da, db} {
		if r := mallory.solve(t, d, p); r.status != 403 || !strings.Contains(r.body, "banned") || len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("banned client's solved challenge at %s: %d %v", d.base, r.status, r.header.Values("Set-Cookie"))
		}
	}
}

// What a clearance costs and what it buys: a client that throws its
// clearance away and comes back (a scraper farming fresh ones) is asked
// for more work each time its answers double (difficulty 10 up to
// max_difficulty 13 here); the clearance lasts an hour by default and is
// bound to the client's own IPv4 address, not its /24.
func TestClearanceCostRisesForRepeatClientsAndBindsTheAddress(t *testing.T) {
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
challenge:
  secret: %s
  difficulty: 10
  max_difficulty: 13
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/]
`, challengeSecret)
	d := startDjangoWithConfig(t, yaml)
	farm := &visitor{ip: "198.51.100.60", ua: browser}
	var diffs []int
	var first *http.Cookie
	for i := 0; i < 10; i++ {
		p := challengePage(t, farm.do(t, d, "GET", "/whoami/", nil, nil))
		diffs = append(diffs, int(p.difficulty))
		r := farm.solve(t, d, p)
		if r.status != 303 {
			t.Fatalf("pass %d: %d", i+1, r.status)
		}
		if i == 0 {
			first = (&http.Response{Header: r.header}).Cookies()[0]
		}
	}
	if fmt.Sprint(diffs) != "[10 10 11 11 12 12 12 12 13 13]" {
		t.Fatalf("difficulty of 10 challenges to one client: %v, want one more bit each time its answers double, at most 13", diffs)
	}
	d.waitLog(t, `"client_ip":"198.51.100.60"`, `"decision":"challenge"`, `"pow:13"`)
	if first.Name != "parapet_clearance" || first.MaxAge != 3600 {
		t.Fatalf("clearance cookie %s lasts %ds, want 3600", first.Name, first.MaxAge)
	}
	if r := (&visitor{ip: farm.ip, ua: browser, cookie: first.Value}).do(t, d, "GET", "/whoami/", nil, nil); r.status != 200 {
		t.Fatalf("with its clearance: %d", r.status)
	}
	if r := (&visitor{ip: "198.51.100.61", ua: browser, cookie: first.Value}).do(t, d, "GET", "/whoami/", nil, nil); !isChallenge(r) {
		t.Fatalf("the next address in the /24 with the clearance: %d, want the challenge page", r.status)
	}
	// A fresh client is asked for the base difficulty.
	if p := challengePage(t, (&visitor{ip: "198.51.100.62", ua: browser}).do(t, d, "GET", "/whoami/", nil, nil)); p.difficulty != 10 {
		t.Fatalf("a new client: difficulty %d, want 10", p.difficulty)
	}
}
