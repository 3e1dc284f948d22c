// Package rules is the access-rule stage: allow and block by IP/CIDR (inline,
// files, refreshed feeds), anonymous networks, country, ASN, User-Agent and
// path, each rule optionally scoped to paths, methods, headers and cookies,
// with exceptions.
package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/geo"
	"github.com/parapet-waf/parapet/internal/netlist"
	"github.com/parapet-waf/parapet/internal/scope"
	"github.com/parapet-waf/parapet/internal/useragent"
)

// UnknownCountry is the code rules use for addresses the database does not
// place (private ranges, new allocations).
const UnknownCountry = "ZZ"

// ReasonNoCountry is the reason of a countries_except rule's decision on a
// client without a country (loopback, private, or not in the database).
const ReasonNoCountry = "countries_except matched a client without a country (ZZ: a loopback or private address, or one the geo database does not know); add ZZ to countries_except to let such clients through"

// Deps are the long-lived parts rules use: running feeds and open
// databases outlive a config reload.
type Deps struct {
	Feeds *netlist.Registry
	// OpenGeo opens a database by path ("" = the embedded default); the
	// caller may cache them.
	OpenGeo func(path string) (*geo.DB, error)
	// Cleared reports whether a client may skip challenges (valid clearance
	// cookie, listed crawler); rules with action challenge ask it when they
	// match. Nil: nobody is cleared.
	Cleared func(r *http.Request, info *decision.Info) bool
	// Log reports feeds that cannot start at activation (nil: discarded).
	Log *slog.Logger
}

// Engine is the compiled rule list. Safe for concurrent use.
type Engine struct {
	rules         []*rule
	geo           *geo.DB
	asnDB         *geo.DB
	countryHeader string
	ua            *useragent.Matcher
	uaRules       int
	cleared       func(*http.Request, *decision.Info) bool
	log           *slog.Logger
}

type rule struct {
	id     string
	action decision.Action // Allow, Block, Challenge or Log
	mode   decision.Mode
	status int
	bypass bool

	ips             *netlist.Set
	feeds           []*netlist.Pending // started by Activate
	countries       map[string]bool
	countriesExcept map[string]bool
	asns            map[uint32]bool
	uaIndex         int // index in the shared User-Agent matcher, or -1
	emptyUA         bool

	scope   *scope.Scope // hosts, paths, path_regex, methods, except_paths
	use     scope.Use    // Grant for allow rules, Restrict for the others
	headers []headerMatch
	cookies []string
}

type headerMatch struct {
	name string
	re   *regexp.Regexp
}

