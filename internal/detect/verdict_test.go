package detect

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/decision"
)

// The false positives issue #16 lists pass with the defaults; the CRS
// alone (analyzer: false, Parapet as it was) blocks each of them, so each
// case fails without the second stage.
func TestIssueFalsePositivesPass(t *testing.T) {
	on := stageFromYAML(t, "")
	off := stageFromYAML(t, "detection:\n  analyzer: false\n")
	comment := "O'Reilly; SELECT your plan -- 50% off <b>bold</b>"
	cases := []struct {
		name string
		make func() *http.Request
	}{
		{"comment form text on a public form", func() *http.Request {
			return form("/comments/", "name=Pat&comment="+url.QueryEscape(comment))
		}},
		{"comment form text, short form", func() *http.Request {
			return form("/comments/", "comment="+url.QueryEscape("O'Reilly; SELECT your plan"))
		}},
		{"comment form text in the admin", func() *http.Request {
			return form("/admin/testapp/article/add/", "title=Plans&body="+url.QueryEscape("<p>"+comment+"</p>")+"&_save=Save")
		}},
		{"a numeric Host with a borderline request", func() *http.Request {
			r := browserRequest("GET", "/", nil)
			r.Host = "127.0.0.1:8000"
			r.Header.Set("Range", "bytes=9-1") // 920190, 3 points: with 920350's 3, over 5
			return r
		}},
	}
	for _, text := range []string{"union was a great select", "john+or@var.es", "zsh is the best!",
		"JavaScript: Basics of JavaScript Language", "ls 300 lexus"} {
		cases = append(cases, struct {
			name string
			make func() *http.Request
		}{"query: " + text, func() *http.Request {
			return browserRequest("GET", "/search/?q="+url.PathEscape(text), nil)
		}})
	}
	for _, c := range cases {
		r := c.make()
		if d := on.Check(r.Context(), r, info()); d.Decided() {
			t.Errorf("%s: blocked: %s", c.name, d.Reason)
		}
		r = c.make()
		if d := off.Check(r.Context(), r, info()); !d.Decided() {
			t.Errorf("%s: the CRS alone lets it through too: the case does not test the second stage", c.name)
		}
	}
}

// Parapet answers Expect: 100-continue itself and never forwards it
// (internal/proxy), so the header is not restricted (CRS 920450): curl
// sends it for every upload over 1 MB.
func TestExpectContinueNotRestricted(t *testing.T) {
	for _, yaml := range []string{"", "detection:\n  analyzer: false\n"} {
		s := stageFromYAML(t, yaml)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "big.bin")
		fw.Write(bytes.Repeat([]byte{0xab, 0x01, 0x7f}, 50000))
		mw.Close()
		r := browserRequest("POST", "/upload/", &buf)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.Header.Set("Expect", "100-continue")
		if d := s.Check(r.Context(), r, info()); d.Decided() {
			t.Errorf("%q: blocked: %s", yaml, d.Reason)
		}
	}
}

// A block says which engine decided, on which field, after which
// decodings; the rule ids name the CRS rules and the analyzer's classes.
func TestVerdictNamesEngineFieldAndDecoding(t *testing.T) {
	s := stageFromYAML(t, "")
	state := base64.StdEncoding.EncodeToString([]byte("<svg/onload=alert(document.domain)>"))
	for _, c := range []struct {
		r      *http.Request
		rule   string
		reason []string
	}{
		{browserRequest("GET", "/account/?state="+url.QueryEscape(state), nil), "detect-xss",
			[]string{"analyzer: ", "xss/high via base64", "ARGS:state"}},
		{browserRequest("GET", "/search/?q=1%27%20OR%20%271%27=%271", nil), "detect-sqli",
			[]string{"crs+analyzer: ", "942100", "[ARGS:q]", "sqli/high", "on ARGS:q"}},
		{form("/comments/", "host="+url.QueryEscape("8.8.8.8; cat /etc/passwd")), "detect-rce",
			[]string{"crs+analyzer: ", "rce/high", "on ARGS:host"}},
	} {
		d := s.Check(c.r.Context(), c.r, info())
		if !d.Decided() || d.RuleID != c.rule {
			t.Errorf("%s: %+v, want a block by %s", c.r.URL, d, c.rule)
			continue
		}
		for _, want := range c.reason {
			if !strings.Contains(d.Reason, want) {
				t.Errorf("%s: reason %q lacks %q", c.r.URL, d.Reason, want)
			}
		}
		if !strings.Contains(strings.Join(d.Rules, ","), "analyzer-") {
			t.Errorf("%s: rules %v name no analyzer class", c.r.URL, d.Rules)
		}
	}
}

