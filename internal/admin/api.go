package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/live"
	"github.com/parapet-waf/parapet/internal/loadshed"
	"github.com/parapet-waf/parapet/internal/ratelimit"
	"github.com/parapet-waf/parapet/internal/store"
)

// Rule ids of admin API requests in the request events.
const (
	RuleAdminAPI       = "admin-api"        // served
	RuleAdminToken     = "admin-token"      // refused: no or a wrong token or session
	RuleAdminCSRF      = "admin-csrf"       // refused: a cookie change without X-CSRF-Token
	RuleAdminFailLimit = "admin-fail-limit" // refused: too many failed attempts
	RuleAdminOrigin    = "admin-origin"     // refused: a dashboard session on the app's own origin
)

// maxBody bounds an admin request's body.
const maxBody = 1 << 20

// Problem is one field's problem in an error answer.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
}

// ErrorBody is every error answer: {"error": "...", "errors": [...]}.
type ErrorBody struct {
	Error  string    `json:"error"`
	Errors []Problem `json:"errors,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(v)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string, problems ...Problem) {
	writeJSON(w, status, ErrorBody{Error: msg, Errors: problems})
}

// request is what the API knows of a request besides http.Request.
type request struct {
	client netip.Addr
	info   *decision.Info // nil on the private listener
}

// serveRoute serves the API on the public listener (after the bans and
// limits that guard everything Parapet serves).
func (s *Service) serveRoute(w http.ResponseWriter, r *http.Request, info *decision.Info) {
	s.serve(w, r, request{client: info.ClientIP, info: info})
}

// privateHandler serves the API on admin.listen.
func (s *Service) privateHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		ip, _ := netip.ParseAddr(host)
		for prefix, h := range s.opts.Private {
			if strings.HasPrefix(r.URL.Path, prefix) || r.URL.Path == strings.TrimSuffix(prefix, "/") {
				if len(s.rt.Config().AdminTokens()) == 0 {
					writeError(w, http.StatusNotFound, "not found")
					return
				}
				h.ServeHTTP(w, r)
				return
			}
		}
		if !strings.HasPrefix(r.URL.Path, PathPrefix) {
			writeError(w, http.StatusNotFound, "not found: the admin API is under "+PathPrefix)
			return
		}
		s.serve(w, r, request{client: ip.Unmap()})
	})
}

func (q request) final(d decision.Decision) {
	if q.info != nil {
		q.info.Final = d
	}
}

// serve authenticates the request and passes it to the API's routes.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, q request) {
	cfg := s.rt.Config()
	tokens := cfg.AdminTokens()
	if len(tokens) == 0 {
		// Turned off by a reload: as if it were not there.
		q.final(decision.Decision{Action: decision.Respond, Status: http.StatusNotFound, RuleID: RuleAdminAPI, Reason: "admin API off (no admin.token)"})
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	ctx := r.Context()
	if wait, locked := s.locked(ctx, q.client); locked {
		q.final(decision.Decision{Action: decision.Throttle, Status: http.StatusTooManyRequests, RuleID: RuleAdminFailLimit, Reason: "too many failed admin API attempts (admin.fail_limit)"})
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "too many failed attempts from this address; try again later")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	sessions := SessionsAllowed(cfg, r, q.info == nil)
	if r.URL.Path == PathPrefix+"session" {
		if !sessions {
			s.noSessionsHere(w, q, cfg)
			return
		}
		s.session(w, r, q, tokens)
		return
	}
	actor, viaCookie, ok := s.authenticate(w, r, q, tokens, sessions)
	if !ok {
		return
	}
	if viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
		sess, _ := s.cookieSession(r, tokens)
		if got := r.Header.Get(CSRFHeader); got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			q.final(decision.Decision{Action: decision.Block, Status: http.StatusForbidden, RuleID: RuleAdminCSRF, Reason: "admin change with the session cookie but without its X-CSRF-Token"})
			writeError(w, http.StatusForbidden, "a change made with the session cookie needs the "+CSRFHeader+" header (GET "+PathPrefix+"session gives it)")
			return
		}
	}
	q.final(decision.Decision{Action: decision.Respond, RuleID: RuleAdminAPI, Reason: "admin API: " + r.Method + " by " + actor})
	ctx = context.WithValue(ctx, actorKey{}, actor)
	ctx = context.WithValue(ctx, clientKey{}, q.client)
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

type clientKey struct{}

func clientOf(ctx context.Context) string {
	if ip, ok := ctx.Value(clientKey{}).(netip.Addr); ok && ip.IsValid() {
		return ip.String()
	}
	return ""
}

// authenticate finds the actor of a bearer token or a session cookie, or
// answers 401 (a wrong credential is logged, counted and limited).
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request, q request, tokens []config.AdminToken, sessions bool) (actor string, viaCookie, ok bool) {
	if tok, has := bearer(r); has {
		if actor, ok := tokenActor(tokens, tok); ok {
			return actor, false, true
		}
		s.failed(w, r, q, "wrong bearer token")
		return "", false, false
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if !sessions {
			s.noSessionsHere(w, q, s.rt.Config())
			return "", false, false
		}
		sess, err := s.cookieSession(r, tokens)
		if err == nil {
			return sess.Actor, true, true
		}
		s.refuse(w, q, "session cookie invalid, expired or logged out")
		return "", false, false
	}
	s.refuse(w, q, "no credentials")
	return "", false, false
}

// cookieSession returns the request's valid, not logged-out session.
func (s *Service) cookieSession(r *http.Request, tokens []config.AdminToken) (session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, errBadSession
	}
	sess, err := parseSession(tokens, c.Value, time.Now())
	if err != nil {
		return session{}, err
	}
	if _, revoked, err := s.st.Get(r.Context(), sessionRevokedKey(sess.ID)); err == nil && revoked {
		return session{}, errBadSession
	}
	return sess, nil
}

// SessionsAllowed reports whether dashboard sessions (the cookie) are made
// and honoured for r: on the private listener (admin.listen), or on
// admin.host, where Parapet serves nothing of the app; never on the app's
// own origin, where a script on any of its pages could use them.
func SessionsAllowed(cfg *config.Config, r *http.Request, private bool) bool {
	return private || config.SameHost(r.Host, cfg.Admin.Host)
}

// NoSessionsMessage tells an operator on the app's own origin why there
// is no dashboard login there and how to get one.
func NoSessionsMessage(cfg *config.Config) string {
	if cfg.Admin.Host != "" {
		return "dashboard logins are made on admin.host only: open /_parapet/ui/ on " + cfg.Admin.Host +
			" (a script on any page of the app could use a session made on the app's own origin); the API answers bearer tokens here"
	}
	return "dashboard logins are refused on the app's own origin, where a script on any page of the app could use the session: " +
		"set admin.host (PARAPET_ADMIN_HOST: a host name of the dashboard's own, e.g. parapet.example.com, routed to this app) " +
		"or admin.listen (PARAPET_ADMIN_LISTEN: a private address) and open /_parapet/ui/ there; the API answers bearer tokens here"
}

// noSessionsHere refuses a login, a session read or a session cookie on
// the app's own origin (403, not counted as a failure).
func (s *Service) noSessionsHere(w http.ResponseWriter, q request, cfg *config.Config) {
	q.final(decision.Decision{Action: decision.Respond, Status: http.StatusForbidden, RuleID: RuleAdminOrigin,
		Reason: "admin API: dashboard session on the app's own origin"})
	writeError(w, http.StatusForbidden, NoSessionsMessage(cfg))
}

// refuse answers 401 without counting a failure (no credentials, or an
// old session: what a dashboard sees before logging in).
func (s *Service) refuse(w http.ResponseWriter, q request, why string) {
	q.final(decision.Decision{Action: decision.Respond, Status: http.StatusUnauthorized, RuleID: RuleAdminToken, Reason: "admin API: " + why})
	w.Header().Set("WWW-Authenticate", `Bearer realm="parapet admin"`)
	writeError(w, http.StatusUnauthorized, "authentication required: Authorization: Bearer <admin token>, or log in with POST "+PathPrefix+"session")
}

// failed answers a wrong token: logged as an admin event (never the
// token), counted, and limited per client address (admin.fail_limit).
func (s *Service) failed(w http.ResponseWriter, r *http.Request, q request, why string) {
	s.fails.Inc()
	s.rt.Emit(r.Context(), &events.Event{Kind: events.KindAdmin, ClientIP: q.client.String(),
		Message: fmt.Sprintf("admin API: %s (%s %s)", why, r.Method, r.URL.Path)})
	q.final(decision.Decision{Action: decision.Block, Status: http.StatusUnauthorized, RuleID: RuleAdminToken, Reason: "admin API: " + why})
	if wait := s.countFailure(r.Context(), q.client); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "too many failed attempts from this address; try again later")
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="parapet admin", error="invalid_token"`)
	writeError(w, http.StatusUnauthorized, "wrong admin token")
}

