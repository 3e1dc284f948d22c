// Package scan probes a running site the way a browser sees it and checks
// the answers against the Django-on-Heroku checklist: the HTTPS redirect,
// HSTS, cookie flags on real Set-Cookie headers, CSP, X-Frame-Options,
// nosniff, Referrer-Policy, Server header disclosure, a DEBUG page on a
// random 404 path, the admin at /admin/, CORS reflecting any origin and
// TRACE. It sends a bounded number of requests, one at a time, and only to
// loopback addresses unless the user names the host.
package scan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/findings"
)

// Options tune a scan.
type Options struct {
	// URL is the site's address (https://... for a deployed site).
	URL string
	// HTTPURL is where plain HTTP is served, for the redirect check
	// (default: URL with http:// and no port).
	HTTPURL string
	// AllowHosts are host names (besides loopback) the scan may contact.
	AllowHosts []string
	// Paths are extra paths fetched for their cookies (a login page).
	Paths []string
	// Client sends the requests (nil: a client with Timeout per request).
	// Its redirects are not followed.
	Client *http.Client
	// Timeout bounds each request (default 10s); Pause waits between
	// requests (default 100ms).
	Timeout time.Duration
	Pause   time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// MaxRequests is the most requests a scan sends.
const MaxRequests = 16

// Run scans the site.
func Run(ctx context.Context, opt Options) (*findings.Report, error) {
	base, err := url.Parse(opt.URL)
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", opt.URL)
	}
	if err := allowed(base, opt.AllowHosts); err != nil {
		return nil, err
	}
	httpURL := opt.HTTPURL
	if httpURL == "" && base.Scheme == "https" {
		u := *base
		u.Scheme, u.Host = "http", base.Hostname()
		if strings.Contains(u.Host, ":") {
			u.Host = "[" + u.Host + "]"
		}
		httpURL = u.String()
	}
	var plain *url.URL
	if httpURL != "" {
		if plain, err = url.Parse(httpURL); err != nil || plain.Scheme != "http" {
			return nil, fmt.Errorf("--http-url %q is not an http:// URL", httpURL)
		}
		if err := allowed(plain, opt.AllowHosts); err != nil {
			return nil, err
		}
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Pause == 0 {
		opt.Pause = 100 * time.Millisecond
	}
	if opt.UserAgent == "" {
		opt.UserAgent = "parapet-scan"
	}
	client := opt.Client
	if client == nil {
		client = &http.Client{}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Jar = nil
	s := &scanner{ctx: ctx, opt: opt, client: &c, base: base, plain: plain,
		rep: &findings.Report{Tool: "scan", Target: base.String(), Rules: Rules}}
	s.run()
	s.rep.Sort()
	return s.rep, nil
}

// allowed refuses hosts other than loopback and the ones the user gave.
func allowed(u *url.URL, hosts []string) error {
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	for _, a := range hosts {
		if strings.EqualFold(a, h) {
			return nil
		}
	}
	return fmt.Errorf("%s is not a loopback address: scanning another host needs --allow-host %s (only scan sites you are allowed to test)", h, h)
}

type response struct {
	status int
	header http.Header
	body   string
	err    error
}

type scanner struct {
	ctx     context.Context
	opt     Options
	client  *http.Client
	base    *url.URL
	plain   *url.URL
	rep     *findings.Report
	sent    int
	cookies []*cookieSeen
}

type cookieSeen struct {
	raw, path string
	c         *http.Cookie
}

// do sends one request (at most MaxRequests in all) and reads up to 512 KB.
func (s *scanner) do(method string, u *url.URL, hdr map[string]string) *response {
	if s.sent >= MaxRequests {
		return &response{err: errors.New("request budget spent")}
	}
	if s.sent > 0 {
		select {
		case <-time.After(s.opt.Pause):
		case <-s.ctx.Done():
			return &response{err: s.ctx.Err()}
		}
	}
	s.sent++
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return &response{err: err}
	}
	req.Header.Set("User-Agent", s.opt.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return &response{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512<<10))
	r := &response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	for _, raw := range resp.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(raw); err == nil {
			s.cookies = append(s.cookies, &cookieSeen{raw: raw, path: u.Path, c: c})
		}
	}
	return r
}

