package challenge

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

func newTestChallenger(t *testing.T) (*Challenger, *config.Config) {
	t.Helper()
	cfg := config.Default()
	cfg.Challenge.Difficulty = 4
	c, err := New(cfg, Options{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return c, cfg
}

// Only a browser navigating to a page is shown a challenge page.
func TestCanChallenge(t *testing.T) {
	c, _ := newTestChallenger(t)
	cases := []struct {
		method, path string
		hdr          map[string]string
		want         bool
	}{
		{"GET", "/shop/", map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, true},
		{"HEAD", "/shop/", nil, true},
		{"POST", "/contact/", nil, true},
		{"GET", "/shop/", map[string]string{"Accept": "application/json"}, false},
		{"GET", "/shop/", map[string]string{"Accept": "application/json, text/html"}, true},
		{"GET", "/shop/", map[string]string{"X-Requested-With": "XMLHttpRequest"}, false},
		{"GET", "/shop/", map[string]string{"Sec-Fetch-Mode": "no-cors"}, false},
		{"GET", "/api/items/", nil, true}, // a browser may open an API URL
		{"POST", "/api/items/", nil, false},
		{"PUT", "/shop/", nil, false},
		{"DELETE", "/shop/", nil, false},
		{"POST", "/webhooks/stripe/", nil, false},
		{"GET", "/.well-known/acme-challenge/x", nil, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		for k, v := range tc.hdr {
			r.Header.Set(k, v)
		}
		if got := c.CanChallenge(r); got != tc.want {
			t.Errorf("%s %s %v: %v, want %v", tc.method, tc.path, tc.hdr, got, tc.want)
		}
	}
}

var tokenRe = regexp.MustCompile(`name="token" value="([A-Za-z0-9_-]+)"`)

// An interrupted POST returns to the form's page only when the Referer is
// this site; otherwise to the form's own URL, never elsewhere.
func TestInterruptedPostReturnPath(t *testing.T) {
	c, _ := newTestChallenger(t)
	info := &decision.Info{ClientIP: netip.MustParseAddr("192.0.2.1"), ID: "req-1"}
	for _, tc := range []struct{ referer, want string }{
		{"http://example.com/contact/?step=2", "/contact/?step=2"},
		{"https://evil.example/phish/", "/contact/send/"},
		{"http://example.com//evil.example/", "/contact/send/"},
		{"", "/contact/send/"},
	} {
		r := httptest.NewRequest("POST", "http://example.com/contact/send/", strings.NewReader("a=1"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		w := httptest.NewRecorder()
		c.Answer(w, r, info, decision.Decision{Action: decision.Challenge, RuleID: "r"})
		m := tokenRe.FindStringSubmatch(w.Body.String())
		if w.Code != http.StatusForbidden || m == nil || !strings.Contains(w.Body.String(), "Your form was not sent") {
			t.Fatalf("referer %q: %d\n%s", tc.referer, w.Code, w.Body.String())
		}
		tok, err := c.OpenToken(r, info, m[1])
		if err != nil {
			t.Fatal(err)
		}
		if tok.Return != tc.want || !tok.Post {
			t.Errorf("referer %q: return %q (post %v), want %q", tc.referer, tok.Return, tok.Post, tc.want)
		}
	}
}

// The verify endpoint refuses what is not a solved, fresh challenge of
// this client, and answers malformed input with a 4xx.
func TestVerifyRefusals(t *testing.T) {
	c, _ := newTestChallenger(t)
	info := &decision.Info{ClientIP: netip.MustParseAddr("192.0.2.1"), ID: "req-1"}
	client := Client{IP: info.ClientIP, UserAgent: "ua"}
	tok := Token{Kind: KindPoW, Difficulty: 4, Expires: time.Now().Add(time.Minute), Nonce: [16]byte{7}, Return: "/x"}
	good := c.Signer().Sign(tok, client)
	ans := SolvePoW(tok.Nonce, 4)
	post := func(method, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, PathPrefix+"verify", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("User-Agent", "ua")
		r = r.WithContext(decision.WithInfo(r.Context(), info))
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w
	}
	for _, tc := range []struct {
		name, method, body string
		want               int
	}{
		{"GET", "GET", "", 405},
		{"no token", "POST", "answer=" + ans, 403},
		{"garbage token", "POST", "token=%ff%00&answer=1", 403},
		{"no answer", "POST", "token=" + good, 400},
		{"huge body", "POST", "token=" + strings.Repeat("A", 20000), 400},
		{"solved", "POST", "token=" + good + "&answer=" + ans, 303},
		{"replayed", "POST", "token=" + good + "&answer=" + ans, 403},
	} {
		w := post(tc.method, tc.body)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
		if cookie := w.Header().Get("Set-Cookie"); (tc.want == 303) != (cookie != "") {
			t.Errorf("%s: Set-Cookie %q", tc.name, cookie)
		}
	}
}

// With fallback_captcha off, a Turnstile site cannot be passed with the
// (weaker) image CAPTCHA, and its media is not drawn.
func TestFallbackCaptchaOff(t *testing.T) {
	cfg := config.Default()
	cfg.Challenge.FallbackCaptcha = false
	c, err := New(cfg, Options{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	info := &decision.Info{ClientIP: netip.MustParseAddr("192.0.2.1")}
	tok := Token{Kind: KindPoW, Difficulty: 16, Expires: time.Now().Add(time.Minute), Nonce: [16]byte{3}, Return: "/"}
	v := c.Signer().Sign(tok, Client{IP: info.ClientIP, UserAgent: "ua"})
	req := func(method, target, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("User-Agent", "ua")
		r = r.WithContext(decision.WithInfo(r.Context(), info))
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w
	}
	if w := req("POST", PathPrefix+"verify", "token="+v+"&captcha="+c.CaptchaAnswer(tok.Nonce)); w.Code == http.StatusSeeOther {
		t.Fatal("image CAPTCHA cleared a pow challenge with the fallback off")
	}
	if w := req("GET", PathPrefix+"captcha.png?t="+v, ""); w.Code != http.StatusNotFound {
		t.Fatalf("captcha image drawn with the fallback off: %d", w.Code)
	}
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	c.Answer(w, r, info, decision.Decision{Action: decision.Challenge})
	if strings.Contains(w.Body.String(), "captcha.png") || !strings.Contains(w.Body.String(), "needs JavaScript") {
		t.Fatalf("page with the fallback off:\n%s", w.Body.String())
	}
}

// mapCounter is a Counter for tests (one window, never ending).
type mapCounter map[string]int64

func (m mapCounter) Incr(_ context.Context, key string, delta int64, _ time.Duration) (int64, error) {
	m[key] += delta
	return m[key], nil
}

// The proof of work gets harder under attack and for a client that keeps
// answering challenges (it fails, or throws its clearance away and comes
// back): one bit per doubling of its answers, up to max_difficulty. Its
// neighbours are not affected.
func TestDifficultyAdaptsToAttackAndRepeatClients(t *testing.T) {
	cfg := config.Default()
	cfg.Challenge.Difficulty, cfg.Challenge.MaxDifficulty = 16, 22
	counts := mapCounter{}
	attack := false
	c, err := New(cfg, Options{Secret: []byte("0123456789abcdef0123456789abcdef"), Counts: counts, UnderAttack: func() bool { return attack }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bot := Client{IP: netip.MustParseAddr("192.0.2.7"), UserAgent: "python-requests/2.31"}
	var got []int
	for i := 0; i < 70; i++ {
		switch i {
		case 0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 69:
			got = append(got, c.Difficulty(ctx, bot))
		}
		c.countAnswer(ctx, bot)
	}
	want := []int{16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("difficulty after 0,1,2,3,4,7,8,15,16,31,32,63,64,69 answers: %v, want %v", got, want)
	}
	neighbour := Client{IP: netip.MustParseAddr("192.0.2.8"), UserAgent: bot.UserAgent}
	if d := c.Difficulty(ctx, neighbour); d != 16 {
		t.Fatalf("the next address: %d, want 16", d)
	}
	attack = true
	if d := c.Difficulty(ctx, neighbour); d != 20 {
		t.Fatalf("under attack: %d, want 20", d)
	}
	if d := c.Difficulty(ctx, bot); d != 22 {
		t.Fatalf("under attack, a repeat client: %d, want max_difficulty 22", d)
	}
	// The page and its signed token carry the difficulty the verify
	// endpoint will check.
	r := httptest.NewRequest("GET", "/shop/", nil)
	r.Header.Set("User-Agent", bot.UserAgent)
	info := &decision.Info{ClientIP: neighbour.IP}
	w := httptest.NewRecorder()
	c.Answer(w, r, info, decision.Decision{Action: decision.Challenge, RuleID: "x"})
	m := tokenRe.FindStringSubmatch(w.Body.String())
	if m == nil || !strings.Contains(w.Body.String(), `data-difficulty="20"`) {
		t.Fatalf("challenge page under attack lacks difficulty 20:\n%.600s", w.Body.String())
	}
	if tok, err := c.OpenToken(r, info, m[1]); err != nil || tok.Difficulty != 20 {
		t.Fatalf("token: %+v %v", tok, err)
	}
}
