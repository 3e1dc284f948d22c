// Package challenge shows challenges to clients a stage wants checked
// (decision.Challenge) and lets them through once they pass: a SHA-256
// proof of work solved in a Web Worker (the default), an image CAPTCHA with
// an audio alternative (the no-JavaScript fallback), or Cloudflare Turnstile
// / hCaptcha verified server-side. Passing sets a signed clearance cookie
// bound to the client's IP prefix and User-Agent and to the policy version.
// Known good crawlers are recognised by their published address ranges.
//
// The chain uses it in three places: Cleared (does the client carry a valid
// clearance, or is it a listed crawler?), the clearance Stage (sets
// Info.Cleared and refuses crawler liars), Answer (writes the challenge page,
// or a 429/403 for clients that cannot run one) and ServeHTTP (the
// /_parapet/challenge/ endpoints: scripts, CAPTCHA media, the verify form).
package challenge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math/bits"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/denypage"
	"github.com/parapet-waf/parapet/internal/netlist"
	"github.com/parapet-waf/parapet/internal/scope"
)

// PathPrefix is where Parapet serves the challenge's own endpoints.
const PathPrefix = "/_parapet/challenge/"

// Rule ids used in decisions and events (and as the deny page's reason
// code, which always is the log line's rule).
const (
	RulePassed = "challenge-passed"
	RuleFailed = "challenge-failed"
	RuleLiar   = "crawler-liar"
	// RuleNotFound: a path under PathPrefix that is none of the endpoints.
	RuleNotFound = "challenge-not-found"
	// RuleMethod: an endpoint asked with a method it does not take.
	RuleMethod = "challenge-method-not-allowed"
	// RuleError: the page or the CAPTCHA could not be drawn.
	RuleError = "challenge-error"
)

//go:embed assets/page.html assets/pow.js assets/worker.js
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "assets/page.html"))

// Options are the long-lived parts a Challenger uses.
type Options struct {
	// Secret signs tokens and cookies; required (the caller generates one
	// when the config has none).
	Secret []byte
	// Nonces claims solved nonces; nil: a bounded in-memory store.
	Nonces NonceStore
	// Pages renders refusals (429/403) and errors.
	Pages *denypage.Renderer
	// Feeds runs the crawler range feeds; nil disables crawler recognition.
	Feeds *netlist.Registry
	// Client calls the Turnstile/hCaptcha verify endpoints (nil: a client
	// with a 10 s timeout).
	Client *http.Client
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Log receives verify failures worth a look (nil: discarded).
	Log *slog.Logger
	// Counts keeps how many challenges each client answered, in the
	// shared store so every instance raises the same client's difficulty
	// (nil: the difficulty does not follow the client).
	Counts Counter
	// UnderAttack reports whether under-attack mode is on (nil: never);
	// then every challenge is AttackBits harder.
	UnderAttack func() bool
}

// Counter counts in a fixed window (store.Store's Incr).
type Counter interface {
	// Incr adds delta to key's count in a window that starts with the
	// first Incr and lasts window, and returns the new count.
	Incr(ctx context.Context, key string, delta int64, window time.Duration) (int64, error)
}

// AttackBits is what under-attack mode adds to the proof of work's
// difficulty (16 times the work).
const AttackBits = 4

// Challenger is the compiled challenge policy. Safe for concurrent use.
type Challenger struct {
	cfg      config.Challenge
	kind     Kind
	signer   *Signer
	captcha  []byte // key deriving CAPTCHA answers from nonces
	nonces   NonceStore
	pages    *denypage.Renderer
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger
	counts   Counter
	attack   func() bool
	crawlers *crawlerClaims // nil: crawlers are not recognised
	brand    string
	exempt   scope.Exempt // cfg.ExemptPaths
	api      scope.Exempt // cfg.APIPaths
}

// NewSecret returns a random 32-byte secret, for when the config has none.
func NewSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// PolicyVersion hashes the parts of the challenge config that decide what
// passing means; a clearance issued under another version is refused.
func PolicyVersion(c config.Challenge) [8]byte {
	c.Secret, c.Turnstile.Secret, c.HCaptcha.Secret = "", "", ""
	c.Crawlers = config.Crawlers{}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return [8]byte(sum[:8])
}

