// Package waf assembles Parapet's request chain from a validated config:
// request context (id, client IP, scheme), edge guards, rule stages, the
// upstream proxy and the event sink. It is the only package that knows
// every stage.
package waf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/clientip"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/denypage"
	"github.com/parapet-waf/parapet/internal/detect"
	"github.com/parapet-waf/parapet/internal/edge"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/geo"
	"github.com/parapet-waf/parapet/internal/harden"
	"github.com/parapet-waf/parapet/internal/netlist"
	"github.com/parapet-waf/parapet/internal/proxy"
	"github.com/parapet-waf/parapet/internal/ratelimit"
	"github.com/parapet-waf/parapet/internal/rules"
)

// Chain is one immutable, ready-to-run assembly of stages built from one
// config. A reload builds a new Chain; requests in flight finish on the old.
type Chain struct {
	cfg         *config.Config
	access      *rules.Engine
	challenge   *challenge.Challenger
	harden      *harden.Stage // nil when harden.enabled is off
	respStages  []decision.ResponseStage
	resolver    *clientip.Resolver
	guards      *edge.Guards
	stages      []decision.Stage
	pages       *denypage.Renderer
	redactor    *events.Redactor
	reqIDHeader string
	flood       *flood           // bans, under-attack, rate limits, upstream cap (flood.go)
	routes      []Route          // what the chain's stages serve (routes.go)
	routeStages []decision.Stage // the stages guarding what Parapet serves
	// ownRouteStages guard routes with OwnLimitsOnly: routeStages
	// without the visitors' rate_limits.
	ownRouteStages []decision.Stage
}

// Deps are the long-lived parts chains share across reloads: running
// feeds and open geo databases.
type Deps struct {
	Feeds  *netlist.Registry
	geoMu  sync.Mutex
	geoDB  map[string]*geo.DB
	secret secretOnce
	log    *slog.Logger
	flood  floodDeps
}

// NewDeps returns Deps whose feeds run until ctx ends and cache their
// last good copies in cacheDir ("" = $TMPDIR/parapet-feeds).
func NewDeps(ctx context.Context, cacheDir string, log *slog.Logger) *Deps {
	return NewDepsClient(ctx, cacheDir, nil, log)
}

// NewDepsClient is NewDeps with the HTTP client the feeds fetch with
// (nil: one with a 60 s timeout that honours HTTPS_PROXY and HTTP_PROXY).
func NewDepsClient(ctx context.Context, cacheDir string, client *http.Client, log *slog.Logger) *Deps {
	if cacheDir == "" {
		cacheDir = filepath.Join(os.TempDir(), "parapet-feeds")
	}
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	return &Deps{Feeds: netlist.NewRegistry(ctx, cacheDir, client, log), geoDB: map[string]*geo.DB{}, log: log, flood: floodDeps{ctx: ctx, log: log, dir: cacheDir}}
}

// OpenGeo opens (once) the database at path; "" is the embedded default.
func (d *Deps) OpenGeo(path string) (*geo.DB, error) {
	d.geoMu.Lock()
	defer d.geoMu.Unlock()
	if db, ok := d.geoDB[path]; ok {
		return db, nil
	}
	var db *geo.DB
	var err error
	if path == "" {
		db, err = geo.Default()
	} else {
		db, err = geo.Open(path)
	}
	if err != nil {
		return nil, err
	}
	d.geoDB[path] = db
	return db, nil
}

