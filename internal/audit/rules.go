package audit

import (
	"fmt"
	"strings"

	"github.com/parapet-waf/parapet/internal/findings"
)

// Checklist groups, in report order.
const (
	gCore    = "Core settings"
	gMW      = "Middleware"
	gCookies = "Cookies"
	gHTTPS   = "HTTPS and headers"
	gAuth    = "Passwords and APIs"
	gData    = "Database and logging"
	gDeploy  = "Heroku deployment"
	gSecrets = "Secrets"
	gCode    = "Code"
)

// The audit's rules, in checklist order.
var (
	rDebug = findings.NewRule("debug-off", gCore, "DEBUG is off in production", findings.High,
		"DEBUG = True shows tracebacks, settings and the URLconf to anyone who triggers an error, and keeps every SQL query in memory. Read it from the environment with a False default.",
		`DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1" (False unless set)`)
	rSecretKey = findings.NewRule("secret-key", gCore, "SECRET_KEY comes from the environment and is strong", findings.High,
		"A SECRET_KEY in the source is in every clone and in git history: anyone with it can forge sessions, password reset links and signed cookies. It must be long (50+ random characters) and come from the environment without a fallback.",
		`SECRET_KEY = os.environ["DJANGO_SECRET_KEY"] (no default); generate one with django.core.management.utils.get_random_secret_key() and rotate the old one`)
	rAllowedHosts = findings.NewRule("allowed-hosts", gCore, "ALLOWED_HOSTS names the site's hosts", findings.Medium,
		"ALLOWED_HOSTS = ['*'] accepts any Host header: password reset mails and absolute URLs can be pointed at an attacker's domain (host header poisoning).",
		`ALLOWED_HOSTS = ["www.example.com", ".herokuapp.com"] (or from the environment, without "*")`)
	rCSRF = findings.NewRule("csrf-middleware", gMW, "CsrfViewMiddleware is on", findings.High,
		"Without django.middleware.csrf.CsrfViewMiddleware every form and session-authenticated POST can be forged from another site.",
		`keep "django.middleware.csrf.CsrfViewMiddleware" in MIDDLEWARE`)
	rSecurityMW = findings.NewRule("security-middleware", gMW, "SecurityMiddleware is first", findings.Medium,
		"django.middleware.security.SecurityMiddleware applies SECURE_* (HTTPS redirect, HSTS, nosniff, referrer policy); first in MIDDLEWARE so its redirect happens before any other work.",
		`put "django.middleware.security.SecurityMiddleware" first in MIDDLEWARE`)
	rXFrameMW = findings.NewRule("xframe-middleware", gMW, "XFrameOptionsMiddleware is on", findings.Medium,
		"Without django.middleware.clickjacking.XFrameOptionsMiddleware pages can be framed by other sites (clickjacking).",
		`add "django.middleware.clickjacking.XFrameOptionsMiddleware" to MIDDLEWARE`)
	rWhiteNoise = findings.NewRule("whitenoise", gMW, "WhiteNoise serves static files", findings.Low,
		"On Heroku static files are served by the app: whitenoise.middleware.WhiteNoiseMiddleware, right after SecurityMiddleware, serves them with far-future caching and compression instead of DEBUG-only views.",
		`pip install whitenoise; add "whitenoise.middleware.WhiteNoiseMiddleware" after SecurityMiddleware`)
	rSessionSecure = findings.NewRule("session-cookie-secure", gCookies, "SESSION_COOKIE_SECURE is True", findings.High,
		"Without Secure the session cookie is sent over plain HTTP, where anyone on the network can read it and take over the session.",
		"SESSION_COOKIE_SECURE = True")
	rCSRFSecure = findings.NewRule("csrf-cookie-secure", gCookies, "CSRF_COOKIE_SECURE is True", findings.Medium,
		"Without Secure the CSRF cookie is sent over plain HTTP.", "CSRF_COOKIE_SECURE = True")
	rSessionHTTPOnly = findings.NewRule("session-cookie-httponly", gCookies, "SESSION_COOKIE_HTTPONLY is not turned off", findings.Medium,
		"With HttpOnly off, JavaScript (and any XSS) can read the session cookie.", "remove SESSION_COOKIE_HTTPONLY = False (the default is True)")
	rSameSite = findings.NewRule("cookie-samesite", gCookies, "cookies keep SameSite", findings.Low,
		"SESSION_COOKIE_SAMESITE/CSRF_COOKIE_SAMESITE = None sends the cookies on cross-site requests, which SameSite=Lax (the default) stops.",
		`leave SESSION_COOKIE_SAMESITE and CSRF_COOKIE_SAMESITE at "Lax"`)
	rSSLRedirect = findings.NewRule("ssl-redirect", gHTTPS, "plain HTTP is redirected to HTTPS", findings.High,
		"SECURE_SSL_REDIRECT = True answers every plain-HTTP request with a redirect to HTTPS, so no page, form or cookie travels unencrypted.",
		"SECURE_SSL_REDIRECT = True (with SECURE_PROXY_SSL_HEADER on Heroku)")
	rProxySSL = findings.NewRule("proxy-ssl-header", gHTTPS, "SECURE_PROXY_SSL_HEADER trusts Heroku's X-Forwarded-Proto", findings.Medium,
		"Behind Heroku's router Django sees plain HTTP: without SECURE_PROXY_SSL_HEADER, request.is_secure() is False, SECURE_SSL_REDIRECT loops and absolute URLs say http://.",
		`SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")`)
	rHSTS = findings.NewRule("hsts", gHTTPS, "HSTS for at least a year", findings.High,
		"SECURE_HSTS_SECONDS makes browsers use HTTPS only for the site, so a first plain-HTTP request cannot be intercepted (SSL stripping). A year (31536000) is what preload lists ask.",
		"SECURE_HSTS_SECONDS = 31536000")
	rHSTSSub = findings.NewRule("hsts-subdomains", gHTTPS, "HSTS covers subdomains", findings.Low,
		"SECURE_HSTS_INCLUDE_SUBDOMAINS = True extends HSTS to every subdomain, which cookies set for the parent domain need.",
		"SECURE_HSTS_INCLUDE_SUBDOMAINS = True")
	rHSTSPreload = findings.NewRule("hsts-preload", gHTTPS, "HSTS preload", findings.Low,
		"SECURE_HSTS_PRELOAD = True (and submitting the domain to hstspreload.org) protects even the very first visit.",
		"SECURE_HSTS_PRELOAD = True, once every subdomain serves HTTPS")
	rNosniff = findings.NewRule("nosniff", gHTTPS, "X-Content-Type-Options: nosniff", findings.Medium,
		"SECURE_CONTENT_TYPE_NOSNIFF (True by default) stops browsers guessing a content type, which turns uploaded files into scripts.",
		"remove SECURE_CONTENT_TYPE_NOSNIFF = False")
	rXFO = findings.NewRule("x-frame-options", gHTTPS, "X_FRAME_OPTIONS is DENY or SAMEORIGIN", findings.Medium,
		"X_FRAME_OPTIONS is the X-Frame-Options value XFrameOptionsMiddleware sends; anything but DENY or SAMEORIGIN lets other sites frame the pages.",
		`X_FRAME_OPTIONS = "DENY"`)
	rCSP = findings.NewRule("csp", gHTTPS, "a Content Security Policy is configured", findings.Medium,
		"A Content-Security-Policy (django-csp: csp.middleware.CSPMiddleware with CSP_* or CONTENT_SECURITY_POLICY settings) limits what an injected script can do.",
		`pip install django-csp; add "csp.middleware.CSPMiddleware" to MIDDLEWARE and set CSP_DEFAULT_SRC = ("'self'",)`)
	rPasswords = findings.NewRule("password-validators", gAuth, "password validators require 12+ characters", findings.Medium,
		"AUTH_PASSWORD_VALIDATORS decides which passwords users may choose; MinimumLengthValidator defaults to 8 characters, NIST and OWASP ask for more.",
		`AUTH_PASSWORD_VALIDATORS with {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}} and the common-password, similarity and numeric validators`)
	rResetTimeout = findings.NewRule("password-reset-timeout", gAuth, "password reset links expire within a day", findings.Low,
		"PASSWORD_RESET_TIMEOUT (seconds; 3 days by default) is how long a reset link in a mailbox can take over the account.",
		"PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 (or less)")
	rDRFAuth = findings.NewRule("drf-authentication", gAuth, "REST framework authentication classes are chosen", findings.Medium,
		"Without DEFAULT_AUTHENTICATION_CLASSES Django REST framework accepts session and HTTP Basic authentication; Basic sends the password with every request and invites brute force.",
		`REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication", ...]} without BasicAuthentication`)
	rDRFThrottle = findings.NewRule("drf-throttling", gAuth, "REST framework throttles requests", findings.Medium,
		"Without DEFAULT_THROTTLE_CLASSES and DEFAULT_THROTTLE_RATES an API can be scraped or brute-forced at any rate.",
		`REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["rest_framework.throttling.AnonRateThrottle", "rest_framework.throttling.UserRateThrottle"] with DEFAULT_THROTTLE_RATES {"anon": "100/hour", "user": "1000/hour"}`)
	rCORS = findings.NewRule("cors-allow-all", gAuth, "CORS does not allow every origin", findings.High,
		"CORS_ALLOW_ALL_ORIGINS (CORS_ORIGIN_ALLOW_ALL) = True lets any website read the API's answers in its visitors' browsers; with CORS_ALLOW_CREDENTIALS it reads them as the logged-in user.",
		"CORS_ALLOWED_ORIGINS = [\"https://app.example.com\"] instead of allowing all")
	rDBSSL = findings.NewRule("database-ssl", gData, "the database connection uses TLS", findings.Medium,
		"Heroku Postgres takes TLS connections; without sslmode=require (dj_database_url's ssl_require=True) the driver may talk to the database in the clear.",
		`DATABASES = {"default": dj_database_url.config(conn_max_age=600, ssl_require=True)}`)
	rDBConn = findings.NewRule("database-conn-max-age", gData, "database connections are reused", findings.Low,
		"CONN_MAX_AGE = 0 (the default) opens a database connection for every request, which exhausts Heroku Postgres connection limits under load.",
		"conn_max_age=600 in dj_database_url.config(), or CONN_MAX_AGE = 600")
	rLogging = findings.NewRule("logging-level", gData, "logging is configured, not at DEBUG", findings.Low,
		"Without LOGGING errors go to ADMINS by mail only; at DEBUG level django.db.backends logs every SQL query with its parameters (passwords, tokens) to the Heroku log.",
		`LOGGING = {..., "root": {"handlers": ["console"], "level": "INFO"}}`)
	rRuntime = findings.NewRule("python-runtime", gDeploy, "the Python version is pinned", findings.Low,
		"runtime.txt or .python-version pins the Python Heroku builds with, so a deploy never changes interpreter (and its security fixes) unannounced.",
		`echo "3.12" > .python-version`)
	rProcfile = findings.NewRule("procfile-server", gDeploy, "Procfile runs a production server", findings.High,
		"manage.py runserver is a development server (it serves static files, has DEBUG-style behaviour and no worker model); production needs gunicorn, uvicorn, daphne or waitress.",
		"web: gunicorn mysite.wsgi (behind Parapet: web: parapet -- gunicorn mysite.wsgi)")
	rRequirements = findings.NewRule("requirements-pinned", gDeploy, "requirements are pinned to exact versions", findings.Medium,
		"An unpinned requirement installs whatever is newest at build time: builds stop being reproducible and a compromised release goes straight to production.",
		"pin every line with == (pip freeze, pip-compile) or deploy from a lock file")
	rEnvIgnored = findings.NewRule("env-gitignored", gDeploy, ".env is ignored by git", findings.High,
		"A .env file holds the app's secrets for local use; unless .gitignore names it, one git add . publishes them.",
		`add ".env" to .gitignore (and rotate anything already committed)`)
	rSecretsTree = findings.NewRule("secrets-in-tree", gSecrets, "no secrets in the source", findings.High,
		"Keys, tokens and passwords in files are in every clone, backup and CI log. Patterns for AWS, GitHub, Stripe, Slack, Google and private keys, database URLs with passwords, and high-entropy strings assigned to KEY/SECRET/TOKEN/PASSWORD names in settings.",
		"move the value to an environment variable (heroku config:set) and rotate it: it is compromised")
	rSecretsHistory = findings.NewRule("secrets-in-history", gSecrets, "no secrets in git history", findings.High,
		"A secret removed from the files is still in every commit that had it; anyone who clones the repository has it.",
		"rotate the secret; rewriting history (git filter-repo) does not reach existing clones")
	rRawSQL = findings.NewRule("raw-sql", gCode, "raw SQL is not built from strings", findings.High,
		".raw(), .extra(), RawSQL() and cursor.execute() with a query built by f-string, + or % formatting or .format() are SQL injection when any piece comes from a request.",
		`pass values as parameters: cursor.execute("... WHERE id = %s", [user_id]), Model.objects.raw("... %s", [x])`)
)

