package harden

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/events"
)

// The collector's bounds: what one report may cost, and what all of them
// together may hold. A flood of reports with 60 KB fields (anyone can post
// them) once took the process from 98 to 288 MB and put a 60 KB label on
// the violations metric.
const (
	// MaxReportBytes bounds one report body; a larger one is refused (413).
	MaxReportBytes = 64 << 10
	// MaxReportViolations bounds the violations taken from one body (a
	// Reporting API batch); the rest are ignored.
	MaxReportViolations = 16
	// MaxFieldBytes bounds the blocked and document URIs kept: longer ones
	// are cut (on a UTF-8 boundary) and end in TruncatedMarker.
	MaxFieldBytes = 256
	// TruncatedMarker ends a field cut at MaxFieldBytes.
	TruncatedMarker = "...[truncated]"
	// MaxViolations is the number of distinct violations the stage's
	// collector keeps; later new ones are counted as dropped.
	MaxViolations = 1000
	// OtherDirective names a violated directive that is not a CSP
	// directive: directives are metric labels, so they come from a fixed
	// set (cspDirectives).
	OtherDirective = "other"
)

// DefaultCSP is the starter policy: with harden.csp.policy empty, Parapet
// sends it report-only (with report-uri to the collector) on every HTML
// page the app sent without a policy, so a team sees what an enforcing
// policy would break before enforcing one (`parapet csp suggest` turns
// the reports into a policy). Django's own pages keep to it: the admin of
// Django 3.2 and later loads its scripts and styles from STATIC_URL and
// has no inline script, style or event handler, so a site serving its
// static files itself (WhiteNoise) hears only about what its own
// templates and third-party assets do. img-src allows data: (CSS
// frameworks' inline icons: common and harmless in images);
// frame-ancestors 'self' reports framing by other sites.
const DefaultCSP = "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"

// cspDirectives are the directive names of CSP Level 3 and the ones
// browsers still report (the only values a violation's directive takes).
var cspDirectives = map[string]string{}

func init() {
	for _, d := range []string{
		"default-src", "child-src", "connect-src", "font-src", "frame-src", "img-src", "manifest-src",
		"media-src", "object-src", "prefetch-src", "script-src", "script-src-elem", "script-src-attr",
		"style-src", "style-src-elem", "style-src-attr", "worker-src", "fenced-frame-src", "base-uri",
		"sandbox", "form-action", "frame-ancestors", "navigate-to", "report-uri", "report-to",
		"require-trusted-types-for", "trusted-types", "upgrade-insecure-requests",
		"block-all-mixed-content", "plugin-types", "webrtc",
	} {
		cspDirectives[d] = d
	}
}

// errReportTooLarge is a report body over MaxReportBytes.
var errReportTooLarge = errors.New("CSP report over 64 KB")

// Violation is one kind of CSP violation and how often it was reported.
type Violation struct {
	Directive   string `json:"directive"`
	BlockedURI  string `json:"blocked_uri"`
	DocumentURI string `json:"document_uri"`
	Count       int    `json:"count"`
}

// ViolationsPath is where the collected violations are read as JSON
// (ViolationReport): on the metrics listener, and on the public listener
// with the metrics token.
const ViolationsPath = "/_parapet/csp-violations"

// ViolationReport is what the collector has seen, as served at
// ViolationsPath and read by `parapet csp suggest`.
type ViolationReport struct {
	// Policy is the policy Parapet sends on pages without one of their
	// own, without the report-uri it adds ("" when it sends none).
	Policy string `json:"policy"`
	// ReportOnly says Policy is sent report-only.
	ReportOnly bool `json:"report_only"`
	// Violations are the kinds of violation seen since the config was
	// last loaded, most reported first.
	Violations []Violation `json:"violations"`
	// Dropped counts violations not kept because the collector was full
	// (MaxViolations kinds).
	Dropped int `json:"dropped"`
}

// CSPCollector deduplicates and counts CSP violation reports, keeping at
// most max distinct kinds (later new kinds are counted as dropped). What
// it keeps is bounded in size too: directives come from a fixed set and
// URIs are cut at MaxFieldBytes, so max kinds hold at most about
// max * 2 * MaxFieldBytes bytes of text.
type CSPCollector struct {
	mu      sync.Mutex
	max     int
	seen    map[[3]string]*Violation
	dropped int
}

// NewCSPCollector keeps at most max distinct violations.
func NewCSPCollector(max int) *CSPCollector {
	return &CSPCollector{max: max, seen: map[[3]string]*Violation{}}
}

// cspReport is the body of both report formats: the classic
// application/csp-report {"csp-report": {...}} and the Reporting API's
// application/reports+json [{"type": "csp-violation", "body": {...}}].
type cspReport struct {
	Directive          string `json:"violated-directive"`
	EffectiveDirective string `json:"effective-directive"`
	BlockedURI         string `json:"blocked-uri"`
	DocumentURI        string `json:"document-uri"`
	// Reporting API spelling.
	EffectiveDirective2 string `json:"effectiveDirective"`
	BlockedURL          string `json:"blockedURL"`
	DocumentURL         string `json:"documentURL"`
}

