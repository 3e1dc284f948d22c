// Package config holds Parapet's configuration schema, loads it from a YAML
// file and the environment (Heroku config vars), applies defaults and
// validates it, reporting problems with file, line and reason.
package config

// The configuration reference, docs/CONFIG.md, is generated from this
// package's structs, doc comments and defaults.
//go:generate go run ./cmd/configref -src . -o ../../docs/CONFIG.md

import (
	"time"
)

// Config is the whole Parapet configuration. Every key can be overridden by
// an environment variable named after its path: `upstream` ->
// PARAPET_UPSTREAM, `edge.allowed_hosts` -> PARAPET_EDGE_ALLOWED_HOSTS
// (lists comma-separated, lists of objects as YAML/JSON).
type Config struct {
	// Listen is the address Parapet serves on. Empty means ":$PORT", else ":8080".
	Listen string `yaml:"listen"`
	// Upstream is where allowed requests go: http://host:port, https://host, or unix:/path.sock.
	Upstream string `yaml:"upstream" secret:"userinfo"`
	// TrustedProxies lists CIDRs, addresses or presets (heroku, loopback,
	// private) whose X-Forwarded-For / X-Forwarded-Proto are believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RequestIDHeader is kept from trusted proxies and sent upstream.
	RequestIDHeader string `yaml:"request_id_header"`
	// Edge holds the cheap guards that run before any rule.
	Edge Edge `yaml:"edge"`
	// Limits caps request sizes.
	Limits Limits `yaml:"limits"`
	// WebSockets says which requests may switch to the WebSocket protocol.
	WebSockets WebSockets `yaml:"websockets"`
	// Timeouts bound every phase of a connection.
	Timeouts Timeouts `yaml:"timeouts"`
	// Defaults turns the built-in rules on or off.
	Defaults Defaults `yaml:"defaults"`
	// Rules are the access rules: allow rules first, then the others in
	// the order written, then the built-in defaults.
	Rules []Rule `yaml:"rules"`
	// Feeds declares IP lists fetched from URLs or files and kept fresh.
	// The well-known public lists (tor-exits, firehol-level1, x4bnet-vpn,
	// x4bnet-datacenter) can be named in rules without being declared.
	Feeds []Feed `yaml:"feeds"`
	// FeedCacheDir keeps the last good copy of every URL feed (used at
	// start-up when the network is down). Empty: $TMPDIR/parapet-feeds.
	FeedCacheDir string `yaml:"feed_cache_dir"`
	// Geo configures IP -> country / ASN lookups.
	Geo Geo `yaml:"geo"`
	// Harden configures what Parapet adds to and checks in responses.
	Harden Harden `yaml:"harden"`
	// Detection configures attack detection (OWASP CRS through Coraza).
	Detection Detection `yaml:"detection"`
	// Log configures the per-request log line.
	Log Log `yaml:"log"`
	// BlockPage configures the deny page shown to blocked clients.
	BlockPage BlockPage `yaml:"block_page"`
	// Reload configures config reloading.
	Reload Reload `yaml:"reload"`
	// Metrics configures the Prometheus endpoint (off by default).
	Metrics Metrics `yaml:"metrics"`
	// Admin configures the admin API (off unless a token is set).
	Admin Admin `yaml:"admin"`
	// Events configures where events are kept for the admin API and the
	// dashboard (events.go).
	Events Events `yaml:"events"`
	// Runtime tunes Go's garbage collector.
	Runtime Runtime `yaml:"runtime"`
	// Challenge configures challenges and clearance cookies.
	Challenge Challenge `yaml:"challenge"`
	// Store is where flood defense keeps its state: this instance's
	// memory, or Redis shared by every instance (flood.go).
	Store Store `yaml:"store"`
	// RateLimits are the GCRA rate limits: the built-in ones for Django,
	// DRF-style throttles and your own.
	RateLimits RateLimits `yaml:"rate_limits"`
	// AutoBan bans clients that keep getting refused.
	AutoBan AutoBan `yaml:"auto_ban"`
	// UnderAttack challenges every client without clearance, by config or
	// when load passes a threshold.
	UnderAttack UnderAttack `yaml:"under_attack"`
	// UpstreamLimit caps the requests at the app at once.
	UpstreamLimit UpstreamLimit `yaml:"upstream_limit"`

	src *source // where each value came from; set by Load
}