// Rules is the audit's checklist, in order.
var Rules = []*findings.Rule{
	rDebug, rSecretKey, rAllowedHosts,
	rCSRF, rSecurityMW, rXFrameMW, rWhiteNoise,
	rSessionSecure, rCSRFSecure, rSessionHTTPOnly, rSameSite,
	rSSLRedirect, rProxySSL, rHSTS, rHSTSSub, rHSTSPreload, rNosniff, rXFO, rCSP,
	rPasswords, rResetTimeout, rDRFAuth, rDRFThrottle, rCORS,
	rDBSSL, rDBConn, rLogging,
	rRuntime, rProcfile, rRequirements, rEnvIgnored,
	rSecretsTree, rSecretsHistory,
	rRawSQL,
}

// What Parapet does at the edge for each finding, with its config keys
// (internal/config; docs/CONFIG.md).
var (
	cookieItems = []findings.Change{
		{Path: []string{"harden", "cookies"}, AppendKey: "name", Value: map[string]any{"name": "sessionid", "secure": true, "http_only": true, "same_site": "Lax"}},
		{Path: []string{"harden", "cookies"}, AppendKey: "name", Value: map[string]any{"name": "csrftoken", "secure": true, "same_site": "Lax"}},
	}
	enfCookies = &findings.Enforce{Summary: "harden.cookies adds Secure (over HTTPS), HttpOnly and SameSite=Lax to sessionid and csrftoken (on by default; a renamed cookie needs its own entry)",
		Changes: append([]findings.Change{{Path: []string{"harden", "enabled"}, Value: true}}, cookieItems...)}
	enfHSTS = &findings.Enforce{Summary: "harden.hsts sends Strict-Transport-Security (one year, includeSubDomains) on HTTPS responses (on by default)",
		Changes: []findings.Change{{Path: []string{"harden", "enabled"}, Value: true}, {Path: []string{"harden", "hsts", "enabled"}, Value: true},
			{Path: []string{"harden", "hsts", "max_age"}, Value: "8760h"}, {Path: []string{"harden", "hsts", "include_subdomains"}, Value: true}}}
	enfHSTSPreload = &findings.Enforce{Summary: "harden.hsts.preload adds preload to the header (off by default: submit the domain to hstspreload.org first)",
		Advice: "harden:\n  hsts:\n    preload: true"}
	enfRedirect = &findings.Enforce{Summary: "edge.https_redirect: auto answers plain-HTTP requests (as the trusted proxy, Heroku's router, reports them) with 301 to https:// (the default; on a dyno trusted_proxies defaults to heroku)",
		Changes: []findings.Change{{Path: []string{"edge", "https_redirect"}, Value: "auto"}}}
	enfProxySSL = &findings.Enforce{Summary: "Parapet sends Django one clean X-Forwarded-Proto, so SECURE_PROXY_SSL_HEADER is safe to set; Django still needs the setting itself"}
	enfDebug    = &findings.Enforce{Summary: "harden.leak_guard replaces DEBUG pages and tracebacks with a generic error page (on by default); DEBUG itself must still be turned off",
		Changes: []findings.Change{{Path: []string{"harden", "leak_guard", "enabled"}, Value: true}}}
	enfSecret = &findings.Enforce{Summary: "the leak guard never lets a SECRET_KEY = '...' line out in a response; add the key's value to its patterns (in an environment variable, not in the file)",
		Advice: "PARAPET_HARDEN_LEAK_GUARD_SECRET_PATTERNS=<the literal SECRET_KEY>"}
	enfHosts = &findings.Enforce{Summary: "edge.allowed_hosts refuses other Host headers with 400 before Django sees them",
		Advice: "edge:\n  allowed_hosts: [www.example.com, .herokuapp.com]   # your hosts"}
	enfThrottle = &findings.Enforce{Summary: "rate_limits.throttles does DRF's AnonRateThrottle/UserRateThrottle at the edge (429 with Retry-After)",
		Changes: []findings.Change{{Path: []string{"rate_limits", "throttles", "anon"}, Value: "100/hour"}, {Path: []string{"rate_limits", "throttles", "user"}, Value: "1000/hour"}}}
	enfCORS = &findings.Enforce{Summary: "harden.cors answers CORS preflights at the edge for the origins you list (a refused origin gets 403)",
		Advice: "harden:\n  cors:\n    - paths: [/api/]\n      allowed_origins: [https://app.example.com]   # yours"}
	enfCSP = &findings.Enforce{Summary: "harden.csp sends a report-only starter policy on HTML pages without one and collects the reports; parapet csp suggest turns them into a policy (on by default)",
		Changes: []findings.Change{{Path: []string{"harden", "csp", "report_path"}, Value: "/_parapet/csp-report"}}}
	enfLogin = &findings.Enforce{Summary: "rate_limits.defaults limits login and password-reset POSTs per client (rl-login 5/minute, rl-password-reset 5/hour; on by default)",
		Changes: []findings.Change{{Path: []string{"rate_limits", "defaults"}, Value: true}}}
)

