// Package harden enforces the Django deployment checklist on responses:
// security headers (HSTS over HTTPS, nosniff, frame options, referrer,
// COOP, permissions), a Content Security Policy with its own report
// endpoint, cookie flags, CORS, and a leak guard that never lets a DEBUG
// page, a traceback or a secret out.
package harden

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// Stage is the response-hardening stage. Build it with New.
type Stage struct {
	headers     []addedHeader
	override    bool
	remove      []string
	hsts        string
	hstsMissing addedHeader
	cspHeader   string // Content-Security-Policy or ...-Report-Only
	csp         string
	cspPolicy   string      // csp without the report-uri Parapet added
	cspStarter  bool        // csp is DefaultCSP: report-only, HTML only, never replaces the app's
	cspMissing  atomic.Bool // the first page without a CSP of its own was tagged
	cookies     []cookieRule
	cors        []*corsRule
	uploads     []*uploadRule
	leak        *leakGuard
	reportPath  string
	// CSPReports collects the violation reports posted to ReportPath.
	CSPReports *CSPCollector
}

// addedHeader is a header Parapet sets when the app did not, with the
// first-time flag that reports the app's omission once.
type addedHeader struct {
	name, value, tag string
	reported         *atomic.Bool
	// values is []string{value}, made once and shared by every response
	// (its capacity is 1: an Add to the header copies it).
	values []string
}

type cookieRule struct {
	pattern  string
	secure   bool
	httpOnly bool
	sameSite string
	maxAge   int // seconds; 0 = no cap
	reported *atomic.Bool
}

// New builds the stage; problems are reported at their config lines.
func New(cfg *config.Config) (*Stage, error) {
	h := cfg.Harden
	s := &Stage{override: h.Override, hstsMissing: addedHeader{name: "Strict-Transport-Security", tag: "missing:strict-transport-security", reported: new(atomic.Bool)}}
	var errs config.Errors
	fail := func(p, format string, args ...any) { errs = append(errs, cfg.Errorf(p, format, args...)) }
	for name, v := range h.Headers {
		if v != "" {
			s.headers = append(s.headers, addedHeader{name: http.CanonicalHeaderKey(name), value: v, tag: "missing:" + strings.ToLower(name), reported: new(atomic.Bool)})
		}
	}

	for _, name := range h.RemoveHeaders {
		s.remove = append(s.remove, http.CanonicalHeaderKey(name))
	}
	if h.HSTS.Enabled {
		v := "max-age=" + strconv.FormatInt(int64(h.HSTS.MaxAge/time.Second), 10)
		if h.HSTS.IncludeSubdomains {
			v += "; includeSubDomains"
		}
		if h.HSTS.Preload {
			v += "; preload"
		}
		s.hsts = v
		s.hstsMissing.value = v
	}
	if p := h.CSP.ReportPath; p != "" {
		if !strings.HasPrefix(p, "/") {
			fail("harden.csp.report_path", "%q must start with /", p)
		}
		s.reportPath = p
		s.CSPReports = NewCSPCollector(MaxViolations)
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(h.CSP.Policy), config.CSPOff):
	case strings.TrimSpace(h.CSP.Policy) == "":
		// The starter policy only makes sense with somewhere to report:
		// report-only, nothing else would show what it found.
		if s.reportPath != "" {
			s.cspPolicy = DefaultCSP
			s.csp = DefaultCSP + "; report-uri " + s.reportPath
			s.cspHeader = "Content-Security-Policy-Report-Only"
			s.cspStarter = true
		}
	default:
		s.csp = h.CSP.Policy
		s.cspPolicy = h.CSP.Policy
		if s.reportPath != "" && !strings.Contains(s.csp, "report-uri") {
			s.csp = strings.TrimRight(strings.TrimSpace(s.csp), ";") + "; report-uri " + s.reportPath
		}
		s.cspHeader = "Content-Security-Policy"
		if h.CSP.ReportOnly {
			s.cspHeader = "Content-Security-Policy-Report-Only"
		}
	}
	for i, c := range h.Cookies {
		p := fmt.Sprintf("harden.cookies[%d]", i)
		if _, err := path.Match(c.Name, ""); err != nil || c.Name == "" {
			fail(p+".name", "%q is not a cookie name pattern", c.Name)
		}
		ss := ""
		switch strings.ToLower(c.SameSite) {
		case "":
		case "lax":
			ss = "Lax"
		case "strict":
			ss = "Strict"
		case "none":
			ss = "None"
		default:
			fail(p+".same_site", "%q must be Lax, Strict or None", c.SameSite)
		}
		s.cookies = append(s.cookies, cookieRule{pattern: c.Name, secure: c.Secure, httpOnly: c.HTTPOnly, sameSite: ss, maxAge: int(c.MaxAgeCap / time.Second), reported: new(atomic.Bool)})
	}
	for i, c := range h.CORS {
		r, err := newCORSRule(c)
		if err != nil {
			fail(fmt.Sprintf("harden.cors[%d]", i), "%v", err)
			continue
		}
		s.cors = append(s.cors, r)
	}
	for i, c := range h.Uploads {
		u, err := newUploadRule(c, int64(cfg.Limits.MaxBodyBytes))
		if err != nil {
			fail(fmt.Sprintf("harden.uploads[%d]", i), "%v", err)
			continue
		}
		s.uploads = append(s.uploads, u)
	}
	if u := h.LeakGuard.Uninspectable; u != config.UninspectableBlock && u != config.UninspectablePass {
		fail("harden.leak_guard.uninspectable", "%q must be block or pass", u)
	}
	if h.LeakGuard.Enabled {
		lg, err := newLeakGuard(h.LeakGuard)
		if err != nil {
			fail("harden.leak_guard.secret_patterns", "%v", err)
		}
		s.leak = lg
	}
	for i := range s.headers {
		s.headers[i].values = []string{s.headers[i].value}
	}
	s.hstsMissing.values = []string{s.hstsMissing.value}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// Name returns "harden".
