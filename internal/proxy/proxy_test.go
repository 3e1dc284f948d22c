package proxy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
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

func newTestProxy(t testing.TB, upstream string, got *int) *Proxy {
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

// timeoutErr is what a server connection's read deadline gives.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// trickle yields a few bytes and then times out, like a slow-POST client
// cut off by the server's read timeout.
type trickle struct{ n int }

func (b *trickle) Read(p []byte) (int, error) {
	if b.n < 3 {
		b.n++
		return copy(p, "a"), nil
	}
	return 0, timeoutErr{}
}

func (b *trickle) Close() error { return nil }

// A body that never finishes arriving (slow POST) is answered 408 by
// Parapet and never reaches the upstream, whose workers are too few to
// wait for slow clients.
func TestSlowBodyNeverReachesUpstream(t *testing.T) {
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer up.Close()
	var status int
	p := newTestProxy(t, up.URL, &status)
	req := httptest.NewRequest("POST", "/login/", &trickle{})
	req.ContentLength = 1000
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if status != http.StatusRequestTimeout || hits.Load() != 0 {
		t.Fatalf("status %d, upstream hit %d times; want 408 and none", status, hits.Load())
	}
}

// Bodies reach the upstream whole with a Content-Length (Django reads no
// body without one), small ones from memory and longer ones spooled to a
// file, byte for byte, chunked or not.
func TestBufferedBodies(t *testing.T) {
	type got struct {
		cl   int64
		te   []string
		body []byte
	}
	seen := make(chan got, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- got{r.ContentLength, r.TransferEncoding, b}
	}))
	defer up.Close()
	var status int
	p := newTestProxy(t, up.URL, &status)

	req := httptest.NewRequest("POST", "/api/echo/", io.NopCloser(strings.NewReader(`{"a":1}`)))
	req.ContentLength = -1
	req.TransferEncoding = []string{"chunked"}
	p.ServeHTTP(httptest.NewRecorder(), req)
	g := <-seen
	if g.cl != 7 || len(g.te) != 0 || string(g.body) != `{"a":1}` {
		t.Errorf("small chunked body arrived as CL %d TE %v %q", g.cl, g.te, g.body)
	}

	big := bytes.Repeat([]byte("0123456789abcdef"), DefaultBufferBody/16*3+5)
	for _, cl := range []int64{int64(len(big)), -1} {
		req := httptest.NewRequest("POST", "/upload/", io.NopCloser(bytes.NewReader(big)))
		req.ContentLength = cl
		p.ServeHTTP(httptest.NewRecorder(), req)
		g := <-seen
		if !bytes.Equal(g.body, big) {
			t.Errorf("CL %d: a %d-byte body arrived as %d bytes", cl, len(big), len(g.body))
		}
		if g.cl != int64(len(big)) { // a long chunked body is spooled and sent with its length
			t.Errorf("CL %d: arrived with Content-Length %d", cl, g.cl)
		}
	}
	if status != 0 {
		t.Errorf("OnError called with %d", status)
	}
	if n := p.memInUse.Load(); n != 0 {
		t.Errorf("%d bytes of the in-memory body budget never given back", n)
	}
}
