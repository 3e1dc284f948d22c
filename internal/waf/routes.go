package waf

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/harden"
	"github.com/parapet-waf/parapet/internal/ratelimit"
)

// Route is a path Parapet answers itself instead of the app
// (decision.Route): the challenge endpoints, the CSP report collector,
// metrics, the admin API, the dashboard.
//
// Before Serve runs, the request passes the stages that guard everything
// Parapet serves (Chain.routeStages): edge guards, the access rules (their
// blocks and allows), the crawler-liar check, bans, rate limits and the
// routes' own limits (CAPTCHA attempts and media). It is never challenged:
// challenges are answered here, and a scraper or a report sender cannot
// run one. So a banned client gets its 403 before any answer is checked.
type Route = decision.Route

// Handle adds a route the handler serves whatever chain is installed
// (metrics on the public listener). Call it before serving.
func (h *Handler) Handle(rt Route) { h.routes = append(h.routes, rt) }

// route returns the route serving r, or nil when r is the app's.
func (h *Handler) route(c *Chain, r *http.Request) *Route {
	if rt := findRoute(c.routes, r.Host, r.URL.Path); rt != nil {
		return rt
	}
	return findRoute(h.routes, r.Host, r.URL.Path)
}

func findRoute(routes []Route, host, path string) *Route {
	for i := range routes {
		rt := &routes[i]
		if (path == rt.Path || rt.Prefix && strings.HasPrefix(path, rt.Path)) && (rt.Host == "" || config.SameHost(host, rt.Host)) {
			return rt
		}
	}
	return nil
}

// chainRoutes are the routes the chain's stages register
// (decision.Router): the challenge endpoints and, with a CSP report
// path, the report collector.
func (c *Chain) chainRoutes() []Route {
	var routes []Route
	for _, s := range c.stages {
		if r, ok := s.(decision.Router); ok {
			routes = append(routes, r.Routes()...)
		}
	}
	return routes
}

// serveRoute runs a route's request through the route stages and, if none
// refuses it, serves it.
func (c *Chain) serveRoute(ctx context.Context, w http.ResponseWriter, r *http.Request, info *decision.Info, rt *Route) {
	// Never challenged (see Route): to every stage that would challenge,
	// the request counts as cleared. Blocks, bans and limits still apply.
	info.Cleared = true
	stages := c.routeStages
	if rt.OwnLimitsOnly {
		stages = c.ownRouteStages
	}
	if d := c.runStages(ctx, r, info, stages); d.Decided() {
		info.Final = d
		c.answer(w, r, info, d)
		return
	}
	rt.Serve(w, r, info)
}

// Rule ids of the own-route limits and of the metrics route.
const (
	RuleChallengeAttempts = "challenge-attempts"
	RuleChallengeMedia    = "challenge-media"
	RuleMetrics           = "metrics"
	RuleMetricsToken      = "metrics-token"
	RuleCSPReportLimit    = "csp-report-limit"
	RuleCSPViolations     = "csp-violations"
)

// ownLimits are the limits on the challenge endpoints (challenge.attempt_limit
// on answers posted to verify, challenge.media_limit on CAPTCHA images and
// audio): a wrong answer gets a new challenge, so without them a client
// could guess, and be handed fresh tokens, as fast as it can post.
//
// With a CSP report path, harden.csp.report_limit limits the reports one
// client posts there.
func ownLimits(cfg *config.Config) []ratelimit.OwnLimit {
	ch := cfg.Challenge
	limits := []ratelimit.OwnLimit{
		{ID: RuleChallengeAttempts, Key: "challenge.attempt_limit", Limit: ch.AttemptLimit, Paths: []string{challenge.PathPrefix + "verify"}},
		{ID: RuleChallengeMedia, Key: "challenge.media_limit", Limit: ch.MediaLimit, Paths: []string{challenge.PathPrefix + "captcha."}},
	}
	if csp := cfg.Harden.CSP; cfg.Harden.Enabled && csp.ReportPath != "" && csp.ReportLimit != "" {
		limits = append(limits, ratelimit.OwnLimit{ID: RuleCSPReportLimit, Key: "harden.csp.report_limit", Limit: csp.ReportLimit, Paths: []string{csp.ReportPath}})
	}
	return limits
}

// MetricsRoute serves the metrics (h, unauthenticated) at path on the
// public listener to requests carrying "Authorization: Bearer <token>"
// (compared in constant time). Any other request there gets 401 and is
// recorded as blocked by rule metrics-token: logged (never the token),
// counted in parapet_requests_total, and counted towards auto-bans like
// any block. A banned client is refused before its token is looked at.
func MetricsRoute(path, token string, h http.Handler) Route {
	return tokenRoute(path, token, "metrics", decision.Decision{Action: decision.Respond, RuleID: RuleMetrics, Reason: "metrics scraped"}, h)
}

// CSPViolationsRoute serves the collected CSP violations (CSPViolations)
// at harden.ViolationsPath on the public listener behind the metrics
// token, as MetricsRoute serves the metrics.
func CSPViolationsRoute(token string, h *Handler) Route {
	return tokenRoute(harden.ViolationsPath, token, "CSP violations", decision.Decision{Action: decision.Respond, RuleID: RuleCSPViolations, Reason: "CSP violations read"}, CSPViolations(h))
}

// tokenRoute serves h at path to requests with the bearer token; what is
// names the path in the log line of a refusal.
func tokenRoute(path, token, what string, ok decision.Decision, h http.Handler) Route {
	return Route{Path: path, Serve: func(w http.ResponseWriter, r *http.Request, info *decision.Info) {
		if !events.BearerMatches(r, token) {
			info.Final = decision.Decision{Action: decision.Block, Status: http.StatusUnauthorized, RuleID: RuleMetricsToken,
				Reason: what + " path without the right bearer token"}
			w.Header().Set("WWW-Authenticate", `Bearer realm="parapet metrics"`)
			http.Error(w, what+" need Authorization: Bearer <metrics.token>", http.StatusUnauthorized)
			return
		}
		info.Final = ok
		h.ServeHTTP(w, r)
	}}
}

// CSPViolations serves, as JSON (harden.ViolationReport), the CSP
// violations the chain h serves has collected since it was built, with
// the policy it sends: what `parapet csp suggest` reads. It answers
// anyone: serve it on the metrics listener, or through
// CSPViolationsRoute.
func CSPViolations(h *Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		body, err := json.Marshal(h.Chain().CSPReport())
		if err != nil {
			http.Error(w, "cannot encode the violations", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodGet {
			_, _ = w.Write(append(body, '\n'))
		}
	})
}
