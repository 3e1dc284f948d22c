package proxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
)

// brokenBody yields some bytes, then the error Go's chunked reader gives
// for a bad chunk size.
type brokenBody struct{ sent bool }

func (b *brokenBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "partial"), nil
	}
	return 0, errors.New("invalid byte in chunk length")
}

func (b *brokenBody) Close() error { return nil }

func newTestProxy(t *testing.T, upstream string, got *int) *Proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	return New(&config.Upstream{URL: u, Network: "tcp", Address: u.Host}, Options{
		ConnectTimeout:        time.Second,
		ResponseHeaderTimeout: 2 * time.Second,
		RequestIDHeader:       "X-Request-Id",
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			*got = status
			if status != 0 {
				w.WriteHeader(status)
			}
		},
	})
}

// A request whose body cannot be read (malformed chunking, truncated) is
// the client's fault: 400, not a 502 blamed on a healthy upstream.
func TestMalformedClientBodyIs400(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	defer up.Close()
	var status int
	p := newTestProxy(t, up.URL, &status)
	req := httptest.NewRequest("POST", "/form", &brokenBody{})
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if status != http.StatusBadRequest || rec.Code != http.StatusBadRequest {
		t.Fatalf("OnError status %d, response %d; want 400", status, rec.Code)
	}
}

// An upstream that is down is still a 502 when the body is fine.
func TestUpstreamDownWithBodyIs502(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	addr := up.URL
	up.Close()
	var status int
	p := newTestProxy(t, addr, &status)
	req := httptest.NewRequest("POST", "/form", strings.NewReader("a=b"))
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if status != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", status)
	}
}
