package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

// Admin configures the admin API (/_parapet/api/) that the CLI and the
// dashboard use to see and change bans, rules and under-attack mode while
// Parapet runs. It is off (404) unless a token is set.
type Admin struct {
	// Token turns the admin API on: requests carry "Authorization: Bearer
	// <token>" (at least 16 characters; compared in constant time). Its
	// changes are recorded with the actor "admin".
	Token string `yaml:"token" secret:"true"`
	// Tokens are further named tokens ({name, token}); a change made with
	// one is recorded with its name as the actor.
	Tokens []AdminToken `yaml:"tokens"`
	// Listen serves the admin API and the dashboard (/_parapet/ui/) on
	// their own private address (e.g. 127.0.0.1:9180) instead of the public
	// port. Empty: the public port, under /_parapet/api/ and /_parapet/ui/,
	// behind the bans and limits like any request.
	Listen string `yaml:"listen"`
	// Host is a host name of the dashboard's own (e.g.
	// parapet.example.com, pointed at the same app), for the dashboard on
	// the public port. Dashboard logins (a session cookie) are only made
	// and honoured where no page of the app can run script in the same
	// origin: on admin.listen, or on this host, where Parapet serves only
	// /_parapet/ and refuses everything else (404), and whose cookie is
	// host-only. On the app's own hosts a script on any of its pages
	// (a stored XSS, an uploaded HTML file) could otherwise use an
	// operator's session, so there the dashboard is not served and logins
	// are refused; the API keeps answering bearer tokens everywhere (a
	// script cannot read the token). Without admin.host or admin.listen
	// there is no dashboard, only the API and the CLI. Must be in
	// edge.allowed_hosts when that is set. Restart to change.
	Host string `yaml:"host"`
	// SessionTTL is how long a dashboard login lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
	// StateFile keeps live changes (rules added or toggled through the
	// API, under-attack switched on by hand) across restarts with the
	// memory store; with store.type redis they are kept in Redis. Empty:
	// beside the config file (<config>.state.json), else
	// parapet-state.json in feed_cache_dir.
	StateFile string `yaml:"state_file"`
	// FailLimit bounds failed admin logins per client address; past it the
	// client gets 429 until the limit allows again.
	FailLimit string `yaml:"fail_limit"`
}

// AdminToken is one named admin token.
type AdminToken struct {
	// Name is who uses the token, recorded as the actor of its changes.
	Name string `yaml:"name"`
	// Token is the bearer token (at least 16 characters).
	Token string `yaml:"token" secret:"true"`
}

func defaultAdmin() Admin {
	return Admin{SessionTTL: 12 * time.Hour, FailLimit: "10/minute"}
}

var hostName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$`)

// hostListed reports whether host is allowed by an edge.allowed_hosts
// list (Django's ALLOWED_HOSTS syntax: "*", exact names, ".example.com"
// for a domain and its subdomains).
func hostListed(list []string, host string) bool {
	for _, h := range list {
		h = strings.ToLower(h)
		switch {
		case h == "*" || h == host:
			return true
		case strings.HasPrefix(h, ".") && (host == h[1:] || strings.HasSuffix(host, h)):
			return true
		}
	}
	return false
}

// SameHost reports whether a request's Host header names host: compared
// without the header's port, case-insensitively, a trailing dot ignored.
func SameHost(header, host string) bool {
	if host == "" {
		return false
	}
	h := header
	if hh, _, err := net.SplitHostPort(header); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(h, ".")
	return strings.EqualFold(h, strings.TrimSuffix(host, "."))
}

var adminName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// AdminTokens lists every admin token with its actor name (admin.token
// is "admin"); empty when the admin API is off.
func (c *Config) AdminTokens() []AdminToken {
	var out []AdminToken
	if c.Admin.Token != "" {
		out = append(out, AdminToken{Name: "admin", Token: c.Admin.Token})
	}
	return append(out, c.Admin.Tokens...)
}

// validateAdmin checks the admin section.
func (c *Config) validateAdmin(bad func(path, format string, args ...any)) {
	a := c.Admin
	if a.Token != "" && len(a.Token) < 16 {
		bad("admin.token", "is too short to guess-proof the admin API (at least 16 characters)")
	}
	seen := map[string]bool{}
	if a.Token != "" {
		seen["admin"] = true
	}
	for i, t := range a.Tokens {
		p := fmt.Sprintf("admin.tokens[%d]", i)
		if !adminName.MatchString(t.Name) {
			bad(p+".name", "%q must be 1-64 letters, digits, . _ @ or - (it names the actor in events)", t.Name)
		} else if seen[t.Name] {
			bad(p+".name", "%q is used twice (admin.token is named admin)", t.Name)
		}
		seen[t.Name] = true
		if len(t.Token) < 16 {
			bad(p+".token", "is too short to guess-proof the admin API (at least 16 characters)")
		}
	}
	if a.Listen != "" {
		if _, _, err := net.SplitHostPort(a.Listen); err != nil {
			bad("admin.listen", "%q is not host:port (e.g. 127.0.0.1:9180)", a.Listen)
		}
	}
	if a.Host != "" {
		h := strings.ToLower(strings.TrimSuffix(a.Host, "."))
		if !hostName.MatchString(h) {
			bad("admin.host", "%q must be a host name alone (e.g. parapet.example.com: no scheme, port or path)", a.Host)
		} else if a.Listen != "" {
			bad("admin.host", "is for the dashboard on the public port; with admin.listen the dashboard is there (set one of them)")
		} else if len(c.Edge.AllowedHosts) > 0 && !hostListed(c.Edge.AllowedHosts, h) {
			bad("admin.host", "%q must also be in edge.allowed_hosts (the edge refuses other hosts before the dashboard sees them)", a.Host)
		}
	}
	if a.SessionTTL <= 0 {
		bad("admin.session_ttl", "must be positive")
	}
}
