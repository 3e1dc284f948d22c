package proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/decision"
)

// BenchmarkProxy is the proxy path alone: one request through Proxy to a
// loopback upstream answering a 2 KB page, over kept-alive connections.
// HEAD and 304 are answered without a body and must not leave their
// connection for the next request (a new one is dialed); GET and POST
// reuse theirs:
//
//	go test -run '^$' -bench Proxy -benchmem ./internal/proxy/
func BenchmarkProxy(b *testing.B) {
	page := "<!doctype html><title>ok</title><p>" + strings.Repeat("content ", 252)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("If-None-Match") != "" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	}))
	b.Cleanup(up.Close)
	var status int
	p := newTestProxy(b, up.URL, &status)
	info := &decision.Info{ID: "0123456789abcdef", ClientIP: netip.MustParseAddr("203.0.113.9"), Scheme: "https", Start: time.Now()}
	ctx := decision.WithInfo(context.Background(), info)
	form := "name=Siobh%C3%A1n&email=siobhan%40example.ie&comment=" + strings.Repeat("union+station+on+sundays+", 80)
	for _, tc := range []struct {
		name, method, body, etag string
		want                     int
	}{
		{"GET", "GET", "", "", 200},
		{"POST2KB", "POST", form, "", 200},
		{"HEAD", "HEAD", "", "", 200},
		{"GET304", "GET", "", `"v1"`, 304},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var body io.Reader
				if tc.body != "" {
					body = strings.NewReader(tc.body)
				}
				r := httptest.NewRequest(tc.method, "http://www.example.com/blog/2025/03/union-station/?page=2", body).WithContext(ctx)
				r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36")
				if tc.etag != "" {
					r.Header.Set("If-None-Match", tc.etag)
				}
				w := httptest.NewRecorder()
				p.ServeHTTP(w, r)
				if w.Code != tc.want {
					b.Fatalf("status %d, want %d", w.Code, tc.want)
				}
			}
		})
	}
}
