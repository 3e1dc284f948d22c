// Package torture runs the real parapet binary against hostile clients and
// broken upstreams on loopback: request smuggling probes, header floods,
// slow attackers, upstream failures, floods of source addresses and config
// reloads under load. Every case states what must hold, asserts it, and
// stops by itself within a few seconds.
package torture

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// parapetBin is the binary built once for all tests.
var parapetBin string

func TestMain(m *testing.M) { os.Exit(testenv.RunWithParapet(m, &parapetBin)) }

// parapet is a running parapet binary with its output captured.
type parapet struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{}
	addr string
}

// transportOnly turns off attack detection and the built-in rate limits
// for the cases that test how requests are carried (framing, bodies,
// reloads under one client's load): CRS would rightly block some probes
// and oversized bodies, and the read limits would throttle the load
// before the transport is measured.
var transportOnly = []string{"PARAPET_DETECTION_ENABLED=false", "PARAPET_RATE_LIMITS_DEFAULTS=false"}

// startParapet runs `parapet run` in edge mode in front of upstream with
// env added (PARAPET_* settings) and args, and waits until it answers.
func startParapet(t *testing.T, upstream string, env []string, args ...string) *parapet {
	t.Helper()
	addr := testenv.FreeAddr(t)
	base := append(testenv.CleanEnv(), "PARAPET_UPSTREAM="+upstream, "PARAPET_LISTEN="+addr, "PARAPET_FEED_CACHE_DIR="+t.TempDir())
	tp := testenv.StartProcess(t, parapetBin, append(base, env...), append([]string{"run"}, args...)...)
	out := tp.Out
	p := &parapet{cmd: tp.Cmd, out: out, done: tp.Done, addr: addr}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("parapet exited at start:\n%s", out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("parapet did not listen within 20s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// mustBeAlive fails the test if the process has exited (crashed).
func (p *parapet) mustBeAlive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("parapet exited (crash?): %v\n%s", p.cmd.ProcessState, tail(p.out.String(), 4096))
	default:
	}
	if strings.Contains(p.out.String(), "panic") {
		t.Fatalf("parapet logged a panic:\n%s", tail(p.out.String(), 4096))
	}
}

// memKB returns the process's resident set (VmRSS) and its peak (VmHWM)
// in KiB, from /proc.
func (p *parapet) memKB(t *testing.T) (rss, peak int) {
	t.Helper()
	return procMemKB(t, p.cmd.Process.Pid)
}

func procMemKB(t *testing.T, pid int) (rss, peak int) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rss = n
		case "VmHWM:":
			peak = n
		}
	}
	if rss == 0 || peak == 0 {
		t.Fatalf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return rss, peak
}

// get does one GET through parapet with a fresh connection and returns
// the status and body.
func (p *parapet) get(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + p.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawResponses writes raw to a new connection to addr and reads the
// responses until the server closes the connection, max responses have
// arrived, or wait passes. It returns the statuses in order.
func rawResponses(t *testing.T, addr, raw string, max int, wait time.Duration) []int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second) // a loaded machine drops SYNs past a full accept queue: the retry comes after 1 s, 3 s, ...
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	go func() { _, _ = io.WriteString(c, raw) }()
	br := bufio.NewReader(c)
	var statuses []int
	for len(statuses) < max {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return statuses
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses
}