func enfHeader(name, value, what string) *findings.Enforce {
	return &findings.Enforce{Summary: fmt.Sprintf("harden.headers sends %s: %s on responses without one (%s; on by default)", name, value, what),
		Changes: []findings.Change{{Path: []string{"harden", "enabled"}, Value: true}, {Path: []string{"harden", "headers", name}, Value: value}}}
}

// describe says how a binding got its value, for messages.
func describeValue(v *Value) string {
	if n := v.EnvNote(); n != "" {
		return n
	}
	return v.Python()
}

func (a *auditor) add(r *findings.Rule, st findings.Status, b *Binding, format string, args ...any) *findings.Finding {
	file, line := a.settingsFile, 0
	if b != nil {
		file, line = b.File, b.Line
	}
	return a.rep.Add(r, st, file, line, format, args...)
}

// unknownOr reports "cannot tell" for a binding computed at run time and
// returns true.
func (a *auditor) unknownOr(r *findings.Rule, name string, b *Binding) bool {
	if b == nil || b.Value.Known() {
		return false
	}
	a.add(r, findings.Unknown, b, "%s: %s", name, b.Value.Why)
	return true
}

func (a *auditor) middleware() (*Binding, []string, bool) {
	b := a.s.Get("MIDDLEWARE")
	if b == nil {
		b = a.s.Get("MIDDLEWARE_CLASSES")
	}
	if b == nil {
		return nil, nil, true
	}
	list, ok := b.Value.Strings()
	return b, list, ok
}