// In monitor mode a request the CRS alone would have blocked, on text
// the analyzer found nothing in, is logged as detect-unconfirmed with the
// rules that matched: a team sees what confirmation lets through before
// enforcing. In enforce mode it simply passes.
func TestMonitorModeShowsUnconfirmedCRSBlocks(t *testing.T) {
	r := func() *http.Request {
		return form("/comments/", "comment="+url.QueryEscape("union was a great select"))
	}
	mon := stageFromYAML(t, "detection:\n  mode: monitor\n")
	d := mon.Check(r().Context(), r(), info())
	if d.Action != decision.Log || d.RuleID != "detect-unconfirmed" || !d.Matched() || len(d.Rules) == 0 ||
		!strings.Contains(d.Reason, "the CRS alone would block") {
		t.Fatalf("monitor: %+v", d)
	}
	enf := stageFromYAML(t, "")
	if d := enf.Check(r().Context(), r(), info()); d.Action != decision.Allow {
		t.Fatalf("enforce: %+v", d)
	}
	// An attack in monitor mode: the would-be block names the engines.
	req := browserRequest("GET", "/search/?q=%3Cscript%3Ealert(1)%3C/script%3E", nil)
	d = mon.Check(req.Context(), req, info())
	if d.Action != decision.Block || d.Mode != decision.Monitor || !strings.HasPrefix(d.Reason, "crs+analyzer: ") {
		t.Fatalf("monitored attack: %+v", d)
	}
}

// The CRS score the verdict counts before confirmation is the CRS's own
// anomaly score: on requests where nothing is unconfirmed, the analyzer
// changes no CRS decision.
func TestVerdictScoreIsTheCRSScore(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  mode: monitor\n")
	var got, want []int
	s.observe = func(tx types.Transaction) {
		got = append(got, judge(tx).raw)
		want = append(want, crsScore(tx))
	}
	for _, target := range []string{
		"/search/?q=1%27%20OR%20%271%27=%271",
		"/search/?q=%3Cscript%3Ealert(1)%3C/script%3E",
		"/search/?file=../../../../etc/passwd",
		"/search/?q=union+station",
	} {
		r := browserRequest("GET", target, nil)
		r.Header.Set("Range", "bytes=9-1")
		s.Check(r.Context(), r, info())
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("request %d: verdict counted %d points, the CRS %d", i, got[i], want[i])
		}
	}
}

// crsScore is the CRS's own paranoia-level-1 inbound anomaly score.
func crsScore(tx types.Transaction) int {
	vals := tx.(plugintypes.TransactionState).Variables().TX().Get("inbound_anomaly_score_pl1")
	if len(vals) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(vals[0])
	return n
}

// Uploaded files that hold markup are read: an SVG with a script is
// blocked, whatever type the client declares; a plain SVG or a photo
// passes; an exclusion for FILES switches it off.
func TestUploadedMarkupInspected(t *testing.T) {
	upload := func(name, typ, content string) *http.Request {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + name + `"`}
		h["Content-Type"] = []string{typ}
		w, _ := mw.CreatePart(h)
		w.Write([]byte(content))
		mw.Close()
		r := browserRequest("POST", "/upload/", &buf)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		return r
	}
	evil := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`
	plain := `<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/><a href="https://example.com/"><text>x</text></a></svg>`
	s := stageFromYAML(t, "")
	for _, c := range []struct {
		name, typ, content string
		block              bool
	}{
		{"logo.svg", "image/svg+xml", evil, true},
		{"logo.png", "application/octet-stream", evil, true}, // content sniffed
		{"feed.xml", "application/xml", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`, true},
		{"logo.svg", "image/svg+xml", plain, false},
		{"notes.txt", "text/plain", "use <b>bold</b> and onclick handlers in docs", false},
	} {
		r := upload(c.name, c.typ, c.content)
		if d := s.Check(r.Context(), r, info()); d.Decided() != c.block {
			t.Errorf("%s (%s): blocked=%v, want %v: %s", c.name, c.typ, d.Decided(), c.block, d.Reason)
		}
	}
	off := stageFromYAML(t, "detection:\n  exclusions:\n    - {fields: [FILES:file], paths: [/upload/]}\n")
	r := upload("logo.svg", "image/svg+xml", evil)
	if d := off.Check(r.Context(), r, info()); d.Decided() {
		t.Errorf("excluded upload blocked: %s", d.Reason)
	}
}
