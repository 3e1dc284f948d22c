package challenge

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// The CAPTCHA stands in for another kind's challenge (a browser without
// JavaScript) only where it is not the cheap way past it: never under
// attack, never where the proof of work is set above CaptchaBits, once per
// network per half clearance_ttl (whatever the User-Agent), and for half as
// long. The page offers it only then.
func TestCaptchaFallbackNeverTheCheapWay(t *testing.T) {
	type env struct {
		c      *Challenger
		counts mapCounter
		attack *bool
	}
	newEnv := func(t *testing.T, kind string, difficulty int) env {
		cfg := config.Default()
		cfg.Challenge.Kind, cfg.Challenge.Difficulty = kind, difficulty
		if kind == "turnstile" {
			cfg.Challenge.Turnstile.SiteKey, cfg.Challenge.Turnstile.Secret = "site", "secret"
		}
		e := env{counts: mapCounter{}, attack: new(bool)}
		var err error
		e.c, err = New(cfg, Options{Secret: []byte("0123456789abcdef0123456789abcdef"), Counts: e.counts, UnderAttack: func() bool { return *e.attack }})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// page serves a challenge to ip/ua and reports its token and whether
	// it offers the CAPTCHA.
	page := func(e env, ip, ua string) (string, bool) {
		r := httptest.NewRequest("GET", "/shop/", nil)
		r.Header.Set("User-Agent", ua)
		w := httptest.NewRecorder()
		e.c.Answer(w, r, &decision.Info{ClientIP: netip.MustParseAddr(ip)}, decision.Decision{Action: decision.Challenge, RuleID: "x"})
		m := tokenRe.FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("no token in the page:\n%s", w.Body.String())
		}
		return m[1], strings.Contains(w.Body.String(), "captcha.png")
	}
	// solve posts the right CAPTCHA digits for token.
	solve := func(e env, ip, ua, token string) *httptest.ResponseRecorder {
		info := &decision.Info{ClientIP: netip.MustParseAddr(ip)}
		r := httptest.NewRequest("POST", PathPrefix+"verify", nil)
		r.Header.Set("User-Agent", ua)
		tok, err := e.c.OpenToken(r, info, token)
		if err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest("POST", PathPrefix+"verify", strings.NewReader("token="+token+"&captcha="+e.c.CaptchaAnswer(tok.Nonce)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("User-Agent", ua)
		r = r.WithContext(decision.WithInfo(r.Context(), info))
		w := httptest.NewRecorder()
		e.c.ServeHTTP(w, r)
		return w
	}

	t.Run("pow at rest: once per network, for half clearance_ttl", func(t *testing.T) {
		e := newEnv(t, "pow", 16)
		tok, offered := page(e, "192.0.2.1", "ua-1")
		if !offered {
			t.Fatal("the CAPTCHA is not offered to a first visitor at rest")
		}
		w := solve(e, "192.0.2.1", "ua-1", tok)
		ck := w.Result().Cookies()
		if w.Code != http.StatusSeeOther || len(ck) != 1 || ck[0].MaxAge != int(30*time.Minute/time.Second) {
			t.Fatalf("first CAPTCHA at rest: %d %v, want 303 and a 30-minute clearance", w.Code, ck)
		}
		// The same network with another User-Agent: not again.
		tok, offered = page(e, "192.0.2.1", "ua-2")
		if offered {
			t.Fatal("the CAPTCHA is offered again to the same network")
		}
		if w := solve(e, "192.0.2.1", "ua-2", tok); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Fatalf("second CAPTCHA from one network: %d", w.Code)
		}
		// Another network is not affected.
		if tok, offered = page(e, "192.0.2.2", "ua-1"); !offered || solve(e, "192.0.2.2", "ua-1", tok).Code != http.StatusSeeOther {
			t.Fatal("a CAPTCHA from the next address refused")
		}
	})
	t.Run("pow under attack", func(t *testing.T) {
		e := newEnv(t, "pow", 16)
		*e.attack = true
		tok, offered := page(e, "192.0.2.3", "ua")
		if offered {
			t.Fatal("the CAPTCHA is offered under attack")
		}
		if w := solve(e, "192.0.2.3", "ua", tok); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Fatalf("CAPTCHA under attack: %d", w.Code)
		}
	})
	t.Run("pow above CaptchaBits", func(t *testing.T) {
		e := newEnv(t, "pow", CaptchaBits+1)
		tok, offered := page(e, "192.0.2.4", "ua")
		if offered || solve(e, "192.0.2.4", "ua", tok).Code != http.StatusForbidden {
			t.Fatal("the CAPTCHA stands in for a proof of work above CaptchaBits")
		}
	})
	t.Run("turnstile under attack", func(t *testing.T) {
		e := newEnv(t, "turnstile", 16)
		*e.attack = true
		tok, offered := page(e, "192.0.2.5", "ua")
		if offered || solve(e, "192.0.2.5", "ua", tok).Code != http.StatusForbidden {
			t.Fatal("the CAPTCHA stands in for Turnstile under attack")
		}
	})
	t.Run("kind captcha: always, full clearance", func(t *testing.T) {
		e := newEnv(t, "captcha", 20)
		*e.attack = true
		for i := 0; i < 3; i++ {
			tok, _ := page(e, "192.0.2.6", "ua")
			w := solve(e, "192.0.2.6", "ua", tok)
			if ck := w.Result().Cookies(); w.Code != http.StatusSeeOther || len(ck) != 1 || ck[0].MaxAge != 3600 {
				t.Fatalf("kind captcha, solve %d under attack: %d %v", i+1, w.Code, ck)
			}
		}
	})
}