// New compiles cfg's rules (allow rules, the others in order, then the
// enabled defaults), loading IP files, attaching feeds and opening geo
// databases. Errors point at the config line that caused them.
func New(cfg *config.Config, deps Deps) (*Engine, error) {
	e := &Engine{countryHeader: http.CanonicalHeaderKey(cfg.Geo.CountryHeader), cleared: deps.Cleared, log: deps.Log}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	var errs config.Errors
	fail := func(path, format string, args ...any) { errs = append(errs, cfg.Errorf(path, format, args...)) }

	declared := map[string]netlist.FeedConfig{}
	for _, f := range netlist.DefaultFeeds() {
		declared[f.Name] = f
	}
	for _, f := range cfg.Feeds {
		declared[f.Name] = netlist.FeedConfig{Name: f.Name, URL: f.URL, File: f.File, Format: f.Format, CSVColumn: f.CSVColumn, Category: f.Category, Refresh: f.Refresh}
	}

	var uaRules []useragent.Rule
	needGeo, needASN := cfg.Geo.CountryHeader != "", false
	var allow, others []*rule
	for i, rc := range cfg.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		r, err := compileRule(cfg, p, rc, declared, deps.Feeds, &uaRules)
		if err != nil {
			var ce config.Errors
			if errors.As(err, &ce) {
				errs = append(errs, ce...)
			} else {
				fail(p, "%v", err)
			}
			continue
		}
		needGeo = needGeo || r.countries != nil || r.countriesExcept != nil
		needASN = needASN || r.asns != nil
		if r.action == decision.Allow {
			allow = append(allow, r)
		} else {
			others = append(others, r)
		}
	}
	defaults, err := defaultRules(cfg, &uaRules)
	if err != nil {
		fail("defaults", "%v", err)
	}
	e.rules = append(append(allow, others...), defaults...)

	if len(uaRules) > 0 {
		m, err := useragent.Compile(uaRules)
		if err != nil {
			fail("rules", "%v", err) // each rule's patterns were checked above
		}
		e.ua, e.uaRules = m, len(uaRules)
	}
	switch {
	case cfg.Geo.Database != "off" && deps.OpenGeo != nil:
		db, err := deps.OpenGeo(cfg.Geo.Database)
		if err != nil {
			fail("geo.database", "%v", err)
		}
		e.geo = db
		if cfg.Geo.ASNDatabase != "" {
			if e.asnDB, err = deps.OpenGeo(cfg.Geo.ASNDatabase); err != nil {
				fail("geo.asn_database", "%v", err)
			}
		} else if db != nil && db.HasASN() {
			e.asnDB = db
		}
	case needGeo:
		fail("geo.database", "country rules need a geo database, but geo.database is off")
	}
	if needASN && e.asnDB == nil && len(errs) == 0 {
		fail("geo.asn_database", "asns rules need ASN data: set geo.database or geo.asn_database to an .mmdb that has it (IPinfo lite, GeoLite2-ASN); the embedded database has countries only")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return e, nil
}