// New builds a Challenger from a validated config.
func New(cfg *config.Config, opt Options) (*Challenger, error) {
	ch := cfg.Challenge
	kind, ok := ParseKind(ch.Kind)
	if !ok {
		return nil, config.Errors{cfg.Errorf("challenge.kind", "%q must be pow, captcha, turnstile or hcaptcha", ch.Kind)}
	}
	if len(opt.Secret) == 0 {
		return nil, errors.New("challenge: no secret")
	}
	c := &Challenger{
		exempt: scope.NewExempt(cfg.Challenge.ExemptPaths),
		api:    scope.NewExempt(cfg.Challenge.APIPaths),
		cfg:    ch,
		kind:   kind,
		signer: NewSignerPrefix(opt.Secret, PolicyVersion(ch), ch.IPv4Prefix),
		nonces: opt.Nonces,
		pages:  opt.Pages,
		client: opt.Client,
		now:    opt.Now,
		log:    opt.Log,
		counts: opt.Counts,
		attack: opt.UnderAttack,
		brand:  "Parapet",
	}
	mac := hmac.New(sha256.New, opt.Secret)
	mac.Write([]byte("parapet captcha key"))
	c.captcha = mac.Sum(nil)
	if c.nonces == nil {
		c.nonces = NewMemoryNonces(200_000)
	}
	if c.pages == nil {
		c.pages = &denypage.Renderer{Brand: "Parapet"}
	}
	if c.pages.Brand != "" {
		c.brand = c.pages.Brand
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if ch.Crawlers.Enabled && opt.Feeds != nil {
		crs, err := newCrawlers(cfg, opt.Feeds)
		if err != nil {
			return nil, err
		}
		c.crawlers = crs
	}
	return c, nil
}

// mayCarryCookie reports whether a Cookie header of r contains name at
// all: when none does, r.Cookie(name) cannot find it, and the headers need
// not be parsed.
func mayCarryCookie(r *http.Request, name string) bool {
	for _, line := range r.Header["Cookie"] {
		if strings.Contains(line, name) {
			return true
		}
	}
	return false
}

// client is the binding of r's values: IP prefix and User-Agent.
func clientOf(r *http.Request, info *decision.Info) Client {
	return Client{IP: info.ClientIP, UserAgent: r.Header.Get("User-Agent")}
}

// Cleared reports whether the client may skip challenges: a listed good
// crawler from its published ranges, or a valid clearance cookie. It sets
// info.Cleared (and tags the event) so later stages need not ask again.
// A client claiming to be a crawler from elsewhere, with liar_action
// block, is never cleared.
func (c *Challenger) Cleared(r *http.Request, info *decision.Info) bool {
	if info.Cleared {
		return true
	}
	if cr, good := c.crawlerOf(r, info); cr != nil {
		if good {
			info.AddTag("crawler:" + cr.name)
			info.Cleared = true
			return true
		}
		if c.cfg.Crawlers.LiarAction == "block" {
			return false
		}
	}
	if !mayCarryCookie(r, c.cfg.CookieName) {
		return false // most requests: no cookie parsing
	}
	ck, err := r.Cookie(c.cfg.CookieName)
	if err != nil {
		return false
	}
	switch err := c.signer.VerifyClearance(ck.Value, clientOf(r, info), c.now()); {
	case err == nil:
		info.Cleared = true
		return true
	case errors.Is(err, ErrExpired):
		info.AddTag("clearance-expired")
	case errors.Is(err, ErrPolicy):
		info.AddTag("clearance-old-policy")
	default:
		info.AddTag("clearance-invalid")
	}
	return false
}

// Stage returns the clearance stage.
func (c *Challenger) Stage() decision.Stage { return clearanceStage{c} }

type clearanceStage struct{ c *Challenger }

// Routes implements decision.Router: the challenge endpoints under
// PathPrefix (scripts, CAPTCHA media, verify).
func (s clearanceStage) Routes() []decision.Route {
	return []decision.Route{{Path: PathPrefix, Prefix: true, Serve: func(w http.ResponseWriter, r *http.Request, _ *decision.Info) {
		s.c.ServeHTTP(w, r)
	}}}
}

// Name returns "clearance".
func (clearanceStage) Name() string { return "clearance" }

// Check marks cleared clients (Info.Cleared) and refuses clients whose
// User-Agent claims a good crawler from outside its ranges: a block, or a
// challenge (liar_action). It never lets anyone past a block.
func (s clearanceStage) Check(_ context.Context, r *http.Request, info *decision.Info) decision.Decision {
	c := s.c
	if cr, good := c.crawlerOf(r, info); cr != nil && !good {
		info.AddTag("fake-crawler")
		d := decision.Decision{RuleID: RuleLiar, Reason: "User-Agent claims " + cr.name + " from outside its published ranges"}
		if c.cfg.Crawlers.LiarAction == "block" {
			d.Action = decision.Block
			return d
		}
		if !c.Cleared(r, info) {
			d.Action = decision.Challenge
			return d
		}
		return decision.Pass
	}
	c.Cleared(r, info)
	return decision.Pass
}

// Activate starts the crawler range feeds (a feed already running with
// the same settings is taken over, not fetched again). The chain calls it
// when it is installed; a failure is logged and the crawler stays
// unrecognised (nobody is called a liar on an empty list).
func (c *Challenger) Activate() {
	if c.crawlers == nil {
		return
	}
	for _, cr := range c.crawlers.crawlers {
		if err := cr.feed.Start(); err != nil {
			c.log.Warn("crawler ranges cannot start", "crawler", cr.name, "error", err.Error())
		}
	}
}

// FeedNames lists the crawler feeds in use (so a reload keeps them running).
func (c *Challenger) FeedNames() []string {
	if c.crawlers == nil {
		return nil
	}
	var out []string
	for _, cr := range c.crawlers.crawlers {
		out = append(out, cr.feed.Config().Name)
	}
	return out
}

// CanChallenge reports whether r can be shown a challenge page: a browser
// navigation, not an API call, a webhook, an exempt path or a client that
// asked for JSON.
func (c *Challenger) CanChallenge(r *http.Request) bool {
	path := r.URL.Path
	if c.exempt.Covers(path) {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if c.api.Covers(path) {
			return false
		}
	default: // PUT, PATCH, DELETE… come from scripts, never from a page
		return false
	}
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	// Browsers say what a request is for: only a page navigation can show
	// a page (fetch, XHR, images and scripts cannot).
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "json") && !strings.Contains(accept, "text/html") {
		return false
	}
	return true
}