// Build provisions a chain: every pattern and list is compiled here so the
// request path never parses config. Problems are reported at the place
// in the config that caused them.
func Build(cfg *config.Config, deps *Deps) (*Chain, error) {
	res, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		var se *clientip.SpecError
		if errors.As(err, &se) {
			return nil, config.Errors{cfg.Errorf(fmtIndex("trusted_proxies", se.Index), "%s", se.Reason)}
		}
		return nil, config.Errors{cfg.Errorf("trusted_proxies", "%v", err)}
	}
	pages := &denypage.Renderer{Brand: cfg.BlockPage.Brand, Contact: cfg.BlockPage.Contact}
	// The flood-defense store is opened first: it also keeps the solved
	// challenge nonces, so a nonce used on one instance is used on all.
	fl, floodStages, err := buildFlood(cfg, deps)
	if err != nil {
		return nil, err
	}
	chal, err := newChallenger(cfg, deps, pages, deps.flood.st)
	if err != nil {
		return nil, err
	}
	access, err := rules.New(cfg, rules.Deps{Feeds: deps.Feeds, OpenGeo: deps.OpenGeo, Cleared: chal.Cleared, Log: deps.log})
	if err != nil {
		return nil, err
	}
	guards := edge.New(cfg.Edge, cfg.Limits, cfg.WebSockets)
	// Flood defense right after the access rules and the clearance stage
	// (an allow rule's final decision has stopped the chain already).
	stages := append([]decision.Stage{guards, access, chal.Stage()}, floodStages...)
	var hard *harden.Stage
	var respStages []decision.ResponseStage
	if cfg.Harden.Enabled {
		if hard, err = harden.New(cfg); err != nil {
			return nil, err
		}
		stages = append(stages, hard)
		respStages = append(respStages, hard)
	}
	// Attack detection runs last, after the cheap access (and rate) stages,
	// so floods and blocked clients never pay for the rule set.
	if cfg.Detection.Enabled {
		det, err := detect.New(cfg)
		if err != nil {
			return nil, err
		}
		stages = append(stages, det)
		if cfg.Detection.Responses.Enabled {
			respStages = append(respStages, det) // after the leak guard: both read the same body prefix
		}
	}
	c := &Chain{
		cfg:         cfg,
		access:      access,
		challenge:   chal,
		harden:      hard,
		respStages:  respStages,
		resolver:    res,
		guards:      guards,
		stages:      stages,
		pages:       pages,
		redactor:    events.NewRedactor(cfg.Log.RedactQuery),
		reqIDHeader: cfg.RequestIDHeader,
		flood:       fl,
		// What Parapet serves itself passes the same blocks, bans and
		// limits as the app's paths, never a challenge (routes.go).
		routeStages:    []decision.Stage{guards, access, chal.Stage(), fl.bans, fl.limiter, fl.own},
		ownRouteStages: []decision.Stage{guards, access, chal.Stage(), fl.bans, fl.own},
	}
	c.routes = c.chainRoutes()
	return c, nil
}

// AllowListedBy returns the enforced allow rule that lets ip through by
// address, before any ban (see rules.Engine.AllowListedBy).
func (c *Chain) AllowListedBy(ip netip.Addr) (string, bool) { return c.access.AllowListedBy(ip) }

// AllowOverlapping names the enforced allow rule that lets any address
// of p through by address (rules.Engine.AllowOverlapping).
func (c *Chain) AllowOverlapping(p netip.Prefix) (string, bool) { return c.access.AllowOverlapping(p) }

// Config is the config the chain was built from.
func (c *Chain) Config() *config.Config { return c.cfg }

// Handler serves every request through the current chain and, when the
// chain allows it, the upstream proxy. Swap replaces the chain atomically.
type Handler struct {
	chain  atomic.Pointer[Chain]
	proxy  *proxy.Proxy
	sink   events.Sink
	log    *slog.Logger
	routes []Route // served whatever the chain (Handle)
}

// NewHandler returns a handler serving chain through p, emitting one event
// per request to sink.
func NewHandler(chain *Chain, p *proxy.Proxy, sink events.Sink, log *slog.Logger) *Handler {
	h := &Handler{proxy: p, sink: sink, log: log}
	chain.activate()
	h.chain.Store(chain)
	return h
}

// Swap installs a new chain and activates it; requests already running
// keep the old one.
func (h *Handler) Swap(c *Chain) {
	c.activate()
	h.chain.Store(c)
}

// activate starts what a chain runs while it serves and that its build
// must not touch (a chain built for a reload that is then refused
// changes nothing): under-attack mode takes the chain's settings, the
// access rules' feeds and the crawler range feeds start. RetainFeeds
// retires what it no longer uses.
func (c *Chain) activate() {
	c.flood.uaStage.Activate()
	c.access.Activate()
	c.challenge.Activate()
}