func failKey(ip netip.Addr) string { return "admin:fail:" + ratelimit.ClientKey(ip) }
func lockKey(ip netip.Addr) string { return "admin:locked:" + ratelimit.ClientKey(ip) }

// countFailure takes one failure from the client's admin.fail_limit; past
// it the client is locked out (every instance, with Redis) until the
// limit allows again, and the wait is returned.
func (s *Service) countFailure(ctx context.Context, ip netip.Addr) time.Duration {
	if !ip.IsValid() {
		return 0
	}
	l, err := store.ParseLimit(s.rt.Config().Admin.FailLimit)
	if err != nil {
		return 0
	}
	res, err := s.st.GCRA(ctx, failKey(ip), l)
	if err != nil || res.Allowed {
		return 0
	}
	until := time.Now().Add(res.RetryAfter)
	_ = s.st.Set(ctx, lockKey(ip), []byte(until.UTC().Format(time.RFC3339Nano)), res.RetryAfter)
	return res.RetryAfter
}

// locked reports whether the client is locked out after failures.
func (s *Service) locked(ctx context.Context, ip netip.Addr) (time.Duration, bool) {
	if !ip.IsValid() {
		return 0, false
	}
	v, ok, err := s.st.Get(ctx, lockKey(ip))
	if err != nil || !ok {
		return 0, false
	}
	until, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil || !until.After(time.Now()) {
		return 0, false
	}
	return time.Until(until), true
}

