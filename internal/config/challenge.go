package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Challenge configures the challenges Parapet shows instead of blocking
// (access rules with action: challenge, rate limits, under-attack mode) and
// the clearance cookie a client earns by passing one.
type Challenge struct {
	// Kind is the challenge shown to browsers: pow (default: a SHA-256
	// proof of work solved by the browser, no third-party script), captcha
	// (an image with an audio alternative, served by Parapet), turnstile or
	// hcaptcha (the provider's widget, verified server-side). Every kind
	// falls back to the image CAPTCHA when JavaScript is off.
	Kind string `yaml:"kind"`
	// Secret signs challenges and clearance cookies (HMAC-SHA256). Give
	// every instance the same value (PARAPET_SECRET also sets it); empty: a
	// random secret per process, so instances do not share clearances.
	Secret string `yaml:"secret" secret:"true"`
	// FallbackCaptcha offers the image CAPTCHA to browsers without
	// JavaScript (kinds pow, turnstile, hcaptcha). Off: they are asked to
	// turn JavaScript on, and only the configured kind clears. On, the
	// CAPTCHA is offered and accepted only where it is not the cheap way
	// past the configured kind: not under attack, Difficulty at most 16,
	// once per network per half ClearanceTTL, for a clearance of half
	// ClearanceTTL (package challenge, CaptchaBits).
	FallbackCaptcha bool `yaml:"fallback_captcha"`
	// Difficulty is the number of leading zero bits the proof of work
	// needs (16: about 65k hashes, well under a second in a browser).
	Difficulty int `yaml:"difficulty"`
	// MaxDifficulty caps the adaptive difficulty: under-attack mode adds 4
	// bits, and a client (its clearance binding) that already answered n
	// challenges within clearance_ttl gets floor(log2 n) more. At or below
	// Difficulty, the difficulty never changes.
	MaxDifficulty int `yaml:"max_difficulty"`
	// ChallengeTTL is how long a served challenge may be solved in.
	ChallengeTTL time.Duration `yaml:"challenge_ttl"`
	// ClearanceTTL is how long a passed challenge lets the client through.
	ClearanceTTL time.Duration `yaml:"clearance_ttl"`
	// IPv4Prefix is the network a clearance is bound to for IPv4 clients:
	// 32 (default) is the client's own address; 24 lets it follow a client
	// whose carrier NAT changes its address within a /24, at the price of
	// one solve clearing 256 addresses. IPv6 clients are bound to their /64.
	IPv4Prefix int `yaml:"ipv4_prefix"`
	// AttemptLimit caps answers posted to the challenge's verify endpoint
	// per client (IPv4 address, IPv6 /64), counted in the store so every
	// instance enforces it together: a rate like "20/minute burst 20".
	AttemptLimit string `yaml:"attempt_limit"`
	// MediaLimit caps CAPTCHA images and audio drawn per client.
	MediaLimit string `yaml:"media_limit"`
	// CookieName names the clearance cookie.
	CookieName string `yaml:"cookie_name"`
	// Status is the HTTP status of the challenge page (default 403).
	Status int `yaml:"status"`
	// RefuseStatus answers requests that cannot run a challenge (JSON
	// clients, API writes, webhooks, exempt paths): 429 (default) or 403,
	// with the deny page or JSON.
	RefuseStatus int `yaml:"refuse_status"`
	// ExemptPaths are path prefixes never shown a challenge page (they get
	// RefuseStatus instead): webhooks, health checks.
	ExemptPaths []string `yaml:"exempt_paths"`
	// APIPaths are path prefixes of APIs: non-GET/HEAD requests there get
	// RefuseStatus instead of a page.
	APIPaths []string `yaml:"api_paths"`
	// Turnstile configures Cloudflare Turnstile (kind: turnstile).
	Turnstile Widget `yaml:"turnstile"`
	// HCaptcha configures hCaptcha (kind: hcaptcha).
	HCaptcha Widget `yaml:"hcaptcha"`
	// Crawlers recognises good crawlers by their published address ranges.
	Crawlers Crawlers `yaml:"crawlers"`
}

