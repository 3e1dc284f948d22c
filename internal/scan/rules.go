package scan

import "github.com/parapet-waf/parapet/internal/findings"

const (
	gTransport = "HTTPS"
	gHeaders   = "Response headers"
	gLeaks     = "Leaks and exposure"
)

// The scan's rules, in report order.
var (
	rRedirect = findings.NewRule("https-redirect", gTransport, "plain HTTP redirects to HTTPS", findings.High,
		"A plain-HTTP request must get a permanent redirect to https://, so no page, form or cookie travels unencrypted.",
		"SECURE_SSL_REDIRECT = True with SECURE_PROXY_SSL_HEADER on Heroku")
	rHSTS = findings.NewRule("hsts", gTransport, "Strict-Transport-Security for a year", findings.High,
		"HSTS makes browsers use HTTPS only, so a first plain-HTTP request cannot be intercepted.",
		"SECURE_HSTS_SECONDS = 31536000")
	rCookies = findings.NewRule("cookie-flags", gTransport, "cookies carry Secure, HttpOnly and SameSite", findings.High,
		"Every Set-Cookie seen: Secure on an HTTPS site, HttpOnly on session and auth cookies, a SameSite attribute.",
		"SESSION_COOKIE_SECURE = True, CSRF_COOKIE_SECURE = True, SESSION_COOKIE_HTTPONLY = True")
	rCSP = findings.NewRule("csp", gHeaders, "a Content-Security-Policy is enforced", findings.Medium,
		"A Content-Security-Policy limits what an injected script can do; a report-only policy only reports.",
		"django-csp's CSPMiddleware with CSP_* settings")
	rXFO = findings.NewRule("x-frame-options", gHeaders, "pages cannot be framed by other sites", findings.Medium,
		"X-Frame-Options: DENY (or SAMEORIGIN, or CSP frame-ancestors) stops clickjacking.",
		"django.middleware.clickjacking.XFrameOptionsMiddleware, X_FRAME_OPTIONS = \"DENY\"")
	rNosniff = findings.NewRule("nosniff", gHeaders, "X-Content-Type-Options: nosniff", findings.Medium,
		"nosniff stops browsers guessing a content type, which turns uploads into scripts.",
		"SecurityMiddleware with SECURE_CONTENT_TYPE_NOSNIFF = True")
	rReferrer = findings.NewRule("referrer-policy", gHeaders, "a Referrer-Policy is sent", findings.Low,
		"Referrer-Policy keeps full URLs (with tokens in query strings) from other sites.",
		`SECURE_REFERRER_POLICY = "same-origin"`)
	rServer = findings.NewRule("server-header", gHeaders, "the server software is not named", findings.Low,
		"Server and X-Powered-By tell an attacker which software (and version) to look up.",
		"remove the header in the web server's config (gunicorn: --no-sendfile does not; a proxy must strip it)")
	rDebug = findings.NewRule("debug-page", gLeaks, "no DEBUG page on an unknown path", findings.High,
		"A random path must get an ordinary 404, not Django's DEBUG page with the URLconf and settings.",
		"DEBUG = False in production")
	rAdmin = findings.NewRule("admin-exposed", gLeaks, "the Django admin is not open at /admin/", findings.Medium,
		"The admin login at its well-known path is the first thing credential-stuffing bots try.",
		"move the admin to a path of your own, and limit who can reach it")
	rCORS = findings.NewRule("cors-reflect", gLeaks, "CORS does not reflect arbitrary origins", findings.High,
		"A site that answers any Origin with Access-Control-Allow-Origin lets every website read its pages in its visitors' browsers.",
		"CORS_ALLOWED_ORIGINS with your front-ends only")
	rTrace = findings.NewRule("trace-method", gLeaks, "TRACE is refused", findings.Low,
		"TRACE echoes the request, headers included: cross-site tracing and a sign nothing filters methods.",
		"refuse TRACE at the proxy")
)

// Rules is the scan's checklist.
var Rules = []*findings.Rule{rRedirect, rHSTS, rCookies, rCSP, rXFO, rNosniff, rReferrer, rServer, rDebug, rAdmin, rCORS, rTrace}

var (
	enfRedirect = &findings.Enforce{Summary: "edge.https_redirect: auto redirects plain-HTTP requests (as the trusted proxy, Heroku's router, reports them) with 301 (the default)",
		Changes: []findings.Change{{Path: []string{"edge", "https_redirect"}, Value: "auto"}}}
	enfHSTS = &findings.Enforce{Summary: "harden.hsts sends Strict-Transport-Security (one year, includeSubDomains) on HTTPS responses (on by default)",
		Changes: []findings.Change{{Path: []string{"harden", "hsts", "enabled"}, Value: true}, {Path: []string{"harden", "hsts", "max_age"}, Value: "8760h"}}}
	enfCookies = &findings.Enforce{Summary: "harden.cookies adds Secure (over HTTPS), HttpOnly and SameSite=Lax to sessionid and csrftoken (on by default; other cookies need an entry)",
		Changes: []findings.Change{
			{Path: []string{"harden", "cookies"}, AppendKey: "name", Value: map[string]any{"name": "sessionid", "secure": true, "http_only": true, "same_site": "Lax"}},
			{Path: []string{"harden", "cookies"}, AppendKey: "name", Value: map[string]any{"name": "csrftoken", "secure": true, "same_site": "Lax"}},
		}}
	enfCSP = &findings.Enforce{Summary: "harden.csp sends a report-only starter policy on HTML pages without one and collects the reports; parapet csp suggest turns them into a policy to enforce",
		Changes: []findings.Change{{Path: []string{"harden", "csp", "report_path"}, Value: "/_parapet/csp-report"}}}
	enfServer = &findings.Enforce{Summary: "harden.remove_headers drops Server and X-Powered-By (the default)",
		Changes: []findings.Change{{Path: []string{"harden", "remove_headers"}, Value: []string{"Server", "X-Powered-By"}}}}
	enfDebug = &findings.Enforce{Summary: "harden.leak_guard replaces DEBUG pages and tracebacks with a generic page (on by default); DEBUG must still be turned off",
		Changes: []findings.Change{{Path: []string{"harden", "leak_guard", "enabled"}, Value: true}}}
	enfAdmin = &findings.Enforce{Summary: "an access rule can challenge (or allow only your IPs to reach) /admin/; rl-login limits its login POSTs by default",
		Advice: "rules:\n  - id: admin-office      # allow rules win: your addresses first\n    action: allow\n    ips: [203.0.113.0/24]   # yours\n    paths: [/admin/]\n  - id: admin-others\n    action: challenge    # or block\n    paths: [/admin/]"}
	enfCORS = &findings.Enforce{Summary: "harden.cors answers CORS preflights at the edge for the origins you list (others get 403)",
		Advice: "harden:\n  cors:\n    - paths: [/api/]\n      allowed_origins: [https://app.example.com]   # yours"}
	enfTrace = &findings.Enforce{Summary: "edge.allowed_methods answers other methods, TRACE included, with 405 (the default list)",
		Changes: []findings.Change{{Path: []string{"edge", "allowed_methods"}, Value: []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}}}}
)

func enfHeader(name, value string) *findings.Enforce {
	return &findings.Enforce{Summary: "harden.headers sends " + name + ": " + value + " on responses without one (the default)",
		Changes: []findings.Change{{Path: []string{"harden", "headers", name}, Value: value}}}
}