// Edge holds the edge guards.
type Edge struct {
	// HTTPSRedirect answers plain-HTTP requests with a 301 to https: auto
	// (the default) when a trusted proxy says the request came over plain
	// HTTP (X-Forwarded-Proto: http), like Django's SECURE_SSL_REDIRECT
	// behind SECURE_PROXY_SSL_HEADER; true for every request not known to be
	// HTTPS; false never. Without trusted proxies, auto never redirects, so
	// local plain-HTTP use keeps working.
	HTTPSRedirect Toggle `yaml:"https_redirect"`
	// HTTPSRedirectExempt lists path prefixes never redirected (health checks).
	HTTPSRedirectExempt []string `yaml:"https_redirect_exempt"`
	// AllowedHosts works like Django's ALLOWED_HOSTS: "example.com",
	// ".example.com" (the domain and its subdomains), "*" (any). Empty allows any.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// AllowedMethods is the method allow list; others get 405.
	AllowedMethods []string `yaml:"allowed_methods"`
}

// Limits caps request sizes.
type Limits struct {
	// MaxHeaderBytes caps the request line plus headers (431 past it).
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// MaxURIBytes caps the request URI (414 past it).
	MaxURIBytes ByteSize `yaml:"max_uri_bytes"`
	// MaxBodyBytes caps request bodies (413 past it).
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// ResponseBufferBytes is the most of one response read ahead of a slow
	// client (its first MB in memory, the rest in an unlinked temporary
	// file), as nginx's proxy_buffering does: the app's worker and the
	// upstream_limit slot are free once the app has answered, not once the
	// client has read it. Past it the app is read at the client's pace.
	// 0 turns response buffering off. Read at start.
	ResponseBufferBytes ByteSize `yaml:"response_buffer_bytes"`
	// ResponseBufferTotal bounds the temporary files of all buffered
	// responses together (their memory is bounded to 64 MB). Read at start.
	ResponseBufferTotal ByteSize `yaml:"response_buffer_total"`
	// ResponseBufferPerClient is the most one client's responses hold
	// together (memory and temporary files; IPv6 clients by /64): one
	// client reading slowly cannot spend the buffer all clients share. A
	// client holding its whole share is answered 429
	// (rule unread-responses) until it has read what it asked for: else
	// its next response would be read at its pace, holding a worker.
	// Read at start.
	ResponseBufferPerClient ByteSize `yaml:"response_buffer_per_client"`
}

// WebSockets configures WebSocket upgrades, the only protocol switch
// Parapet forwards: other Upgrade requests (h2c included) go on as plain
// HTTP/1.1 without it, and a 101 the upstream sends for anything but a
// forwarded WebSocket handshake is refused (502). After the switch the
// connection is a tunnel that Parapet does not inspect.
type WebSockets struct {
	// Enabled forwards well-formed WebSocket handshakes (GET, HTTP/1.1,
	// Sec-WebSocket-Key and -Version; malformed ones get 400); off, they
	// get 403.
	Enabled bool `yaml:"enabled"`
	// Paths limits them to these path prefixes ("/ws/"; the path must be
	// in its plain form: no dot segments, no doubled slashes). Empty: any path.
	Paths []string `yaml:"paths"`
}

// Timeouts bound connections to clients and to the upstream.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (stops slowloris).
	ReadHeader time.Duration `yaml:"read_header"`
	// Read bounds reading a whole request, body included.
	Read time.Duration `yaml:"read"`
	// Write bounds writing a response (0: no limit, for long downloads).
	Write time.Duration `yaml:"write"`
	// Send bounds each write to the client (like nginx's send_timeout): a
	// client that takes nothing for this long is cut off (0: no limit).
	// The app's answer is buffered for slow clients, so they hold no
	// worker meanwhile.
	Send time.Duration `yaml:"send"`
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration `yaml:"idle"`
	// UpstreamConnect bounds dialing the upstream.
	UpstreamConnect time.Duration `yaml:"upstream_connect"`
	// UpstreamResponseHeader bounds waiting for the upstream's response headers (504 past it)
	// and, for http:// and unix: upstreams, any silence of the upstream mid-response (the
	// response is cut off), like nginx's proxy_read_timeout; WebSockets are exempt.
	UpstreamResponseHeader time.Duration `yaml:"upstream_response_header"`
	// Drain bounds graceful shutdown: in-flight requests get this long to finish.
	Drain time.Duration `yaml:"drain"`
}

