package ratelimit

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// AutoBan watches every request's outcome and bans clients that earn too
// many blocks, rate-limit hits or 4xx answers from the app in a window.
type AutoBan struct {
	bans       *Bans
	deps       Deps
	action     string
	duration   time.Duration
	window     time.Duration
	statuses   map[int]bool
	statusMax  int64
	blockMax   int64
	throttlMax int64
	desc       string
}

// NewAutoBan returns the auto-ban observer, or nil when auto_ban is off.
func NewAutoBan(cfg config.AutoBan, deps Deps, bans *Bans) *AutoBan {
	if !cfg.Enabled {
		return nil
	}
	a := &AutoBan{bans: bans, deps: deps, action: cfg.Action, duration: cfg.Duration, window: cfg.Window,
		statuses: map[int]bool{}, statusMax: int64(cfg.StatusThreshold), blockMax: int64(cfg.BlockThreshold),
		throttlMax: int64(cfg.ThrottleThreshold)}
	var codes []string
	for _, s := range cfg.Statuses {
		a.statuses[s] = true
		codes = append(codes, fmt.Sprint(s))
	}
	a.desc = strings.Join(codes, "/")
	return a
}

// Observe counts one finished request. status is what the client got.
// Challenges do not count: being asked to prove one is a browser is not
// misbehaviour (under-attack mode challenges everyone).
// Allow-listed clients (an allow rule's final decision) and loopback
// addresses (this machine's own health checks and tools) are never counted,
// nor are requests refused because of a ban already in force, answered
// 503 because Parapet itself is short of something, or sent by a browser
// for another site's page (ThirdParty).
func (a *AutoBan) Observe(ctx context.Context, r *http.Request, info *decision.Info, status int) {
	d := info.Final
	if info.ClientIP.IsLoopback() { // this machine: health checks, local tools
		return
	}
	// 503s (store down, upstream cap full) are Parapet's state, not the client's doing.
	if d.Action == decision.Allow && d.Final || d.RuleID == RuleBanned || d.Status == http.StatusServiceUnavailable {
		return
	}
	var kind, what string
	var max int64
	switch {
	case d.Decided() && d.Action == decision.Throttle:
		kind, what, max = "throttle", "rate-limited", a.throttlMax
	case d.Decided() && d.Action == decision.Block:
		kind, what, max = "block", "blocked", a.blockMax
	case !d.Decided() && a.statuses[status]:
		kind, what, max = "status", a.desc+" answers from the app", a.statusMax
	default:
		return
	}
	if max <= 0 || ThirdParty(r) || a.deps.Guard.Skip() {
		return
	}
	var buf [64]byte
	key := append(append(append(buf[:0], "ab:"...), kind...), ':')
	key = AppendClientKey(key, info.ClientIP)
	n, err := a.deps.Store.Incr(ctx, string(key), 1, a.window)
	if err != nil {
		a.deps.Guard.Failed("auto-ban", err)
		return
	}
	if n >= max { // from here on the ban stage keeps it out (banned requests are not counted)
		a.bans.Ban(ctx, info.ClientIP, fmt.Sprintf("%d %s in %v", n, what, a.window), "auto", a.action, a.duration)
	}
}

// ThirdParty reports whether a browser says it sent r for another site
// without its user asking: Sec-Fetch-Site cross-site, and not a top-level
// navigation the user started (Sec-Fetch-Mode navigate, Sec-Fetch-Dest
// document, Sec-Fetch-User ?1). That covers what a third-party page can
// make its visitors' browsers send as often as it likes: images, scripts,
// styles (no-cors), fetch() (cors: a simple request is sent even though
// its answer is hidden), frames, and a popup it opened once and then
// navigates again and again by script. Such requests must not count
// towards auto-bans, or 30 <img src=/.env> on any page would get its
// visitors banned; they are still blocked and rate limited one by one
// (a rate-limit rule with action ban throttles them instead of banning).
//
// Browsers send no Fetch Metadata to URLs that are not potentially
// trustworthy: over plain HTTP (a site without an HTTPS redirect, or a
// visitor without HSTS for it) there is none. Then an Origin or Referer
// naming another host than the request's (port aside; "null" is an
// opaque origin) is the evidence: browsers send the other page's origin
// by default (strict-origin-when-cross-origin). A page that asks for no
// referrer (referrerpolicy=no-referrer) sends neither, and its requests
// still count; so does a link the user followed from another site over
// plain HTTP, which looks the same as its script navigating.
//
// Any client can send these headers: a scanner that does escapes auto-bans
// (never the per-request blocks and rate limits). Browsers without Fetch
// Metadata at all (Safari before 16.4) are judged by their Origin and
// Referer in the same way.
func ThirdParty(r *http.Request) bool {
	h := r.Header
	switch h.Get("Sec-Fetch-Site") {
	case "cross-site":
		return h.Get("Sec-Fetch-Mode") != "navigate" || h.Get("Sec-Fetch-Dest") != "document" || h.Get("Sec-Fetch-User") != "?1"
	case "":
		if o := h.Get("Origin"); o != "" {
			return o == "null" || otherHost(o, r.Host)
		}
		if ref := h.Get("Referer"); ref != "" {
			return otherHost(ref, r.Host)
		}
	}
	return false
}

// otherHost reports whether the URL u (an Origin or Referer) names a host
// other than host (a Host header); ports are ignored, as in a site.
func otherHost(u, host string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return !strings.EqualFold(p.Hostname(), strings.Trim(host, "[]"))
}