// Widget is a third-party CAPTCHA widget and its server-side verify endpoint.
type Widget struct {
	// SiteKey is the public key put on the page.
	SiteKey string `yaml:"site_key"`
	// Secret is sent to the verify endpoint.
	Secret string `yaml:"secret" secret:"true"`
	// VerifyURL is the provider's siteverify endpoint (default: the provider's).
	VerifyURL string `yaml:"verify_url"`
}

// Crawlers recognises known good crawlers (Googlebot, Bingbot) by their
// published IP ranges, never by User-Agent alone.
type Crawlers struct {
	// Enabled turns crawler recognition on: a listed crawler is never
	// challenged, and a client claiming to be one from elsewhere is a liar.
	Enabled bool `yaml:"enabled"`
	// LiarAction is what a client whose User-Agent claims a crawler from an
	// address outside its ranges gets: block (default) or challenge.
	LiarAction string `yaml:"liar_action"`
	// List are the crawlers; empty: Googlebot and Bingbot with their
	// published JSON range files.
	List []Crawler `yaml:"list"`
}

// Crawler is one good crawler.
type Crawler struct {
	// Name names the crawler in tags and logs (google, bing).
	Name string `yaml:"name"`
	// UserAgents are case-insensitive substrings that claim this crawler.
	UserAgents []string `yaml:"user_agents"`
	// URL is the http or https URL of the crawler's published ranges;
	// give URL or File, exactly one.
	URL string `yaml:"url"`
	// File is a local file holding the ranges; give URL or File, exactly one.
	File string `yaml:"file"`
	// Format of the ranges: google-json (default; Google's and Bing's
	// {"prefixes":[{"ipv4Prefix":...}]} files) or plain.
	Format string `yaml:"format"`
	// Refresh is how often the ranges are fetched again (default 24h).
	Refresh time.Duration `yaml:"refresh"`
}

// DefaultCrawlers are Googlebot and Bingbot with their published ranges.
func DefaultCrawlers() []Crawler {
	return []Crawler{
		{Name: "google", UserAgents: []string{"Googlebot", "Google-InspectionTool", "GoogleOther", "Storebot-Google", "AdsBot-Google"}, URL: "https://developers.google.com/static/search/apis/ipranges/googlebot.json", Format: "google-json", Refresh: 24 * time.Hour},
		{Name: "bing", UserAgents: []string{"bingbot", "BingPreview", "adidxbot", "msnbot"}, URL: "https://www.bing.com/toolbox/bingbot.json", Format: "google-json", Refresh: 24 * time.Hour},
	}
}

// DefaultChallenge is the challenge section's default.
func DefaultChallenge() Challenge {
	return Challenge{
		Kind:            "pow",
		FallbackCaptcha: true,
		Difficulty:      16,
		MaxDifficulty:   22,
		ChallengeTTL:    5 * time.Minute,
		ClearanceTTL:    time.Hour,
		IPv4Prefix:      32,
		AttemptLimit:    "20/minute burst 20",
		MediaLimit:      "20/minute burst 10",
		CookieName:      "parapet_clearance",
		Status:          403,
		RefuseStatus:    429,
		ExemptPaths:     []string{"/webhooks/", "/.well-known/"},
		APIPaths:        []string{"/api/"},
		Turnstile:       Widget{VerifyURL: "https://challenges.cloudflare.com/turnstile/v0/siteverify"},
		HCaptcha:        Widget{VerifyURL: "https://api.hcaptcha.com/siteverify"},
		Crawlers:        Crawlers{Enabled: true, LiarAction: "block"},
	}
}

// EnvSecret is the short name for challenge.secret the platform docs use.
const EnvSecret = "PARAPET_SECRET"

// applySecretAlias sets challenge.secret from PARAPET_SECRET unless
// PARAPET_CHALLENGE_SECRET (the key's own variable) already set it.
func (c *Config) applySecretAlias(env map[string]string) {
	v, ok := env[EnvSecret]
	if !ok {
		return
	}
	if _, own := env[EnvName("challenge.secret")]; own {
		return
	}
	c.Challenge.Secret = v
	c.src.env["challenge.secret"] = EnvSecret
}