// Answer writes the answer to a decision.Challenge: the challenge page, or
// for requests that cannot run one, the deny page (or JSON) with the
// configured refusal status. A crawler liar (liar_action block) is blocked
// whichever stage challenged it.
func (c *Challenger) Answer(w http.ResponseWriter, r *http.Request, info *decision.Info, d decision.Decision) {
	if cr, good := c.crawlerOf(r, info); cr != nil && !good && c.cfg.Crawlers.LiarAction == "block" {
		info.AddTag("fake-crawler")
		info.Final = decision.Decision{Action: decision.Block, RuleID: RuleLiar, Reason: "User-Agent claims " + cr.name + " from outside its published ranges"}
		c.pages.Write(w, r, denypage.Page{Status: http.StatusForbidden, Reason: RuleLiar, RequestID: info.ID})
		return
	}
	if !c.CanChallenge(r) {
		c.pages.Write(w, r, denypage.Page{Status: c.cfg.RefuseStatus, Reason: d.RuleID, RequestID: info.ID, RetryAfter: d.RetryAfter, Header: d.Headers})
		return
	}
	t := Token{Kind: c.kind, Return: r.URL.RequestURI()}
	if r.Method == http.MethodPost {
		t.Post = true
		t.Return = c.postReturn(r)
	}
	status := d.Status
	if status == 0 {
		status = c.cfg.Status
	}
	c.writePage(w, r, info, t, status, "")
}

// postReturn is where a client whose form post was interrupted goes after
// passing: the page the form was on (a same-site Referer), else the
// form's own URL fetched with GET.
func (c *Challenger) postReturn(r *http.Request) string {
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Host != "" {
		if p := ref.RequestURI(); SafeReturn(p) {
			return p
		}
	}
	return r.URL.RequestURI()
}

type pageView struct {
	Brand, Kind, Token, Challenge, Verify, Assets, SiteKey, RequestID, Error string
	Difficulty                                                               int
	Post, Fallback                                                           bool
}