// middlewareLine finds the line of a middleware entry.
func middlewareLine(b *Binding, name string) (string, int) {
	for _, e := range b.Value.Elts {
		if e.Kind == Str && e.S == name && e.Line > 0 {
			return e.File, e.Line
		}
	}
	return b.File, b.Line
}

func (a *auditor) boolSetting(name string, def bool) (*Binding, bool, bool) {
	b := a.s.Get(name)
	if b == nil {
		return nil, def, true
	}
	t, ok := b.Value.Truthy()
	return b, t, ok && b.Value.Kind != Unknown
}

func (a *auditor) checkSettings() {
	a.checkDebug()
	a.checkSecretKey()
	a.checkAllowedHosts()
	a.checkMiddleware()
	a.checkCookies()
	a.checkHTTPS()
	a.checkAuth()
	a.checkData()
}

func (a *auditor) checkDebug() {
	b := a.s.Get("DEBUG")
	switch {
	case b == nil:
		a.add(rDebug, findings.Pass, nil, "DEBUG is not set (Django's default is False)")
	case a.unknownOr(rDebug, "DEBUG", b):
	default:
		t, _ := b.Value.Truthy()
		if t {
			f := a.add(rDebug, findings.Fail, b, "DEBUG is %s", describeValue(b.Value))
			f.Parapet = enfDebug
		} else {
			a.add(rDebug, findings.Pass, b, "DEBUG is %s", describeValue(b.Value))
		}
	}
}