// Parse reads one report body (MaxReportBytes at most) in either format,
// and returns at most MaxReportViolations violations, bounded (Bounded).
func Parse(r io.Reader) ([]Violation, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxReportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxReportBytes {
		return nil, errReportTooLarge
	}
	var out []Violation
	add := func(c cspReport) {
		v := Violation{Directive: first(c.EffectiveDirective, c.EffectiveDirective2, c.Directive), BlockedURI: first(c.BlockedURI, c.BlockedURL), DocumentURI: first(c.DocumentURI, c.DocumentURL)}
		if v = v.Bounded(); (v.Directive != "" || v.BlockedURI != "") && len(out) < MaxReportViolations {
			out = append(out, v)
		}
	}
	var classic struct {
		Report *cspReport `json:"csp-report"`
	}
	if err := json.Unmarshal(body, &classic); err == nil && classic.Report != nil {
		add(*classic.Report)
		return out, nil
	}
	var batch []struct {
		Type string    `json:"type"`
		Body cspReport `json:"body"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, err
	}
	for _, b := range batch {
		if b.Type == "csp-violation" {
			add(b.Body)
		}
	}
	return out, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// Bounded returns v as the collector keeps it: the directive one of the
// CSP directive names or OtherDirective (a browser may report
// "script-src 'self' https:", the directive with its value: the name is
// kept), both URIs without their query or fragment and with the path
// segments that are bearer tokens (Django's reset and confirmation links,
// JWTs) redacted as in logged paths, both at most MaxFieldBytes (cut ones
// end in TruncatedMarker). The count is left as it is.
func (v Violation) Bounded() Violation {
	v.Directive = directiveName(v.Directive)
	v.BlockedURI = clip(maskPath(stripQuery(v.BlockedURI)))
	v.DocumentURI = clip(maskPath(stripQuery(v.DocumentURI)))
	return v
}

// uriRedactor masks token-shaped path segments (never changed once made).
var uriRedactor = events.NewRedactor(nil)

// maskPath redacts the token-shaped segments of u's path (u without a
// query): a page like /accounts/confirm-email/<key>/ reports its key in
// every violation it causes.
func maskPath(u string) string {
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			start = i + 3 + j
		} else {
			return u
		}
	}
	if start >= len(u) || u[start] != '/' {
		return u // "inline", "eval", "data", a bare scheme
	}
	return u[:start] + uriRedactor.Path(u[start:], "")
}

// directiveName maps a reported directive to its name in cspDirectives
// (the map's own string, so no report's memory is kept), or
// OtherDirective.
func directiveName(d string) string {
	d = strings.TrimSpace(d)
	if i := strings.IndexAny(d, " \t"); i >= 0 {
		d = d[:i]
	}
	if len(d) > 32 {
		return OtherDirective
	}
	if name, ok := cspDirectives[strings.ToLower(d)]; ok {
		return name
	}
	if d == "" {
		return ""
	}
	return OtherDirective
}

// clip cuts s to MaxFieldBytes (on a UTF-8 boundary, with the marker) in
// a new string, so a cut field does not keep the report's memory alive.
func clip(s string) string {
	if len(s) <= MaxFieldBytes {
		return s
	}
	n := MaxFieldBytes - len(TruncatedMarker)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + TruncatedMarker
}

// Record counts violations (bounded first: Bounded) and returns each
// one's count so far.
func (c *CSPCollector) Record(vs []Violation) []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Violation, 0, len(vs))
	for _, v := range vs {
		v = v.Bounded()
		k := [3]string{v.Directive, v.BlockedURI, v.DocumentURI}
		cur, ok := c.seen[k]
		if !ok {
			if len(c.seen) >= c.max {
				c.dropped++
				continue
			}
			cur = &Violation{Directive: v.Directive, BlockedURI: v.BlockedURI, DocumentURI: v.DocumentURI}
			c.seen[k] = cur
		}
		cur.Count++
		out = append(out, *cur)
	}
	return out
}

// Dropped is the number of violations not kept because the collector was
// full.
func (c *CSPCollector) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Snapshot lists the violations seen, most frequent first.
func (c *CSPCollector) Snapshot() []Violation {
	c.mu.Lock()
	out := make([]Violation, 0, len(c.seen))
	for _, v := range c.seen {
		out = append(out, *v)
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Directive+"\x00"+a.BlockedURI+"\x00"+a.DocumentURI < b.Directive+"\x00"+b.BlockedURI+"\x00"+b.DocumentURI
	})
	return out
}

// Serve handles a report POST: it answers 204 (413 for a body over
// MaxReportBytes, 400 for a body that is no report) and returns the
// violations with their counts so far.
func (c *CSPCollector) Serve(w http.ResponseWriter, r *http.Request) []Violation {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return nil
	}
	if r.ContentLength > MaxReportBytes {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return nil
	}
	vs, err := Parse(r.Body)
	switch {
	case errors.Is(err, errReportTooLarge):
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return nil
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return c.Record(vs)
}