// writePage issues a fresh token for t and writes the challenge page.
func (c *Challenger) writePage(w http.ResponseWriter, r *http.Request, info *decision.Info, t Token, status int, errMsg string) {
	_, _ = rand.Read(t.Nonce[:])
	t.Expires = c.now().Add(c.cfg.ChallengeTTL)
	t.Kind, t.Difficulty = c.kind, uint8(c.Difficulty(r.Context(), clientOf(r, info)))
	if c.kind == KindPoW {
		info.AddTag("pow:" + strconv.Itoa(int(t.Difficulty))) // what this client was asked for, in its log line
	}
	v := pageView{
		Brand:      c.brand,
		Kind:       c.cfg.Kind,
		Token:      c.signer.Sign(t, clientOf(r, info)),
		Challenge:  PoWInput(t.Nonce),
		Verify:     PathPrefix + "verify",
		Assets:     PathPrefix,
		RequestID:  info.ID,
		Error:      errMsg,
		Difficulty: int(t.Difficulty),
		Post:       t.Post,
		Fallback:   c.kind != KindCaptcha && c.fallbackRefused(r.Context(), clientOf(r, info)) == "",
	}
	switch c.kind {
	case KindTurnstile:
		v.SiteKey = c.cfg.Turnstile.SiteKey
	case KindHCaptcha:
		v.SiteKey = c.cfg.HCaptcha.SiteKey
	}
	var buf strings.Builder
	if err := pageTemplate.Execute(&buf, v); err != nil {
		c.refuse(w, r, info, http.StatusInternalServerError, RuleError, "challenge page: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(buf.String()))
	}
}

// ServeHTTP serves the /_parapet/challenge/ endpoints. The chain runs it
// for paths under PathPrefix once the request has passed the stages
// guarding Parapet's own routes (edge, access-rule blocks, bans, rate
// limits and the attempt and media limits), with the request's
// decision.Info in the context.
func (c *Challenger) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := decision.FromContext(r.Context())
	if info == nil {
		info = &decision.Info{}
	}
	info.Final = decision.Decision{Action: decision.Respond, RuleID: "challenge-endpoint", Reason: "challenge endpoint"}
	switch name := strings.TrimPrefix(r.URL.Path, PathPrefix); name {
	case "pow.js", "worker.js":
		body, _ := assets.ReadFile("assets/" + name)
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	case "captcha.png", "captcha.wav":
		c.serveCaptcha(w, r, info, strings.TrimPrefix(name, "captcha."))
	case "verify":
		c.verify(w, r, info)
	default:
		c.refuse(w, r, info, http.StatusNotFound, RuleNotFound, "no challenge endpoint "+name)
	}
}