// sessionBody answers POST and GET session.
type sessionBody struct {
	CSRF  string `json:"csrf"`
	Actor string `json:"actor"`
}

// session logs in (POST {"token"}), tells the dashboard who is logged in
// (GET) and logs out (DELETE).
func (s *Service) session(w http.ResponseWriter, r *http.Request, q request, tokens []config.AdminToken) {
	switch r.Method {
	case http.MethodPost:
		var body struct {
			Token string `json:"token"`
		}
		if err := decodeBody(r, &body); err != nil {
			q.final(decision.Decision{Action: decision.Respond, Status: http.StatusBadRequest, RuleID: RuleAdminAPI, Reason: "admin login: bad body"})
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		actor, ok := tokenActor(tokens, body.Token)
		if !ok {
			s.failed(w, r, q, "login with a wrong token")
			return
		}
		ttl := s.rt.Config().Admin.SessionTTL
		sess := session{ID: randomToken(18), Actor: actor, CSRF: randomToken(24), Expires: time.Now().Add(ttl).Unix()}
		key, _ := sessionKey(tokens, actor)
		http.SetCookie(w, sessionCookie(sess.sign(key), int(ttl.Seconds())))
		q.final(decision.Decision{Action: decision.Respond, RuleID: RuleAdminAPI, Reason: "admin login by " + actor})
		s.rt.Emit(r.Context(), &events.Event{Kind: events.KindAdmin, Actor: actor, ClientIP: q.client.String(), Message: "logged in to the dashboard"})
		writeJSON(w, http.StatusOK, sessionBody{CSRF: sess.CSRF, Actor: actor})
	case http.MethodGet, http.MethodHead:
		sess, err := s.cookieSession(r, tokens)
		if err != nil {
			s.refuse(w, q, "no valid session")
			return
		}
		q.final(decision.Decision{Action: decision.Respond, RuleID: RuleAdminAPI, Reason: "admin session read by " + sess.Actor})
		writeJSON(w, http.StatusOK, sessionBody{CSRF: sess.CSRF, Actor: sess.Actor})
	case http.MethodDelete:
		sess, err := s.cookieSession(r, tokens)
		if err == nil {
			if got := r.Header.Get(CSRFHeader); subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
				q.final(decision.Decision{Action: decision.Block, Status: http.StatusForbidden, RuleID: RuleAdminCSRF, Reason: "admin logout without X-CSRF-Token"})
				writeError(w, http.StatusForbidden, "logging out needs the "+CSRFHeader+" header")
				return
			}
			_ = s.st.Set(r.Context(), sessionRevokedKey(sess.ID), []byte("1"), time.Until(time.Unix(sess.Expires, 0))+time.Minute)
			s.rt.Emit(r.Context(), &events.Event{Kind: events.KindAdmin, Actor: sess.Actor, ClientIP: q.client.String(), Message: "logged out of the dashboard"})
		}
		http.SetCookie(w, sessionCookie("", -1))
		q.final(decision.Decision{Action: decision.Respond, Status: http.StatusNoContent, RuleID: RuleAdminAPI, Reason: "admin logout"})
		w.WriteHeader(http.StatusNoContent)
	default:
		q.final(decision.Decision{Action: decision.Respond, Status: http.StatusMethodNotAllowed, RuleID: RuleAdminAPI, Reason: "admin session: method not allowed"})
		methodNotAllowed(w, r, []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPost})
	}
}

