// Package edge holds the cheap guards that run on every request before any
// rule: URI length, allowed hosts (Django's ALLOWED_HOSTS at the edge), the
// method allow list, the body size limit, the HTTPS redirect and protocol
// upgrades (WebSockets where allowed; no other).
package edge

import (
	"context"
	"net"
	"net/http"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/scope"
	"github.com/parapet-waf/parapet/internal/upgrade"
)

// Rule ids reported by the guards.
const (
	RuleURITooLong     = "edge-uri-too-long"
	RuleHostNotAllowed = "edge-host-not-allowed"
	RuleMethod         = "edge-method-not-allowed"
	RuleBodyTooLarge   = "edge-body-too-large"
	RuleHTTPSRedirect  = "edge-https-redirect"
	RuleBadPath        = "edge-bad-path"
	RuleBadWebSocket   = "edge-bad-websocket"
	RuleWebSocket      = "edge-websocket-not-allowed"
)

// Guards is the edge stage. Build it with New; it is safe for concurrent use.
type Guards struct {
	redirect    config.Toggle
	exempt      scope.Exempt
	anyHost     bool
	exactHosts  map[string]bool
	suffixHosts []string // ".example.com" entries, lower-case
	methods     map[string]bool
	allowHeader string
	maxURI      int
	maxBody     int64
	ws          config.WebSockets
}

// New builds the guards from the edge, limits and websockets config.
func New(e config.Edge, l config.Limits, ws config.WebSockets) *Guards {
	g := &Guards{
		redirect:   e.HTTPSRedirect,
		exempt:     scope.NewExempt(e.HTTPSRedirectExempt),
		exactHosts: map[string]bool{},
		methods:    map[string]bool{},
		maxURI:     int(l.MaxURIBytes),
		maxBody:    int64(l.MaxBodyBytes),
		ws:         ws,
	}
	g.anyHost = len(e.AllowedHosts) == 0
	for _, h := range e.AllowedHosts {
		h = strings.ToLower(h)
		switch {
		case h == "*":
			g.anyHost = true
		case strings.HasPrefix(h, "."):
			g.suffixHosts = append(g.suffixHosts, h)
		default:
			g.exactHosts[strings.Trim(h, "[]")] = true
		}
	}
	for _, m := range e.AllowedMethods {
		g.methods[m] = true
	}
	ms := append([]string(nil), e.AllowedMethods...)
	sort.Strings(ms)
	g.allowHeader = strings.Join(ms, ", ")
	return g
}

// Name returns "edge".
func (g *Guards) Name() string { return "edge" }

// MaxBody is the body size limit the chain enforces while streaming.
func (g *Guards) MaxBody() int64 { return g.maxBody }

// Check runs the guards in order: URI length, path sanity, host, method,
// HTTPS redirect, declared body size, upgrade.
func (g *Guards) Check(_ context.Context, r *http.Request, info *decision.Info) decision.Decision {
	if len(r.RequestURI) > g.maxURI {
		return decision.Decision{Action: decision.Block, RuleID: RuleURITooLong, Status: http.StatusRequestURITooLong,
			Reason: "request URI longer than limits.max_uri_bytes"}
	}
	if reason := badPath(r); reason != "" {
		return decision.Decision{Action: decision.Block, RuleID: RuleBadPath, Status: http.StatusBadRequest, Reason: reason}
	}
	if !g.HostAllowed(r.Host) {
		return decision.Decision{Action: decision.Block, RuleID: RuleHostNotAllowed, Status: http.StatusBadRequest,
			Reason: "Host not in edge.allowed_hosts"}
	}
	if !g.methods[r.Method] {
		return decision.Decision{Action: decision.Block, RuleID: RuleMethod, Status: http.StatusMethodNotAllowed,
			Reason: "method not in edge.allowed_methods", Headers: http.Header{"Allow": {g.allowHeader}}}
	}
	if g.redirects(info) && !g.exempted(r.URL.Path) {
		return decision.Decision{Action: decision.Respond, RuleID: RuleHTTPSRedirect, Status: http.StatusMovedPermanently,
			Reason: "plain HTTP", Headers: http.Header{"Location": {"https://" + r.Host + r.URL.RequestURI()}}}
	}
	if r.ContentLength > g.maxBody {
		return decision.Decision{Action: decision.Block, RuleID: RuleBodyTooLarge, Status: http.StatusRequestEntityTooLarge,
			Reason: "Content-Length over limits.max_body_bytes"}
	}
	if len(r.Header["Upgrade"]) > 0 {
		return g.checkUpgrade(r, info)
	}
	return decision.Pass
}