func (s *scanner) at(path string) *url.URL {
	u := *s.base
	u.Path, u.RawPath, u.RawQuery = path, "", ""
	return &u
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *scanner) run() {
	home := s.do("GET", s.base, nil)
	if home.err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("GET %s: %v", s.base, home.err))
		for _, r := range Rules {
			s.rep.Add(r, findings.Unknown, "", 0, "the site did not answer: %v", home.err)
		}
		return
	}
	// A redirect on the same origin (/ -> /en/): check the page it leads to.
	if loc := home.header.Get("Location"); home.status >= 300 && home.status < 400 && loc != "" {
		if u, err := s.base.Parse(loc); err == nil && u.Scheme == s.base.Scheme && u.Host == s.base.Host {
			if r := s.do("GET", u, nil); r.err == nil {
				home = r
			}
		}
	}
	s.checkRedirect()
	s.checkHeaders(home)
	s.checkDebug()
	s.checkAdmin()
	s.checkCORS()
	s.checkTrace()
	for _, p := range append([]string{"/login/", "/accounts/login/"}, s.opt.Paths...) {
		s.do("GET", s.at(p), nil)
	}
	s.checkCookies()
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("%d requests sent", s.sent))
}

func (s *scanner) where() string { return s.base.String() }

func (s *scanner) checkRedirect() {
	if s.plain == nil {
		s.rep.Add(rRedirect, findings.Fail, s.where(), 0, "the site is scanned over plain HTTP: nothing is encrypted").Parapet = enfRedirect
		return
	}
	r := s.do("GET", s.plain, nil)
	switch {
	case r.err != nil:
		s.rep.Add(rRedirect, findings.Unknown, s.plain.String(), 0, "plain HTTP did not answer: %v", r.err)
	case r.status >= 300 && r.status < 400 && strings.HasPrefix(strings.ToLower(r.header.Get("Location")), "https://"):
		st := findings.Pass
		msg := fmt.Sprintf("plain HTTP answers %d to %s", r.status, r.header.Get("Location"))
		if r.status == 302 || r.status == 303 || r.status == 307 {
			st = findings.Warn
			msg += " (a temporary redirect: 301 or 308 lets browsers remember it)"
		}
		s.rep.Add(rRedirect, st, s.plain.String(), 0, "%s", msg)
	default:
		s.rep.Add(rRedirect, findings.Fail, s.plain.String(), 0, "plain HTTP answers %d without a redirect to HTTPS", r.status).Parapet = enfRedirect
	}
}