func (s *Stage) Name() string { return "harden" }

// Check answers CORS preflights at the edge and checks multipart uploads
// on covered paths; everything else passes. With the leak guard on, the
// request asks the app only for content codings the guard reads.
func (s *Stage) Check(_ context.Context, r *http.Request, _ *decision.Info) decision.Decision {
	if s.leak != nil {
		readableEncodings(r.Header)
	}
	if (r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) && strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/") {
		for _, u := range s.uploads {
			if u.covers(r) {
				return u.check(r)
			}
		}
	}
	if r.Method != http.MethodOptions || r.Header.Get("Origin") == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return decision.Pass
	}
	rule := s.corsFor(r)
	if rule == nil {
		return decision.Pass
	}
	return rule.preflight(r)
}

// Routes implements decision.Router: the CSP report collector at
// ReportPath, counted by its own limit (harden.csp.report_limit), not by
// the visitor's rate_limits: a browser posts one report per violation, a
// hundred for one page that breaks the policy, and rl-writes would
// otherwise throttle the site's own forms (and the throttles ban the
// visitor).
func (s *Stage) Routes() []decision.Route {
	if s.reportPath == "" || s.CSPReports == nil {
		return nil
	}
	return []decision.Route{{Path: s.reportPath, OwnLimitsOnly: true, Serve: s.collectCSP}}
}

// collectCSP answers a CSP violation report and records it on the event.
func (s *Stage) collectCSP(w http.ResponseWriter, r *http.Request, info *decision.Info) {
	vs := s.CSPReports.Serve(w, r)
	info.Final = decision.Decision{Action: decision.Respond, RuleID: "csp-report", Reason: "CSP report"}
	if len(vs) == 0 {
		return
	}
	info.AddTag("csp-violation")
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s blocked %s on %s (seen %d times)", v.Directive, v.BlockedURI, v.DocumentURI, v.Count)
	}
	info.Final.Reason = "CSP violation: " + strings.Join(parts, "; ")
}

// ReportPath is where CSP reports are collected ("" if nowhere).
func (s *Stage) ReportPath() string { return s.reportPath }

// CSPReport is what the stage's collector has seen, with the policy the
// stage sends.
func (s *Stage) CSPReport() ViolationReport {
	rep := ViolationReport{Policy: s.cspPolicy, ReportOnly: s.cspHeader == "Content-Security-Policy-Report-Only", Violations: []Violation{}}
	if s.CSPReports != nil {
		rep.Violations = s.CSPReports.Snapshot()
		rep.Dropped = s.CSPReports.Dropped()
	}
	return rep
}

// CheckResponse hardens the upstream's response in place. The first
// response that lacks a header Parapet adds (or a cookie flag) is tagged
// "missing:<header>" ("hardened-cookie:<name>"), so the log says once what
// to fix in settings.py without repeating it on every request.
func (s *Stage) CheckResponse(_ context.Context, resp *http.Response, info *decision.Info) error {
	h := resp.Header
	for _, name := range s.remove {
		h.Del(name)
	}
	for i := range s.headers {
		s.headers[i].apply(h, s.override, info)
	}
	https := info.Scheme == "https"
	if s.hsts != "" && https {
		s.hstsMissing.apply(h, s.override, info)
	}
	if s.csp != "" {
		s.applyCSP(h, info)
	}
	if len(s.cookies) > 0 {
		if cookies := h.Values("Set-Cookie"); len(cookies) > 0 {
			out := make([]string, len(cookies))
			for i, c := range cookies {
				out[i] = s.hardenCookie(c, https, info)
			}
			h["Set-Cookie"] = out
		}
	}
	if origin := resp.Request.Header.Get("Origin"); origin != "" {
		if rule := s.corsFor(resp.Request); rule != nil {
			rule.decorate(h, origin)
		}
	}
	if s.leak != nil {
		return s.leak.inspect(resp, info)
	}
	return nil
}