// verify checks a submitted answer, claims the nonce and sets the
// clearance cookie, then sends the client to the page it asked for.
func (c *Challenger) verify(w http.ResponseWriter, r *http.Request, info *decision.Info) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.refuse(w, r, info, http.StatusMethodNotAllowed, RuleMethod, r.Method+" to the verify endpoint")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, info, http.StatusBadRequest, "unreadable form", nil)
		return
	}
	client := clientOf(r, info)
	tok, err := c.signer.Open(r.PostForm.Get("token"), client, c.now())
	if err != nil {
		c.fail(w, r, info, http.StatusForbidden, "token "+err.Error(), nil)
		return
	}
	ctx := r.Context()
	c.countAnswer(ctx, client)
	claim := func() error {
		ok, err := c.nonces.SetNX(ctx, "parapet:challenge:nonce:"+hex.EncodeToString(tok.Nonce[:]), []byte{1}, tok.Expires.Sub(c.now())+time.Minute)
		switch {
		case err != nil:
			return fmt.Errorf("nonce store: %w", err)
		case !ok:
			return errReplay
		}
		return nil
	}
	var method string
	var solved, fallback bool
	var claimErr error
	form := r.PostForm
	switch {
	case form.Has("answer") && tok.Kind == KindPoW:
		method = "pow"
		if solved = VerifyPoW(tok.Nonce, form.Get("answer"), tok.Difficulty); solved {
			claimErr = claim()
		}
	case form.Has("captcha") && (tok.Kind == KindCaptcha || c.cfg.FallbackCaptcha):
		// Claim first: one guess per challenge, so guessing cannot be
		// spread over a token's lifetime.
		method = "captcha"
		if fallback = tok.Kind != KindCaptcha; fallback {
			info.AddTag("captcha-fallback")
			if why := c.fallbackRefused(ctx, client); why != "" {
				c.fail(w, r, info, http.StatusForbidden, "captcha not accepted in place of "+tok.Kind.String()+": "+why, &tok)
				return
			}
		}
		if claimErr = claim(); claimErr == nil {
			want := c.CaptchaAnswer(tok.Nonce)
			got := strings.TrimSpace(form.Get("captcha"))
			solved = hmac.Equal([]byte(got), []byte(want))
		}
	case form.Has("cf-turnstile-response") && tok.Kind == KindTurnstile:
		method = "turnstile"
		if claimErr = claim(); claimErr == nil {
			solved, err = c.siteVerify(ctx, c.cfg.Turnstile, form.Get("cf-turnstile-response"), info)
		}
	case form.Has("h-captcha-response") && tok.Kind == KindHCaptcha:
		method = "hcaptcha"
		if claimErr = claim(); claimErr == nil {
			solved, err = c.siteVerify(ctx, c.cfg.HCaptcha, form.Get("h-captcha-response"), info)
		}
	default:
		c.fail(w, r, info, http.StatusBadRequest, "no answer for this challenge kind", nil)
		return
	}
	switch {
	case errors.Is(claimErr, errReplay):
		c.fail(w, r, info, http.StatusForbidden, method+": challenge already used (replay)", nil)
		return
	case claimErr != nil:
		c.log.Warn("challenge nonce store failed", "error", claimErr.Error(), "request_id", info.ID)
		c.fail(w, r, info, http.StatusServiceUnavailable, method+": "+claimErr.Error(), nil)
		return
	case err != nil:
		c.log.Warn("challenge verify endpoint failed", "method", method, "error", err.Error(), "request_id", info.ID)
		c.fail(w, r, info, http.StatusForbidden, method+": "+err.Error(), &tok)
		return
	case !solved:
		c.fail(w, r, info, http.StatusForbidden, method+": wrong answer", &tok)
		return
	}
	ttl := c.cfg.ClearanceTTL
	if fallback {
		if why := c.countFallback(ctx, client); why != "" {
			c.fail(w, r, info, http.StatusForbidden, "captcha not accepted in place of "+tok.Kind.String()+": "+why, &tok)
			return
		}
		ttl = c.fallbackTTL()
	}
	exp := c.now().Add(ttl)
	http.SetCookie(w, &http.Cookie{
		Name:     c.cfg.CookieName,
		Value:    c.signer.Clearance(client, exp),
		Path:     "/",
		MaxAge:   int(ttl / time.Second),
		Expires:  exp,
		HttpOnly: true,
		Secure:   info.Scheme == "https",
		SameSite: http.SameSiteLaxMode,
	})
	info.Final = decision.Decision{Action: decision.Respond, RuleID: RulePassed, Reason: method + " solved"}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", tok.Return)
	w.WriteHeader(http.StatusSeeOther)
}

var errReplay = errors.New("replayed nonce")

// Difficulty is the proof of work's difficulty for a challenge served to
// client now: challenge.difficulty, AttackBits more under attack, and
// floor(log2 n) more for a client (its clearance binding) that answered n
// challenges within clearance_ttl (a browser keeping its clearance answers
// one; one that fails or comes back for more pays double at 2, 4, 8...),
// at most challenge.max_difficulty. Without the store it does not follow
// the client.
func (c *Challenger) Difficulty(ctx context.Context, client Client) int {
	d := c.cfg.Difficulty
	if c.attack != nil && c.attack() {
		d += AttackBits
	}
	if c.counts != nil {
		if n, err := c.counts.Incr(ctx, c.answersKey(client), 0, c.cfg.ClearanceTTL); err == nil && n > 1 {
			d += bits.Len64(uint64(n)) - 1
		}
	}
	return min(d, max(c.cfg.MaxDifficulty, c.cfg.Difficulty))
}

// CaptchaBits is the proof of work the image/audio CAPTCHA is worth. A
// machine reads the audio version (six spoken digits over quiet noise) in
// about 0.3 s of CPU, as long as Python takes for 2^19 hashes and Go for
// 2^21, and that price does not rise. So the CAPTCHA stands in for another
// kind's challenge (fallback_captcha, for browsers without JavaScript) only
// where that challenge asks for no more: see fallbackRefused.
const CaptchaBits = 16

