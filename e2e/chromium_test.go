package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// A real browser (Debian's chromium, headless) loads the proof-of-work
// page, runs the worker, posts the answer and ends up on the Django page
// it asked for: proof the page's JavaScript works in a browser. It does so
// at a raised difficulty: its address (loopback) has just failed 16
// challenges, so it is asked for 18 + log2(16) = 22 bits, the default
// max_difficulty (under-attack mode adds 4 bits the same way): the most a
// visitor is asked for.
func TestChallengeInHeadlessChromium(t *testing.T) {
	chromium := requireChromium(t)
	yaml := fmt.Sprintf(`
challenge:
  secret: %s
  difficulty: 18
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/]
`, challengeSecret)
	d := startDjangoWithConfig(t, yaml)
	loopback := &visitor{ua: "a script on this machine"}
	p := challengePage(t, loopback.do(t, d, "GET", "/whoami/", nil, nil))
	for i := 0; i < 16; i++ {
		r := loopback.do(t, d, "POST", challenge.PathPrefix+"verify", url.Values{"token": {p.token}, "answer": {"1"}}, nil)
		p = challengePage(t, r)
	}
	if p.difficulty != 22 {
		t.Fatalf("after 16 wrong answers: difficulty %d, want 22", p.difficulty)
	}
	before, _ := d.requests(t)
	took := chromiumPasses(t, chromium, d, "/whoami/?browser=chromium", 22)
	t.Logf("chromium solved difficulty 22 and was back on the page in %v", took)
	after, paths := d.requests(t)
	n := 0
	for _, p := range paths[len(paths)-(after-before):] {
		if strings.Contains(p, "/whoami/") {
			n++
		}
	}
	if n != 1 { // the browser also asks for /favicon.ico
		t.Fatalf("Django saw %v, want the one cleared /whoami/ request", paths[len(paths)-(after-before):])
	}
}

// How long Chromium takes to pass the challenge at each difficulty on
// this machine (PARAPET_CHROMIUM_POW_TIMES=5 runs each five times; the
// work is random, 2^difficulty hashes on average).
func TestChromiumProofOfWorkTimes(t *testing.T) {
	runs := 0
	fmt.Sscan(os.Getenv("PARAPET_CHROMIUM_POW_TIMES"), &runs)
	if runs <= 0 {
		t.Skip("set PARAPET_CHROMIUM_POW_TIMES=N to time N passes per difficulty")
	}
	chromium := requireChromium(t)
	for _, diff := range []int{16, 18, 20, 22} {
		d := startDjangoWithConfig(t, fmt.Sprintf("trusted_proxies: [loopback]\nchallenge:\n  secret: %s\n  difficulty: %d\n  max_difficulty: %d\nrules:\n  - id: h\n    action: challenge\n    paths: [/whoami/]\n", challengeSecret, diff, diff))
		var times []time.Duration
		var total time.Duration
		for i := 0; i < runs; i++ {
			took := chromiumPasses(t, chromium, d, fmt.Sprintf("/whoami/?run=%d", i), diff)
			times = append(times, took.Round(time.Millisecond))
			total += took
		}
		t.Logf("difficulty %d: mean %v over %d passes %v", diff, (total / time.Duration(runs)).Round(time.Millisecond), runs, times)
	}
}

func requireChromium(t *testing.T) string {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		err = errors.New("chromium not installed (apt-get install chromium)")
	}
	testenv.Require(t, err)
	return chromium
}

// chromiumPasses opens path in a fresh headless Chromium, waits until it
// has passed the challenge (asked for at difficulty) and reached the page,
// and returns the time from the challenge page to the answer (Parapet's
// log: page render, worker start and the search).
func chromiumPasses(t *testing.T, chromium string, d *django, path string, difficulty int) time.Duration {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0",
		d.base+path)
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	}()
	pathJSON, _ := json.Marshal(path)
	deadline := time.Now().Add(60 * time.Second)
	for len(d.out.Lines(`"path":`+string(pathJSON), `"status":200`)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("chromium never reached %s through the challenge", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
	served := logTime(t, d.waitLog(t, `"path":`+string(pathJSON), `"decision":"challenge"`, fmt.Sprintf(`"pow:%d"`, difficulty)))
	var passed time.Time
	for _, l := range d.out.Lines(`"rule":"challenge-passed"`) {
		if at := logTime(t, l); at.After(served) && (passed.IsZero() || at.Before(passed)) {
			passed = at
		}
	}
	if passed.IsZero() {
		t.Fatal("no challenge-passed line after the page was served")
	}
	return passed.Sub(served)
}

func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	var v struct {
		Time time.Time `json:"time"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	return v.Time
}