// applyCSP sends the configured policy on a response without one of its
// own (with override, on every response). The starter policy is sent
// report-only on HTML pages without a policy of their own, enforcing or
// report-only, whatever override says; the first such page is tagged
// missing:content-security-policy.
func (s *Stage) applyCSP(h http.Header, info *decision.Info) {
	own := h.Get("Content-Security-Policy") != "" || h.Get("Content-Security-Policy-Report-Only") != ""
	if !s.cspStarter {
		if s.override || !own {
			h.Set(s.cspHeader, s.csp)
		}
		return
	}
	if own || !isHTML(h.Get("Content-Type")) {
		return
	}
	h["Content-Security-Policy-Report-Only"] = []string{s.csp}
	if !s.cspMissing.Load() && !s.cspMissing.Swap(true) {
		info.AddTag("missing:content-security-policy")
	}
}

// isHTML reports whether a Content-Type is an HTML document's, the only
// responses a page's policy applies to.
func isHTML(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "text/html") || strings.EqualFold(mt, "application/xhtml+xml")
}

func (a *addedHeader) apply(h http.Header, override bool, info *decision.Info) {
	if _, ok := h[a.name]; !ok {
		if !a.reported.Swap(true) {
			info.AddTag(a.tag)
		}
		h[a.name] = a.values
	} else if override {
		h[a.name] = a.values
	}
}

// hardenCookie adds the configured flags to one Set-Cookie value, never
// removing a flag the app set. Secure is only added over HTTPS: browsers
// drop Secure cookies set over plain HTTP.
func (s *Stage) hardenCookie(line string, https bool, info *decision.Info) string {
	name, _, _ := strings.Cut(line, "=")
	name = strings.TrimSpace(name)
	attrs := strings.ToLower(line)
	for _, r := range s.cookies {
		if ok, _ := path.Match(r.pattern, name); !ok {
			continue
		}
		if r.maxAge > 0 {
			if c, err := http.ParseSetCookie(line); err == nil && (c.MaxAge > r.maxAge || c.MaxAge == 0 && !c.Expires.IsZero()) {
				c.MaxAge = r.maxAge
				c.Expires = time.Time{}
				line = c.String()
				attrs = strings.ToLower(line)
			}
		}
		before := len(line)
		if r.secure && https && !hasAttr(attrs, "secure") {
			line += "; Secure"
		}
		if r.httpOnly && !hasAttr(attrs, "httponly") {
			line += "; HttpOnly"
		}
		if r.sameSite != "" && !hasSameSite(attrs) {
			line += "; SameSite=" + r.sameSite
		}
		if len(line) != before && !r.reported.Swap(true) {
			info.AddTag("hardened-cookie:" + name)
		}
		break
	}
	return line
}

// trimWSP trims what RFC 6265 (section 5.2) trims around cookie
// attributes: spaces and horizontal tabs, nothing else. An attribute
// written "\vHttpOnly" is unknown to browsers, so it must not count.
func trimWSP(s string) string { return strings.Trim(s, " \t") }

// hasAttr reports whether a lower-cased Set-Cookie line carries the flag
// attribute bare (after the name=value pair). A flag written with a value
// ("Secure=\"") is read by some parsers (browsers) and dropped by others
// (Go's): it does not count, and a clean one is added.
func hasAttr(lower, attr string) bool {
	parts := strings.Split(lower, ";")
	for _, p := range parts[1:] {
		if trimWSP(p) == attr {
			return true
		}
	}
	return false
}

// hasSameSite reports whether a lower-cased Set-Cookie line ends up with
// a SameSite browsers honour (lax, strict or none). The last SameSite
// attribute is the one that counts (RFC 6265bis, and Go's parser), and a
// bare or unknown value leaves the browser's default, so
// "SameSite=None; SameSite" counts as absent.
func hasSameSite(lower string) bool {
	honoured := false
	parts := strings.Split(lower, ";")
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(trimWSP(p), "=")
		if k == "samesite" {
			switch trimWSP(v) {
			case "lax", "strict", "none":
				honoured = true
			default:
				honoured = false
			}
		}
	}
	return honoured
}

func (s *Stage) corsFor(req *http.Request) *corsRule {
	for _, r := range s.cors {
		if r.covers(req) {
			return r
		}
	}
	return nil
}