func compileRule(cfg *config.Config, p string, rc config.Rule, declared map[string]netlist.FeedConfig, reg *netlist.Registry, uaRules *[]useragent.Rule) (*rule, error) {
	var errs config.Errors
	fail := func(path, format string, args ...any) { errs = append(errs, cfg.Errorf(path, format, args...)) }
	r := &rule{id: rc.ID, status: rc.Status, bypass: rc.Bypass, uaIndex: -1, emptyUA: rc.EmptyUserAgent}
	switch rc.Action {
	case "allow":
		r.action = decision.Allow
	case "log":
		r.action = decision.Log
	case "challenge":
		r.action = decision.Challenge
	default:
		r.action = decision.Block
	}
	r.mode, _ = decision.ParseMode(rc.Mode)
	matchers := 0

	if len(rc.IPs) > 0 || len(rc.IPFiles) > 0 {
		matchers++
		var b netlist.Builder
		for j, s := range rc.IPs {
			pfx, err := netlist.ParseEntry(s)
			if err != nil {
				fail(fmt.Sprintf("%s.ips[%d]", p, j), "%v", err)
				continue
			}
			b.Add(pfx)
		}
		for j, path := range rc.IPFiles {
			set, err := netlist.LoadFile(path, netlist.FormatPlain)
			if err != nil {
				fail(fmt.Sprintf("%s.ip_files[%d]", p, j), "%v", err)
				continue
			}
			b.AddSet(set)
		}
		r.ips = b.Build()
	}
	for j, name := range rc.Feeds {
		matchers++
		fc, ok := declared[name]
		switch {
		case !ok:
			fail(fmt.Sprintf("%s.feeds[%d]", p, j), "no feed named %q (declare it under feeds:, or use tor-exits, firehol-level1, x4bnet-vpn, x4bnet-datacenter)", name)
		case reg == nil:
			fail(fmt.Sprintf("%s.feeds[%d]", p, j), "feeds are not available here")
		default:
			// Checked, not started: its settings, and a file feed's file
			// unless that feed already runs (read here, as activation
			// would; a URL is never fetched while building).
			f, err := netlist.NewFeed(fc, "", nil, nil)
			if err == nil && fc.File != "" && !reg.Running(fc) {
				err = f.Refresh(context.Background())
			}
			if err != nil {
				fail(fmt.Sprintf("%s.feeds[%d]", p, j), "%v", err)
				continue
			}
			r.feeds = append(r.feeds, reg.Pending(fc))
		}
	}
	countrySet := func(field string, codes []string) map[string]bool {
		if len(codes) == 0 {
			return nil
		}
		m := map[string]bool{}
		for j, c := range codes {
			n, ok := geo.NormalizeCountry(c)
			if !ok {
				fail(fmt.Sprintf("%s.%s[%d]", p, field, j), "%q is not a two-letter ISO country code", c)
			}
			m[n] = true
		}
		matchers++
		return m
	}
	r.countries = countrySet("countries", rc.Countries)
	r.countriesExcept = countrySet("countries_except", rc.CountriesExcept)
	if len(rc.ASNs) > 0 {
		matchers++
		r.asns = map[uint32]bool{}
		for j, s := range rc.ASNs {
			n, err := geo.ParseASN(s)
			if err != nil {
				fail(fmt.Sprintf("%s.asns[%d]", p, j), "%v", err)
			}
			r.asns[n] = true
		}
	}
	ua := useragent.Rule{Contains: rc.UserAgents.Contains, Exact: rc.UserAgents.Exact, Regex: rc.UserAgents.Regex}
	if len(ua.Contains)+len(ua.Exact)+len(ua.Regex) > 0 {
		matchers++
		if _, err := useragent.Compile([]useragent.Rule{ua}); err != nil {
			var pe *useragent.PatternError
			if errors.As(err, &pe) {
				fail(fmt.Sprintf("%s.user_agents.%s[%d]", p, pe.Field, pe.Index), "%q: %s", pe.Pattern, pe.Reason)
			} else {
				fail(p+".user_agents", "%v", err)
			}
		} else {
			r.uaIndex = len(*uaRules)
			*uaRules = append(*uaRules, ua)
		}
	}
	if r.emptyUA {
		matchers++
	}

	// Scope: where the rule applies (package scope says how paths are
	// read; an allow rule is a grant, the others restrict).
	sc, scErrs := scope.Compile(scope.Spec{Hosts: rc.Hosts, Paths: rc.Paths, PathRegex: rc.PathRegex, Methods: rc.Methods, ExceptPaths: rc.ExceptPaths})
	for _, err := range scErrs {
		var fe *scope.FieldError
		if errors.As(err, &fe) {
			fail(fmt.Sprintf("%s.%s[%d]", p, fe.Field, fe.Index), "%v", fe.Err)
		} else {
			fail(p, "%v", err)
		}
	}
	r.scope = sc
	if r.action == decision.Allow {
		r.use = scope.Grant
	}
	if sc.HasPaths() || sc.HasHosts() {
		matchers++
	}
	for name, expr := range rc.Headers {
		re, err := regexp.Compile(expr)
		if err != nil {
			fail(fmt.Sprintf("%s.headers.%s", p, name), "bad regex %q: %v", expr, trimRegexErr(err))
			continue
		}
		r.headers = append(r.headers, headerMatch{name: http.CanonicalHeaderKey(name), re: re})
	}
	r.cookies = rc.Cookies
	if len(r.headers) > 0 || len(r.cookies) > 0 || sc.HasMethods() {
		matchers++
	}
	if matchers == 0 {
		fail(p, "matches nothing specific: give ips, ip_files, feeds, countries, countries_except, asns, user_agents, empty_user_agent, hosts, paths, path_regex, methods, headers or cookies")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

func trimRegexErr(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// defaultRules builds the enabled built-in rules: scanner paths, scanner
// User-Agents (one rule per tool, ids ua-*) and the empty User-Agent case.
func defaultRules(cfg *config.Config, uaRules *[]useragent.Rule) ([]*rule, error) {
	var out []*rule
	d := cfg.Defaults
	if d.PathRules {
		for _, pr := range config.DefaultPathRules() {
			sc, errs := scope.Compile(scope.Spec{Paths: pr.Paths, PathRegex: pr.PathRegex})
			if errs != nil {
				return nil, fmt.Errorf("built-in rule %s: %v", pr.ID, errs[0])
			}
			out = append(out, &rule{id: pr.ID, action: decision.Block, uaIndex: -1, scope: sc})
		}
	}
	known := map[string]bool{}
	for _, def := range useragent.Defaults() {
		known[def.ID] = true
	}
	pick := func(field string, ids []string) (map[string]bool, error) {
		m := map[string]bool{}
		for _, id := range ids {
			if !known[id] {
				return nil, fmt.Errorf("%s: no default User-Agent rule %q", field, id)
			}
			m[id] = true
		}
		return m, nil
	}
	enable, err := pick("enable_user_agents", d.EnableUserAgents)
	if err != nil {
		return nil, err
	}
	disable, err := pick("disable_user_agents", d.DisableUserAgents)
	if err != nil {
		return nil, err
	}
	mode, _ := decision.ParseMode(d.UserAgentMode)
	if d.UserAgents {
		for _, def := range useragent.Defaults() {
			if disable[def.ID] || (def.Off && !enable[def.ID]) {
				continue
			}
			r := &rule{id: def.ID, action: decision.Block, mode: mode, uaIndex: len(*uaRules)}
			*uaRules = append(*uaRules, useragent.Rule{Contains: def.Contains})
			out = append(out, r)
		}
	}
	switch d.EmptyUserAgent {
	case "log":
		out = append(out, &rule{id: "ua-empty", action: decision.Log, uaIndex: -1, emptyUA: true})
	case "block":
		out = append(out, &rule{id: "ua-empty", action: decision.Block, mode: mode, uaIndex: -1, emptyUA: true})
	}
	return out, nil
}

// Name returns "rules".
func (e *Engine) Name() string { return "rules" }

// FeedNames lists the feeds the rules use.
func (e *Engine) FeedNames() map[string]bool {
	names := map[string]bool{}
	for _, r := range e.rules {
		for _, f := range r.feeds {
			names[f.Config().Name] = true
		}
	}
	return names
}

// Activate starts the feeds the rules name (a feed already running with
// the same settings is taken over, not fetched again: a URL feed serves
// its cached copy at once, a file feed is read before Activate returns).
// The chain calls it when it is installed; a feed that cannot start is
// logged, and its rules match no address until a later config starts it.
func (e *Engine) Activate() {
	for _, r := range e.rules {
		for _, f := range r.feeds {
			if err := f.Start(); err != nil {
				e.log.Warn("feed cannot start", "feed", f.Config().Name, "rule", r.id, "error", err.Error())
			}
		}
	}
}

// request is the per-request view the matchers share; lookups are done
// once, and only when a rule needs them.
type request struct {
	r       *http.Request
	target  scope.Target
	ip      netip.Addr
	country string
	asn     uint32
	asnDone bool
	uaHits  []bool
	e       *Engine
}

func (q *request) asnOf() uint32 {
	if !q.asnDone {
		q.asnDone = true
		if q.e.asnDB != nil {
			if res, err := q.e.asnDB.Lookup(q.ip); err == nil {
				q.asn = res.ASN
			}
		}
	}
	return q.asn
}

func (q *request) uaHit(i int) bool {
	if q.uaHits == nil {
		q.uaHits = q.e.ua.Hits(q.r.Header.Get("User-Agent"))
	}
	return q.uaHits[i]
}

// Check runs the rules: the first enforced allow, block or challenge
// decides; a challenge rule is skipped for a cleared client (checked
// lazily through Deps.Cleared, since the clearance stage runs after the
// rules); log and monitor-mode matches are recorded on info.
func (e *Engine) Check(_ context.Context, r *http.Request, info *decision.Info) decision.Decision {
	q := &request{r: r, target: scope.NewTarget(r), ip: info.ClientIP, e: e}
	if e.geo != nil {
		if res, err := e.geo.Lookup(info.ClientIP); err == nil {
			q.country = res.Country
			if res.ASN != 0 {
				q.asn, q.asnDone = res.ASN, true
			}
		}
		info.Country = q.country
	}
	if e.asnDB != nil {
		info.ASN = q.asnOf()
	}
	if e.countryHeader != "" {
		r.Header.Del(e.countryHeader)
		if q.country != "" {
			r.Header.Set(e.countryHeader, q.country)
		}
	}
	for _, rl := range e.rules {
		if !rl.matches(q) {
			continue
		}
		for _, f := range rl.feeds {
			if c := f.Config().Category; c != "" && f.Set().Contains(q.ip) {
				info.AddTag(c)
			}
		}
		d := decision.Decision{Action: rl.action, Mode: rl.mode, RuleID: rl.id, Status: rl.status, Reason: "access rule matched"}
		if rl.countriesExcept != nil && q.country == "" {
			// Said in the log line: countries_except caught a client
			// without a country (config.Warnings says so at start too).
			d.Reason = ReasonNoCountry
		}
		if rl.action == decision.Allow && rl.mode == decision.Enforce {
			d.Final = true
			if rl.bypass {
				info.SkipStages = append(info.SkipStages, "detect")
			}
			return d
		}
		if d.Action == decision.Challenge && d.Mode == decision.Enforce && (info.Cleared || e.cleared != nil && e.cleared(r, info)) {
			continue // cleared clients pass challenges (never blocks further on)
		}
		if d.Decided() {
			return d
		}
		if rl.action == decision.Allow { // a monitor-mode allow: record it, go on
			d.Action = decision.Log
		}
		info.Matched = append(info.Matched, d)
	}
	return decision.Pass
}

// matches reports whether every matcher of the rule matches (scope first:
// it is the cheapest and the most selective).
func (rl *rule) matches(q *request) bool {
	r := q.r
	if !rl.scope.CoversTarget(&q.target, rl.use) {
		return false
	}
	for _, h := range rl.headers {
		if !h.re.MatchString(r.Header.Get(h.name)) {
			return false
		}
	}
	for _, c := range rl.cookies {
		if _, err := r.Cookie(c); err != nil {
			return false
		}
	}
	if rl.ips != nil && !rl.ips.Contains(q.ip) {
		return false
	}
	if len(rl.feeds) > 0 {
		in := false
		for _, f := range rl.feeds {
			if f.Set().Contains(q.ip) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	country := q.country
	if country == "" {
		country = UnknownCountry
	}
	if rl.countries != nil && !rl.countries[country] {
		return false
	}
	if rl.countriesExcept != nil && rl.countriesExcept[country] {
		return false
	}
	if rl.asns != nil && !rl.asns[q.asnOf()] {
		return false
	}
	if rl.emptyUA && strings.TrimSpace(r.Header.Get("User-Agent")) != "" {
		return false
	}
	if rl.uaIndex >= 0 && !q.uaHit(rl.uaIndex) {
		return false
	}
	return true
}

// AllowListedBy returns the id of the first enforced allow rule that
// lets ip through by address (its ips, ip_files or feeds contain it),
// whatever else the rule is scoped to: an allow rule stops the chain
// before the bans stage, so a ban of ip would not apply where the rule
// does.
func (e *Engine) AllowListedBy(ip netip.Addr) (string, bool) {
	return e.AllowOverlapping(netip.PrefixFrom(ip, ip.BitLen()))
}

// AllowOverlapping returns the id of the first enforced allow rule that
// lets any address of p through by address: a ban of p (an IPv6 ban is
// of a /64) would not apply to those addresses. It is what the admin API
// asks before banning.
func (e *Engine) AllowOverlapping(p netip.Prefix) (string, bool) {
	if !p.IsValid() {
		return "", false
	}
	for _, rl := range e.rules {
		if rl.action != decision.Allow || rl.mode != decision.Enforce {
			continue
		}
		if rl.ips.Overlaps(p) {
			return rl.id, true
		}
		for _, f := range rl.feeds {
			if f.Set().Overlaps(p) {
				return rl.id, true
			}
		}
	}
	return "", false
}
