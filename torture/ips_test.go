package torture

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// floodIPs sends n requests, each from a different client address in
// X-Forwarded-For, over conns pipelined keep-alive connections, and
// returns how many got a 200.
func floodIPs(t *testing.T, addr string, first, n, conns int) int {
	t.Helper()
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	per := n / conns
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(60 * time.Second))
			br, bw := bufio.NewReader(c), bufio.NewWriter(c)
			const batch = 50
			good := 0
			for i := 0; i < per; i += batch {
				for j := i; j < i+batch && j < per; j++ {
					k := first + w*per + j // 10.x.y.z, distinct for k < 2^24
					fmt.Fprintf(bw, "GET /articles/?page=%d HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0\r\nX-Forwarded-For: 10.%d.%d.%d\r\n\r\n",
						j, k>>16&255, k>>8&255, k&255)
				}
				if err := bw.Flush(); err != nil {
					t.Error(err)
					return
				}
				for j := i; j < i+batch && j < per; j++ {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Errorf("response %d: %v", j, err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						good++
					}
				}
			}
			mu.Lock()
			ok += good
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ok
}

// A flood from 100,000 distinct client addresses (X-Forwarded-For from a
// trusted loopback proxy) is served, each request reaching the app with
// its own client address, and Parapet's peak memory grows by less than
// 64 MB: nothing per client may grow without bound. (Rate limits, which
// will keep per-client state, come with their own branch; this case is
// where their memory bound gets enforced.) TORTURE_IPS overrides the count.
func TestHundredThousandClientIPsBoundedMemory(t *testing.T) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("TORTURE_IPS")); err == nil && v > 0 {
		n = v
	}
	up := newRawUpstream(t)
	// Detection keeps no per-client state and would make this a CPU test
	// (100,000 CRS evaluations); the rate limits, which do, stay on.
	p := startParapet(t, up.URL(), []string{"PARAPET_TRUSTED_PROXIES=loopback", "PARAPET_LOG_LEVEL=warn", "PARAPET_DETECTION_ENABLED=false"})
	const conns = 8
	warm := 8000
	if got := floodIPs(t, p.addr, 1<<22, warm, conns); got != warm {
		t.Fatalf("warm-up: %d of %d served", got, warm)
	}
	_, before := p.memKB(t)
	up.reset()
	start := time.Now()
	got := floodIPs(t, p.addr, 0, n, conns)
	took := time.Since(start)
	_, after := p.memKB(t)
	t.Logf("%d requests from %d addresses in %v (%.0f/s); peak RSS %d KB -> %d KB", n, n, took, float64(n)/took.Seconds(), before, after)
	if got != n {
		t.Errorf("%d of %d requests served", got, n)
	}
	distinct := map[string]bool{}
	for _, s := range up.requests() {
		distinct[s.XFF] = true
	}
	if len(distinct) != n {
		t.Errorf("the app saw %d distinct client addresses, want %d", len(distinct), n)
	}
	if after-before > 64<<10 {
		t.Errorf("peak RSS grew by %d KB over %d client addresses", after-before, n)
	}
	p.mustBeAlive(t)
}
