package torture

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// attacker is one slow client: it opens a connection, sends prefix, then
// trickles one byte of filler every interval until Parapet cuts it off
// or stop closes. cut reports how long Parapet took to drop it (0: never).
func attacker(addr, prefix string, interval time.Duration, stop <-chan struct{}, cut *time.Duration, wg *sync.WaitGroup) {
	defer wg.Done()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, prefix); err != nil {
		*cut = time.Since(start)
		return
	}
	// Parapet ends the connection with an error page or a close; a read
	// that returns is the sign.
	closed := make(chan struct{})
	go func() { _, _ = c.Read(make([]byte, 1)); close(closed) }()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-closed:
			*cut = time.Since(start)
			return
		case <-t.C:
			if _, err := io.WriteString(c, "a"); err != nil {
				*cut = time.Since(start)
				return
			}
		}
	}
}

// Slow attackers (slowloris: headers a byte at a time; slow body: a POST
// body a byte at a time, some after a quick first 70 KB) against Parapet in front of the real Django app
// under gunicorn: a legitimate client keeps being served promptly the
// whole time, and every attacker is cut off within timeouts.read_header
// or timeouts.read (plus a second of slack).
func TestSlowAttackersDoNotStarveLegitClients(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	const readHeader, read = time.Second, 3 * time.Second
	p := startParapet(t, "unix:"+sock, []string{
		"PARAPET_TIMEOUTS_READ_HEADER=" + readHeader.String(),
		"PARAPET_TIMEOUTS_READ=" + read.String(),
	})
	if code, _ := p.get(t, "/"); code != 200 {
		t.Fatalf("Django via Parapet: %d", code)
	}
	const lorises, slowBodies = 150, 20
	stop := make(chan struct{})
	var wg sync.WaitGroup
	cutLoris := make([]time.Duration, lorises)
	cutBody := make([]time.Duration, slowBodies)
	for i := range cutLoris {
		wg.Add(1)
		go attacker(p.addr, "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ", 100*time.Millisecond, stop, &cutLoris[i], &wg)
	}
	for i := range cutBody {
		// Half send 70 KB at once (past what Parapet holds in memory) and
		// then trickle: the body is spooled, not streamed to gunicorn.
		head := "POST /api/echo/ HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
		if i%2 == 1 {
			head += strings.Repeat("a", 70<<10)
		}
		wg.Add(1)
		go attacker(p.addr, head, 100*time.Millisecond, stop, &cutBody[i], &wg)
	}

	// The legitimate client: a page every 100 ms for 4 s.
	var served, failed atomic.Int32
	var worst time.Duration
	client := &http.Client{Timeout: 5 * time.Second}
	end := time.Now().Add(read + time.Second)
	for time.Now().Before(end) {
		start := time.Now()
		resp, err := client.Get("http://" + p.addr + "/")
		took := time.Since(start)
		if took > worst {
			worst = took
		}
		if err != nil {
			failed.Add(1)
			t.Errorf("legit request during the attack: %v", err)
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failed.Add(1)
				t.Errorf("legit request during the attack: %d", resp.StatusCode)
			} else {
				served.Add(1)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Give the last attackers their slack, then stop the rest.
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	t.Logf("legit: %d served, %d failed, slowest %v", served.Load(), failed.Load(), worst)
	if worst > 2*time.Second {
		t.Errorf("a legit request took %v during the attack", worst)
	}
	check := func(kind string, cuts []time.Duration, limit time.Duration) {
		held := 0
		var longest time.Duration
		for _, c := range cuts {
			if c == 0 || c > limit+time.Second {
				held++
			}
			if c > longest {
				longest = c
			}
		}
		t.Logf("%s: %d attackers, longest held %v (limit %v)", kind, len(cuts), longest, limit)
		if held > 0 {
			t.Errorf("%s: %d of %d attackers were not cut off within %v", kind, held, len(cuts), limit+time.Second)
		}
	}
	check("slowloris", cutLoris, readHeader)
	check("slow body", cutBody, read)
	p.mustBeAlive(t)
}
