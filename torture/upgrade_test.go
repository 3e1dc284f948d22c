package torture

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// willingUpstream switches to whatever protocol a request asks for (as
// an upstream that speaks h2c, or anything, would) and then echoes the
// connection; /sneaky/ answers 101 to any request (switching to
// websocket, or to nothing named). Other requests get
// "plain:" and the Upgrade, Connection and HTTP2-Settings fields it saw.
func willingUpstream(t *testing.T) string {
	return misbehaving(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			up := req.Header.Get("Upgrade")
			if up != "" || strings.HasPrefix(req.URL.Path, "/sneaky/") {
				if req.URL.Path == "/sneaky/websocket" {
					up = "websocket"
				}
				fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\n\r\n", up)
				_, _ = io.Copy(c, br) // a tunnel: echo until closed
				return
			}
			body := fmt.Sprintf("plain:%s|%s|%s", up, req.Header.Get("Connection"), req.Header.Get("Http2-Settings"))
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
}

// rawUpgrade sends head (a request without its final CRLF) on a new
// connection, reads the response and, for a 101, checks whether bytes
// now go through as a tunnel. It returns the status, body and whether
// "ping" came back.
func rawUpgrade(t *testing.T, addr, head string) (status int, body string, tunnel bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(c, head+"\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%q: %v", head, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), false
	}
	fmt.Fprint(c, "ping")
	got := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = io.ReadFull(br, got)
	return resp.StatusCode, "", err == nil && string(got) == "ping"
}

const wsHandshake = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// Only a well-formed WebSocket handshake switches protocols through
// Parapet: h2c and made-up Upgrade tokens reach an upstream that would
// take them as plain HTTP/1.1 (no tunnel past the WAF), a malformed
// handshake gets 400, and a 101 the upstream sends for a request that
// asked for no switch is refused (502), not turned into a tunnel.
func TestOnlyWebSocketsSwitchProtocols(t *testing.T) {
	p := startParapet(t, willingUpstream(t), transportOnly)
	cases := []struct {
		name, head string
		status     int
		body       string // prefix
		tunnel     bool
	}{
		{"websocket", "GET /ws/chat HTTP/1.1\r\nHost: a\r\n" + wsHandshake, 101, "", true},
		{"h2c", "GET /a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n", 200, "plain:||", false},
		{"made-up token", "GET /a HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: tunnel/1.0\r\n", 200, "plain:||", false},
		{"websocket offered with h2c", "GET /a HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket, h2c\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 200, "plain:||", false},
		{"websocket without a key", "GET /ws/chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n", 400, "", false},
		{"websocket POST", "POST /ws/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n" + wsHandshake, 400, "", false},
		{"101 nobody asked for", "GET /sneaky/ HTTP/1.1\r\nHost: a\r\n", 502, "", false},
		{"101 to websocket nobody asked for", "GET /sneaky/websocket HTTP/1.1\r\nHost: a\r\n", 502, "", false},
		{"101 to websocket for a dropped h2c", "GET /sneaky/websocket HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n", 502, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, tunnel := rawUpgrade(t, p.addr, tc.head)
			if status != tc.status || !strings.HasPrefix(body, tc.body) || tunnel != tc.tunnel {
				t.Fatalf("%d %q tunnel %v; want %d %q tunnel %v", status, body, tunnel, tc.status, tc.body, tc.tunnel)
			}
		})
	}
	p.mustBeAlive(t)
}

// websockets.enabled and websockets.paths (from the environment here)
// decide where the handshake is forwarded; elsewhere it gets 403.
func TestWebSocketsConfig(t *testing.T) {
	up := willingUpstream(t)
	t.Run("paths", func(t *testing.T) {
		p := startParapet(t, up, append([]string{"PARAPET_WEBSOCKETS_PATHS=/ws/,/live/"}, transportOnly...))
		for path, want := range map[string]int{"/ws/chat": 101, "/live/": 101, "/other/": 403, "/ws/../admin/": 403, "//ws/chat": 403, "/wsx": 403} {
			if status, _, _ := rawUpgrade(t, p.addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\n"+wsHandshake); status != want {
				t.Errorf("%s: %d, want %d", path, status, want)
			}
		}
	})
	t.Run("disabled", func(t *testing.T) {
		p := startParapet(t, up, append([]string{"PARAPET_WEBSOCKETS_ENABLED=false"}, transportOnly...))
		if status, _, _ := rawUpgrade(t, p.addr, "GET /ws/chat HTTP/1.1\r\nHost: a\r\n"+wsHandshake); status != 403 {
			t.Errorf("%d, want 403", status)
		}
		if status, body, _ := rawUpgrade(t, p.addr, "GET /a HTTP/1.1\r\nHost: a\r\n"); status != 200 || body != "plain:||" {
			t.Errorf("plain request: %d %q", status, body)
		}
	})
}