// decodeBody reads a JSON body into v, refusing unknown fields.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the request body must be a JSON object")
		}
		return fmt.Errorf("the request body is not the JSON expected: %v", err)
	}
	return nil
}

// routes are the API's endpoints (after authentication).
func (s *Service) routes() *http.ServeMux {
	mux := http.NewServeMux()
	p := PathPrefix
	mux.HandleFunc("GET "+p+"status", s.getStatus)
	mux.HandleFunc("GET "+p+"bans", s.getBans)
	mux.HandleFunc("POST "+p+"bans", s.postBan)
	mux.HandleFunc("DELETE "+p+"bans/{ip...}", s.deleteBan)
	mux.HandleFunc("GET "+p+"rules", s.getRules)
	mux.HandleFunc("POST "+p+"rules", s.postRule)
	mux.HandleFunc("PATCH "+p+"rules/{id}", s.patchRule)
	mux.HandleFunc("DELETE "+p+"rules/{id}", s.deleteRule)
	mux.HandleFunc("POST "+p+"under-attack", s.postUnderAttack)
	mux.HandleFunc("POST "+p+"reload", s.postReload)
	mux.Handle("GET "+p+"events", orTODO(s.opts.Events, "events"))
	mux.Handle("GET "+p+"stats", orTODO(s.opts.Stats, "stats"))
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r, p); len(allow) > 0 {
			methodNotAllowed(w, r, allow)
			return
		}
		writeError(w, http.StatusNotFound, "no such admin API endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// methods are the methods an endpoint may take, in the order an Allow
// header lists them.
var methods = []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPost, http.MethodPut}

// allowed lists the methods mux has an endpoint for at r's path (its
// catch-all pattern fallback aside): empty when the path is no endpoint.
func allowed(mux *http.ServeMux, r *http.Request, fallback string) []string {
	var out []string
	for _, m := range methods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != fallback && pattern != "" && !redirected(pattern, r.URL.Path) {
			out = append(out, m)
		}
	}
	return out
}

// redirected reports whether the mux answers path with a redirect to
// pattern's subtree (".../bans" to ".../bans/{ip...}"), not the endpoint.
func redirected(pattern, path string) bool {
	_, p, _ := strings.Cut(pattern, " ")
	literal, _, _ := strings.Cut(p, "{")
	return !strings.HasSuffix(path, "/") && literal == path+"/"
}

// methodNotAllowed answers 405 in the API's JSON with the Allow header.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	list := strings.Join(allow, ", ")
	w.Header().Set("Allow", list)
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+" (allowed: "+list+")")
}

// orTODO is h, or a 501 when the setup gave none (internal/visibility
// gives package eventlog's handlers).
func orTODO(h http.Handler, what string) http.Handler {
	if h != nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotImplemented, what+" are not available in this build")
	})
}

func (s *Service) emit(ctx context.Context, msg string) {
	s.rt.Emit(ctx, &events.Event{Kind: events.KindAdmin, Actor: Actor(ctx), ClientIP: clientOf(ctx), Message: msg})
}

// Status is GET /_parapet/api/status.
type Status struct {
	Version       string          `json:"version"`
	ConfigHash    string          `json:"config_hash"`
	UptimeSeconds int64           `json:"uptime_seconds"`
	Instances     []Instance      `json:"instances"`
	UnderAttack   UnderAttackView `json:"under_attack"`
	Store         StoreView       `json:"store"`
	Feeds         []FeedView      `json:"feeds"`
	Mode          string          `json:"mode"`
}

// FeedView is one running feed's health (the access rules' feeds, the
// crawler ranges), by name.
type FeedView struct {
	Name string `json:"name"`
	// OK: the last load worked (false while never loaded, too).
	OK bool `json:"ok"`
	// Entries are the addresses and prefixes in the list in use.
	Entries int `json:"entries"`
	// Source of the list in use: network, cache, file or none.
	Source string `json:"source"`
	// Updated is when a good list was last loaded.
	Updated *time.Time `json:"updated,omitempty"`
	// Error is why the last refresh failed (the previous list stays).
	Error string `json:"error,omitempty"`
}

