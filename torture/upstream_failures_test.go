package torture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// misbehaving is an upstream that accepts connections and then does what
// act says with each; it closes them all when the test ends.
func misbehaving(t *testing.T, act func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); act(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// readHead reads one request's head off c (never answering it).
func readHead(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" {
			return
		}
	}
}

// reset closes c with a TCP RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// page is what a client learns from a deny page in JSON.
type page struct {
	Status    int    `json:"status"`
	Reason    string `json:"reason"`
	RequestID string `json:"request_id"`
}

// askJSON sends a GET asking for JSON and returns the answer, the decoded
// page, the raw body and how long it took.
func askJSON(t *testing.T, addr, path string) (*http.Response, page, string, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header.Set("Accept", "application/json")
	c := &http.Client{Timeout: 15 * time.Second}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v (after %v)", path, err, time.Since(start))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var pg page
	_ = json.Unmarshal(body, &pg)
	return resp, pg, string(body), time.Since(start)
}

// An upstream that is down, hangs, or resets connections gets the client a
// clean 502 or 504 deny page (request id, reason code, no Go error text)
// within the configured timeouts, and Parapet keeps serving.
func TestUpstreamFailuresGiveCleanErrorPages(t *testing.T) {
	down := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr
	}()
	const headerTimeout = 800 * time.Millisecond
	cases := []struct {
		name     string
		upstream string
		status   int
		reason   string
		min, max time.Duration
	}{
		{"down (connection refused)", down, 502, "upstream-error", 0, time.Second},
		{"hanging (accepts, never answers)", misbehaving(t, func(c net.Conn) { readHead(c); _, _ = io.Copy(io.Discard, c) }),
			504, "upstream-timeout", headerTimeout, headerTimeout + 2*time.Second},
		{"hanging mid-headers", misbehaving(t, func(c net.Conn) {
			readHead(c)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Ty")
			_, _ = io.Copy(io.Discard, c)
		}), 504, "upstream-timeout", headerTimeout, headerTimeout + 2*time.Second},
		{"reset on accept", misbehaving(t, reset), 502, "upstream-error", 0, time.Second},
		{"reset after the request", misbehaving(t, func(c net.Conn) { readHead(c); reset(c) }), 502, "upstream-error", 0, time.Second},
		{"closes after the request", misbehaving(t, func(c net.Conn) { readHead(c); c.Close() }), 502, "upstream-error", 0, time.Second},
		{"answers garbage", misbehaving(t, func(c net.Conn) {
			readHead(c)
			_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n\r\n")
			c.Close()
		}), 502, "upstream-error", 0, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startParapet(t, tc.upstream, []string{
				"PARAPET_TIMEOUTS_UPSTREAM_CONNECT=500ms",
				"PARAPET_TIMEOUTS_UPSTREAM_RESPONSE_HEADER=" + headerTimeout.String(),
			})
			for i := 0; i < 2; i++ { // the second on a fresh attempt, not a cached failure
				resp, pg, body, took := askJSON(t, p.addr, "/articles/?page=2")
				if resp.StatusCode != tc.status || pg.Status != tc.status || pg.Reason != tc.reason {
					t.Errorf("got %d %q, want %d with reason %q: %s", resp.StatusCode, body, tc.status, tc.reason, body)
				}
				if pg.RequestID == "" || pg.RequestID != resp.Header.Get("X-Request-Id") {
					t.Errorf("page request id %q, header %q", pg.RequestID, resp.Header.Get("X-Request-Id"))
				}
				for _, leak := range []string{"dial", "tcp", "127.0.0.1", "EOF", "reset", "timeout awaiting"} {
					if strings.Contains(body, leak) {
						t.Errorf("error page leaks %q: %s", leak, body)
					}
				}
				if took < tc.min || took > tc.max {
					t.Errorf("answered after %v, want between %v and %v", took, tc.min, tc.max)
				}
			}
			p.mustBeAlive(t)
		})
	}
}