// validateChallenge checks the challenge section.
func (c *Config) validateChallenge(bad func(path, format string, args ...any)) {
	ch := c.Challenge
	switch ch.Kind {
	case "pow", "captcha":
	case "turnstile", "hcaptcha":
		w := ch.Turnstile
		if ch.Kind == "hcaptcha" {
			w = ch.HCaptcha
		}
		if w.SiteKey == "" || w.Secret == "" {
			bad("challenge.kind", "%s needs challenge.%s.site_key and secret", ch.Kind, ch.Kind)
		}
	default:
		bad("challenge.kind", "%q must be pow, captcha, turnstile or hcaptcha", ch.Kind)
	}
	if ch.Secret != "" && len(ch.Secret) < 16 {
		bad("challenge.secret", "is too short: use at least 16 characters (e.g. openssl rand -hex 32)")
	}
	if ch.Difficulty < 1 || ch.Difficulty > 32 {
		bad("challenge.difficulty", "%d must be between 1 and 32 leading zero bits", ch.Difficulty)
	}
	if ch.MaxDifficulty < 1 || ch.MaxDifficulty > 32 {
		bad("challenge.max_difficulty", "%d must be between 1 and 32 leading zero bits", ch.MaxDifficulty)
	}
	if ch.IPv4Prefix < 16 || ch.IPv4Prefix > 32 {
		bad("challenge.ipv4_prefix", "%d must be between 16 and 32 bits", ch.IPv4Prefix)
	}
	if ch.ChallengeTTL < 10*time.Second {
		bad("challenge.challenge_ttl", "must be at least 10s")
	}
	if ch.ClearanceTTL < time.Minute {
		bad("challenge.clearance_ttl", "must be at least 1m")
	}
	if ch.CookieName == "" || strings.ContainsAny(ch.CookieName, " \t;,=\"") {
		bad("challenge.cookie_name", "%q is not a cookie name", ch.CookieName)
	}
	if ch.Status < 200 || ch.Status > 599 {
		bad("challenge.status", "%d is not an HTTP status", ch.Status)
	}
	if ch.RefuseStatus != 403 && ch.RefuseStatus != 429 {
		bad("challenge.refuse_status", "%d must be 403 or 429", ch.RefuseStatus)
	}
	for field, list := range map[string][]string{"exempt_paths": ch.ExemptPaths, "api_paths": ch.APIPaths} {
		for i, p := range list {
			if !strings.HasPrefix(p, "/") {
				bad(fmt.Sprintf("challenge.%s[%d]", field, i), "%q must start with /", p)
			}
		}
	}
	for name, w := range map[string]Widget{"turnstile": ch.Turnstile, "hcaptcha": ch.HCaptcha} {
		if w.VerifyURL == "" {
			continue
		}
		if u, err := url.Parse(w.VerifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("challenge."+name+".verify_url", "%q is not an http(s) URL", w.VerifyURL)
		}
	}
	switch ch.Crawlers.LiarAction {
	case "block", "challenge":
	default:
		bad("challenge.crawlers.liar_action", "%q must be block or challenge", ch.Crawlers.LiarAction)
	}
	names := map[string]bool{}
	for i, cr := range ch.Crawlers.List {
		p := fmt.Sprintf("challenge.crawlers.list[%d]", i)
		if cr.Name == "" || names[cr.Name] || strings.ContainsAny(cr.Name, `/\ `) {
			bad(p+".name", "every crawler needs a unique one-word name")
		}
		names[cr.Name] = true
		if len(cr.UserAgents) == 0 {
			bad(p+".user_agents", "list the User-Agent substrings that claim this crawler")
		}
		if (cr.URL == "") == (cr.File == "") {
			bad(p, "needs exactly one of url and file")
		}
		switch cr.Format {
		case "", "google-json", "plain":
		default:
			bad(p+".format", "%q must be google-json or plain", cr.Format)
		}
	}
}
