package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

func startEdge(t *testing.T, env ...string) *process {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	t.Cleanup(up.Close)
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, append([]string{"PARAPET_UPSTREAM=" + up.URL, "PARAPET_LISTEN=" + addr}, env...), "run")
	waitStatus(t, p, "/", 200)
	return p
}

func TestOversizedHeadersGet431(t *testing.T) {
	p := startEdge(t, "PARAPET_LIMITS_MAX_HEADER_BYTES=4KB")
	req, _ := http.NewRequest("GET", "http://"+p.addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// A client that trickles its headers (slowloris) is cut off after
// timeouts.read_header, while other clients are served meanwhile.
func TestSlowHeadersAreCutOff(t *testing.T) {
	p := startEdge(t, "PARAPET_TIMEOUTS_READ_HEADER=500ms")
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 40; i++ { // keep trickling a header byte every 100 ms
			if _, err := fmt.Fprint(conn, "X"); err != nil {
				done <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		done <- nil
	}()
	// Meanwhile a normal client is served.
	resp, err := http.Get("http://" + p.addr + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("normal client during slowloris: %v", err)
	}
	resp.Body.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	elapsed := time.Since(start)
	if elapsed > 3*time.Second {
		t.Fatalf("slow client kept its connection for %v", elapsed)
	}
	if err == nil && r.StatusCode < 400 {
		t.Fatalf("slow client got a %d", r.StatusCode)
	}
}
