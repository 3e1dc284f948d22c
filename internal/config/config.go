// Package config holds Parapet's configuration schema, loads it from a YAML
// file and the environment (Heroku config vars), applies defaults and
// validates it, reporting problems with file, line and reason.
package config

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
	// Timeouts bound every phase of a connection.
	Timeouts Timeouts `yaml:"timeouts"`
	// DefaultPathRules turns on the built-in list of scanner probe paths
	// (dotfiles, PHP admin pages, backup files); see DefaultPathRules().
	DefaultPathRules bool `yaml:"default_path_rules"`
	// PathRules blocks or logs requests by path; they run after the defaults.
	PathRules []PathRule `yaml:"path_rules"`
	// Log configures the per-request log line.
	Log Log `yaml:"log"`
	// BlockPage configures the deny page shown to blocked clients.
	BlockPage BlockPage `yaml:"block_page"`
	// Reload configures config reloading.
	Reload Reload `yaml:"reload"`

	src *source // where each value came from; set by Load
}

// Edge holds the edge guards.
type Edge struct {
	// HTTPSRedirect answers plain-HTTP requests with a 301 to https.
	HTTPSRedirect bool `yaml:"https_redirect"`
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
}

// Timeouts bound connections to clients and to the upstream.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (stops slowloris).
	ReadHeader time.Duration `yaml:"read_header"`
	// Read bounds reading a whole request, body included.
	Read time.Duration `yaml:"read"`
	// Write bounds writing a response (0: no limit, for long downloads).
	Write time.Duration `yaml:"write"`
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration `yaml:"idle"`
	// UpstreamConnect bounds dialing the upstream.
	UpstreamConnect time.Duration `yaml:"upstream_connect"`
	// UpstreamResponseHeader bounds waiting for the upstream's response headers (504 past it).
	UpstreamResponseHeader time.Duration `yaml:"upstream_response_header"`
	// Drain bounds graceful shutdown: in-flight requests get this long to finish.
	Drain time.Duration `yaml:"drain"`
}

// PathRule blocks (or logs) requests by path.
type PathRule struct {
	// ID names the rule in events, logs and the deny page's reason code.
	ID string `yaml:"id"`
	// Prefixes match the start of the path.
	Prefixes []string `yaml:"prefixes"`
	// Regexes match anywhere in the path (RE2 syntax).
	Regexes []string `yaml:"regexes"`
	// Methods limits the rule to these methods (empty: all).
	Methods []string `yaml:"methods"`
	// Action is block (default) or log.
	Action string `yaml:"action"`
	// Mode is enforce (default) or monitor.
	Mode string `yaml:"mode"`
	// Status is the HTTP status for a block (default 403).
	Status int `yaml:"status"`
}

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
			AllowedMethods: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		},
		Limits: Limits{
			MaxHeaderBytes: 32 << 10,
			MaxURIBytes:    8 << 10,
			MaxBodyBytes:   25 << 20,
		},
		Timeouts: Timeouts{
			ReadHeader:             10 * time.Second,
			Read:                   120 * time.Second,
			Write:                  0,
			Idle:                   120 * time.Second,
			UpstreamConnect:        5 * time.Second,
			UpstreamResponseHeader: 60 * time.Second,
			Drain:                  25 * time.Second,
		},
		DefaultPathRules: true,
		Log: Log{
			Level: "info",
		},
		BlockPage: BlockPage{Brand: "Parapet"},
		Reload:    Reload{Watch: true, Interval: 2 * time.Second},
	}
}

// DefaultPathRules blocks paths that only scanners ask a Django site for:
// leaked dotfiles and other frameworks' admin pages.
func DefaultPathRules() []PathRule {
	return []PathRule{
		{ID: "path-dotfiles", Prefixes: []string{"/.env", "/.git", "/.svn", "/.hg", "/.aws", "/.ssh", "/.DS_Store", "/.htaccess", "/.htpasswd"}},
		{ID: "path-php-probes", Regexes: []string{`(?i)\.php\d?$`, `(?i)^/(wp-admin|wp-login|wp-content|wp-includes|phpmyadmin|pma|xmlrpc)`}},
		{ID: "path-backup-files", Regexes: []string{`(?i)\.(bak|old|orig|sql|sqlite3?|swp)$`, `~$`}},
	}
}