// Rule is one access rule: what it matches (every matcher given must
// match) and what it does.
type Rule struct {
	// ID names the rule in events, logs and the deny page's reason code.
	ID string `yaml:"id"`
	// Action is block (default), allow or log. An allow rule wins over
	// every block; log only records the match (and tags the event).
	Action string `yaml:"action"`
	// Mode is enforce (default) or monitor (record what would happen).
	Mode string `yaml:"mode"`
	// Status is the HTTP status of a block (default 403).
	Status int `yaml:"status"`
	// Bypass, on an allow rule, also skips attack detection (office, monitoring).
	Bypass bool `yaml:"bypass"`

	// IPs are addresses and CIDRs (IPv4 and IPv6).
	IPs []string `yaml:"ips"`
	// IPFiles are files of addresses/CIDRs, one per line, '#' comments.
	IPFiles []string `yaml:"ip_files"`
	// Feeds names feeds (declared under feeds:, or the built-in public lists).
	Feeds []string `yaml:"feeds"`
	// Countries matches clients in these ISO codes ("ZZ": unknown).
	Countries []string `yaml:"countries"`
	// CountriesExcept matches clients NOT in these ISO codes (allow-list style).
	CountriesExcept []string `yaml:"countries_except"`
	// ASNs matches autonomous system numbers (15169 or AS15169).
	ASNs []string `yaml:"asns"`
	// UserAgents matches the User-Agent header.
	UserAgents UserAgentMatch `yaml:"user_agents"`
	// EmptyUserAgent matches requests with no or a blank User-Agent.
	EmptyUserAgent bool `yaml:"empty_user_agent"`

	// Hosts limits the rule to these hosts (Django's ALLOWED_HOSTS syntax:
	// "example.com", ".example.com" for the domain and its subdomains).
	Hosts []string `yaml:"hosts"`
	// Paths limits the rule to path prefixes; with PathRegex, one list: a
	// path matching any of them is in scope. Paths are read as Django
	// resolves them and normalised (package scope).
	Paths []string `yaml:"paths"`
	// PathRegex limits the rule to paths matching any of these (RE2).
	PathRegex []string `yaml:"path_regex"`
	// Methods limits the rule to these methods (GET also covers HEAD).
	Methods []string `yaml:"methods"`
	// Headers limits the rule to requests whose header matches the regex
	// (e.g. Referer: '^https://evil\.example/').
	Headers map[string]string `yaml:"headers"`
	// Cookies limits the rule to requests carrying all these cookies.
	Cookies []string `yaml:"cookies"`
	// ExceptPaths are path prefixes the rule never applies to
	// (e.g. /webhooks/stripe/, /.well-known/, /robots.txt).
	ExceptPaths []string `yaml:"except_paths"`
}

// UserAgentMatch lists User-Agent patterns; any one matching is enough.
type UserAgentMatch struct {
	// Contains are case-insensitive substrings, all matched in one pass.
	Contains []string `yaml:"contains"`
	// Exact are case-insensitive whole User-Agents.
	Exact []string `yaml:"exact"`
	// Regex are RE2 patterns (add (?i) for case-insensitivity).
	Regex []string `yaml:"regex"`
}

// Defaults turns the built-in rules on or off.
type Defaults struct {
	// PathRules blocks scanner probe paths (rules path-dotfiles,
	// path-php-probes, path-backup-files).
	PathRules bool `yaml:"path_rules"`
	// UserAgents blocks the curated list of scanner User-Agents (rules ua-*).
	UserAgents bool `yaml:"user_agents"`
	// EnableUserAgents turns on listed-but-off defaults by id (ua-curl,
	// ua-wget, ua-python-requests, ua-go-http-client).
	EnableUserAgents []string `yaml:"enable_user_agents"`
	// DisableUserAgents turns defaults off by id.
	DisableUserAgents []string `yaml:"disable_user_agents"`
	// UserAgentMode is enforce or monitor for the default User-Agent rules.
	UserAgentMode string `yaml:"user_agent_mode"`
	// EmptyUserAgent is what a request with no User-Agent gets: allow,
	// log (default) or block (rule ua-empty).
	EmptyUserAgent string `yaml:"empty_user_agent"`
}

