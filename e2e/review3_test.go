package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowRequest sends a GET for path as the client at xff (through the
// trusted loopback router) on a connection with a tiny receive buffer, and
// returns the connection, to be read slowly or not at all, with the status
// (0: no answer within 10 s).
func slowRequest(t *testing.T, addr, path, xff string) (net.Conn, int) {
	t.Helper()
	dialer := net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nX-Forwarded-For: %s\r\n\r\n", path, addr, browser, xff)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	var status int
	if ne, ok := err.(net.Error); ok && ne.Timeout() && line == "" {
		return c, 0
	}
	if _, serr := fmt.Sscanf(line, "HTTP/1.1 %d", &status); serr != nil {
		t.Fatalf("status line: %q %v", line, err)
	}
	return c, status
}

// Review 3: response buffering frees the app from slow readers, but the
// buffer was one pool for all clients. One client asking for 12 MB
// downloads on 20 connections and reading none of them spent the whole
// pool (48 MB here, 4 GB by default), and from then on its own further
// downloads, and everybody else's, were read at the client's pace: its
// connections took all 8 of gunicorn's threads and another visitor's
// page timed out. Each client now has a share of the buffer
// (limits.response_buffer_per_client); a client holding its whole share in
// answers it has not read gets 429 unread-responses, so it can spend
// neither the others' buffer nor the app's workers.
func TestReview3OneClientSpendsTheResponseBufferThenHoldsTheApp(t *testing.T) {
	d := startDjango(t, "PARAPET_LIMITS_RESPONSE_BUFFER_TOTAL=48MB", "PARAPET_LIMITS_RESPONSE_BUFFER_PER_CLIENT=12MB")
	statuses := map[int]int{}
	for i := 0; i < 20; i++ {
		_, status := slowRequest(t, d.addr, fmt.Sprintf("/download/?lines=200000&batch=1000&n=%d", i), "198.51.100.66")
		statuses[status]++
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // the app has filled every buffer on the way
	client := &http.Client{Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", d.base+"/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.20")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("another visitor's GET / while one client holds 12 unread downloads: %v (statuses of those: %v)", err, statuses)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("another visitor's GET /: %d (statuses of the unread downloads: %v)", resp.StatusCode, statuses)
	}
	// Another visitor's own slow download is still answered.
	if _, status := slowRequest(t, d.addr, "/download/?lines=100000&batch=1000&other=1", "203.0.113.21"); status != 200 {
		t.Fatalf("another visitor's download: %d (statuses of the unread downloads: %v)", status, statuses)
	}
	if statuses[0] > 0 || statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("the greedy client held the app (status 0: no answer in 10 s) or was never told to read what it asked for: %v", statuses)
	}
	lines := d.out.Lines(`"rule":"unread-responses"`)
	if len(lines) == 0 || !strings.Contains(lines[0], "198.51.100.66") {
		t.Fatalf("no unread-responses event for the greedy client: %v", lines)
	}
}

// Review 3: with trusted_proxies: [heroku] (the setting for Heroku), the
// router is trusted as the peer and appends the visitor's address to
// X-Forwarded-For, but passes the visitor's own CF-Connecting-IP,
// True-Client-IP and the like untouched; Parapet passed them on because
// the request came "through a trusted proxy", and IP helpers
// (django-ipware) read them before X-Forwarded-For: any visitor chose the
// address the app logged and rate limited. They are now kept only when
// the hop that reported the client is trusted by its address (a CDN in
// trusted_proxies).
func TestReview3HerokuRouterPassesAVisitorsOwnCDNAddressHeaders(t *testing.T) {
	var spoof [][2]string
	for _, h := range clientIPHeaders {
		spoof = append(spoof, [2]string{h, "6.6.6.6"})
	}
	t.Run("heroku alone", func(t *testing.T) {
		d := startDjango(t, "PARAPET_TRUSTED_PROXIES=heroku")
		who, _ := whoami(t, d, append([][2]string{{"X-Forwarded-For", "203.0.113.7"}}, spoof...))
		if got, _ := who["client_ip_headers"].(map[string]any); len(got) > 0 {
			t.Errorf("behind the Heroku router alone, Django saw a visitor's own address headers: %v", got)
		}
		if who["x_forwarded_for"] != "203.0.113.7" {
			t.Errorf("Django saw X-Forwarded-For %v, want the router's 203.0.113.7", who["x_forwarded_for"])
		}
	})
	t.Run("heroku behind a trusted CDN", func(t *testing.T) {
		d := startDjango(t, "PARAPET_TRUSTED_PROXIES=heroku,192.0.2.0/24")
		who, _ := whoami(t, d, append([][2]string{{"X-Forwarded-For", "203.0.113.7, 192.0.2.10"}}, spoof...))
		if got, _ := who["client_ip_headers"].(map[string]any); len(got) != len(clientIPHeaders) {
			t.Errorf("behind a trusted CDN, Django saw %d of the %d address headers it sets: %v", len(got), len(clientIPHeaders), got)
		}
	})
}