// RetainFeeds stops the feeds the chain no longer uses (after a reload).
func (c *Chain) RetainFeeds(deps *Deps) {
	names := c.access.FeedNames()
	for _, n := range c.challenge.FeedNames() {
		names[n] = true
	}
	deps.Feeds.Retain(names)
}

// Chain returns the chain currently serving.
func (h *Handler) Chain() *Chain { return h.chain.Load() }

// ProxyError is the proxy's OnError hook: it answers a failed upstream
// request with a deny page of the right status and notes the error for
// the request's event.
func (h *Handler) ProxyError(w http.ResponseWriter, r *http.Request, status int, err error) {
	rec, _ := w.(*responseRecorder)
	if rec != nil {
		rec.upstreamErr = err.Error()
	}
	info := decision.FromContext(r.Context())
	id := ""
	if info != nil {
		id = info.ID
	}
	// The page's reason code is the rule of the request's log line. The
	// upstream's failures were allowed requests (they count towards no
	// ban); a body the client botched is refused.
	d := decision.Decision{Action: decision.Allow, RuleID: RuleUpstreamError, Reason: "the upstream failed (see error)"}
	switch status {
	case 0: // the client went away: nobody to answer
		if rec != nil {
			rec.status = 499
		}
		return
	case http.StatusGatewayTimeout:
		d.RuleID, d.Reason = RuleUpstreamTimeout, "the upstream did not answer in time (timeouts.upstream_response_header)"
	case http.StatusBadRequest:
		d = decision.Decision{Action: decision.Block, Status: status, RuleID: RuleBadRequestBody, Reason: "the request body was malformed or cut short"}
	case http.StatusRequestTimeout:
		d = decision.Decision{Action: decision.Block, Status: status, RuleID: RuleClientBodyTimeout, Reason: "the request body did not arrive in time (timeouts.read)"}
	case http.StatusRequestEntityTooLarge:
		d = decision.Decision{Action: decision.Block, Status: status, RuleID: edge.RuleBodyTooLarge, Reason: "body over limits.max_body_bytes"}
	}
	if info != nil {
		// An allow-listed client stays one (it counts towards no ban).
		d.Final = d.Action == decision.Allow && info.Final.Action == decision.Allow && info.Final.Final
		info.Final = d
	}
	h.chain.Load().pages.Write(w, r, denypage.Page{Status: status, Reason: d.RuleID, RequestID: id})
}

// Rule ids of the answers Parapet gives for the upstream (the deny page's
// reason code and the log line's rule).
const (
	RuleUpstreamError     = "upstream-error"
	RuleUpstreamTimeout   = "upstream-timeout"
	RuleUpstreamStarting  = "upstream-starting"
	RuleBadRequestBody    = "bad-request-body"
	RuleClientBodyTimeout = "client-body-timeout"
	RuleUnreadResponses   = "unread-responses"
)

// ProxyClientKey is how the proxy names a request's client for its share
// of the response buffer: as rate limits and bans count it (IPv4 address,
// IPv6 /64).
func ProxyClientKey(r *http.Request) string {
	if info := decision.FromContext(r.Context()); info != nil {
		return ratelimit.ClientKey(info.ClientIP)
	}
	return ""
}

// unreadResponses throttles a client that holds its whole share of the
// response buffer (limits.response_buffer_per_client) in answers it has
// not read: its next answer could not be buffered and would hold one of
// the app's workers at the client's pace.
func (h *Handler) unreadResponses(r *http.Request) decision.Decision {
	held, share := h.proxy.ClientBuffered(r)
	if share == 0 || held < share {
		return decision.Decision{}
	}
	return decision.Decision{Action: decision.Throttle, Status: http.StatusTooManyRequests, RuleID: RuleUnreadResponses, RetryAfter: 10 * time.Second,
		Reason: fmt.Sprintf("this client's responses not yet read hold %d MB, its share of the response buffer (limits.response_buffer_per_client)", held>>20)}
}

