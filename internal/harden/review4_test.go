package harden

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// trackedBody is an upstream body that remembers being closed.
type trackedBody struct {
	io.Reader
	closed bool
}

func (b *trackedBody) Close() error { b.closed = true; return nil }

// An upstream that fails while the guard holds the start of a response
// (the app's worker dies mid-body, a connection reset) makes the response
// hook fail; ReverseProxy then closes resp.Body itself, as it does after
// every failed ModifyResponse. The guard had already closed its stream and
// put it back in its pool: the proxy's second Close reached whatever
// response had taken the stream from the pool since, closing another
// user's upstream body mid-read and putting the stream in the pool a second
// time, for two later responses to share (one user's bytes in another's
// page). Each iteration is one such failure with another response inspected
// before the proxy's Close.
func TestReview4UpstreamErrorNeverClosesAnotherResponse(t *testing.T) {
	g := guard(t, config.LeakGuard{})
	page := ordinaryPage(200 << 10)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(page)
	zw.Close()
	reset := errors.New("connection reset by peer")
	for i := range 50 {
		broken := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}},
			Body:    io.NopCloser(io.MultiReader(bytes.NewReader(gz.Bytes()[:2000]), failing{reset})),
			Request: httptest.NewRequest("GET", "/", nil)}
		if err := g.inspect(broken, &decision.Info{ID: "broken"}); err == nil {
			t.Fatal("an upstream read error during inspection was not reported")
		}
		other := &trackedBody{Reader: bytes.NewReader(gz.Bytes())}
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}},
			Body: other, Request: httptest.NewRequest("GET", "/", nil)}
		if err := g.inspect(resp, &decision.Info{ID: "other"}); err != nil {
			t.Fatal(err)
		}
		broken.Body.Close() // httputil.ReverseProxy after a failed ModifyResponse
		if other.closed {
			t.Fatalf("iteration %d: closing the failed response closed another user's upstream body mid-response", i)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, page) {
			t.Fatalf("iteration %d: the other response: %d of %d bytes, %v", i, len(got), len(page), err)
		}
		resp.Body.Close()
	}
}

// failing is a reader that fails with err.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
