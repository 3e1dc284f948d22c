// Package decision defines what every stage of the Parapet request chain
// returns: a Decision (allow, block, challenge, throttle) with the rule that
// made it, and the per-request Info that stages read and enrich.
//
// It has no dependencies inside Parapet, so every stage can import it.
package decision

import (
	"context"
	"net/http"
	"net/netip"
	"time"
)

// Action is what a stage wants done with a request.
type Action uint8

const (
	// Allow lets the request continue to the next stage.
	Allow Action = iota
	// Block answers with a deny page (403 unless the rule says otherwise).
	Block
	// Challenge answers with a challenge page; a client with clearance passes.
	Challenge
	// Throttle answers 429 with Retry-After.
	Throttle
	// Respond answers at the edge with Status and Headers and no body:
	// redirects (Location in Headers) and CORS preflights.
	Respond
	// Log records that the rule matched and lets the request continue.
	Log
)

// String returns the lower-case name used in logs and events.
func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Block:
		return "block"
	case Challenge:
		return "challenge"
	case Throttle:
		return "throttle"
	case Respond:
		return "respond"
	case Log:
		return "log"
	}
	return "unknown"
}

// Mode says whether a rule acts or only reports what it would have done.
type Mode uint8

const (
	// Enforce carries out the rule's action.
	Enforce Mode = iota
	// Monitor records the action the rule would have taken and lets the request through.
	Monitor
)

// String returns "enforce" or "monitor".
func (m Mode) String() string {
	if m == Monitor {
		return "monitor"
	}
	return "enforce"
}

// ParseMode parses "enforce" (or "") and "monitor".
func ParseMode(s string) (Mode, bool) {
	switch s {
	case "", "enforce":
		return Enforce, true
	case "monitor":
		return Monitor, true
	}
	return Enforce, false
}

// Decision is the verdict of one stage on one request.
type Decision struct {
	Action Action
	// Mode is the mode of the rule that decided.
	Mode Mode
	// RuleID names the rule; it appears in the event, the log line and the
	// deny page's reason code.
	RuleID string
	// Reason is a short human explanation for logs (never shown to clients).
	Reason string
	// Status overrides the HTTP status of the answer (0: the action's default).
	Status int
	// RetryAfter is sent as Retry-After for Throttle (and 503s) when set.
	RetryAfter time.Duration
	// Final, on an Allow, stops the chain: later stages do not run
	// (an allow list entry). Skip lists later stage names the allow skips
	// instead of all of them.
	Final bool
	// Headers are extra response headers for the answer (e.g. Allow, RateLimit-*).
	Headers http.Header
	// Critical marks decisions someone should look at now (a leak stopped):
	// they are logged at error level.
	Critical bool
	// Rules lists the underlying rules that matched (the CRS rule ids
	// behind a detection decision); logged, never shown to the client.
	Rules []string
}

// Pass is the zero decision: continue to the next stage.
var Pass = Decision{}

// Decided reports whether the decision stops the request: it is enforced
// and neither an Allow nor a Log.
func (d Decision) Decided() bool {
	return d.Action != Allow && d.Action != Log && d.Mode == Enforce
}

// Matched reports whether a rule matched without stopping the request (a
// Log action, or any action in monitor mode): the chain records it.
func (d Decision) Matched() bool {
	return d.RuleID != "" && !d.Decided() && !(d.Action == Allow && d.Final)
}