// checkUpgrade lets a WebSocket handshake through where websockets
// allows it (400 if malformed, 403 if not allowed) and takes any other
// upgrade off the request, which goes on as plain HTTP/1.1: h2c and
// made-up protocols would make the connection a tunnel nothing inspects.
func (g *Guards) checkUpgrade(r *http.Request, info *decision.Info) decision.Decision {
	if !upgrade.Requested(r.Header) {
		return decision.Pass // Upgrade without Connection: upgrade is a field proxies drop
	}
	if !upgrade.IsWebSocket(r.Header) {
		upgrade.Strip(r.Header)
		info.AddTag("upgrade-dropped")
		return decision.Pass
	}
	if err := upgrade.WebSocket(r); err != nil {
		return decision.Decision{Action: decision.Block, RuleID: RuleBadWebSocket, Status: http.StatusBadRequest,
			Reason: "malformed WebSocket handshake: " + err.Error()}
	}
	if !g.ws.Enabled || !g.webSocketPath(r.URL.Path) {
		return decision.Decision{Action: decision.Block, RuleID: RuleWebSocket, Status: http.StatusForbidden,
			Reason: "WebSockets not allowed here (websockets.enabled, websockets.paths)"}
	}
	return decision.Pass
}

// webSocketPath reports whether p, in its plain form (no dot segments or
// doubled slashes, which Django would resolve elsewhere), starts with one
// of websockets.paths (any path if none is listed).
func (g *Guards) webSocketPath(p string) bool {
	if len(g.ws.Paths) == 0 {
		return true
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return false
	}
	for _, prefix := range g.ws.Paths {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// badPath says what is wrong with the request's path, or "". A decoded
// path holding NUL or other control bytes, or bytes that are not UTF-8
// (raw or percent-encoded, overlong forms included), is never a Django
// URL: such requests are probes for C-string truncation and decoding
// differences between Parapet and the app. "*" is only for OPTIONS.
func badPath(r *http.Request) string {
	if r.RequestURI == "*" && r.Method != http.MethodOptions {
		return "request target * is only allowed with OPTIONS"
	}
	p := r.URL.Path
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return "control byte in the path"
		}
	}
	if !utf8.ValidString(p) {
		return "path is not valid UTF-8"
	}
	return ""
}

// redirects says whether the request must be sent to https: always when
// it is not known to be HTTPS (https_redirect: true); with auto, only when
// a trusted proxy said it came over plain HTTP.
func (g *Guards) redirects(info *decision.Info) bool {
	switch g.redirect {
	case config.On:
		return info.Scheme != "https"
	case config.Auto:
		return info.SchemeFromProxy && info.Scheme == "http"
	}
	return false
}

func (g *Guards) exempted(path string) bool { return g.exempt.Covers(path) }

// HostAllowed reports whether the Host header (port ignored) matches the
// allowed hosts the way Django's ALLOWED_HOSTS does.
func (g *Guards) HostAllowed(hostport string) bool {
	if g.anyHost {
		return true
	}
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if !validHost(host) {
		return false
	}
	if g.exactHosts[host] {
		return true
	}
	for _, s := range g.suffixHosts {
		if host == s[1:] || strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// validHost accepts what Django's host validation accepts: a DNS name
// (letters, digits, dots, hyphens) or an IPv6 literal (hex digits, colons,
// dots). Anything else (userinfo, '#', spaces) is refused whatever the
// allowed hosts say.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	ipv6 := strings.Contains(h, ":")
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9', c == '.':
		case c >= 'a' && c <= 'f':
		case c == ':' && ipv6:
		case c >= 'g' && c <= 'z' && !ipv6, c == '-' && !ipv6:
		default:
			return false
		}
	}
	return true
}
