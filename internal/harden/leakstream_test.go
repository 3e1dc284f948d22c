package harden

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
	"github.com/parapet-waf/parapet/internal/bodypeek"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// djangoPage reads one of the DEBUG pages Django 3.2 rendered for the
// test app (testdata/django/regenerate.py).
func djangoPage(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "django", name+".gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chunked reads its body n bytes at a time, as a network would.
type chunked struct {
	r io.Reader
	n int
}

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// splitAt returns body in two reads, the first ending at byte at, then
// in 32 KB reads: a marker that spans at arrives in two pieces.
func splitAt(body []byte, at int) io.Reader {
	return io.MultiReader(bytes.NewReader(body[:at]), chunked{bytes.NewReader(body[at:]), 32 << 10})
}

// served is what a client got for one response through the guard.
type served struct {
	resp    *http.Response
	body    []byte // as it came over the wire
	readErr error  // the body was cut off
	info    *decision.Info
}

// serve runs an upstream response (status, Content-Type, Content-Encoding
// lines, body) through the guard and reads it as the proxy does.
func serve(t testing.TB, g *leakGuard, status int, ctype string, enc []string, body io.Reader) served {
	t.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}}, Body: io.NopCloser(body),
		Request: httptest.NewRequest("GET", "/boom/", nil)}
	if len(enc) > 0 {
		resp.Header["Content-Encoding"] = enc
	}
	info := &decision.Info{ID: "req-1"}
	if err := g.inspect(resp, info); err != nil {
		t.Fatalf("inspect: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return served{resp: resp, body: got, readErr: err, info: info}
}

func guard(t testing.TB, c config.LeakGuard) *leakGuard {
	t.Helper()
	if c.InspectBytes == 0 {
		c.InspectBytes = 64 << 10
	}
	g, err := newLeakGuard(c)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// What must never reach a client from a DEBUG page: the traceback, the
// local variables, the settings, the URLconf, the footer.
var debugPageLeaks = []string{"Traceback", "Django Version", "a local variable that fills the page", "INSTALLED_APPS",
	"settings-info", "Installed Applications", "catalogue/section-", "DEBUG = True", "deliberate failure"}

// Django's DEBUG pages for the test app are 200-750 KB, their traceback,
// local variables, settings and URL patterns far past the 64 KB the
// guard reads before the headers go out. They are replaced by the
// generic page all the same, plain or gzipped, however the body is cut
// into reads; the page names the rule the decision (the log line) names.
func TestLeakGuardReplacesDjangoDebugPagesLongerThanTheWindow(t *testing.T) {
	g := guard(t, config.LeakGuard{})
	for _, c := range []struct {
		page, ctype string
		status      int
		rule        string
	}{
		{"technical_500.html", "text/html", 500, RuleLeakTraceback},
		{"technical_500_value.html", "text/html", 500, RuleLeakTraceback},
		{"technical_500_value.txt", "text/plain; charset=utf-8", 500, RuleLeakTraceback},
		{"technical_404.html", "text/html", 404, RuleLeakDebugPage},
	} {
		page := djangoPage(t, c.page)
		if len(page) < 200<<10 || bytes.Index(page, []byte("INSTALLED_APPS")) < 64<<10 && bytes.Index(page, []byte("catalogue/section-1999")) < 64<<10 {
			t.Fatalf("%s: %d bytes, its leaks inside the first 64 KB: not the case this test is about", c.page, len(page))
		}
		for _, enc := range []string{"", "gzip"} {
			for name, read := range map[string]func([]byte) io.Reader{
				"whole":      func(b []byte) io.Reader { return bytes.NewReader(b) },
				"1000 bytes": func(b []byte) io.Reader { return chunked{bytes.NewReader(b), 1000} },
				"halves":     func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
			} {
				body, lines := page, []string(nil)
				if enc != "" {
					body, lines = testenv.Encode(t, page, enc), []string{enc}
				}
				s := serve(t, g, c.status, c.ctype, lines, read(body))
				what := fmt.Sprintf("%s %q %s", c.page, enc, name)
				if s.readErr != nil || s.resp.StatusCode != c.status || s.resp.Header.Get("Content-Encoding") != "" {
					t.Fatalf("%s: %d %v, read error %v", what, s.resp.StatusCode, s.resp.Header, s.readErr)
				}
				for _, leak := range debugPageLeaks {
					if bytes.Contains(s.body, []byte(leak)) {
						t.Fatalf("%s: %q reached the client", what, leak)
					}
				}
				f := s.info.Final
				if f.RuleID != c.rule || !f.Critical || !strings.Contains(f.Reason, "Django") {
					t.Fatalf("%s: decision %+v", what, f)
				}
				// The page and the log line agree: the page's reason is the rule.
				if !bytes.Contains(s.body, []byte(f.RuleID)) || !bytes.Contains(s.body, []byte("req-1")) {
					t.Fatalf("%s: the page does not name %s and the request id:\n%s", what, f.RuleID, s.body)
				}
			}
		}
	}
}

// The request path Django echoes (HTML-escaped) in the technical 404's
// title, before the robots meta tag, cannot hide the page: a path that
// escapes to 2 KB pushes the tag past the start the guard reads, and one
// holding the tag's words puts them first (review 2).
func TestLeakGuardReplacesDebug404WhateverItsPath(t *testing.T) {
	g := guard(t, config.LeakGuard{})
	page := djangoPage(t, "technical_404.html")
	for _, path := range []string{"/" + strings.Repeat("&amp;", 420) + "/", "/" + strings.Repeat("a", 2100) + "/", "/NONE,NOARCHIVE/",
		"/&lt;meta name=&quot;robots&quot; content=&quot;NONE,NOARCHIVE&quot;&gt;/"} {
		body := bytes.Replace(page, []byte("/no-such-page/"), []byte(path), -1)
		s := serve(t, g, 404, "text/html", nil, chunked{bytes.NewReader(body), 1000})
		if s.readErr != nil || s.resp.StatusCode != 404 || s.info.Final.RuleID != RuleLeakDebugPage {
			t.Fatalf("path %.20q: %d, decision %+v, read error %v", path, s.resp.StatusCode, s.info.Final, s.readErr)
		}
		for _, leak := range debugPageLeaks {
			if bytes.Contains(s.body, []byte(leak)) {
				t.Fatalf("path %.20q: %q reached the client", path, leak)
			}
		}
	}
}

// ordinaryPage is a long page with nothing to hide, which compresses
// about as well as a real one (3-4 times: a page that compresses to
// nothing fits the window compressed).
func ordinaryPage(size int) []byte {
	var b bytes.Buffer
	rnd := uint64(1)
	for i := 0; b.Len() < size; i++ {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		fmt.Fprintf(&b, "<p>Line %d about Django versions, DEBUG settings and Python exceptions: %x.</p>\n", i, rnd)
	}
	return b.Bytes()[:size]
}

func withLeakAt(page []byte, at int, leak string) []byte {
	return append(append(append([]byte{}, page[:at]...), leak...), page[at:]...)
}

// A page that starts ordinary and carries a leak 200 KB in has gone out
// with its headers by the time the leak arrives: the guard gives the
// client everything before it and cuts the response off there, in every
// encoding, also when the leak is split between two reads; the decision
// says where.
func TestLeakGuardCutsALeakPastTheWindow(t *testing.T) {
	// A window of 16 KB, so the page's first 200 KB compressed are past it too.
	g := guard(t, config.LeakGuard{InspectBytes: 16 << 10, SecretPatterns: []string{`my-own-secret-value-\d+`}})
	page := ordinaryPage(300 << 10)
	const at = 200 << 10
	for _, leak := range []struct{ text, rule, probe string }{
		{"<pre>Traceback (most recent call last):\n  File \"/app/views.py\", line 3, in boom\nValueError: x</pre>", RuleLeakTraceback, "most recent call"},
		{"<p>AKIAIOSFODNN7EXAMPLE</p>", RuleLeakSecret, "AKIAIOSFODNN7EXAMPLE"},
		{"<p>postgres://app:s3cr3t@db.internal/app</p>", RuleLeakSecret, "s3cr3t"},
		{"<p>token my-own-secret-value-12345</p>", RuleLeakSecret, "my-own-secret"},
		{"<p>because you have <code>DEBUG = True</code> in your settings</p>", RuleLeakDebugPage, "DEBUG = True</code>"},
	} {
		body := withLeakAt(page, at, leak.text)
		mid := at + len(leak.text)/2
		for _, enc := range [][]string{nil, {"gzip"}, {"br"}, {"zstd"}, {"deflate"}, {"gzip", "zstd"}} {
			for _, split := range []int{mid, at + 3, at + len(leak.text) - 1} {
				wire := testenv.Encode(t, body, enc...)
				var in io.Reader = bytes.NewReader(wire)
				if len(enc) == 0 {
					in = splitAt(wire, split) // the leak arrives in two reads
				}
				s := serve(t, g, 200, "text/html", enc, in)
				what := fmt.Sprintf("%s in %v split at %d", leak.rule, enc, split)
				if s.resp.StatusCode != 200 || !errors.As(s.readErr, new(errLeak)) {
					t.Fatalf("%s: status %d, read error %v", what, s.resp.StatusCode, s.readErr)
				}
				got := s.body
				if len(enc) > 0 {
					c, _ := bodypeek.ParseCodings(s.resp.Header)
					got, _ = bodypeek.Decode(s.body, c, 1<<30) // what the client can make of it
				}
				if bytes.Contains(got, []byte(leak.probe)) || !bytes.HasPrefix(body, got) || len(got) > at+len(leak.text) {
					t.Fatalf("%s: the client decoded %d bytes, with the leak: %v", what, len(got), bytes.Contains(got, []byte(leak.probe)))
				}
				if len(enc) == 0 && len(got) < at-lookahead-windowText {
					t.Errorf("%s: only %d bytes of the ordinary start went out", what, len(got))
				}
				if f := s.info.Final; f.RuleID != leak.rule || !strings.Contains(f.Reason, "cut off") {
					t.Fatalf("%s: decision %+v", what, f)
				}
				if len(enc) > 0 {
					break // the split is the compressor's
				}
			}
		}
	}
}

// Long ordinary pages, also ones that talk about Django's DEBUG pages or
// carry their robots meta tag, reach the client byte for byte in every
// encoding.
func TestLeakGuardPassesLongOrdinaryPagesWhole(t *testing.T) {
	g := guard(t, config.LeakGuard{})
	every := [][]string{nil, {"gzip"}, {"deflate-raw"}, {"br"}, {"zstd"}, {"identity", "gzip"}}
	for _, c := range []struct {
		name string
		page []byte
		encs [][]string
	}{
		{"ordinary", ordinaryPage(300 << 10), every},
		{"robots", append([]byte(`<!doctype html><meta name="robots" content="NONE,NOARCHIVE"><div id="summary">`), ordinaryPage(300<<10)...), every},
		// Held back to holdMax as it starts like the text 500, then streamed.
		{"text", append([]byte("Timetable at /stations/\n"), ordinaryPage(holdMax+100<<10)...), [][]string{nil, {"gzip"}}},
		{"prose", withLeakAt(ordinaryPage(300<<10), 100<<10, "<p>Django Version: 3.2, Python Executable: python3</p><pre>class=\"exception_value\"</pre>"), every},
	} {
		for _, enc := range c.encs {
			wire := testenv.Encode(t, c.page, enc...)
			lines := []string{strings.Join(enc, ", ")}
			if len(enc) == 0 {
				lines = nil
			} else if enc[0] == "deflate-raw" {
				lines = []string{"deflate"}
			}
			s := serve(t, g, 200, "text/html", lines, chunked{bytes.NewReader(wire), 5000})
			if s.readErr != nil || !bytes.Equal(s.body, wire) || s.info.Final.Decided() {
				t.Errorf("%s in %v: %d of %d bytes, %v, %+v", c.name, enc, len(s.body), len(wire), s.readErr, s.info.Final)
			}
		}
	}
}

// Every encoding a server may send is read: zstd, deflate zlib-wrapped
// and raw, codings stacked or listed on several header lines.
func TestLeakGuardReadsEveryEncoding(t *testing.T) {
	g := guard(t, config.LeakGuard{})
	tb := []byte("Internal Server Error: /boom/\nTraceback (most recent call last):\n  File \"/app/views.py\", line 3, in boom\nRuntimeError: x\n")
	for _, c := range []struct {
		lines []string // Content-Encoding as sent
		stack []string // what was applied
	}{
		{[]string{"zstd"}, []string{"zstd"}},
		{[]string{"deflate"}, []string{"deflate"}},
		{[]string{"deflate"}, []string{"deflate-raw"}},
		{[]string{"x-gzip"}, []string{"gzip"}},
		{[]string{"GZIP"}, []string{"gzip"}},
		{[]string{"gzip, gzip"}, []string{"gzip", "gzip"}},
		{[]string{"identity, gzip"}, []string{"gzip"}},
		{[]string{"gzip", "br"}, []string{"gzip", "br"}},
		{[]string{"br, zstd", "deflate"}, []string{"br", "zstd", "deflate"}},
	} {
		s := serve(t, g, 500, "text/plain", c.lines, bytes.NewReader(testenv.Encode(t, tb, c.stack...)))
		if s.info.Final.RuleID != RuleLeakTraceback || bytes.Contains(s.body, []byte("Traceback")) || s.resp.StatusCode != 500 {
			t.Errorf("%q: %d %+v", c.lines, s.resp.StatusCode, s.info.Final)
		}
	}
}

// A textual body the guard cannot read (a coding it does not decode,
// more than three stacked, a decompression bomb) is the generic 502 page
// by default, or passes unread and tagged with uninspectable: pass. Other
// types pass.
func TestLeakGuardUninspectableBodies(t *testing.T) {
	// 80 MB of zeros in a few kilobytes of zstd: 80 frames of 1 MB each.
	zw, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	frame := zw.EncodeAll(make([]byte, 1<<20), nil)
	bomb := bytes.Repeat(frame, 80)
	for _, c := range []struct {
		name, ctype string
		lines       []string
		body        []byte
		status      int // with the default (block)
	}{
		{"compress", "text/html", []string{"compress"}, []byte("Traceback (most recent call last):"), 502},
		{"four deep", "application/json", []string{"gzip, gzip", "gzip, gzip"}, testenv.Encode(t, []byte("{}"), "gzip", "gzip", "gzip", "gzip"), 502},
		{"bomb", "text/plain", []string{"zstd"}, bomb, 502},
		{"an image", "image/png", []string{"compress"}, []byte("\x89PNG"), 200},
	} {
		s := serve(t, guard(t, config.LeakGuard{}), 200, c.ctype, c.lines, bytes.NewReader(c.body))
		if s.resp.StatusCode != c.status || c.status == 502 && (s.info.Final.RuleID != RuleLeakUninspectable || !bytes.Contains(s.body, []byte(RuleLeakUninspectable))) {
			t.Errorf("%s: %d %+v", c.name, s.resp.StatusCode, s.info.Final)
		}
		s = serve(t, guard(t, config.LeakGuard{Uninspectable: config.UninspectablePass}), 200, c.ctype, c.lines, bytes.NewReader(c.body))
		if s.resp.StatusCode != 200 || !bytes.Equal(s.body, c.body) || s.info.Final.Decided() {
			t.Errorf("%s, pass: %d, %d of %d bytes, %+v", c.name, s.resp.StatusCode, len(s.body), len(c.body), s.info.Final)
		}
		if c.status == 502 && (len(s.info.Tags) != 1 || !strings.HasPrefix(s.info.Tags[0], "leak-guard-skipped:")) {
			t.Errorf("%s, pass: tags %v", c.name, s.info.Tags)
		}
	}
}

// Parapet asks the app only for codings the guard reads: anything else
// in the client's Accept-Encoding is dropped before the request goes on.
func TestHardenAsksTheAppOnlyForReadableEncodings(t *testing.T) {
	s := stage(t, "")
	for in, want := range map[string]string{
		"":                                "",
		"gzip, deflate, br, zstd":         "gzip, deflate, br, zstd",
		"GZIP;q=1.0, identity; q=0.5":     "GZIP;q=1.0, identity; q=0.5",
		"gzip, compress, *":               "gzip",
		"br;q=1.0, dcb, dcz, gzip;q=0.8":  "br;q=1.0, gzip;q=0.8",
		"compress":                        "identity",
		"x-gzip, zstd, exi, pack200-gzip": "x-gzip, zstd",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if in != "" {
			r.Header.Set("Accept-Encoding", in)
		}
		if d := s.Check(r.Context(), r, &decision.Info{}); d.Decided() {
			t.Fatalf("%q: %+v", in, d)
		}
		if got := strings.Join(r.Header.Values("Accept-Encoding"), ", "); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	// Two header lines are one list.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header["Accept-Encoding"] = []string{"gzip", "compress, br"}
	s.Check(r.Context(), r, &decision.Info{})
	if got := r.Header.Values("Accept-Encoding"); len(got) != 1 || got[0] != "gzip, br" {
		t.Errorf("two lines: %q", got)
	}
	// Without the leak guard the header is the client's.
	off := stage(t, "harden:\n  leak_guard:\n    enabled: false\n")
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Encoding", "gzip, compress")
	off.Check(r.Context(), r, &decision.Info{})
	if got := r.Header.Get("Accept-Encoding"); got != "gzip, compress" {
		t.Errorf("leak guard off: %q", got)
	}
}

// FuzzLeakStream checks the streaming search against the whole-text one:
// a body (plain or gzipped) cut into reads of any sizes, read before and
// after the headers (a 64-byte window), is stopped (replaced or cut off)
// exactly when the search of the whole text finds a leak; otherwise it
// arrives whole, and a plain body cut off arrives as its start.
func FuzzLeakStream(f *testing.F) {
	f.Add([]byte("Traceback (most recent call last):"), uint8(7), uint8(3))
	f.Add(append(bytes.Repeat([]byte("x"), 3000), "postgres://app:s3cr3t@db"...), uint8(1), uint8(200))
	f.Add([]byte(`<meta name="robots" content="NONE,NOARCHIVE"><div id="summary"><h1>Page not found`), uint8(5), uint8(5))
	f.Add([]byte("KeyError at /x/\nbad\n\nRequest Method: GET\nDjango Version: 3.2.25\nPython Executable: /usr/bin/python3\n"), uint8(16), uint8(9))
	f.Add(withLeakAt(ordinaryPage(40<<10), 33<<10, "because you have <code>DEBUG = True</code>"), uint8(255), uint8(100))
	g := guard(f, config.LeakGuard{InspectBytes: 64})
	f.Fuzz(func(t *testing.T, body []byte, a, b uint8) {
		found := g.find(body)
		var enc []string
		wire := body
		if a&1 == 1 {
			enc, wire = []string{"gzip"}, testenv.Encode(t, body, "gzip")
		}
		s := serve(t, g, 200, "text/html", enc, &varied{r: bytes.NewReader(wire), sizes: []int{int(a) + 1, int(b)*16 + 1}})
		if stopped := s.info.Final.Decided(); (found.rule != "") != stopped {
			t.Fatalf("whole text: %q; streamed: %+v", found.rule, s.info.Final)
		}
		switch {
		case s.resp.StatusCode != 200: // replaced
		case s.readErr != nil && !bytes.HasPrefix(wire, s.body):
			t.Fatalf("cut off: the client got %q, not the body's start", s.body)
		case s.readErr == nil && !bytes.Equal(wire, s.body):
			t.Fatalf("passed: the client got %q", s.body)
		}
	})
}

// varied reads in turns of the given sizes.
type varied struct {
	r     io.Reader
	sizes []int
	n     int
}

func (v *varied) Read(p []byte) (int, error) {
	size := v.sizes[v.n%len(v.sizes)]
	v.n++
	return v.r.Read(p[:min(len(p), size)])
}
