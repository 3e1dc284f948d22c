package harden

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/scope"
)

// RuleCORSRefused is the reason code of a refused preflight.
const RuleCORSRefused = "cors-origin-refused"

type corsRule struct {
	scope       *scope.Scope // paths; a grant (package scope)
	anyOrigin   bool
	origins     map[string]bool
	methods     string
	headers     string
	credentials bool
	maxAge      string
}

func newCORSRule(c config.CORSRule) (*corsRule, error) {
	if len(c.Paths) == 0 || len(c.AllowedOrigins) == 0 {
		return nil, errors.New("needs paths and allowed_origins")
	}
	sc, errs := scope.Compile(scope.Spec{Paths: c.Paths})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	r := &corsRule{scope: sc, origins: map[string]bool{}, credentials: c.AllowCredentials}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			r.anyOrigin = true
			continue
		}
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.Count(o, "/") != 2 {
			return nil, errors.New("origin " + strconv.Quote(o) + " must be scheme://host[:port] with no path")
		}
		r.origins[strings.ToLower(o)] = true
	}
	if r.anyOrigin && r.credentials {
		return nil, errors.New(`allowed_origins "*" with allow_credentials lets any site act as your logged-in users (Django's CORS_ORIGIN_ALLOW_ALL mistake); list the origins`)
	}
	methods := c.AllowedMethods
	if len(methods) == 0 {
		methods = []string{"GET", "HEAD", "POST"}
	}
	r.methods = strings.Join(methods, ", ")
	r.headers = strings.Join(c.AllowedHeaders, ", ")
	if c.MaxAge > 0 {
		r.maxAge = strconv.FormatInt(int64(c.MaxAge/time.Second), 10)
	}
	return r, nil
}

// covers reports whether the rule applies to req. CORS relaxes the
// browser's same-origin policy, so it is a grant: a path whose readings
// disagree ("/api/../account/") is not covered.
func (r *corsRule) covers(req *http.Request) bool {
	return r.scope.Covers(req, scope.Grant)
}

func (r *corsRule) allows(origin string) bool {
	return r.anyOrigin || r.origins[strings.ToLower(origin)]
}

// preflight answers an OPTIONS preflight at the edge: 204 with the policy
// for an allowed origin and method, 403 otherwise.
func (r *corsRule) preflight(req *http.Request) decision.Decision {
	origin := req.Header.Get("Origin")
	method := req.Header.Get("Access-Control-Request-Method")
	if !r.allows(origin) || !containsToken(r.methods, method) && !(method == http.MethodHead && containsToken(r.methods, http.MethodGet)) {
		return decision.Decision{Action: decision.Block, RuleID: RuleCORSRefused, Status: http.StatusForbidden, Reason: "CORS preflight from an origin or for a method not allowed"}
	}
	h := http.Header{}
	r.decorate(h, origin)
	h.Set("Access-Control-Allow-Methods", r.methods)
	if r.headers != "" {
		h.Set("Access-Control-Allow-Headers", r.headers)
	}
	if r.maxAge != "" {
		h.Set("Access-Control-Max-Age", r.maxAge)
	}
	return decision.Decision{Action: decision.Respond, RuleID: "cors-preflight", Status: http.StatusNoContent, Reason: "CORS preflight answered at the edge", Headers: h}
}

// decorate adds the CORS response headers for an allowed origin.
func (r *corsRule) decorate(h http.Header, origin string) {
	h.Add("Vary", "Origin")
	if !r.allows(origin) {
		return
	}
	if r.anyOrigin && !r.credentials {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if r.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func containsToken(list, tok string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(t), tok) {
			return true
		}
	}
	return false
}