// ServeHTTP runs the request through the chain.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.chain.Load()
	start := time.Now()
	underscore := sanitizeHeaders(r.Header, c.reqIDHeader) // before anything reads them (headers.go)
	if len(r.TransferEncoding) > 0 {
		// A chunked request may also have carried a Content-Length or a
		// folded Transfer-Encoding (Go drops the one and unfolds the other
		// before we see them). RFC 9112 section 6.1: close the connection
		// after answering, so bytes a front proxy framed differently never
		// become a request of their own (request smuggling).
		w.Header().Set("Connection", "close")
	}
	peer := c.resolver.Resolve(r)
	info := &decision.Info{ClientIP: peer.IP, Scheme: peer.Scheme, ViaTrustedProxy: peer.Trusted, ReportedByTrustedRange: peer.ReportedByRange, SchemeFromProxy: peer.SchemeFromProxy, Start: start}
	if underscore {
		info.AddTag("underscore-header")
	}
	info.ID = c.requestID(r, peer.Trusted)
	w.Header().Set(c.reqIDHeader, info.ID)
	ctx := context.WithValue(decision.WithInfo(r.Context(), info), chainKey{}, c)
	r = r.WithContext(ctx)
	rec := newRecorder(w)
	// A stage may have replaced the body with a spooled copy (an unlinked
	// temporary file): closed here whether or not it went upstream.
	defer func() {
		if r.Body != nil {
			_ = r.Body.Close()
		}
	}()

	if rt := h.route(c, r); rt != nil {
		c.serveRoute(ctx, rec, r, info, rt)
	} else if d := c.runStages(ctx, r, info, c.stages); d.Decided() {
		info.Final = d
		c.answer(rec, r, info, d)
	} else if d := h.unreadResponses(r); d.Decided() {
		info.Final = d
		c.answer(rec, r, info, d)
	} else if !h.proxy.Ready() {
		// Answered for the app while it boots: no alarm, no ban.
		info.Final = decision.Decision{Action: decision.Respond, Status: http.StatusServiceUnavailable, RuleID: RuleUpstreamStarting,
			Reason: "the app is not accepting connections yet", RetryAfter: 2 * time.Second}
		c.pages.Write(rec, r, denypage.Page{Status: http.StatusServiceUnavailable, Reason: RuleUpstreamStarting, RequestID: info.ID, RetryAfter: 2 * time.Second})
	} else {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(rec, r.Body, c.guards.MaxBody())
		}
		h.serveUpstream(ctx, c, rec, r, info, func() {
			// The body is received before the upstream cap is asked for a
			// slot: slow uploads must not hold the app's few workers.
			r, done, ok := h.proxy.ReceiveBody(rec, r)
			if !ok {
				return
			}
			defer done()
			c.flood.upstream(c, rec, r, info, func(upstreamDone func()) { h.proxy.Forward(rec, r, upstreamDone) })
		})
		return
	}
	h.emit(ctx, c, r, rec, info)
}

// serveUpstream runs serve (the proxy, behind the upstream cap) and emits
// the request's event, also when the upstream's body fails half-way and
// the proxy aborts the response with http.ErrAbortHandler (the panic is
// passed on so the connection is cut).
func (h *Handler) serveUpstream(ctx context.Context, c *Chain, rec *responseRecorder, r *http.Request, info *decision.Info, serve func()) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				rec.upstreamErr = "upstream response cut off mid-body"
				if rec.status == 0 {
					rec.status = http.StatusBadGateway
				}
				h.emit(ctx, c, r, rec, info)
			}
			panic(v)
		}
	}()
	serve()
	h.emit(ctx, c, r, rec, info)
}

type chainKey struct{}

// ModifyResponse is the proxy's response hook: the response stages of the
// chain that served the request inspect and harden the upstream's answer.
func (h *Handler) ModifyResponse(resp *http.Response) error {
	c, _ := resp.Request.Context().Value(chainKey{}).(*Chain)
	info := decision.FromContext(resp.Request.Context())
	if c == nil || info == nil {
		return nil
	}
	for _, s := range c.respStages {
		if err := s.CheckResponse(resp.Request.Context(), resp, info); err != nil {
			return err
		}
	}
	return nil
}