// Feed declares a list kept fresh from a URL or file.
type Feed struct {
	// Name identifies the feed in rules and logs.
	Name string `yaml:"name"`
	// URL is an http or https URL the list is fetched from; give URL or
	// File, exactly one. Its password and query values (an API key) are
	// masked wherever Parapet prints or logs it.
	URL string `yaml:"url" secret:"userinfo"`
	// File is a local file the list is read from (and re-read every
	// Refresh); give URL or File, exactly one.
	File string `yaml:"file"`
	// Format is plain (default), tor or csv.
	Format string `yaml:"format"`
	// CSVColumn names the CSV column with the CIDR, or "start,end" range columns.
	CSVColumn string `yaml:"csv_column"`
	// Category tags matching requests' events: tor, vpn, hosting, proxy, abuse.
	Category string `yaml:"category"`
	// Refresh is how often it is fetched again (default 1h).
	Refresh time.Duration `yaml:"refresh"`
}

// Geo configures IP -> country and ASN lookups.
type Geo struct {
	// Database is a MaxMind-format .mmdb (GeoLite2-Country/City, DB-IP lite,
	// IPinfo lite). Empty: the embedded DB-IP country lite database. "off":
	// no lookups.
	Database string `yaml:"database"`
	// ASNDatabase is an .mmdb with ASN data (GeoLite2-ASN, IPinfo lite),
	// when Database has none.
	ASNDatabase string `yaml:"asn_database"`
	// CountryHeader, when set, sends the client's country code upstream in
	// this header (any client-sent value is removed).
	CountryHeader string `yaml:"country_header"`
}

// Harden is the Django deployment checklist enforced on responses.
type Harden struct {
	// Enabled turns response hardening on.
	Enabled bool `yaml:"enabled"`
	// HSTS is sent on HTTPS responses only.
	HSTS HSTS `yaml:"hsts"`
	// Headers are set on every response the app left without them
	// (keys are header names; an empty value leaves that header alone).
	Headers map[string]string `yaml:"headers"`
	// Override replaces the app's own values of Headers too.
	Override bool `yaml:"override"`
	// RemoveHeaders are taken out of every response (Server, X-Powered-By).
	RemoveHeaders []string `yaml:"remove_headers"`
	// CSP is the Content Security Policy and its report endpoint.
	CSP CSP `yaml:"csp"`
	// Cookies adds flags to Set-Cookie by cookie name (glob patterns).
	Cookies []CookieRule `yaml:"cookies"`
	// CORS answers preflights and adds CORS headers per path.
	CORS []CORSRule `yaml:"cors"`
	// LeakGuard replaces DEBUG pages, tracebacks and responses holding
	// secrets with a generic error page.
	LeakGuard LeakGuard `yaml:"leak_guard"`
	// Uploads checks multipart uploads per path before the app sees them.
	Uploads []UploadRule `yaml:"uploads"`
}

// UploadRule limits multipart file uploads on some paths.
type UploadRule struct {
	// Paths are the path prefixes the rule covers.
	Paths []string `yaml:"paths"`
	// MaxBytes caps the whole upload body (413 past it).
	MaxBytes ByteSize `yaml:"max_bytes"`
	// MaxFiles caps the number of files in one request (0: no cap).
	MaxFiles int `yaml:"max_files"`
	// AllowedExtensions lists accepted file name extensions (".jpg");
	// empty accepts any.
	AllowedExtensions []string `yaml:"allowed_extensions"`
	// CheckContent refuses files whose content (magic bytes) does not match
	// their extension, and script content (PHP, shell) under any name.
	CheckContent bool `yaml:"check_content"`
}

// HSTS configures Strict-Transport-Security.
type HSTS struct {
	// Enabled sends Strict-Transport-Security on HTTPS responses (never
	// over plain HTTP, where browsers ignore it), like Django's
	// SECURE_HSTS_SECONDS.
	Enabled bool `yaml:"enabled"`
	// MaxAge is the header's max-age (Django's SECURE_HSTS_SECONDS).
	MaxAge time.Duration `yaml:"max_age"`
	// IncludeSubdomains adds includeSubDomains (Django's
	// SECURE_HSTS_INCLUDE_SUBDOMAINS).
	IncludeSubdomains bool `yaml:"include_subdomains"`
	// Preload adds preload (Django's SECURE_HSTS_PRELOAD): only once every
	// subdomain serves HTTPS, since browsers' preload lists are slow to leave.
	Preload bool `yaml:"preload"`
}