func (s *scanner) checkHeaders(home *response) {
	h := home.header
	w := s.where()
	// HSTS.
	switch v := h.Get("Strict-Transport-Security"); {
	case s.base.Scheme != "https":
		s.rep.Add(rHSTS, findings.Fail, w, 0, "no HSTS: the site is not served over HTTPS").Parapet = enfHSTS
	case v == "":
		s.rep.Add(rHSTS, findings.Fail, w, 0, "no Strict-Transport-Security header").Parapet = enfHSTS
	default:
		age := int64(-1)
		for _, part := range strings.Split(v, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			if strings.EqualFold(k, "max-age") {
				age, _ = strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
			}
		}
		if age >= 31536000 {
			s.rep.Add(rHSTS, findings.Pass, w, 0, "Strict-Transport-Security: %s", v)
		} else {
			s.rep.Add(rHSTS, findings.Warn, w, 0, "Strict-Transport-Security: %s (max-age under a year)", v).Parapet = enfHSTS
		}
	}
	// CSP.
	csp := h.Get("Content-Security-Policy")
	switch ro := h.Get("Content-Security-Policy-Report-Only"); {
	case csp != "":
		s.rep.Add(rCSP, findings.Pass, w, 0, "Content-Security-Policy: %s", short(csp))
	case ro != "":
		s.rep.Add(rCSP, findings.Warn, w, 0, "only a report-only policy (nothing is enforced yet): %s", short(ro))
	default:
		s.rep.Add(rCSP, findings.Fail, w, 0, "no Content-Security-Policy").Parapet = enfCSP
	}
	// X-Frame-Options (or CSP frame-ancestors).
	switch xfo := strings.ToUpper(strings.TrimSpace(h.Get("X-Frame-Options"))); {
	case xfo == "DENY" || xfo == "SAMEORIGIN":
		s.rep.Add(rXFO, findings.Pass, w, 0, "X-Frame-Options: %s", xfo)
	case strings.Contains(csp, "frame-ancestors"):
		s.rep.Add(rXFO, findings.Pass, w, 0, "the CSP sets frame-ancestors")
	case xfo == "":
		s.rep.Add(rXFO, findings.Fail, w, 0, "no X-Frame-Options: other sites can frame the page").Parapet = enfHeader("X-Frame-Options", "DENY")
	default:
		s.rep.Add(rXFO, findings.Fail, w, 0, "X-Frame-Options: %s is not DENY or SAMEORIGIN", xfo).Parapet = enfHeader("X-Frame-Options", "DENY")
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Content-Type-Options")), "nosniff") {
		s.rep.Add(rNosniff, findings.Pass, w, 0, "X-Content-Type-Options: nosniff")
	} else {
		s.rep.Add(rNosniff, findings.Fail, w, 0, "no X-Content-Type-Options: nosniff").Parapet = enfHeader("X-Content-Type-Options", "nosniff")
	}
	switch rp := strings.ToLower(strings.TrimSpace(h.Get("Referrer-Policy"))); rp {
	case "":
		s.rep.Add(rReferrer, findings.Warn, w, 0, "no Referrer-Policy (browsers default to strict-origin-when-cross-origin)").Parapet = enfHeader("Referrer-Policy", "same-origin")
	case "unsafe-url", "no-referrer-when-downgrade":
		s.rep.Add(rReferrer, findings.Fail, w, 0, "Referrer-Policy: %s sends full URLs to other sites", rp).Parapet = enfHeader("Referrer-Policy", "same-origin")
	default:
		s.rep.Add(rReferrer, findings.Pass, w, 0, "Referrer-Policy: %s", rp)
	}
	var disclosed []string
	for _, name := range []string{"Server", "X-Powered-By", "X-AspNet-Version", "Via"} {
		if v := h.Get(name); v != "" {
			disclosed = append(disclosed, name+": "+v)
		}
	}
	if len(disclosed) == 0 {
		s.rep.Add(rServer, findings.Pass, w, 0, "no Server or X-Powered-By header")
	} else {
		s.rep.Add(rServer, findings.Warn, w, 0, "the software is named: %s", strings.Join(disclosed, "; ")).Parapet = enfServer
	}
}

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// debugMarkers are what Django's DEBUG pages say.
var debugMarkers = []string{
	"You're seeing this error because you have <code>DEBUG = True</code>",
	"You’re seeing this error because you have <code>DEBUG = True</code>",
	"Using the URLconf defined in",
	"Django tried these URL patterns",
	"Traceback (most recent call last)",
	"technical_500",
}

func (s *scanner) checkDebug() {
	u := s.at("/parapet-scan-" + randomHex(6) + "/")
	r := s.do("GET", u, nil)
	if r.err != nil {
		s.rep.Add(rDebug, findings.Unknown, u.String(), 0, "no answer: %v", r.err)
		return
	}
	for _, m := range debugMarkers {
		if strings.Contains(r.body, m) {
			s.rep.Add(rDebug, findings.Fail, u.String(), 0, "a random path gets Django's DEBUG page (%d, %q): DEBUG is on", r.status, m).Parapet = enfDebug
			return
		}
	}
	s.rep.Add(rDebug, findings.Pass, u.String(), 0, "a random path gets %d without a DEBUG page", r.status)
}

func (s *scanner) checkAdmin() {
	u := s.at("/admin/")
	r := s.do("GET", u, nil)
	if r.err != nil {
		s.rep.Add(rAdmin, findings.Unknown, u.String(), 0, "no answer: %v", r.err)
		return
	}
	loc := r.header.Get("Location")
	switch {
	case r.status == 200 && (strings.Contains(r.body, "Django administration") || strings.Contains(r.body, "Django site admin")):
		s.rep.Add(rAdmin, findings.Warn, u.String(), 0, "the Django admin answers at /admin/").Parapet = enfAdmin
	case r.status >= 300 && r.status < 400 && strings.Contains(loc, "/admin/login/"):
		s.rep.Add(rAdmin, findings.Warn, u.String(), 0, "the Django admin answers at /admin/ (%d to its login page)", r.status).Parapet = enfAdmin
	default:
		s.rep.Add(rAdmin, findings.Pass, u.String(), 0, "/admin/ answers %d: no Django admin login offered", r.status)
	}
}

