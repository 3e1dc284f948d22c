package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/parapet-waf/parapet/internal/redact"
)

// Upstream is a parsed upstream address.
type Upstream struct {
	// Network is "tcp" or "unix".
	Network string
	// Address is host:port for tcp, the socket path for unix.
	Address string
	// URL is the base URL requests are sent to (http://unix for sockets).
	URL *url.URL
}

// ParseUpstream parses http://host:port, https://host[:port] and unix:/path.
func ParseUpstream(raw string) (*Upstream, error) {
	if raw == "" {
		return nil, fmt.Errorf("is required: http://host:port, https://host or unix:/path/to.sock")
	}
	if path, ok := strings.CutPrefix(raw, "unix:"); ok {
		path = strings.TrimPrefix(path, "//")
		if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "@") {
			return nil, fmt.Errorf("%q: a unix socket needs an absolute path (unix:/tmp/gunicorn.sock)", raw)
		}
		return &Upstream{Network: "unix", Address: path, URL: &url.URL{Scheme: "http", Host: "unix"}}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", redactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http, https or unix", redactURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: an upstream takes no query or fragment", redactURL(raw))
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	return &Upstream{Network: "tcp", Address: addr, URL: u}, nil
}

var methodToken = regexp.MustCompile(`^[A-Z]+$`)