// CSP configures the Content Security Policy.
type CSP struct {
	// Policy is the policy text, sent on every response the app sent
	// without one. Empty: the starter policy (harden.DefaultCSP, quoted in
	// the README's CSP section), always report-only
	// and on HTML pages only, reporting to ReportPath (none without a
	// ReportPath). "off" (CSPOff): no policy.
	Policy string `yaml:"policy"`
	// ReportOnly sends a policy written in Policy as
	// Content-Security-Policy-Report-Only (the default: collect evidence
	// before enforcing). The starter policy is report-only whatever it says.
	ReportOnly bool `yaml:"report_only"`
	// ReportPath is where Parapet itself collects violation reports; it is
	// added to the policy as report-uri. Empty: no endpoint.
	ReportPath string `yaml:"report_path"`
	// ReportLimit is how many reports one client may post to ReportPath,
	// as in rate_limits ("600/minute burst 300"). A page breaking the
	// policy makes the browser post one report per violation (Chromium:
	// some 140 for a page with 300 style attributes), so the report path
	// is kept out of the rate_limits rules (rl-writes would otherwise
	// throttle, then ban, the site's own visitors) and has this limit.
	ReportLimit string `yaml:"report_limit"`
}

// CSPOff as harden.csp.policy sends no Content Security Policy.
const CSPOff = "off"

// CookieRule adds flags to cookies whose name matches Name (a glob).
type CookieRule struct {
	// Name is the cookie name, a glob ("sessionid", "pref_*").
	Name string `yaml:"name"`
	// Secure adds the Secure flag over HTTPS (browsers drop Secure cookies
	// set over plain HTTP), like Django's SESSION_COOKIE_SECURE and
	// CSRF_COOKIE_SECURE.
	Secure bool `yaml:"secure"`
	// HTTPOnly adds HttpOnly (not for csrftoken: Django's JavaScript
	// reads it).
	HTTPOnly bool `yaml:"http_only"`
	// SameSite is Lax, Strict or None ("" leaves it).
	SameSite string `yaml:"same_site"`
	// MaxAgeCap shortens longer Max-Age values (0: no cap).
	MaxAgeCap time.Duration `yaml:"max_age_cap"`
}

// CORSRule is the CORS policy for some paths.
type CORSRule struct {
	// Paths are path prefixes the rule covers.
	Paths []string `yaml:"paths"`
	// AllowedOrigins are exact origins ("https://app.example.com") or "*".
	AllowedOrigins []string `yaml:"allowed_origins"`
	// AllowedMethods are the methods a preflight may ask for (GET also
	// allows HEAD); others get 403.
	AllowedMethods []string `yaml:"allowed_methods"`
	// AllowedHeaders are the request headers a preflight may ask for.
	AllowedHeaders []string `yaml:"allowed_headers"`
	// AllowCredentials may not be combined with the "*" origin.
	AllowCredentials bool `yaml:"allow_credentials"`
	// MaxAge is how long a browser may cache a preflight's answer
	// (Access-Control-Max-Age; 0: not sent).
	MaxAge time.Duration `yaml:"max_age"`
}

// LeakGuard configures the response leak guard.
type LeakGuard struct {
	// Enabled turns the leak guard on: Django DEBUG pages, tracebacks and
	// secrets in textual responses are replaced by a generic error page.
	Enabled bool `yaml:"enabled"`
	// InspectBytes is how much of each response body is read (as sent,
	// compressed or not) before its headers go out: a leak in it is
	// replaced by the error page. The rest is searched as it streams,
	// and a leak there cuts the response off. A response that starts like
	// Django's DEBUG page is held back until it ends (up to 1 MB).
	InspectBytes ByteSize `yaml:"inspect_bytes"`
	// SecretPatterns are extra regexes that must never leave (e.g. your
	// SECRET_KEY value); AWS keys, private keys and database URLs with
	// passwords are always checked.
	SecretPatterns []string `yaml:"secret_patterns" secret:"list"`
	// Uninspectable is what happens to a textual response the guard
	// cannot read (an encoding it does not decode, codings stacked more
	// than 3 deep, a decompression bomb): block (the default: the
	// generic 502 page, or the response cut off if its headers went out)
	// or pass (unread, tagged leak-guard-skipped).
	Uninspectable string `yaml:"uninspectable"`
}

// What harden.leak_guard.uninspectable can say.
const (
	UninspectableBlock = "block"
	UninspectablePass  = "pass"
)

// Log configures the per-request log line.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// RedactQuery lists query parameter names whose values are replaced by
	// "REDACTED" in logged paths (case-insensitive; password-like names are always redacted).
	RedactQuery []string `yaml:"redact_query"`
}

