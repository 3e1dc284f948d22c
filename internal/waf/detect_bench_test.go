package waf

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/proxy"
)

// benchHandler is the real handler and proxy in front of a loopback
// upstream, served in-process (no client socket), built from yaml. The
// built-in rate limits are off: one benchmark client would exceed them.
func benchHandler(b *testing.B, upstreamURL, yaml string) *Handler {
	b.Helper()
	p := filepath.Join(b.TempDir(), "parapet.yaml")
	if err := os.WriteFile(p, []byte("upstream: "+upstreamURL+"\nreload:\n  watch: false\nrate_limits:\n  defaults: false\n"+yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(p, nil)
	if err != nil {
		b.Fatal(err)
	}
	deps := testDepsLogging(b, slog.New(slog.DiscardHandler))
	chain, err := Build(cfg, deps)
	if err != nil {
		b.Fatal(err)
	}
	up, _ := config.ParseUpstream(cfg.Upstream)
	var h *Handler
	px := proxy.New(up, proxy.Options{
		ConnectTimeout: time.Second, ResponseHeaderTimeout: 10 * time.Second, RequestIDHeader: cfg.RequestIDHeader, ClientKey: ProxyClientKey,
		OnError:        func(w http.ResponseWriter, r *http.Request, s int, err error) { h.ProxyError(w, r, s, err) },
		ModifyResponse: func(resp *http.Response) error { return h.ModifyResponse(resp) },
	})
	h = NewHandler(chain, px, events.LineSink{W: io.Discard}, slog.New(slog.DiscardHandler))
	return h
}

// BenchmarkChainDetection serves a typical Django GET and a 2 KB form
// POST through the whole handler (edge, access rules, hardening, proxy to
// a loopback upstream; the app answers a 2 KB HTML page) with detection
// off, on, and on with response inspection, in one run, and reports
// the 99th percentile of the time per request:
//
//	go test -run '^$' -bench ChainDetection -benchmem -benchtime 1s ./internal/waf/
func BenchmarkChainDetection(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>ok</title><p>"+strings.Repeat("content ", 252)) // 2 KB

	}))
	b.Cleanup(up.Close)
	form := url.Values{
		"csrfmiddlewaretoken": {"AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY"},
		"name":                {"Siobhán O'Brien"},
		"email":               {"siobhan@example.ie"},
		"comment":             {strings.Repeat("I'd like to know whether the union station stop is served on Sundays - thanks! ", 22)},
	}.Encode()
	requests := []struct {
		name string
		make func() *http.Request
	}{
		{"GET", func() *http.Request {
			r := httptest.NewRequest("GET", "http://www.example.com/blog/2025/03/union-station/?utm_source=newsletter&page=2", nil)
			return browserHeaders(r)
		}},
		{"POST2KB", func() *http.Request {
			r := browserHeaders(httptest.NewRequest("POST", "http://www.example.com/comments/", strings.NewReader(form)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
	}
	for _, mode := range []struct{ name, yaml string }{
		{"detect-off", "detection:\n  enabled: false\n"},
		{"detect-on", ""},
		// Outbound inspection (detection.responses): the CRS response
		// rules on the 2 KB HTML page as well.
		{"detect-on-responses", "detection:\n  responses:\n    enabled: true\n"},
	} {
		h := benchHandler(b, up.URL, mode.yaml)
		for _, req := range requests {
			b.Run(req.name+"/"+mode.name, func(b *testing.B) {
				b.ReportAllocs()
				var times []time.Duration
				for b.Loop() {
					r := req.make()
					w := httptest.NewRecorder()
					start := time.Now()
					h.ServeHTTP(w, r)
					times = append(times, time.Since(start))
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body.String())
					}
				}
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
			})
		}
	}
}

func browserHeaders(r *http.Request) *http.Request {
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	r.Header.Set("Cookie", "csrftoken=AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY; sessionid=.eJxVjEEOwiAQRe_C2hCgA1iX7j0DGZhBqgaS0q6Md2-TdKHb_957bxFwXUpYO89hInEVWpx-t4jpyXUH9MB6bzK1usxTlLsiD9rlrRG_rof7d1Cwl612YAk8RgCvEVWOqJVnm8aotHODTYMBpBzT2ZvMYAdMiCMrY9kbS158vtiQN-A:1rz")
	return r
}