func (s *scanner) checkCORS() {
	origin := "https://" + randomHex(4) + ".parapet-scan.invalid"
	r := s.do("GET", s.base, map[string]string{"Origin": origin})
	if r.err != nil {
		s.rep.Add(rCORS, findings.Unknown, s.where(), 0, "no answer: %v", r.err)
		return
	}
	acao := r.header.Get("Access-Control-Allow-Origin")
	creds := strings.EqualFold(r.header.Get("Access-Control-Allow-Credentials"), "true")
	switch {
	case acao == origin && creds:
		s.rep.Add(rCORS, findings.Fail, s.where(), 0, "any origin is reflected with Access-Control-Allow-Credentials: true: every site can read pages as the logged-in user").Parapet = enfCORS
	case acao == origin:
		s.rep.Add(rCORS, findings.Fail, s.where(), 0, "any origin is reflected in Access-Control-Allow-Origin (%s)", origin).Parapet = enfCORS
	case acao == "*":
		s.rep.Add(rCORS, findings.Warn, s.where(), 0, "Access-Control-Allow-Origin: * (any site can read public pages)").Parapet = enfCORS
	default:
		s.rep.Add(rCORS, findings.Pass, s.where(), 0, "an unknown origin is not allowed")
	}
}

func (s *scanner) checkTrace() {
	marker := "parapet-scan-" + randomHex(4)
	r := s.do("TRACE", s.base, map[string]string{"X-Parapet-Scan": marker})
	switch {
	case r.err != nil:
		s.rep.Add(rTrace, findings.Unknown, s.where(), 0, "no answer: %v", r.err)
	case r.status >= 200 && r.status < 300 && strings.Contains(r.body, marker):
		s.rep.Add(rTrace, findings.Fail, s.where(), 0, "TRACE answers %d and echoes the request (cross-site tracing)", r.status).Parapet = enfTrace
	case r.status >= 200 && r.status < 300:
		s.rep.Add(rTrace, findings.Fail, s.where(), 0, "TRACE answers %d: the method reaches the app", r.status).Parapet = enfTrace
	default:
		s.rep.Add(rTrace, findings.Pass, s.where(), 0, "TRACE answers %d", r.status)
	}
}

func sessionLike(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "session") || strings.Contains(n, "auth") || strings.Contains(n, "token") && !strings.Contains(n, "csrf")
}

func (s *scanner) checkCookies() {
	if len(s.cookies) == 0 {
		s.rep.Add(rCookies, findings.Pass, s.where(), 0, "no Set-Cookie seen on %d responses (pages with forms or logins set them: --path to add one)", s.sent)
		return
	}
	seen := map[string]bool{}
	for _, c := range s.cookies {
		if seen[c.c.Name] || c.c.MaxAge < 0 {
			continue // once per name; deletions do not count
		}
		seen[c.c.Name] = true
		var missing []string
		if s.base.Scheme == "https" && !c.c.Secure {
			missing = append(missing, "Secure")
		}
		if sessionLike(c.c.Name) && !c.c.HttpOnly {
			missing = append(missing, "HttpOnly")
		}
		if c.c.SameSite == 0 || c.c.SameSite == http.SameSiteDefaultMode || c.c.SameSite == http.SameSiteNoneMode && !c.c.Secure {
			missing = append(missing, "SameSite")
		}
		u := s.at(c.path).String()
		if len(missing) == 0 {
			s.rep.Add(rCookies, findings.Pass, u, 0, "%s has its flags", c.c.Name)
			continue
		}
		st := findings.Fail
		if !sessionLike(c.c.Name) && !strings.Contains(strings.ToLower(c.c.Name), "csrf") {
			st = findings.Warn
		}
		s.rep.Add(rCookies, st, u, 0, "Set-Cookie %s lacks %s", c.c.Name, strings.Join(missing, ", ")).Parapet = enfCookies
	}
}
