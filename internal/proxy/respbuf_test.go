package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stalledClient sends GET path and reads only the status line, on a
// connection with a tiny receive buffer: a client reading its answer as
// slowly as TCP allows. The reader holds what was read past the line.
func stalledClient(t *testing.T, addr, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("status line %q, %v", line, err)
	}
	return c, br
}

// bigUpstream answers /big/ with size bytes, written in pieces (chunked
// when chunked, else with a Content-Length), and counts the answers it
// finished writing.
func bigUpstream(t *testing.T, size int, finished *atomic.Int32) *httptest.Server {
	piece := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(size))
		}
		w.Header().Set("Content-Type", r.URL.Query().Get("type"))
		for n := 0; n < size; n += len(piece) {
			if _, err := w.Write(piece[:min(len(piece), size-n)]); err != nil {
				return
			}
		}
		finished.Add(1)
	}))
	t.Cleanup(up.Close)
	return up
}

// The app's answer is read whole, as fast as the app sends it, while a
// client takes nothing: the upstream (and the caller's slot, Forward's
// done) is free long before the client has read it. Both with a length
// and chunked.
func TestSlowClientDoesNotHoldTheUpstream(t *testing.T) {
	var finished atomic.Int32
	up := bigUpstream(t, 10<<20, &finished)
	var status int
	p := newTestProxy(t, up.URL, &status)
	var released atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Forward(w, r, func() { released.Add(1) })
	}))
	t.Cleanup(front.Close) // after the clients' (cleanups run last first)
	addr := strings.TrimPrefix(front.URL, "http://")
	stalledClient(t, addr, "/big/?type=text/plain")
	stalledClient(t, addr, "/big/?type=application/octet-stream&chunked=1")
	deadline := time.Now().Add(20 * time.Second)
	for finished.Load() < 2 || released.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("two 10 MB answers to clients reading nothing: %d finished by the app, %d released upstream; want 2 and 2", finished.Load(), released.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if mem, disk := p.respBudget.InUse(); mem > 2*respMemPerResponse || disk < 10<<20 {
		t.Errorf("20 MB held for two stalled clients: %d bytes in memory (at most 1 MB each), %d on disk", mem, disk)
	}
}

// A slow client still gets every byte, in order, and everything held
// for it is given back.
func TestBufferedResponseArrivesWhole(t *testing.T) {
	var finished atomic.Int32
	up := bigUpstream(t, 5<<20+123, &finished)
	var status int
	p := newTestProxy(t, up.URL, &status)
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	for _, q := range []string{"", "&chunked=1"} {
		c, br := stalledClient(t, strings.TrimPrefix(front.URL, "http://"), "/big/?type=text/plain"+q)
		for finished.Load() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		finished.Store(0)
		for { // the rest of the headers
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
		}
		var body io.Reader = br
		if q != "" {
			body = httputil.NewChunkedReader(br)
		} else {
			body = io.LimitReader(br, 5<<20+123)
		}
		got, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Repeat([]byte("0123456789abcdef"), (5<<20+123)/16+1)[:5<<20+123]
		if !bytes.Equal(got, want) {
			t.Fatalf("%q: got %d bytes, not the %d sent", q, len(got), len(want))
		}
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mem, disk := p.respBudget.InUse()
		if mem == 0 && disk == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the responses: %d bytes of memory, %d of disk still held", mem, disk)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Server-sent events and responses marked "X-Accel-Buffering: no" are
// not buffered: the app's pieces reach the client as they are sent.
func TestStreamsAreNotHeldBack(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sse/" {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		} else {
			w.Header().Set("X-Accel-Buffering", "no")
		}
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	}))
	defer up.Close()
	var status int
	p := newTestProxy(t, up.URL, &status)
	front := httptest.NewServer(p)
	defer front.Close()
	for _, path := range []string{"/sse/", "/progress/"} {
		resp, err := http.Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-Accel-Buffering") != "" {
			t.Errorf("%s: X-Accel-Buffering passed to the client", path)
		}
		first := make([]byte, 64)
		n, err := resp.Body.Read(first)
		if err != nil || string(first[:n]) != "data: 0\n\n" {
			t.Errorf("%s: first read %q %v, want the first event alone", path, first[:n], err)
		}
		resp.Body.Close()
	}
}
