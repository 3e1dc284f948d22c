package harden

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/decision"
)

func postReport(c *CSPCollector, body string) int {
	w := httptest.NewRecorder()
	c.Serve(w, httptest.NewRequest(http.MethodPost, "/_parapet/csp-report", strings.NewReader(body)))
	return w.Code
}

// heldHeap is the live heap after a collection.
func heldHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A flood of large reports (issue #15 item 10: 1,600 reports with 60 KB
// fields took the process from 98 to 288 MB) leaves the collector holding
// a bounded heap, and the directives it reports (the violations metric's
// label) come from a fixed set.
func TestCSPReportFloodIsBounded(t *testing.T) {
	c := NewCSPCollector(MaxViolations)
	before := heldHeap()
	blocked := strings.Repeat("b", 60<<10)
	document := strings.Repeat("d", 2<<10)
	directive := strings.Repeat("x", 1<<10)
	const reports = 1600
	for i := 0; i < reports; i++ {
		body := fmt.Sprintf(`{"csp-report":{"violated-directive":"%d%s","blocked-uri":"https://evil.example/%d/%s","document-uri":"https://site.example/%d/%s?token=%d"}}`,
			i, directive, i, blocked, i, document, i)
		if code := postReport(c, body); code != http.StatusNoContent {
			t.Fatalf("report %d (%d bytes): %d", i, len(body), code)
		}
	}
	held := int64(heldHeap()) - int64(before)
	snap := c.Snapshot()
	runtime.KeepAlive(c)
	t.Logf("%d reports of ~63 KB: the collector holds %d violations in %.2f MiB of heap, dropped %d", reports, len(snap), float64(held)/(1<<20), c.Dropped())
	if held > 2<<20 {
		t.Errorf("the collector holds %.1f MiB after %d reports, want under 2 MiB", float64(held)/(1<<20), reports)
	}
	if len(snap) > MaxViolations || c.Dropped() != reports-len(snap) {
		t.Errorf("%d violations kept, %d dropped, want at most %d kept and the rest dropped", len(snap), c.Dropped(), MaxViolations)
	}
	labels := map[string]bool{}
	for _, v := range snap {
		labels[v.Directive] = true
		if len(v.BlockedURI) > MaxFieldBytes || len(v.DocumentURI) > MaxFieldBytes {
			t.Fatalf("a field over %d bytes kept: %d, %d", MaxFieldBytes, len(v.BlockedURI), len(v.DocumentURI))
		}
		if !strings.HasSuffix(v.BlockedURI, TruncatedMarker) || strings.Contains(v.DocumentURI, "token") {
			t.Fatalf("cut field without the marker, or a query kept: %.80q %.80q", v.BlockedURI, v.DocumentURI)
		}
	}
	if len(labels) != 1 || !labels[OtherDirective] {
		t.Errorf("directive labels %v, want only %q for directives that are not CSP directives", labels, OtherDirective)
	}
}

// Directives are reported by name from the fixed set, whatever browsers
// add to them; fields are cut on a UTF-8 boundary with a marker; a body
// over the limit is refused, and a batch gives at most
// MaxReportViolations violations.
func TestCSPReportBounds(t *testing.T) {
	for in, want := range map[string]string{
		"script-src-elem":             "script-src-elem",
		"Script-Src":                  "script-src",
		"script-src 'self' https:":    "script-src",
		" img-src\tdata:":             "img-src",
		"frame-ancestors 'none'":      "frame-ancestors",
		"":                            "",
		"evil-directive":              OtherDirective,
		strings.Repeat("img-src", 99): OtherDirective,
	} {
		if got := (Violation{Directive: in}).Bounded().Directive; got != want {
			t.Errorf("directive %.40q: %q, want %q", in, got, want)
		}
	}
	long := "https://site.example/" + strings.Repeat("é", 300)
	got := (Violation{BlockedURI: long}).Bounded().BlockedURI
	if len(got) > MaxFieldBytes || !strings.HasSuffix(got, TruncatedMarker) || !utf8.ValidString(got) || !strings.HasPrefix(long, strings.TrimSuffix(got, TruncatedMarker)) {
		t.Errorf("cut field: %d bytes %q", len(got), got)
	}
	if got := (Violation{BlockedURI: "https://cdn.example/a.js"}).Bounded().BlockedURI; got != "https://cdn.example/a.js" {
		t.Errorf("short field changed: %q", got)
	}

	c := NewCSPCollector(100)
	if code := postReport(c, `{"csp-report":{"violated-directive":"img-src","blocked-uri":"`+strings.Repeat("a", MaxReportBytes)+`"}}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized report: %d, want 413", code)
	}
	var batch []string
	for i := 0; i < 100; i++ {
		batch = append(batch, fmt.Sprintf(`{"type":"csp-violation","body":{"effectiveDirective":"img-src","blockedURL":"https://x.example/%d"}}`, i))
	}
	if code := postReport(c, "["+strings.Join(batch, ",")+"]"); code != http.StatusNoContent || len(c.Snapshot()) != MaxReportViolations {
		t.Errorf("batch of 100: %d, %d violations kept, want %d", code, len(c.Snapshot()), MaxReportViolations)
	}
}

// cspAfter runs a response with the given headers through the stage and
// returns its headers and the tags it got.
func cspAfter(s *Stage, hdr ...string) (http.Header, []string) {
	resp := &http.Response{Header: http.Header{}, Request: httptest.NewRequest("GET", "/", nil)}
	for i := 0; i+1 < len(hdr); i += 2 {
		resp.Header.Set(hdr[i], hdr[i+1])
	}
	info := &decision.Info{}
	_ = s.CheckResponse(context.Background(), resp, info)
	return resp.Header, info.Tags
}

// With no policy configured, an HTML page the app sent without a CSP gets
// the starter policy, report-only, reporting to the collector; other
// responses, and pages with a policy of their own (enforcing or
// report-only), are left alone, whatever override and report_only say.
// "off" sends none, and without a report path there is nobody to tell.
func TestStarterCSPIsReportOnlyAndNeverReplacesTheApps(t *testing.T) {
	want := DefaultCSP + "; report-uri /_parapet/csp-report"
	s := stage(t, "harden:\n  override: true\n  csp:\n    report_only: false\n")
	h, tags := cspAfter(s, "Content-Type", "text/html; charset=utf-8")
	if got := h.Get("Content-Security-Policy-Report-Only"); got != want || h.Get("Content-Security-Policy") != "" {
		t.Fatalf("HTML page without a CSP: report-only %q, enforcing %q; want report-only %q", got, h.Get("Content-Security-Policy"), want)
	}
	if !slices.Contains(tags, "missing:content-security-policy") {
		t.Errorf("first page without a CSP not tagged: %v", tags)
	}
	if _, tags := cspAfter(s, "Content-Type", "text/html"); slices.Contains(tags, "missing:content-security-policy") {
		t.Errorf("tagged again: %v", tags)
	}
	for _, hdr := range [][]string{
		{"Content-Type", "application/json"},
		{"Content-Type", "image/png"},
		{},
		{"Content-Type", "text/html", "Content-Security-Policy", "default-src 'none'"},
		{"Content-Type", "text/html", "Content-Security-Policy-Report-Only", "script-src 'self'; report-uri /r"},
	} {
		h, _ := cspAfter(s, hdr...)
		sent := http.Header{}
		for i := 0; i+1 < len(hdr); i += 2 {
			sent.Set(hdr[i], hdr[i+1])
		}
		if h.Get("Content-Security-Policy") != sent.Get("Content-Security-Policy") || h.Get("Content-Security-Policy-Report-Only") != sent.Get("Content-Security-Policy-Report-Only") {
			t.Errorf("response %q: CSP %q, report-only %q; want the app's own (or none)", hdr, h.Get("Content-Security-Policy"), h.Get("Content-Security-Policy-Report-Only"))
		}
	}
	for _, yaml := range []string{"harden:\n  csp:\n    policy: 'off'\n", "harden:\n  csp:\n    report_path: ''\n"} {
		h, _ := cspAfter(stage(t, yaml), "Content-Type", "text/html")
		if h.Get("Content-Security-Policy") != "" || h.Get("Content-Security-Policy-Report-Only") != "" {
			t.Errorf("%q: sent %q", yaml, h)
		}
	}
}

// A page whose address carries a bearer token (Django's password reset
// link, allauth's email confirmation key) reports it in every violation
// it causes, and a blocked script's URL may carry one in its query: the
// collector (read through the metrics and /_parapet/csp-violations) keeps
// neither (the fourth hostile review).
func TestCSPReportsKeepNoTokens(t *testing.T) {
	const reset = "dj3nl4-61d4994c280badc8e9e7c91f2735c3ee"
	const signed = "eyJ1IjoxfQ:1xZitk:S4eW7TctBIwyR_vLHLhzbUB5GU2zAX14nz_0Bb9LNbk"
	cases := map[[2]string][2]string{
		{"https://cdn.example.net/a.js?token=s3cret", "https://shop.example.com/reset/MQ/" + reset + "/"}:             {"https://cdn.example.net/a.js", "https://shop.example.com/reset/MQ/REDACTED/"},
		{"inline", "https://shop.example.com/accounts/confirm-email/" + signed + "/?x=1"}:                             {"inline", "https://shop.example.com/accounts/confirm-email/REDACTED/"},
		{"https://cdn.example.net/lib/2025-03-01/app.js", "https://shop.example.com/blog/2025/03/union-station/#top"}: {"https://cdn.example.net/lib/2025-03-01/app.js", "https://shop.example.com/blog/2025/03/union-station/"},
	}
	for in, want := range cases {
		v := Violation{Directive: "script-src-elem", BlockedURI: in[0], DocumentURI: in[1]}.Bounded()
		if v.BlockedURI != want[0] || v.DocumentURI != want[1] {
			t.Errorf("%q on %q kept as %q on %q, want %q on %q", in[0], in[1], v.BlockedURI, v.DocumentURI, want[0], want[1])
		}
	}
}
