package sendtimeout

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// pair returns the server side of a loopback TCP connection accepted
// through Listen(limit), and the client side.
func pair(t *testing.T, limit time.Duration) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	wrapped := Listen(ln, limit)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := wrapped.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// writeUntilError writes 64 KB chunks until a write fails and returns how
// long the failing write took to fail, counted from the
// moment the writes stopped making progress (the last write that returned
// without error), and its error.
func writeUntilError(c net.Conn, between func()) (time.Duration, error) {
	chunk := make([]byte, 64<<10)
	for {
		before := time.Now()
		if _, err := c.Write(chunk); err != nil {
			return time.Since(before), err
		}
		if between != nil {
			between()
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// A client that reads nothing is cut off once a write has waited for
// the limit, also after the server cleared its own deadline between
// responses (as net/http does after each one).
func TestAClientThatStopsReadingIsCutOff(t *testing.T) {
	const limit = 300 * time.Millisecond
	server, _ := pair(t, limit)
	done := make(chan struct{})
	var err error
	var took time.Duration
	go func() {
		defer close(done)
		took, err = writeUntilError(server, func() { _ = server.SetWriteDeadline(time.Time{}) })
	}()
	select {
	case <-done:
	case <-time.After(20 * limit):
		t.Fatalf("a write to a client that reads nothing was still blocked after %v (limit %v)", 20*limit, limit)
	}
	if !isTimeout(err) {
		t.Fatalf("write failed with %v, want a timeout", err)
	}
	if took < limit*15/16/2 {
		// The last write may have been partly buffered by the kernel;
		// still, failing long before the limit would cut off clients
		// that are merely slow.
		t.Fatalf("the blocked write failed after %v, the limit is %v", took, limit)
	}
}

// A client that keeps reading, slowly, keeps its connection for far
// longer than the limit: the deadline follows the progress. Small socket
// buffers make "progress" mean the client's reads, not the kernel's
// megabytes of loopback buffering.
func TestAProgressingClientIsNotCutOff(t *testing.T) {
	const limit = 300 * time.Millisecond
	server, client := pair(t, limit)
	_ = server.(*conn).Conn.(*net.TCPConn).SetWriteBuffer(32 << 10)
	_ = client.(*net.TCPConn).SetReadBuffer(32 << 10)
	const total = 1 << 20
	go func() {
		// 32 KB every limit/8: 1 MB takes about 32 x limit/8 = 4 x limit.
		buf := make([]byte, 32<<10)
		for {
			time.Sleep(limit / 8)
			if _, err := io.ReadFull(client, buf); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	chunk := make([]byte, 16<<10)
	for sent := 0; sent < total; sent += len(chunk) {
		if _, err := server.Write(chunk); err != nil {
			t.Fatalf("write failed after %v and %d bytes to a client that reads 32 KB every %v: %v", time.Since(start), sent, limit/8, err)
		}
	}
	if took := time.Since(start); took < 2*limit {
		t.Fatalf("the 1 MB took only %v: the test did not outlast the limit (%v)", took, limit)
	}
}

// A deadline the server or a handler asks for that is nearer than the
// rolling one wins (timeouts.write bounds the whole response).
func TestANearerAskedDeadlineWins(t *testing.T) {
	server, _ := pair(t, time.Hour)
	start := time.Now()
	if err := server.SetWriteDeadline(start.Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := writeUntilError(server, nil); done <- err }()
	select {
	case err := <-done:
		if !isTimeout(err) {
			t.Fatalf("write failed with %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the asked deadline (200 ms) did not bound the writes; the send limit is an hour")
	}
}

// countingListener counts the write deadlines set on its connections.
type countingListener struct {
	net.Listener
	sets *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, sets: l.sets}, nil
}

type countingConn struct {
	net.Conn
	sets *atomic.Int64
}

func (c countingConn) SetWriteDeadline(t time.Time) error {
	c.sets.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

// serve runs an http.Server on Listen(limit) over a counting listener.
func serve(t *testing.T, limit time.Duration, h http.Handler) (addr string, sets *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sets = new(atomic.Int64)
	srv := &http.Server{Handler: h, ConnState: ConnState}
	go func() { _ = srv.Serve(Listen(countingListener{Listener: ln, sets: sets}, limit)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), sets
}

// Fifty responses on one keep-alive connection move the connection's
// write deadline once, not once or twice per response.
func TestKeepAliveResponsesShareOneDeadline(t *testing.T) {
	addr, sets := serve(t, time.Minute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("page ", 400))
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; i < 50; i++ {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := sets.Load(); n > 2 {
		t.Fatalf("50 responses set the write deadline %d times, want 1 (2 at most)", n)
	}
}

// A hijacked connection (a WebSocket tunnel) keeps only the deadlines its
// owner sets: a peer that stops reading for longer than the limit is not
// cut off by it.
func TestAHijackedConnectionHasNoSendLimit(t *testing.T) {
	const limit = 200 * time.Millisecond
	blocked := make(chan error, 1)
	addr, _ := serve(t, limit, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "") // a write before the hijack arms the rolling deadline
		w.(http.Flusher).Flush()
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			blocked <- err
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		time.Sleep(limit / 4) // a wrapped connection would move its deadline on the next write
		_, err = writeUntilError(c, nil)
		blocked <- err
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	select {
	case err := <-blocked:
		t.Fatalf("the tunnel's write failed while its peer paused for less than %v: %v", 10*limit, err)
	case <-time.After(10 * limit):
	}
}