// fallbackRefused says why a CAPTCHA answer may not stand in for the
// challenge (kind pow, turnstile or hcaptcha) of client now, or "" when it
// may. It may only while the CAPTCHA is not the cheap way past the stronger
// challenge: fallback_captcha on, not under attack (the proof of work costs
// 16 times more then; Turnstile and hCaptcha are the point of an attack),
// challenge.difficulty at most CaptchaBits, and no CAPTCHA solved in place
// of another kind from the client's network (its clearance binding: IPv4
// address, IPv6 /64; any User-Agent) within fallbackTTL, counted in the
// store so instances agree. Without the store's answer it is refused.
func (c *Challenger) fallbackRefused(ctx context.Context, client Client) string {
	switch {
	case !c.cfg.FallbackCaptcha:
		return "fallback_captcha is off"
	case c.attack != nil && c.attack():
		return "under attack"
	case c.cfg.Difficulty > CaptchaBits:
		return fmt.Sprintf("a proof of work of %d bits is worth more than a CAPTCHA (%d)", c.cfg.Difficulty, CaptchaBits)
	}
	if c.counts == nil {
		return ""
	}
	n, err := c.counts.Incr(ctx, c.fallbackKey(client), 0, c.fallbackTTL())
	switch {
	case err != nil:
		return "store unavailable"
	case n > 0:
		return "a CAPTCHA was solved from this network within " + c.fallbackTTL().String()
	}
	return ""
}

// countFallback counts a CAPTCHA solved in place of another kind; "" when
// it is the first from client's network within fallbackTTL (two solved at
// once: the second is refused).
func (c *Challenger) countFallback(ctx context.Context, client Client) string {
	if c.counts == nil {
		return ""
	}
	n, err := c.counts.Incr(ctx, c.fallbackKey(client), 1, c.fallbackTTL())
	switch {
	case err != nil:
		return "store unavailable"
	case n > 1:
		return "a CAPTCHA was solved from this network within " + c.fallbackTTL().String()
	}
	return ""
}

// fallbackTTL is how long a CAPTCHA solved in place of another kind lets
// the client through: half of clearance_ttl. It is also how long its
// network gets no other such solve, so a visitor without JavaScript can
// solve again when its clearance ends.
func (c *Challenger) fallbackTTL() time.Duration { return c.cfg.ClearanceTTL / 2 }

func (c *Challenger) fallbackKey(client Client) string {
	return "chal:fallback:" + c.signer.Binding(client).String()
}

// countAnswer counts one answer (right or wrong) from client.
func (c *Challenger) countAnswer(ctx context.Context, client Client) {
	if c.counts != nil {
		_, _ = c.counts.Incr(ctx, c.answersKey(client), 1, c.cfg.ClearanceTTL)
	}
}

func (c *Challenger) answersKey(client Client) string {
	return "chal:answers:" + c.signer.Binding(client).String()
}

// refuse answers with the deny page, its reason code the rule the
// request's event is logged with.
func (c *Challenger) refuse(w http.ResponseWriter, r *http.Request, info *decision.Info, status int, rule, reason string) {
	info.Final = decision.Decision{Action: decision.Block, RuleID: rule, Reason: reason, Status: status}
	c.pages.Write(w, r, denypage.Page{Status: status, Reason: rule, RequestID: info.ID})
}

// fail records a failed verify. With the token (a wrong answer) it shows
// a new challenge for the same destination; without (a bad or used token),
// the deny page.
func (c *Challenger) fail(w http.ResponseWriter, r *http.Request, info *decision.Info, status int, reason string, tok *Token) {
	info.Final = decision.Decision{Action: decision.Block, RuleID: RuleFailed, Reason: reason, Status: status}
	if tok != nil {
		c.writePage(w, r, info, Token{Return: tok.Return, Post: tok.Post}, status, "That was not right. Please try again.")
		return
	}
	c.pages.Write(w, r, denypage.Page{Status: status, Reason: RuleFailed, RequestID: info.ID})
}

// CaptchaAnswer is the six digits that solve the image/audio CAPTCHA of a
// nonce. They are derived from the nonce with the secret (HMAC), so any
// instance sharing the secret draws and checks the same answer without
// storing it; the nonce claim makes each one usable once.
func (c *Challenger) CaptchaAnswer(nonce [16]byte) string {
	mac := hmac.New(sha256.New, c.captcha)
	mac.Write(nonce[:])
	sum := mac.Sum(nil)
	n := binary.BigEndian.Uint64(sum[:8]) % 1_000_000
	return fmt.Sprintf("%06d", n)
}

// OpenToken verifies a token for the client of r (tools and tests use it
// to find the nonce of a served page).
func (c *Challenger) OpenToken(r *http.Request, info *decision.Info, token string) (Token, error) {
	return c.signer.Open(token, clientOf(r, info), c.now())
}

// Signer is the signer of tokens and cookies (for tests and benchmarks).
func (c *Challenger) Signer() *Signer { return c.signer }