// feedViews reports the running feeds, sorted by name.
func (s *Service) feedViews() []FeedView {
	out := []FeedView{}
	for _, f := range s.rt.Deps().Feeds.Statuses() {
		v := FeedView{Name: f.Name, OK: f.LastError == "" && !f.LastSuccess.IsZero(), Entries: f.Entries, Source: f.Source, Error: f.LastError}
		if !f.LastSuccess.IsZero() {
			t := f.LastSuccess.UTC()
			v.Updated = &t
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Instance is one Parapet instance seen through the shared store.
type Instance struct {
	ID       string    `json:"id"`
	LastSeen time.Time `json:"last_seen"`
}

// UnderAttackView is under-attack mode's state.
type UnderAttackView struct {
	On     bool   `json:"on"`
	Reason string `json:"reason"`
	Until  string `json:"until"`
}

// StoreView is the shared store's health.
type StoreView struct {
	Type    string `json:"type"`
	Healthy bool   `json:"healthy"`
}

func (s *Service) getStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cfg := s.rt.Config()
	st := Status{
		Version:       s.rt.Version(),
		ConfigHash:    s.rt.ConfigHash(),
		UptimeSeconds: int64(time.Since(s.rt.Started()).Seconds()),
		Instances:     []Instance{{ID: s.id, LastSeen: time.Now().UTC()}},
		Store:         StoreView{Type: cfg.Store.Type, Healthy: !s.guard.Down()},
		Feeds:         s.feedViews(),
		Mode:          "edge",
	}
	if st.Store.Type == "" {
		st.Store.Type = "memory"
	}
	if s.rt.Sidecar() {
		st.Mode = "sidecar"
	}
	if rs, ok := s.st.(*store.Redis); ok {
		if seen, err := rs.Instances(ctx, time.Now().Add(-30*time.Second)); err == nil {
			st.Instances = st.Instances[:0]
			seen[s.id] = time.Now()
			for id, t := range seen {
				st.Instances = append(st.Instances, Instance{ID: id, LastSeen: t.UTC()})
			}
			sort.Slice(st.Instances, func(i, j int) bool { return st.Instances[i].ID < st.Instances[j].ID })
		} else {
			st.Store.Healthy = false
		}
	}
	st.UnderAttack = s.underAttackView(ctx)
	writeJSON(w, http.StatusOK, st)
}

func (s *Service) underAttackView(ctx context.Context) UnderAttackView {
	ua := s.rt.Deps().UnderAttack()
	if ua == nil {
		return UnderAttackView{}
	}
	on, reason, until := ua.State(ctx)
	v := UnderAttackView{On: on, Reason: reason}
	if !until.IsZero() {
		v.Until = until.UTC().Format(time.RFC3339)
	}
	return v
}

// BanView is one ban in the API.
type BanView struct {
	IP     string `json:"ip"`
	Reason string `json:"reason"`
	Until  string `json:"until"`
	Source string `json:"source"`
	Action string `json:"action"`
}

func banView(b store.Ban) BanView {
	return BanView{IP: b.Key, Reason: b.Reason, Until: b.Until.UTC().Format(time.RFC3339), Source: b.Source, Action: b.Action}
}

func (s *Service) getBans(w http.ResponseWriter, r *http.Request) {
	bans, err := s.st.Bans(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot read the bans: "+err.Error())
		return
	}
	out := make([]BanView, 0, len(bans))
	for _, b := range bans {
		out = append(out, banView(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"bans": out})
}

func (s *Service) postBan(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IP     string `json:"ip"`
		For    string `json:"for"`
		Reason string `json:"reason"`
		Action string `json:"action"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var problems []Problem
	key, err := ratelimit.ParseClientKey(body.IP)
	if err != nil {
		problems = append(problems, Problem{Field: "ip", Reason: err.Error()})
	}
	d := time.Hour
	if body.For != "" {
		if d, err = time.ParseDuration(body.For); err != nil || d <= 0 {
			problems = append(problems, Problem{Field: "for", Reason: fmt.Sprintf("%q is not a positive duration like 30m, 1h or 72h", body.For)})
		}
	}
	switch body.Action {
	case "":
		body.Action = "block"
	case "block", "challenge":
	default:
		problems = append(problems, Problem{Field: "action", Reason: fmt.Sprintf("%q must be block or challenge", body.Action)})
	}
	if len(body.Reason) > 500 {
		problems = append(problems, Problem{Field: "reason", Reason: "is longer than 500 characters"})
	}
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, "ban refused: "+problems[0].Field+": "+problems[0].Reason, problems...)
		return
	}
	if body.Reason == "" {
		body.Reason = "banned by " + Actor(r.Context())
	}
	// An allow rule runs before the bans: refused if it lets any address
	// of the ban through (an IPv6 ban is of the address's /64).
	if p, err := netip.ParsePrefix(key); err == nil {
		key = p.String()
		if rule, ok := s.rt.Handler().Chain().AllowOverlapping(p); ok {
			s.allowListed(w, body.IP, key, rule)
			return
		}
	} else if ip, err := netip.ParseAddr(key); err == nil {
		if rule, ok := s.rt.Handler().Chain().AllowListedBy(ip); ok {
			s.allowListed(w, body.IP, key, rule)
			return
		}
	}
	now := time.Now()
	ban := store.Ban{Key: key, Action: body.Action, Reason: body.Reason, Source: "admin:" + Actor(r.Context()), Created: now, Until: now.Add(d)}
	if err := s.st.AddBan(r.Context(), ban); err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot store the ban: "+err.Error())
		return
	}
	s.emit(r.Context(), fmt.Sprintf("banned %s (%s) until %s: %s", key, ban.Action, ban.Until.UTC().Format(time.RFC3339), ban.Reason))
	writeJSON(w, http.StatusCreated, banView(ban))
}

func (s *Service) allowListed(w http.ResponseWriter, ip, key, rule string) {
	if strings.Contains(key, "/") {
		what := key
		if key != ip {
			what = ip + " (banned as its " + key + ")"
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("%s holds addresses allow-listed by rule %s: allow rules run before bans, so the ban would never apply to them; remove them from the rule first", what, rule),
			Problem{Field: "ip", Reason: key + " holds addresses allow-listed by rule " + rule})
		return
	}
	writeError(w, http.StatusConflict, fmt.Sprintf("%s is allow-listed by rule %s: allow rules run before bans, so a ban would never apply; remove the address from the rule first", ip, rule),
		Problem{Field: "ip", Reason: "allow-listed by rule " + rule})
}

func (s *Service) deleteBan(w http.ResponseWriter, r *http.Request) {
	key, err := ratelimit.ParseClientKey(r.PathValue("ip"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), Problem{Field: "ip", Reason: err.Error()})
		return
	}
	removed, err := s.st.RemoveBan(r.Context(), key)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "cannot lift the ban: "+err.Error())
		return
	}
	if !removed {
		writeError(w, http.StatusNotFound, key+" is not banned")
		return
	}
	s.emit(r.Context(), "lifted the ban of "+key)
	w.WriteHeader(http.StatusNoContent)
}

// ruleView renders a rule for the API: its id, kind, mode and source,
// and its fields as in the config file.
func ruleView(kind, source string, rule any, id, mode string) map[string]any {
	out := map[string]any{}
	if b, err := yaml.Marshal(rule); err == nil {
		var m map[string]any
		if yaml.Unmarshal(b, &m) == nil {
			for k, v := range m {
				if !isZero(v) {
					out[k] = v
				}
			}
		}
	}
	if mode == "" {
		mode = "enforce"
	}
	out["id"], out["kind"], out["mode"], out["source"] = id, kind, mode, source
	return out
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case int:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, e := range x {
			if !isZero(e) {
				return false
			}
		}
		return true
	}
	return false
}

// rules lists every rule: the file's (with their mode overrides) then
// the live ones.
func (s *Service) rulesList() []map[string]any {
	file := s.rt.FileConfig()
	s.mu.Lock()
	state := s.state.Clone()
	s.mu.Unlock()
	var out []map[string]any
	mode := func(kind, id, m string) string {
		if o, ok := state.Modes[kind+"/"+id]; ok {
			return o
		}
		return m
	}
	for _, r := range file.Rules {
		out = append(out, ruleView(live.KindAccess, "file", r, r.ID, mode(live.KindAccess, r.ID, r.Mode)))
	}
	for _, r := range file.RateLimits.Rules {
		out = append(out, ruleView(live.KindRateLimit, "file", r, r.ID, mode(live.KindRateLimit, r.ID, r.Mode)))
	}
	for _, lr := range state.Rules {
		switch lr.Kind {
		case live.KindAccess:
			if r, err := live.DecodeAccess(lr.Rule); err == nil {
				out = append(out, ruleView(lr.Kind, "live", r, r.ID, mode(lr.Kind, r.ID, r.Mode)))
			}
		case live.KindRateLimit:
			if r, err := live.DecodeRateLimit(lr.Rule); err == nil {
				out = append(out, ruleView(lr.Kind, "live", r, r.ID, mode(lr.Kind, r.ID, r.Mode)))
			}
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out
}

func (s *Service) getRules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"rules": s.rulesList()})
}

func (s *Service) findRule(id, kind string) map[string]any {
	for _, v := range s.rulesList() {
		if v["id"] == id && (kind == "" || v["kind"] == kind) {
			return v
		}
	}
	return nil
}

// changeError answers a refused live change: by field for the changed
// rule, the rest as they come.
func changeError(w http.ResponseWriter, err error, where map[string]int, i int) {
	fields, other := live.FieldErrors(err, where, i)
	var problems []Problem
	for _, f := range fields {
		problems = append(problems, Problem{Field: f.Field, Reason: f.Reason})
	}
	for _, o := range other {
		problems = append(problems, Problem{Field: "", Reason: o})
	}
	msg := "rule refused"
	if len(problems) > 0 {
		msg += ": " + strings.TrimPrefix(problems[0].Field+": "+problems[0].Reason, ": ")
	}
	writeError(w, http.StatusBadRequest, msg, problems...)
}

func (s *Service) postRule(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Kind string          `json:"kind"`
		Rule json.RawMessage `json:"rule"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.Kind != live.KindAccess && body.Kind != live.KindRateLimit {
		writeError(w, http.StatusBadRequest, "kind must be access or rate_limit", Problem{Field: "kind", Reason: fmt.Sprintf("%q must be access or rate_limit", body.Kind)})
		return
	}
	ctx := r.Context()
	index := -1
	state, where, err := s.change(ctx, func(st *live.State) error {
		st.Rules = append(st.Rules, live.Rule{Kind: body.Kind, Rule: body.Rule, Actor: Actor(ctx), Created: time.Now().UTC()})
		index = len(st.Rules) - 1
		return nil
	})
	if err != nil {
		changeError(w, err, where, index)
		return
	}
	id := state.Rules[index].ID()
	s.emit(ctx, fmt.Sprintf("added live %s rule %s", body.Kind, id))
	writeJSON(w, http.StatusCreated, s.findRule(id, body.Kind))
}

func (s *Service) patchRule(w http.ResponseWriter, r *http.Request) {
	id, kind := r.PathValue("id"), r.URL.Query().Get("kind")
	var patch map[string]json.RawMessage
	if err := decodeBody(r, &patch); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	cur := s.findRule(id, kind)
	if cur == nil {
		writeError(w, http.StatusNotFound, "no rule "+id)
		return
	}
	kind = cur["kind"].(string)
	ctx := r.Context()
	if _, changesID := patch["id"]; changesID {
		writeError(w, http.StatusBadRequest, "a rule's id cannot change", Problem{Field: "id", Reason: "cannot change; delete the rule and add another"})
		return
	}
	var mode string
	if raw, ok := patch["mode"]; ok {
		if json.Unmarshal(raw, &mode) != nil || mode != "enforce" && mode != "monitor" {
			writeError(w, http.StatusBadRequest, "mode must be enforce or monitor", Problem{Field: "mode", Reason: fmt.Sprintf("%s must be enforce or monitor", raw)})
			return
		}
	}
	if cur["source"] == "file" {
		if len(patch) != 1 || mode == "" {
			writeError(w, http.StatusConflict, "rule "+id+" is in the config file: here only its mode can be switched (PATCH {\"mode\": \"monitor\"}); edit the file and reload for the rest")
			return
		}
	}
	index := -1
	_, where, err := s.change(ctx, func(st *live.State) error {
		if st.Modes == nil {
			st.Modes = map[string]string{}
		}
		if cur["source"] == "file" {
			st.Modes[kind+"/"+id] = mode
			return nil
		}
		index = st.Find(kind, id)
		if index < 0 {
			return fmt.Errorf("rule %s is gone", id)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(st.Rules[index].Rule, &fields); err != nil {
			return err
		}
		for k, v := range patch {
			if string(v) == "null" {
				delete(fields, k)
			} else {
				fields[k] = v
			}
		}
		raw, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		st.Rules[index].Rule = raw
		delete(st.Modes, kind+"/"+id) // the rule's own mode now says it
		return nil
	})
	if err != nil {
		changeError(w, err, where, index)
		return
	}
	what := "changed live rule " + id
	if mode != "" && len(patch) == 1 {
		what = fmt.Sprintf("switched %s rule %s to %s", kind, id, mode)
	}
	s.emit(ctx, what)
	writeJSON(w, http.StatusOK, s.findRule(id, kind))
}

func (s *Service) deleteRule(w http.ResponseWriter, r *http.Request) {
	id, kind := r.PathValue("id"), r.URL.Query().Get("kind")
	cur := s.findRule(id, kind)
	if cur == nil {
		writeError(w, http.StatusNotFound, "no rule "+id)
		return
	}
	if cur["source"] == "file" {
		writeError(w, http.StatusConflict, "rule "+id+" is in the config file: remove it there and reload, or switch it to monitor with PATCH {\"mode\": \"monitor\"}")
		return
	}
	kind = cur["kind"].(string)
	_, where, err := s.change(r.Context(), func(st *live.State) error {
		i := st.Find(kind, id)
		if i < 0 {
			return fmt.Errorf("rule %s is gone", id)
		}
		st.Rules = append(st.Rules[:i], st.Rules[i+1:]...)
		delete(st.Modes, kind+"/"+id)
		return nil
	})
	if err != nil {
		changeError(w, err, where, -1)
		return
	}
	s.emit(r.Context(), "deleted live rule "+id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) postUnderAttack(w http.ResponseWriter, r *http.Request) {
	var body struct {
		On     *bool  `json:"on"`
		For    string `json:"for"`
		Reason string `json:"reason"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if body.On == nil {
		writeError(w, http.StatusBadRequest, "on is required", Problem{Field: "on", Reason: "is required: true or false"})
		return
	}
	d := 30 * time.Minute
	if body.For != "" {
		var err error
		if d, err = time.ParseDuration(body.For); err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "for must be a duration", Problem{Field: "for", Reason: fmt.Sprintf("%q is not a positive duration like 30m", body.For)})
			return
		}
	}
	ua := s.rt.Deps().UnderAttack()
	if ua == nil {
		writeError(w, http.StatusServiceUnavailable, "under-attack mode is not running")
		return
	}
	ctx := r.Context()
	actor := Actor(ctx)
	reason := "switched on by " + actor
	if body.Reason != "" {
		reason += ": " + body.Reason
	}
	if *body.On {
		if err := ua.Force(ctx, true, reason, d); err != nil {
			writeError(w, http.StatusServiceUnavailable, "cannot switch under-attack mode on: "+err.Error())
			return
		}
	} else if err := ua.Force(ctx, false, "switched off by "+actor, 0); err != nil {
		status := http.StatusServiceUnavailable
		if errors.Is(err, loadshed.ErrHeldByConfig) {
			status = http.StatusConflict
		}
		writeError(w, status, "cannot switch under-attack mode off: "+err.Error())
		return
	}
	// Kept across a restart (the memory store forgets it).
	s.mu.Lock()
	next := s.state.Clone()
	if *body.On {
		next.UnderAttack = &live.UnderAttack{Until: time.Now().Add(d).UTC(), Reason: reason, Actor: actor}
	} else {
		next.UnderAttack = nil
	}
	raw := next.Encode()
	if err := s.persist.save(ctx, raw); err != nil {
		s.log.Error("admin: cannot keep under-attack mode across a restart", "error", err)
	} else {
		s.state, s.saved = next, raw
	}
	s.mu.Unlock()
	if *body.On {
		s.emit(ctx, fmt.Sprintf("under-attack mode on for %s (%s)", d, reason))
	} else {
		s.emit(ctx, "under-attack mode off")
	}
	writeJSON(w, http.StatusOK, s.underAttackView(ctx))
}

func (s *Service) postReload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	err := s.rt.Reload(ctx, "admin API, "+Actor(ctx))
	if err == nil {
		s.emit(ctx, "reloaded the config")
		writeJSON(w, http.StatusOK, map[string]any{"reloaded": true, "config_hash": s.rt.ConfigHash()})
		return
	}
	var problems []Problem
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			p := Problem{Field: e.Path, Reason: e.Reason, File: e.File, Line: e.Line}
			if e.Env != "" {
				p.File = "environment " + e.Env
			}
			problems = append(problems, p)
		}
	} else {
		problems = append(problems, Problem{Reason: err.Error()})
	}
	s.emit(ctx, "config reload refused: "+err.Error())
	writeError(w, http.StatusBadRequest, "config refused; the running config keeps serving: "+strings.SplitN(err.Error(), "\n", 2)[0], problems...)
}