// Validate refuses bad values and bad combinations. It checks what can be
// checked without building the chain; builders report the rest through Errorf.
func (c *Config) Validate() error {
	var errs Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.Errorf(path, format, args...))
	}
	if c.Upstream != "" {
		if _, err := ParseUpstream(c.Upstream); err != nil {
			bad("upstream", "%v", err)
		}
	}
	if c.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("listen", "%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", c.Listen)
		}
	}
	if c.RequestIDHeader == "" {
		bad("request_id_header", "must not be empty")
	}
	// Fields with underscores are dropped from requests (gunicorn merges
	// X_Request_Id into X-Request-Id): Parapet's own must not have one.
	if strings.Contains(c.RequestIDHeader, "_") {
		bad("request_id_header", "%q: use hyphens, not underscores (fields with underscores are dropped)", c.RequestIDHeader)
	}
	if strings.Contains(c.Geo.CountryHeader, "_") {
		bad("geo.country_header", "%q: use hyphens, not underscores (fields with underscores are dropped)", c.Geo.CountryHeader)
	}
	for i, p := range c.WebSockets.Paths {
		if !strings.HasPrefix(p, "/") {
			bad(fmt.Sprintf("websockets.paths[%d]", i), "%q must start with /", p)
		}
	}
	for i, h := range c.Edge.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/ :") && !strings.HasPrefix(h, "[") {
			bad(fmt.Sprintf("edge.allowed_hosts[%d]", i), "%q is not a host name (like Django's ALLOWED_HOSTS: example.com, .example.com, *)", h)
		}
	}
	if len(c.Edge.AllowedMethods) == 0 {
		bad("edge.allowed_methods", "must list at least one method")
	}
	for i, m := range c.Edge.AllowedMethods {
		if !methodToken.MatchString(m) {
			bad(fmt.Sprintf("edge.allowed_methods[%d]", i), "%q is not an upper-case HTTP method", m)
		}
	}
	if v, ok := c.Edge.HTTPSRedirect.parse(); ok {
		c.Edge.HTTPSRedirect = v
	} else {
		bad("edge.https_redirect", "%q must be auto, true or false", string(c.Edge.HTTPSRedirect))
	}
	for i, p := range c.Edge.HTTPSRedirectExempt {
		if !strings.HasPrefix(p, "/") {
			bad(fmt.Sprintf("edge.https_redirect_exempt[%d]", i), "%q must start with /", p)
		}
	}
	if c.Limits.MaxHeaderBytes < 1024 {
		bad("limits.max_header_bytes", "%v is too small (at least 1KB)", c.Limits.MaxHeaderBytes)
	}
	if c.Limits.MaxURIBytes < 64 {
		bad("limits.max_uri_bytes", "%v is too small (at least 64)", c.Limits.MaxURIBytes)
	}
	if c.Limits.MaxBodyBytes <= 0 {
		bad("limits.max_body_bytes", "must be positive")
	}
	if c.Limits.ResponseBufferBytes < 0 {
		bad("limits.response_buffer_bytes", "must not be negative (0: no response buffering)")
	}
	if c.Limits.ResponseBufferTotal <= 0 {
		bad("limits.response_buffer_total", "must be positive")
	}
	if c.Limits.ResponseBufferPerClient <= 0 || c.Limits.ResponseBufferPerClient > c.Limits.ResponseBufferTotal {
		bad("limits.response_buffer_per_client", "%v must be positive and at most limits.response_buffer_total (%v)", c.Limits.ResponseBufferPerClient, c.Limits.ResponseBufferTotal)
	}
	t := c.Timeouts
	for _, d := range []struct {
		path string
		v    int64
		zero bool // zero allowed (no limit)
	}{
		{"timeouts.read_header", int64(t.ReadHeader), false},
		{"timeouts.read", int64(t.Read), true},
		{"timeouts.write", int64(t.Write), true},
		{"timeouts.send", int64(t.Send), true},
		{"timeouts.idle", int64(t.Idle), false},
		{"timeouts.upstream_connect", int64(t.UpstreamConnect), false},
		{"timeouts.upstream_response_header", int64(t.UpstreamResponseHeader), false},
		{"timeouts.drain", int64(t.Drain), true},
	} {
		if d.v < 0 || (d.v == 0 && !d.zero) {
			bad(d.path, "must be a positive duration (e.g. 10s)")
		}
	}
	ids := map[string]bool{}
	for _, r := range DefaultPathRules() {
		ids[r.ID] = true
	}
	for i, r := range c.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		switch {
		case r.ID == "":
			bad(p+".id", "every rule needs an id (it names the rule in logs and on the block page)")
		case ids[r.ID]:
			bad(p+".id", "%q is used twice (or by a built-in rule)", r.ID)
		}
		ids[r.ID] = true
		switch r.Action {
		case "", "block", "allow", "log", "challenge":
		default:
			bad(p+".action", "%q must be block, allow, challenge or log", r.Action)
		}
		if r.Bypass && r.Action != "allow" {
			bad(p+".bypass", "only an allow rule can bypass later stages")
		}
		if r.Mode != "" && r.Mode != "enforce" && r.Mode != "monitor" {
			bad(p+".mode", "%q must be enforce or monitor", r.Mode)
		}
		if r.Status != 0 && (r.Status < 400 || r.Status > 599) {
			bad(p+".status", "%d must be a 4xx or 5xx status", r.Status)
		}
		for j, pre := range append(append([]string(nil), r.Paths...), r.ExceptPaths...) {
			if !strings.HasPrefix(pre, "/") {
				field := "paths"
				if j >= len(r.Paths) {
					field, j = "except_paths", j-len(r.Paths)
				}
				bad(fmt.Sprintf("%s.%s[%d]", p, field, j), "%q must start with /", pre)
			}
		}
		for j, m := range r.Methods {
			if !methodToken.MatchString(m) {
				bad(fmt.Sprintf("%s.methods[%d]", p, j), "%q is not an upper-case HTTP method", m)
			}
		}
	}
	switch c.Defaults.EmptyUserAgent {
	case "allow", "log", "block":
	default:
		bad("defaults.empty_user_agent", "%q must be allow, log or block", c.Defaults.EmptyUserAgent)
	}
	if m := c.Defaults.UserAgentMode; m != "" && m != "enforce" && m != "monitor" {
		bad("defaults.user_agent_mode", "%q must be enforce or monitor", m)
	}
	feedNames := map[string]bool{}
	for i, f := range c.Feeds {
		p := fmt.Sprintf("feeds[%d]", i)
		if f.Name == "" || feedNames[f.Name] {
			bad(p+".name", "every feed needs a unique name")
		}
		feedNames[f.Name] = true
		if (f.URL == "") == (f.File == "") {
			bad(p, "needs exactly one of url and file")
		}
	}
	c.validateDetection(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	c.validateChallenge(bad)
	if c.Reload.Watch && c.Reload.Interval <= 0 {
		bad("reload.interval", "must be positive when reload.watch is on")
	}
	c.validateMetrics(bad)
	c.validateAdmin(bad)
	c.validateEvents(bad)
	c.validateRuntime(bad)
	c.validateFlood(bad)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// redactURL hides the password in a URL's userinfo and its query's
// values, whether or not the URL parses.
func redactURL(raw string) string { return redact.URL(raw) }
