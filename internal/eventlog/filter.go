package eventlog

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Decisions are the decisions a filter may name.
var Decisions = []string{"allow", "block", "challenge", "throttle", "redirect", "respond"}

// Filter selects events. Zero fields match everything.
type Filter struct {
	// IP matches the client address, or any address in a prefix.
	IP netip.Prefix
	// Rule matches the deciding rule or one of the matched rules (CRS ids,
	// monitor-mode matches).
	Rule string
	// Decision matches the final decision.
	Decision string
	// Kind matches the event's kind (request, admin, config...).
	Kind string
	// Path matches paths starting with it.
	Path string
	// Since drops events older than it.
	Since time.Time
	// Limit is the page size (DefaultLimit when 0).
	Limit int
	// Cursor continues a query after the page that returned it (0: from
	// the newest event).
	Cursor uint64
}

// ParseError is a bad query parameter.
type ParseError struct {
	Field, Reason string
}

func (e *ParseError) Error() string { return e.Field + ": " + e.Reason }

// ParseFilter reads a Filter from URL query parameters: ip (address or
// CIDR), rule, decision, kind, path (a prefix starting with /), since
// (RFC 3339 time, or a duration back from now such as 15m), limit (1 to
// MaxLimit) and cursor (the "next" of a previous page).
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	f := Filter{Limit: DefaultLimit}
	for name := range q {
		switch name {
		case "ip", "rule", "decision", "kind", "path", "since", "limit", "cursor":
		default:
			return f, &ParseError{name, "unknown parameter (known: ip, rule, decision, kind, path, since, limit, cursor)"}
		}
	}
	if v := q.Get("ip"); v != "" {
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return f, &ParseError{"ip", fmt.Sprintf("%q is not an IP address or CIDR prefix", v)}
			}
			f.IP = p.Masked()
		} else {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return f, &ParseError{"ip", fmt.Sprintf("%q is not an IP address or CIDR prefix", v)}
			}
			a = a.Unmap()
			f.IP = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if v := q.Get("rule"); v != "" {
		if len(v) > 200 {
			return f, &ParseError{"rule", "is longer than 200 characters"}
		}
		f.Rule = v
	}
	if v := q.Get("decision"); v != "" {
		ok := false
		for _, d := range Decisions {
			ok = ok || d == v
		}
		if !ok {
			return f, &ParseError{"decision", fmt.Sprintf("%q is not one of %s", v, strings.Join(Decisions, ", "))}
		}
		f.Decision = v
	}
	if v := q.Get("kind"); v != "" {
		if len(v) > 40 {
			return f, &ParseError{"kind", "is longer than 40 characters"}
		}
		f.Kind = v
	}
	if v := q.Get("path"); v != "" {
		if !strings.HasPrefix(v, "/") {
			return f, &ParseError{"path", fmt.Sprintf("%q must start with / (it matches paths that begin with it)", v)}
		}
		f.Path = v
	}
	if v := q.Get("since"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.Since = t
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			f.Since = now.Add(-d)
		} else {
			return f, &ParseError{"since", fmt.Sprintf("%q is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor a positive duration (15m, 2h)", v)}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return f, &ParseError{"limit", fmt.Sprintf("%q must be a number from 1 to %d", v, MaxLimit)}
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return f, &ParseError{"cursor", fmt.Sprintf("%q is not a cursor returned as \"next\"", v)}
		}
		f.Cursor = n
	}
	return f, nil
}

// Match reports whether r passes the filter (Limit and Cursor aside).
func (f *Filter) Match(r *Record) bool {
	if f.Decision != "" && r.Decision != f.Decision {
		return false
	}
	if f.Kind != "" && r.Kind != f.Kind {
		return false
	}
	if !f.Since.IsZero() && r.Time.Before(f.Since) {
		return false
	}
	if f.Path != "" && !strings.HasPrefix(r.Path, f.Path) {
		return false
	}
	if f.IP.IsValid() {
		a, err := netip.ParseAddr(r.ClientIP)
		if err != nil || !f.IP.Contains(a.Unmap()) {
			return false
		}
	}
	if f.Rule != "" && r.Rule != f.Rule && !hasRule(r, f.Rule) {
		return false
	}
	return true
}

func hasRule(r *Record, rule string) bool {
	for _, m := range r.MatchedRules {
		if m == rule {
			return true
		}
	}
	for _, m := range r.Monitored { // "rule:action[:monitor]"
		if id, _, _ := strings.Cut(m, ":"); id == rule {
			return true
		}
	}
	return false
}