// CSPViolations lists the CSP violations reported so far (nil without a
// report endpoint).
func (c *Chain) CSPViolations() []harden.Violation {
	if c.harden == nil || c.harden.CSPReports == nil {
		return nil
	}
	return c.harden.CSPReports.Snapshot()
}

// CSPReport is what the chain's CSP collector has seen, with the policy
// it sends (empty without response hardening).
func (c *Chain) CSPReport() harden.ViolationReport {
	if c.harden == nil {
		return harden.ViolationReport{Violations: []harden.Violation{}}
	}
	return c.harden.CSPReport()
}

// runStages passes the request through the stages until one decides.
func (c *Chain) runStages(ctx context.Context, r *http.Request, info *decision.Info, stages []decision.Stage) decision.Decision {
	for _, s := range stages {
		if info.Skips(s.Name()) {
			continue
		}
		d := s.Check(ctx, r, info)
		if d.Decided() {
			return d
		}
		if d.Matched() {
			info.Matched = append(info.Matched, d)
		}
		if d.Action == decision.Allow && d.Final {
			info.Final = d
			return d
		}
	}
	return decision.Pass
}

// answer writes the response for an enforced decision.
func (c *Chain) answer(w http.ResponseWriter, r *http.Request, info *decision.Info, d decision.Decision) {
	status := d.Status
	switch d.Action {
	case decision.Respond:
		if status == 0 {
			status = http.StatusNoContent
		}
		for k, v := range d.Headers {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		return
	case decision.Challenge:
		c.challenge.Answer(w, r, info, d)
		return
	case decision.Throttle:
		if status == 0 {
			status = http.StatusTooManyRequests
		}
	default:
		if status == 0 {
			status = http.StatusForbidden
		}
	}
	c.pages.Write(w, r, denypage.Page{Status: status, Reason: d.RuleID, RequestID: info.ID, RetryAfter: d.RetryAfter, Header: d.Headers})
}

// requestID keeps a well-formed id from a trusted proxy (Heroku's router
// sets X-Request-Id) or makes a new one.
func (c *Chain) requestID(r *http.Request, trusted bool) string {
	if trusted {
		if id := r.Header.Get(c.reqIDHeader); validRequestID(id) {
			return id
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == ':' || ch == '+' || ch == '=' || ch == '/') {
			return false
		}
	}
	return true
}

func (h *Handler) emit(ctx context.Context, c *Chain, r *http.Request, rec *responseRecorder, info *decision.Info) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	d := info.Final
	e := &events.Event{
		Time:      info.Start,
		RequestID: info.ID,
		ClientIP:  info.ClientIP.String(),
		Method:    r.Method,
		Host:      r.Host,
		Path:      c.redactor.Path(r.URL.Path, r.URL.RawQuery),
		Status:    status,
		Bytes:     rec.bytes,
		Duration:  time.Since(info.Start),
		Decision:  d.Action.String(),
		RuleID:    d.RuleID,
		Reason:    d.Reason,
		Country:   info.Country,
		ASN:       info.ASN,
		UserAgent: c.redactor.UserAgent(r.UserAgent()),
		Tags:      info.Tags,
		Error:     rec.upstreamErr,
		Critical:  d.Critical,
		Matched:   d.Rules,

		Inspection: info.Inspection,
	}
	if d.RuleID != "" {
		e.Mode = d.Mode.String()
	}
	for _, m := range info.Matched {
		label := m.RuleID + ":" + m.Action.String()
		if m.Mode == decision.Monitor {
			label += ":monitor"
		}
		e.Monitored = append(e.Monitored, label)
		e.Matched = append(e.Matched, m.Rules...)
	}
	h.sink.Emit(ctx, e)
	c.flood.observe(ctx, r, info, status)
}

func fmtIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
