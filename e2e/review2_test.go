package e2e

// Bypasses found by the second hostile review (proxy, leak guard, flood
// defense), each shown end to end against the real Django app under
// gunicorn. Each test fails while the bypass holds.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Django's technical 404 page puts the request path in its <title>
// before the robots meta tag the leak guard looks for in the first 2 KB
// (technical_404.html), and HTML-escapes it: 420 "&" in the path are
// 2,100 bytes of "&amp;", so the tag lands past 2 KB, the page is not
// recognised as a DEBUG page and streams. Only the DEBUG footer at its
// very end is then found and cut off; the 2,000 URL patterns of the
// URLconf, which the guard is there to hide, have all gone out.
func TestReview2Debug404WithLongPathLeaksURLconf(t *testing.T) {
	d := startDjango(t, "DJANGO_SETTINGS_MODULE=testapp.settings_debug")
	for _, path := range []string{"/" + strings.Repeat("&", 420) + "/", "/" + strings.Repeat("a", 2100) + "/"} {
		resp, err := noDecompress.Get(d.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body) // cut off or not: what the client got
		resp.Body.Close()
		n := strings.Count(string(body), "catalogue/section-")
		if n > 0 || strings.Contains(string(body), "URLconf") {
			t.Errorf("GET /%s...: status %d, %d bytes reached the client with %d of the DEBUG 404 page's URL patterns",
				path[1:9], resp.StatusCode, len(body), n)
		}
	}
}

// slowReader sends GET path on a connection whose receive buffer is tiny
// and then reads nothing more than the status line: a client that reads
// its answer as slowly as TCP lets it.
func slowReader(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n", path, addr, browser)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("slow reader's status line: %q %v", line, err)
	}
	return c
}

// A response streams to the client as fast as the client reads it, with
// no write timeout (timeouts.write: 0) and no buffering of the app's
// answer: the upstream slot (upstream_limit) and the gunicorn worker that
// writes the response stay taken for as long as the client takes. One
// connection reading a 10 MB download slowly takes the only slot of
// max_concurrent: 1, and every other visitor gets 503 upstream-busy; with
// the default config, 8 such connections take all 8 gunicorn threads and
// the site stops answering. (nginx in front of gunicorn buffers the
// response and frees the worker; its send_timeout bounds the client.)
func TestReview2SlowReaderHoldsTheUpstream(t *testing.T) {
	t.Run("upstream_limit slot", func(t *testing.T) {
		d := startDjango(t, "PARAPET_UPSTREAM_LIMIT_MAX_CONCURRENT=1", "PARAPET_UPSTREAM_LIMIT_QUEUE_TIMEOUT=1s")
		slowReader(t, d.addr, "/download/?lines=200000")
		time.Sleep(500 * time.Millisecond) // the app has filled every buffer on the way
		resp, err := http.Get(d.base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET / while one client reads a download slowly: %d, want 200", resp.StatusCode)
		}
	})
	t.Run("gunicorn workers", func(t *testing.T) {
		d := startDjango(t)
		for i := 0; i < 8; i++ { // testenv's gunicorn: 1 worker, 8 threads
			slowReader(t, d.addr, fmt.Sprintf("/download/?lines=200000&n=%d", i))
		}
		time.Sleep(500 * time.Millisecond)
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get(d.base + "/")
		if err != nil {
			t.Fatalf("GET / while 8 clients read downloads slowly: %v (the app's workers are all held)", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET / while 8 clients read downloads slowly: %d, want 200", resp.StatusCode)
		}
	})
}