// An upstream that sends its headers and part of the body, then resets or
// closes: within the leak guard's inspected prefix (64 KB) the client gets
// a clean 502; past it the headers are already on their way, so the client
// must see the response cut off (an error, never a complete-looking body),
// promptly, and the request still gets its log line with the error.
func TestUpstreamDyingMidBodyCutsTheResponse(t *testing.T) {
	partial := func(n int, then func(net.Conn)) func(net.Conn) {
		return func(c net.Conn) {
			readHead(c)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 500000\r\n\r\n"+strings.Repeat("x", n))
			time.Sleep(200 * time.Millisecond) // let Parapet pass on what it got
			then(c)
		}
	}
	for _, tc := range []struct {
		name string
		up   string
		// clean502: the failure falls within the inspected prefix.
		clean502 bool
	}{
		{"reset within the inspected prefix", misbehaving(t, partial(1000, reset)), true},
		{"closed within the inspected prefix", misbehaving(t, partial(1000, func(c net.Conn) { c.Close() })), false},
		{"reset past the inspected prefix", misbehaving(t, partial(200_000, reset)), false},
		{"closed past the inspected prefix", misbehaving(t, partial(200_000, func(c net.Conn) { c.Close() })), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startParapet(t, tc.up, nil)
			c := &http.Client{Timeout: 10 * time.Second}
			start := time.Now()
			resp, err := c.Get("http://" + p.addr + "/download")
			var n int64
			if err == nil {
				n, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if tc.clean502 {
					if resp.StatusCode != 502 || err != nil {
						t.Errorf("got %d (%v), want a clean 502 page", resp.StatusCode, err)
					}
				} else if err == nil {
					t.Errorf("got %d with %d bytes and a clean end; want the cut-off response to be an error", resp.StatusCode, n)
				}
			} else if tc.clean502 {
				t.Errorf("want a clean 502, got %v", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("client held for %v", took)
			}
			deadline := time.Now().Add(3 * time.Second)
			for len(p.out.Lines(`"path":"/download"`, `"error":`)) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no log line with the upstream error for /download")
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, line := range p.out.Lines() { // log shippers parse every line
				if !json.Valid([]byte(line)) {
					t.Errorf("log line is not JSON: %q", line)
				}
			}
			p.mustBeAlive(t)
		})
	}
}

// An upstream that stops sending in the middle of a body is cut off after
// timeouts.upstream_response_header of silence (as nginx's
// proxy_read_timeout does): within the inspected prefix the client gets a
// clean 504, past it a response cut off with an error; never a client
// held forever.
func TestUpstreamStallingMidBodyIsCutOff(t *testing.T) {
	const timeout = 800 * time.Millisecond
	stall := func(n int) func(net.Conn) {
		return func(c net.Conn) {
			readHead(c)
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 500000\r\n\r\n"+strings.Repeat("x", n))
			_, _ = io.Copy(io.Discard, c) // silent until Parapet hangs up
		}
	}
	for _, tc := range []struct {
		name   string
		n      int
		status int // 0: cut off after the headers
	}{{"within the inspected prefix", 1000, 504}, {"past the inspected prefix", 200_000, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			p := startParapet(t, misbehaving(t, stall(tc.n)), []string{"PARAPET_TIMEOUTS_UPSTREAM_RESPONSE_HEADER=" + timeout.String()})
			c := &http.Client{Timeout: 15 * time.Second}
			start := time.Now()
			resp, err := c.Get("http://" + p.addr + "/report.csv")
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if tc.status != 0 && (resp.StatusCode != tc.status || err != nil) {
				t.Errorf("got %d (%v), want a clean %d", resp.StatusCode, err, tc.status)
			}
			if tc.status == 0 && err == nil {
				t.Errorf("a stalled body ended cleanly")
			}
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("cut off after %v, want about %v", took, timeout)
			}
			p.mustBeAlive(t)
		})
	}
}

// The idle limit on upstream connections spares what is rightly slow: an
// upload that takes longer than the limit (the upstream is silent while it
// arrives), and a WebSocket idle for longer than it.
func TestSlowUploadsAndIdleWebSocketsAreNotCut(t *testing.T) {
	const timeout = 500 * time.Millisecond
	up := misbehaving(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") == "websocket" {
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_, _ = io.Copy(c, br) // echo until closed
			return
		}
		n, _ := io.Copy(io.Discard, req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(fmt.Sprint(n)), fmt.Sprint(n))
		c.Close()
	})
	p := startParapet(t, up, append([]string{"PARAPET_TIMEOUTS_UPSTREAM_RESPONSE_HEADER=" + timeout.String()}, transportOnly...))

	// 200 KB sent in 10 pieces over about 1.5 s.
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 10; i++ {
			_, _ = pw.Write(make([]byte, 20<<10))
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/upload/", pr)
	req.ContentLength = 200 << 10
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != fmt.Sprint(200<<10) {
		t.Errorf("slow upload: %d %q, want 200 and the whole body received", resp.StatusCode, body)
	}

	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	time.Sleep(3 * timeout) // idle far past the limit
	fmt.Fprint(c, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "ping" {
		t.Errorf("idle WebSocket was cut: %q %v", got, err)
	}
	p.mustBeAlive(t)
}
