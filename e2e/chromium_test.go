package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// A real browser (Debian's chromium, headless) loads the proof-of-work
// page, runs the worker, posts the answer and ends up on the Django page
// it asked for: proof the page's JavaScript works in a browser.
func TestChallengeInHeadlessChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		err = errors.New("chromium not installed (apt-get install chromium)")
	}
	testenv.Require(t, err)
	yaml := fmt.Sprintf(`
trusted_proxies: [loopback]
challenge:
  secret: %s
  difficulty: 14
rules:
  - id: check-humans
    action: challenge
    paths: [/whoami/]
`, challengeSecret)
	d := startDjangoWithConfig(t, yaml)
	before, _ := d.requests(t)

	// Chromium keeps running with the page open; the test watches what
	// reaches Parapet and Django, then stops it.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0",
		d.base+"/whoami/?browser=chromium")
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
	deadline := time.Now().Add(45 * time.Second)
	for len(d.out.Lines(`"path":"/whoami/?browser=chromium"`, `"status":200`)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("chromium never reached the Django page through the challenge")
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.waitLog(t, `"rule":"challenge-passed"`)
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