func (a *auditor) checkSecretKey() {
	b := a.s.Get("SECRET_KEY")
	if b == nil {
		a.add(rSecretKey, findings.Warn, nil, "SECRET_KEY is not set in the settings read (Django refuses to start without one)")
		return
	}
	v := b.Value
	if v.Required != "" && v.Kind == Unknown {
		a.add(rSecretKey, findings.Pass, b, "SECRET_KEY is read from the environment variable %s with no default", v.Required)
		return
	}
	if v.Kind != Str {
		a.unknownOr(rSecretKey, "SECRET_KEY", b)
		if v.Known() {
			a.add(rSecretKey, findings.Fail, b, "SECRET_KEY is %s, not a string", v.Python())
		}
		return
	}
	var problems []string
	if len(v.Env) > 0 {
		problems = append(problems, fmt.Sprintf("falls back to a key written in the source when %s is unset", strings.Join(v.Env, "/")))
	} else {
		problems = append(problems, "is hard-coded in the source")
	}
	if len(v.S) < 50 {
		problems = append(problems, fmt.Sprintf("is %d characters long (50+ wanted)", len(v.S)))
	}
	if strings.HasPrefix(v.S, "django-insecure-") {
		problems = append(problems, "is the django-insecure- key startproject made")
	} else if distinct(v.S) < 5 && v.S != "" {
		problems = append(problems, "has fewer than 5 distinct characters")
	}
	f := a.add(rSecretKey, findings.Fail, b, "SECRET_KEY %s", strings.Join(problems, ", "))
	if v.Line > 0 && v.File != "" {
		f.File, f.Line = v.File, v.Line
	}
	f.Parapet = enfSecret
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

func (a *auditor) checkAllowedHosts() {
	b := a.s.Get("ALLOWED_HOSTS")
	if b == nil {
		a.add(rAllowedHosts, findings.Warn, nil, "ALLOWED_HOSTS is not set: with DEBUG off Django answers 400 to every request")
		return
	}
	if a.unknownOr(rAllowedHosts, "ALLOWED_HOSTS", b) {
		return
	}
	hosts, ok := b.Value.Strings()
	if !ok {
		a.add(rAllowedHosts, findings.Unknown, b, "ALLOWED_HOSTS is %s", b.Value.Python())
		return
	}
	for i, h := range hosts {
		if h == "*" {
			f := a.add(rAllowedHosts, findings.Fail, b, "ALLOWED_HOSTS contains \"*\"%s", envSuffix(b.Value))
			if e := b.Value.Elts[i]; e.Line > 0 {
				f.File, f.Line = e.File, e.Line
			}
			f.Parapet = enfHosts
			return
		}
	}
	a.add(rAllowedHosts, findings.Pass, b, "ALLOWED_HOSTS is %s", describeValue(b.Value))
}

func envSuffix(v *Value) string {
	if len(v.Env) > 0 {
		return " (the default when " + strings.Join(v.Env, ", ") + " is unset)"
	}
	return ""
}

func (a *auditor) checkMiddleware() {
	b, list, ok := a.middleware()
	if b == nil {
		a.add(rCSRF, findings.Fail, nil, "MIDDLEWARE is not set: no CSRF protection")
		a.add(rSecurityMW, findings.Fail, nil, "MIDDLEWARE is not set").Parapet = enfHeader("X-Content-Type-Options", "nosniff", "and the other security headers")
		a.add(rXFrameMW, findings.Fail, nil, "MIDDLEWARE is not set").Parapet = enfHeader("X-Frame-Options", "DENY", "clickjacking")
		return
	}
	if !ok {
		for _, r := range []*findings.Rule{rCSRF, rSecurityMW, rXFrameMW, rWhiteNoise} {
			a.add(r, findings.Unknown, b, "MIDDLEWARE: %s", b.Value.Why)
		}
		return
	}
	idx := func(name string) int {
		for i, m := range list {
			if m == name {
				return i
			}
		}
		return -1
	}
	if i := idx("django.middleware.csrf.CsrfViewMiddleware"); i >= 0 {
		f, l := middlewareLine(b, list[i])
		a.rep.Add(rCSRF, findings.Pass, f, l, "CsrfViewMiddleware is in MIDDLEWARE")
	} else {
		a.add(rCSRF, findings.Fail, b, "CsrfViewMiddleware is not in MIDDLEWARE")
	}
	switch i := idx("django.middleware.security.SecurityMiddleware"); {
	case i == 0:
		f, l := middlewareLine(b, list[i])
		a.rep.Add(rSecurityMW, findings.Pass, f, l, "SecurityMiddleware is first")
	case i > 0:
		f, l := middlewareLine(b, list[i])
		a.rep.Add(rSecurityMW, findings.Warn, f, l, "SecurityMiddleware is number %d in MIDDLEWARE, after %s", i+1, list[0])
	default:
		a.add(rSecurityMW, findings.Fail, b, "SecurityMiddleware is not in MIDDLEWARE: no SECURE_* setting has any effect").Parapet =
			enfHeader("X-Content-Type-Options", "nosniff", "with HSTS, Referrer-Policy and the HTTPS redirect")
	}
	if i := idx("django.middleware.clickjacking.XFrameOptionsMiddleware"); i >= 0 {
		f, l := middlewareLine(b, list[i])
		a.rep.Add(rXFrameMW, findings.Pass, f, l, "XFrameOptionsMiddleware is in MIDDLEWARE")
	} else {
		a.add(rXFrameMW, findings.Fail, b, "XFrameOptionsMiddleware is not in MIDDLEWARE").Parapet = enfHeader("X-Frame-Options", "DENY", "clickjacking")
	}
	if i := idx("whitenoise.middleware.WhiteNoiseMiddleware"); i >= 0 {
		f, l := middlewareLine(b, list[i])
		a.rep.Add(rWhiteNoise, findings.Pass, f, l, "WhiteNoiseMiddleware is in MIDDLEWARE")
	} else {
		a.add(rWhiteNoise, findings.Warn, b, "WhiteNoiseMiddleware is not in MIDDLEWARE")
	}
}

func (a *auditor) checkCookies() {
	check := func(r *findings.Rule, name string, def bool, want bool, enf *findings.Enforce) {
		b, v, ok := a.boolSetting(name, def)
		switch {
		case !ok:
			a.unknownOr(r, name, b)
		case v == want && b == nil:
			a.add(r, findings.Pass, nil, "%s is not set (default %v)", name, pyBool(def))
		case v == want:
			a.add(r, findings.Pass, b, "%s is %s", name, describeValue(b.Value))
		default:
			st := findings.Fail
			msg := fmt.Sprintf("%s is %s", name, pyBool(v))
			if b == nil {
				msg = fmt.Sprintf("%s is not set (default %s)", name, pyBool(def))
			} else if len(b.Value.Env) > 0 {
				msg = fmt.Sprintf("%s is %s", name, describeValue(b.Value))
			}
			f := a.add(r, st, b, "%s", msg)
			f.Parapet = enf
		}
	}
	check(rSessionSecure, "SESSION_COOKIE_SECURE", false, true, enfCookies)
	check(rCSRFSecure, "CSRF_COOKIE_SECURE", false, true, enfCookies)
	check(rSessionHTTPOnly, "SESSION_COOKIE_HTTPONLY", true, true, enfCookies)
	bad := false
	for _, name := range []string{"SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE"} {
		b := a.s.Get(name)
		if b == nil || a.unknownOr(rSameSite, name, b) {
			continue
		}
		if b.Value.Kind == None || b.Value.Kind == Str && strings.EqualFold(b.Value.S, "none") || b.Value.Kind == Bool && !b.Value.B {
			a.add(rSameSite, findings.Warn, b, "%s is %s: the cookie goes with cross-site requests", name, b.Value.Python()).Parapet = enfCookies
			bad = true
		}
	}
	if !bad {
		a.add(rSameSite, findings.Pass, nil, "SESSION_COOKIE_SAMESITE and CSRF_COOKIE_SAMESITE keep SameSite")
	}
}

func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (a *auditor) intSetting(r *findings.Rule, name string) (*Binding, int64, bool) {
	b := a.s.Get(name)
	if b == nil {
		return nil, 0, true
	}
	if a.unknownOr(r, name, b) {
		return b, 0, false
	}
	switch b.Value.Kind {
	case Int:
		return b, b.Value.I, true
	case Float:
		return b, int64(b.Value.F), true
	case None, Bool:
		if b.Value.B {
			return b, 1, true
		}
		return b, 0, true
	}
	a.add(r, findings.Unknown, b, "%s is %s", name, b.Value.Python())
	return b, 0, false
}

func (a *auditor) checkHTTPS() {
	simple := func(r *findings.Rule, name string, def, want bool, st findings.Status, enf *findings.Enforce, why string) {
		b, v, ok := a.boolSetting(name, def)
		switch {
		case !ok:
			a.unknownOr(r, name, b)
		case v == want:
			if b == nil {
				a.add(r, findings.Pass, nil, "%s is not set (default %s)", name, pyBool(def))
			} else {
				a.add(r, findings.Pass, b, "%s is %s", name, describeValue(b.Value))
			}
		default:
			msg := fmt.Sprintf("%s is %s%s", name, pyBool(v), why)
			if b == nil {
				msg = fmt.Sprintf("%s is not set (default %s)%s", name, pyBool(def), why)
			}
			a.add(r, st, b, "%s", msg).Parapet = enf
		}
	}
	simple(rSSLRedirect, "SECURE_SSL_REDIRECT", false, true, findings.Fail, enfRedirect, "")
	if b := a.s.Get("SECURE_PROXY_SSL_HEADER"); b == nil {
		a.add(rProxySSL, findings.Warn, nil, "SECURE_PROXY_SSL_HEADER is not set: behind Heroku's router Django takes every request for plain HTTP").Parapet = enfProxySSL
	} else if !a.unknownOr(rProxySSL, "SECURE_PROXY_SSL_HEADER", b) {
		if s, ok := b.Value.Strings(); ok && len(s) == 2 && s[0] == "HTTP_X_FORWARDED_PROTO" && s[1] == "https" {
			a.add(rProxySSL, findings.Pass, b, "SECURE_PROXY_SSL_HEADER is %s", b.Value.Python())
		} else {
			a.add(rProxySSL, findings.Warn, b, "SECURE_PROXY_SSL_HEADER is %s (Heroku's router sets X-Forwarded-Proto: HTTP_X_FORWARDED_PROTO, https)", b.Value.Python()).Parapet = enfProxySSL
		}
	}
	if b, n, ok := a.intSetting(rHSTS, "SECURE_HSTS_SECONDS"); ok {
		switch {
		case n >= 31536000:
			a.add(rHSTS, findings.Pass, b, "SECURE_HSTS_SECONDS is %d", n)
		case n > 0:
			a.add(rHSTS, findings.Warn, b, "SECURE_HSTS_SECONDS is %d (less than a year)", n).Parapet = enfHSTS
		case b == nil:
			a.add(rHSTS, findings.Fail, nil, "SECURE_HSTS_SECONDS is not set: no HSTS").Parapet = enfHSTS
		default:
			a.add(rHSTS, findings.Fail, b, "SECURE_HSTS_SECONDS is %s: no HSTS", describeValue(b.Value)).Parapet = enfHSTS
		}
	}
	simple(rHSTSSub, "SECURE_HSTS_INCLUDE_SUBDOMAINS", false, true, findings.Warn, enfHSTS, "")
	simple(rHSTSPreload, "SECURE_HSTS_PRELOAD", false, true, findings.Warn, enfHSTSPreload, "")
	simple(rNosniff, "SECURE_CONTENT_TYPE_NOSNIFF", true, true, findings.Fail, enfHeader("X-Content-Type-Options", "nosniff", "content sniffing"), "")
	if b := a.s.Get("X_FRAME_OPTIONS"); b == nil {
		a.add(rXFO, findings.Pass, nil, "X_FRAME_OPTIONS is not set (default DENY)")
	} else if !a.unknownOr(rXFO, "X_FRAME_OPTIONS", b) {
		if b.Value.Kind == Str && (strings.EqualFold(b.Value.S, "DENY") || strings.EqualFold(b.Value.S, "SAMEORIGIN")) {
			a.add(rXFO, findings.Pass, b, "X_FRAME_OPTIONS is %s", b.Value.Python())
		} else {
			a.add(rXFO, findings.Fail, b, "X_FRAME_OPTIONS is %s", b.Value.Python()).Parapet = enfHeader("X-Frame-Options", "DENY", "clickjacking")
		}
	}
	// CSP: django-csp's middleware and a policy, or Django 6's setting.
	_, mw, _ := a.middleware()
	hasMW := contains(mw, "csp.middleware.CSPMiddleware") || contains(mw, "django.middleware.csp.ContentSecurityPolicyMiddleware")
	var policy *Binding
	for _, name := range []string{"CONTENT_SECURITY_POLICY", "SECURE_CSP", "CSP_DEFAULT_SRC", "CSP_SCRIPT_SRC"} {
		if b := a.s.Get(name); b != nil {
			policy = b
			break
		}
	}
	switch {
	case hasMW && policy != nil:
		a.add(rCSP, findings.Pass, policy, "a CSP middleware and policy are configured")
	case hasMW:
		b, _, _ := a.middleware()
		a.add(rCSP, findings.Warn, b, "the CSP middleware is on but no policy setting (CSP_* or CONTENT_SECURITY_POLICY) was found").Parapet = enfCSP
	default:
		b, _, _ := a.middleware()
		a.add(rCSP, findings.Fail, b, "no Content Security Policy: django-csp's middleware is not in MIDDLEWARE").Parapet = enfCSP
	}
}

func (a *auditor) installed(app string) bool {
	b := a.s.Get("INSTALLED_APPS")
	if b == nil {
		return false
	}
	list, _ := b.Value.Strings()
	for _, e := range b.Value.Elts {
		if e.Kind == Str && (e.S == app || strings.HasPrefix(e.S, app+".")) {
			return true
		}
	}
	return contains(list, app)
}

func (a *auditor) checkAuth() {
	// Password validators.
	b := a.s.Get("AUTH_PASSWORD_VALIDATORS")
	switch {
	case b == nil:
		a.add(rPasswords, findings.Fail, nil, "AUTH_PASSWORD_VALIDATORS is not set: any password is accepted").Parapet = enfLogin
	case a.unknownOr(rPasswords, "AUTH_PASSWORD_VALIDATORS", b):
	case len(b.Value.Elts) == 0:
		a.add(rPasswords, findings.Fail, b, "AUTH_PASSWORD_VALIDATORS is empty: any password is accepted").Parapet = enfLogin
	default:
		minLen, found, line := int64(0), false, b.Line
		for _, v := range b.Value.Elts {
			if n := v.Get("NAME"); n != nil && n.Kind == Str && strings.HasSuffix(n.S, "MinimumLengthValidator") {
				found, minLen, line = true, 8, n.Line
				if o := v.Get("OPTIONS"); o != nil {
					if m := o.Get("min_length"); m != nil && m.Kind == Int {
						minLen, line = m.I, m.Line
					} else if m != nil {
						minLen = -1
					}
				}
			}
		}
		switch {
		case !found:
			a.add(rPasswords, findings.Fail, b, "AUTH_PASSWORD_VALIDATORS has no MinimumLengthValidator").Parapet = enfLogin
		case minLen < 0:
			a.add(rPasswords, findings.Unknown, b, "MinimumLengthValidator's min_length is computed at run time")
		case minLen < 12:
			f := a.add(rPasswords, findings.Fail, b, "MinimumLengthValidator requires %d characters (12+ wanted)", minLen)
			f.Line = line
			f.Parapet = enfLogin
		default:
			a.add(rPasswords, findings.Pass, b, "MinimumLengthValidator requires %d characters", minLen)
		}
	}
	if b, n, ok := a.intSetting(rResetTimeout, "PASSWORD_RESET_TIMEOUT"); ok {
		switch {
		case b == nil:
			a.add(rResetTimeout, findings.Warn, nil, "PASSWORD_RESET_TIMEOUT is not set: reset links last 3 days")
		case n > 259200:
			a.add(rResetTimeout, findings.Fail, b, "PASSWORD_RESET_TIMEOUT is %d seconds (%.1f days)", n, float64(n)/86400)
		case n > 86400:
			a.add(rResetTimeout, findings.Warn, b, "PASSWORD_RESET_TIMEOUT is %d seconds (more than a day)", n)
		default:
			a.add(rResetTimeout, findings.Pass, b, "PASSWORD_RESET_TIMEOUT is %d seconds", n)
		}
	}
	// Django REST framework.
	drf := a.installed("rest_framework")
	rf := a.s.Get("REST_FRAMEWORK")
	switch {
	case !drf && rf == nil:
		a.add(rDRFAuth, findings.Pass, nil, "Django REST framework is not in INSTALLED_APPS")
		a.add(rDRFThrottle, findings.Pass, nil, "Django REST framework is not in INSTALLED_APPS")
	case rf == nil:
		a.add(rDRFAuth, findings.Warn, a.s.Get("INSTALLED_APPS"), "rest_framework is installed without REST_FRAMEWORK settings: session and HTTP Basic authentication").Parapet = enfLogin
		a.add(rDRFThrottle, findings.Fail, a.s.Get("INSTALLED_APPS"), "rest_framework is installed without REST_FRAMEWORK settings: no throttling").Parapet = enfThrottle
	case rf.Value.Kind != Dict:
		a.unknownOr(rDRFAuth, "REST_FRAMEWORK", rf)
		a.unknownOr(rDRFThrottle, "REST_FRAMEWORK", rf)
	default:
		at := func(v *Value) *Binding {
			if v != nil && v.Line > 0 {
				return &Binding{File: v.File, Line: v.Line}
			}
			return rf
		}
		auth := rf.Value.Get("DEFAULT_AUTHENTICATION_CLASSES")
		switch classes, ok := auth.Strings(); {
		case auth == nil:
			a.add(rDRFAuth, findings.Warn, rf, "REST_FRAMEWORK has no DEFAULT_AUTHENTICATION_CLASSES: session and HTTP Basic authentication").Parapet = enfLogin
		case !ok:
			a.add(rDRFAuth, findings.Unknown, at(auth), "DEFAULT_AUTHENTICATION_CLASSES: %s", auth.Why)
		default:
			basic := false
			for i, c := range classes {
				if strings.HasSuffix(c, "BasicAuthentication") {
					basic = true
					a.add(rDRFAuth, findings.Fail, at(auth.Elts[i]), "DEFAULT_AUTHENTICATION_CLASSES includes %s: passwords with every request", c).Parapet = enfLogin
				}
			}
			if !basic {
				a.add(rDRFAuth, findings.Pass, at(auth), "DEFAULT_AUTHENTICATION_CLASSES is %s", auth.Python())
			}
		}
		classes := rf.Value.Get("DEFAULT_THROTTLE_CLASSES")
		rates := rf.Value.Get("DEFAULT_THROTTLE_RATES")
		switch {
		case classes == nil || classes.Known() && len(classes.Elts) == 0:
			a.add(rDRFThrottle, findings.Fail, at(classes), "REST_FRAMEWORK has no DEFAULT_THROTTLE_CLASSES: the API answers at any rate").Parapet = enfThrottle
		case rates == nil:
			a.add(rDRFThrottle, findings.Fail, at(classes), "DEFAULT_THROTTLE_CLASSES without DEFAULT_THROTTLE_RATES").Parapet = enfThrottle
		default:
			a.add(rDRFThrottle, findings.Pass, at(classes), "throttling: %s", rates.Python())
		}
	}
	// CORS.
	bad := false
	for _, name := range []string{"CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL"} {
		b := a.s.Get(name)
		if b == nil || a.unknownOr(rCORS, name, b) {
			continue
		}
		if t, _ := b.Value.Truthy(); t {
			creds := ""
			if _, c, ok := a.boolSetting("CORS_ALLOW_CREDENTIALS", false); ok && c {
				creds = " with CORS_ALLOW_CREDENTIALS: any site reads pages as the logged-in user"
			}
			a.add(rCORS, findings.Fail, b, "%s is %s%s", name, describeValue(b.Value), creds).Parapet = enfCORS
			bad = true
		}
	}
	for _, name := range []string{"CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ORIGIN_REGEX_WHITELIST"} {
		b := a.s.Get(name)
		if b == nil {
			continue
		}
		list, _ := b.Value.Strings()
		for _, re := range list {
			if re == ".*" || re == "^.*$" || re == "^https?://.*$" || re == ".+" {
				a.add(rCORS, findings.Fail, b, "%s allows every origin (%q)", name, re).Parapet = enfCORS
				bad = true
			}
		}
	}
	if !bad {
		a.add(rCORS, findings.Pass, nil, "no setting allows every CORS origin")
	}
}

func (a *auditor) checkData() {
	b := a.s.Get("DATABASES")
	var def *Value
	if b != nil {
		def = b.Value.Get("default")
	}
	switch {
	case b == nil:
		a.add(rDBSSL, findings.Warn, nil, "DATABASES is not set")
		a.add(rDBConn, findings.Warn, nil, "DATABASES is not set")
	case def == nil || def.Kind != Dict:
		why := "DATABASES['default'] is computed at run time"
		if def != nil && def.Why != "" {
			why = "DATABASES['default']: " + def.Why
		}
		a.add(rDBSSL, findings.Unknown, b, "%s", why)
		a.add(rDBConn, findings.Unknown, b, "%s", why)
	default:
		at := func(v *Value) *Binding {
			if v != nil && v.Line > 0 {
				return &Binding{File: v.File, Line: v.Line}
			}
			if def.Line > 0 {
				return &Binding{File: def.File, Line: def.Line}
			}
			return b
		}
		engine := def.Get("ENGINE")
		opts := def.Get("OPTIONS")
		switch {
		case engine != nil && engine.Kind == Str && strings.Contains(engine.S, "sqlite"):
			a.add(rDBSSL, findings.Warn, at(engine), "the database is SQLite (%s): a Heroku dyno's disk is wiped on every restart", engine.S)
		case opts != nil && opts.Kind == Unknown:
			a.add(rDBSSL, findings.Unknown, at(opts), "the database OPTIONS: %s", opts.Why)
		default:
			mode := opts.Get("sslmode")
			if mode == nil {
				mode = opts.Get("ssl")
			}
			switch {
			case mode != nil && mode.Kind == Str && (mode.S == "require" || mode.S == "verify-ca" || mode.S == "verify-full"):
				a.add(rDBSSL, findings.Pass, at(mode), "sslmode is %s", mode.S)
			case mode != nil && !mode.Known():
				a.add(rDBSSL, findings.Unknown, at(mode), "sslmode: %s", mode.Why)
			case mode != nil:
				a.add(rDBSSL, findings.Fail, at(mode), "sslmode is %s", mode.Python())
			default:
				a.add(rDBSSL, findings.Fail, at(opts), "the database connection does not require TLS (no sslmode=require, no ssl_require=True)")
			}
		}
		cma := def.Get("CONN_MAX_AGE")
		switch {
		case cma == nil:
			a.add(rDBConn, findings.Warn, at(def), "CONN_MAX_AGE is not set: a new connection for every request")
		case !cma.Known():
			a.add(rDBConn, findings.Unknown, at(cma), "CONN_MAX_AGE: %s", cma.Why)
		case cma.Kind == None || cma.Kind == Int && cma.I > 0:
			a.add(rDBConn, findings.Pass, at(cma), "CONN_MAX_AGE is %s", cma.Python())
		default:
			a.add(rDBConn, findings.Warn, at(cma), "CONN_MAX_AGE is %s: a new connection for every request", cma.Python())
		}
	}
	lb := a.s.Get("LOGGING")
	switch {
	case lb == nil:
		a.add(rLogging, findings.Warn, nil, "LOGGING is not set: errors are only mailed to ADMINS, nothing reaches the Heroku log")
	case a.unknownOr(rLogging, "LOGGING", lb):
	default:
		var debugAt *Value
		var find func(v *Value)
		find = func(v *Value) {
			if v == nil || debugAt != nil {
				return
			}
			if v.Kind == Dict {
				if lv := v.Get("level"); lv != nil && lv.Kind == Str && strings.EqualFold(lv.S, "DEBUG") {
					debugAt = lv
					return
				}
			}
			for _, e := range v.Elts {
				find(e)
			}
		}
		find(lb.Value)
		if debugAt != nil {
			a.add(rLogging, findings.Warn, &Binding{File: debugAt.File, Line: debugAt.Line}, "a logger or handler is at DEBUG level%s", envSuffix(debugAt))
		} else {
			a.add(rLogging, findings.Pass, lb, "LOGGING is configured, no level DEBUG")
		}
	}
}