// BlockPage configures the deny page.
type BlockPage struct {
	// Brand is the name shown at the top of the page.
	Brand string `yaml:"brand"`
	// Contact is an optional line telling users whom to contact.
	Contact string `yaml:"contact"`
}

// Reload configures reloading the config file.
type Reload struct {
	// Watch reloads when the config file changes (SIGHUP always reloads).
	Watch bool `yaml:"watch"`
	// Interval is how often the file is checked for changes.
	Interval time.Duration `yaml:"interval"`
}

// Default returns the built-in configuration: what Parapet runs with when
// neither a file nor the environment says otherwise.
func Default() *Config {
	return &Config{
		RequestIDHeader: "X-Request-Id",
		Edge: Edge{
			HTTPSRedirect:  Auto,
			AllowedMethods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		},
		Limits: Limits{
			MaxHeaderBytes:          32 << 10,
			MaxURIBytes:             8 << 10,
			MaxBodyBytes:            25 << 20,
			ResponseBufferBytes:     1 << 30,
			ResponseBufferTotal:     4 << 30,
			ResponseBufferPerClient: 256 << 20,
		},
		// On: ASGI apps (Django Channels) serve WebSockets today, and a
		// WSGI app under gunicorn answers a handshake with an ordinary page.
		WebSockets: WebSockets{Enabled: true},
		Timeouts: Timeouts{
			ReadHeader:             10 * time.Second,
			Read:                   120 * time.Second,
			Write:                  0,
			Send:                   60 * time.Second,
			Idle:                   120 * time.Second,
			UpstreamConnect:        5 * time.Second,
			UpstreamResponseHeader: 60 * time.Second,
			Drain:                  25 * time.Second,
		},
		Defaults: Defaults{PathRules: true, UserAgents: true, EmptyUserAgent: "log"},
		Harden: Harden{
			Enabled: true,
			HSTS:    HSTS{Enabled: true, MaxAge: 365 * 24 * time.Hour, IncludeSubdomains: true},
			Headers: map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"X-Frame-Options":            "DENY",
				"Referrer-Policy":            "same-origin",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Permissions-Policy":         "camera=(), microphone=(), geolocation=(), payment=()",
			},
			RemoveHeaders: []string{"Server", "X-Powered-By"},
			CSP:           CSP{ReportOnly: true, ReportPath: "/_parapet/csp-report", ReportLimit: "600/minute burst 300"},
			Cookies: []CookieRule{
				{Name: "sessionid", Secure: true, HTTPOnly: true, SameSite: "Lax"},
				{Name: "csrftoken", Secure: true, SameSite: "Lax"},
			},
			LeakGuard: LeakGuard{Enabled: true, InspectBytes: 64 << 10, Uninspectable: UninspectableBlock},
		},
		Detection: DefaultDetection(),
		Log: Log{
			Level: "info",
		},
		BlockPage: BlockPage{Brand: "Parapet"},
		Reload:    Reload{Watch: true, Interval: 2 * time.Second},
		Metrics:   Metrics{Path: "/_parapet/metrics"},
		Admin:     defaultAdmin(),
		Events:    defaultEvents(),
		Runtime:   defaultRuntime(),
		Challenge: DefaultChallenge(),
		// Flood defense (flood.go).
		Store:         defaultStore(),
		RateLimits:    defaultRateLimits(),
		AutoBan:       defaultAutoBan(),
		UnderAttack:   defaultUnderAttack(),
		UpstreamLimit: defaultUpstreamLimit(),
	}
}

// DefaultPathRules blocks paths that only scanners ask a Django site for:
// leaked dotfiles, other frameworks' admin pages, backup files.
func DefaultPathRules() []Rule {
	return []Rule{
		{ID: "path-dotfiles", Paths: []string{"/.env", "/.git", "/.svn", "/.hg", "/.aws", "/.ssh", "/.DS_Store", "/.htaccess", "/.htpasswd"}},
		{ID: "path-php-probes", PathRegex: []string{`(?i)\.php\d?$`, `(?i)^/(wp-admin|wp-login|wp-content|wp-includes|phpmyadmin|pma|xmlrpc)`}},
		{ID: "path-backup-files", PathRegex: []string{`(?i)\.(bak|old|orig|sql|sqlite3?|swp)$`, `~$`}},
	}
}