// Info is what the chain knows about a request. It is created once per
// request by the chain, before any stage runs, and stages may enrich it
// (country, tags). Stages must not keep it after the request ends.
type Info struct {
	// ID is the request id (kept from a trusted X-Request-Id or made).
	ID string
	// ClientIP is the real client address computed from the trusted proxy chain.
	ClientIP netip.Addr
	// Scheme is "http" or "https" as the client used it.
	Scheme string
	// ViaTrustedProxy says the connection came from a trusted proxy, whose
	// forwarding headers (X-Forwarded-Port) may be passed on.
	ViaTrustedProxy bool
	// ReportedByTrustedRange says the hop that reported the client's
	// address is a trusted proxy by its address (a CDN or load balancer
	// in trusted_proxies), not only the connecting peer the "heroku"
	// preset trusts: the client-IP headers such a proxy sets
	// (CF-Connecting-IP, True-Client-IP) are passed to the app only then.
	ReportedByTrustedRange bool
	// SchemeFromProxy says a trusted proxy told the scheme
	// (X-Forwarded-Proto), rather than Parapet's own connection.
	SchemeFromProxy bool
	// Start is when Parapet received the request.
	Start time.Time
	// Country is the ISO country code, when a geo stage found one.
	Country string
	// ASN is the client's autonomous system number, when the rules stage's
	// geo data has one (0: unknown).
	ASN uint32
	// Tags are labels stages attach (e.g. "tor", "datacenter").
	Tags []string
	// Matched holds the decisions of rules that matched without stopping
	// the request: monitor-mode rules (what would have happened) and Log actions.
	Matched []Decision
	// Final is the decision that ended the request, or an Allow.
	Final Decision
	// Cleared is set by the clearance stage when the client carries a valid
	// challenge clearance, and for a request to one of Parapet's own routes
	// (the challenge endpoints, which must never be challenged themselves):
	// later stages skip their challenges for it (never their blocks or
	// throttles).
	Cleared bool
	// SkipStages lists stage names that an earlier allow rule exempted
	// (e.g. a bypass allow skips "detect").
	SkipStages []string
	// Inspection is the time attack detection added to the request: the
	// rule set on the way in and on the response, with any wait for an
	// inspection slot (not the time its body took to arrive).
	Inspection time.Duration
}

// Skips reports whether the named stage was exempted for this request.
func (i *Info) Skips(stage string) bool {
	for _, s := range i.SkipStages {
		if s == stage {
			return true
		}
	}
	return false
}

// AddTag attaches a tag once.
func (i *Info) AddTag(tag string) {
	for _, t := range i.Tags {
		if t == tag {
			return
		}
	}
	i.Tags = append(i.Tags, tag)
}

// Stage inspects a request and returns a Decision. Stages are built once
// from a validated config (compile everything there) and must be safe for
// concurrent use; Check must not read the request body unless its doc says so.
type Stage interface {
	// Name is the stage's stable name ("edge", "paths", "ip", "detect"…).
	Name() string
	// Check decides on the request.
	Check(ctx context.Context, r *http.Request, info *Info) Decision
}

// ResponseStage is a stage that also inspects (and may rewrite) the
// upstream's response before it is sent to the client.
type ResponseStage interface {
	Stage
	// CheckResponse runs on the upstream response; returning an error makes
	// the chain answer with a 502 page instead.
	CheckResponse(ctx context.Context, resp *http.Response, info *Info) error
}

type infoKey struct{}

// WithInfo returns a context carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// FromContext returns the request's Info, or nil outside the chain.
func FromContext(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// Route is a path Parapet answers itself instead of the app. A stage
// that serves paths (the challenge endpoints, the CSP report collector)
// registers them by implementing Router; the runtime registers its own
// (metrics, the admin API, the dashboard). Before Serve runs, the request
// passes the stages that guard everything Parapet serves: edge guards,
// access rules (never a challenge), crawler liars, bans, rate limits and
// Parapet's own limits.
type Route struct {
	// Path is the exact path served, or with Prefix every path under it.
	Path   string
	Prefix bool
	// Host, when set, limits the route to requests for that host (the
	// Host header without its port, compared by config.SameHost): admin.host's
	// catch-all, so that nothing of the app is served on the dashboard's
	// origin. Routes without Host serve every host.
	Host string
	// OwnLimitsOnly skips the visitors' rate_limits (Parapet's own limits
	// still apply): a browser posts a CSP report per violation, which must
	// not count against the visitor's limits.
	OwnLimitsOnly bool
	// Serve answers. It sets info.Final to what happened: the event's
	// decision and rule id (a refusal it makes counts towards auto-bans
	// like any block).
	Serve func(w http.ResponseWriter, r *http.Request, info *Info)
}

// Router is a stage that serves routes of its own.
type Router interface {
	Routes() []Route
}
