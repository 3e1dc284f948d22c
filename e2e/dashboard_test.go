package e2e

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const dashboardToken = "e2e-dashboard-token-0123456789abcdef"

// dashboardHost is admin.host in the dashboard tests: a host name of the
// dashboard's own, which Chromium resolves to loopback by itself and
// treats as a secure context (so the Secure session cookie works over
// http), and whose host-only cookie the app's origin (127.0.0.1) never
// gets.
const dashboardHost = "parapet.localhost"

// adminOrigin is the dashboard's origin on d's port: admin.host.
func adminOrigin(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + net.JoinHostPort(dashboardHost, u.Port())
}

// artifactsDir is where a test leaves files for people to look at:
// $PARAPET_TEST_ARTIFACTS/<test name> when set, else the test's artifact
// directory (t.ArtifactDir: kept under the test's output directory with
// go test -artifacts [-outputdir DIR], a temporary one otherwise).
func artifactsDir(t *testing.T) string {
	if dir := os.Getenv("PARAPET_TEST_ARTIFACTS"); dir != "" {
		dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

// The dashboard in Debian's Chromium, against a real Parapet in front of
// Django, on its own host name (admin.host; the app's origin gets no
// dashboard): log in with the admin token, see a block the test just caused
// (and its detail), ban a client through the UI and see that client get
// 403, flip a rule to monitor and see its path let through, and leave a
// screenshot of the overview. The page must run without a CSP violation
// or a script error, and hostile text from a request (a path with
// markup) must show as text.
func TestDashboardInChromium(t *testing.T) {
	chromium := requireChromium(t)
	d := startDjangoWithConfig(t, `
admin:
  token: `+dashboardToken+`
  host: `+dashboardHost+`
challenge: {crawlers: {enabled: false}}
rules:
  - id: e2e-block
    action: block
    paths: [/e2e-forbidden/]
  - id: e2e-challenge
    action: challenge
    paths: [/e2e-challenge/]
`)
	// Some traffic for the charts and the top lists, then the block the
	// test looks for.
	for i := 0; i < 40; i++ {
		d.as(t, "GET", "/", fmt.Sprintf("198.51.100.%d", i%7+1), "Mozilla/5.0 (e2e)")
	}
	for i := 0; i < 12; i++ {
		d.as(t, "GET", "/.env", fmt.Sprintf("203.0.113.%d", 10+i%3), "sqlmap/1.7")
		d.as(t, "GET", "/e2e-challenge/", fmt.Sprintf("192.0.2.%d", 20+i%4), "curl/8.5.0")
	}
	if code, _ := d.as(t, "GET", "/e2e-forbidden/<img src=x id=pwned>", "203.0.113.50", "e2e-scanner/1.0"); code != 403 {
		t.Fatalf("the e2e-block rule answered %d, want 403", code)
	}
	if code, _ := d.as(t, "GET", "/", "203.0.113.77", "victim/1.0"); code != 200 {
		t.Fatalf("the client to be banned got %d before the ban", code)
	}

	// Script errors and console errors (a CSP refusal is one) are collected
	// from the start; the 401 of the first session check (not logged in
	// yet) and of the wrong token are expected.
	b := startBrowser(t, chromium, 1440, 1100, 90*time.Second)
	ctx, run := b.ctx, b.run
	setValue := func(sel, v string) chromedp.Action[chromedp.Void] {
		return void(chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%q).value = %q, true)`, sel, v)))
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	ui := adminOrigin(t, d.base) + "/_parapet/ui/"

	// A wrong token is refused; the right one logs in.
	run("log in with a wrong token",
		chromedp.Navigate(ui),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#token", "not-the-token-at-all-0000"),
		chromedp.Click("#login-form button[type=submit]"),
		poll(`document.getElementById('login-error').textContent.length > 0`))
	if loginErr := text("#login-error"); !strings.Contains(loginErr, "not valid") {
		t.Fatalf("wrong token: %q", loginErr)
	}
	run("log in",
		setValue("#token", ""),
		chromedp.SendKeys("#token", dashboardToken),
		chromedp.Click("#login-form button[type=submit]"),
		chromedp.WaitVisible("#app"))

	// The block just caused is in the events table, its path as text.
	run("see the block",
		chromedp.Navigate(ui+"#events"),
		chromedp.WaitVisible("#view-events"),
		poll(`[...document.querySelectorAll('#events tbody tr')].some(r => r.textContent.includes('203.0.113.50') && r.textContent.includes('e2e-block'))`))
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#events tbody tr')].find(r => r.textContent.includes('203.0.113.50')).dataset.id`))
	if err != nil {
		t.Fatal(err)
	}
	run("open its detail",
		chromedp.Click(fmt.Sprintf(`#events tr[data-id=%q]`, id)),
		chromedp.WaitVisible("#detail"))
	detail := text("#detail")
	var pwned bool
	pwned, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('pwned') !== null`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"e2e-block", "access rule", "/e2e-forbidden/<img src=x id=pwned>", "e2e-scanner/1.0", "403"} {
		if !strings.Contains(detail, want) {
			t.Errorf("the detail lacks %q:\n%s", want, detail)
		}
	}
	if pwned {
		t.Fatal("markup from a request's path became an element")
	}

	// Ban a client through the UI; it gets 403 at once.
	run("ban a client",
		chromedp.Navigate(ui+"#bans"),
		chromedp.WaitVisible(`#ban-form`),
		chromedp.SendKeys(`#ban-form input[name=ip]`, "203.0.113.77"),
		chromedp.SendKeys(`#ban-form input[name=reason]`, "banned in the e2e test"),
		chromedp.Click(`#ban-form button[type=submit]`),
		poll(`[...document.querySelectorAll('#bans tbody tr')].some(r => r.textContent.includes('203.0.113.77') && r.textContent.includes('admin:admin'))`))
	if code, _ := d.as(t, "GET", "/", "203.0.113.77", "victim/1.0"); code != 403 {
		t.Fatalf("the banned client got %d, want 403", code)
	}
	// A ban the API refuses shows why, by field.
	run("refused ban",
		setValue(`#ban-form input[name=ip]`, "not-an-ip"),
		chromedp.Click(`#ban-form button[type=submit]`),
		poll(`document.getElementById('bans-error').textContent.length > 0`))
	if banErr := text("#bans-error"); !strings.HasPrefix(banErr, "ip: ") {
		t.Errorf("bad ban: %q", banErr)
	}

	// Flip the rule to monitor: its path is let through.
	run("flip the rule to monitor",
		chromedp.Navigate(ui+"#rules"),
		chromedp.WaitVisible(`button[aria-label="set e2e-block to monitor"]`),
		chromedp.Click(`button[aria-label="set e2e-block to monitor"]`),
		chromedp.WaitVisible(`button[aria-label="set e2e-block to enforce"]`))
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := d.as(t, "GET", "/e2e-forbidden/", "203.0.113.51", "e2e-scanner/1.0")
		if code != 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the rule still blocks after the switch to monitor")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A burst: the table still shows only the newest page (no unbounded
	// DOM), and keeps up.
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				d.as(t, "GET", fmt.Sprintf("/.git/config?burst=%d-%d", g, i), fmt.Sprintf("198.18.%d.%d", g, i), "burst/1.0")
			}
		}()
	}
	wg.Wait()
	run("burst",
		chromedp.Navigate(ui+"#events"),
		poll(`document.querySelector('#events tbody tr') && document.querySelector('#events tbody tr').textContent.includes('burst=')`),
		poll(`document.querySelectorAll('#events tbody tr').length === 50`))

	// The overview: charts drawn, the most refused client in the top list.
	run("overview",
		chromedp.Navigate(ui+"#overview"),
		chromedp.WaitVisible("#chart-decisions svg rect.block"),
		poll(`document.getElementById('top-ips').textContent.includes('203.0.113.10')`),
		poll(`document.getElementById('ua-toggle').textContent.includes('off')`))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactsDir(t), "dashboard.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	// Logging out ends the session: the API refuses the old cookie's page.
	run("log out",
		chromedp.Click("#logout"),
		chromedp.WaitVisible("#login-form"),
		chromedp.Navigate(ui+"#events"),
		chromedp.WaitVisible("#login-form"))

	b.checkProblems()
}

// chromiumSession is one Chromium for one test, with the console's script and
// console errors (but expected refusals) collected from the start.
type chromiumSession struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

// startBrowser starts Chromium with a window of width x height; every
// action must be done within timeout. It is stopped when the test ends.
func startBrowser(t *testing.T, chromium string, width, height int, timeout time.Duration) *chromiumSession {
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height))...)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel)
	b := &chromiumSession{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleError) && !expectedRefusal(m.Text) {
				b.mu.Lock()
				b.problems = append(b.problems, string(m.Type)+": "+m.Text)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// run does the actions, failing the test (with a screenshot in its
// artifacts) when one fails.
func (b *chromiumSession) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		shot := filepath.Join(artifactsDir(b.t), "failed.png")
		if buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(shot, buf, 0o644)
		}
		b.t.Fatalf("%s: %v (screenshot %s)", what, err, shot)
	}
}

// checkProblems fails the test if the page had script or console errors.
func (b *chromiumSession) checkProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Fatalf("the page had problems:\n%s", strings.Join(b.problems, "\n"))
	}
}

// poll waits up to 20 s for the script js to be true.
func poll(js string) chromedp.Action[chromedp.Void] {
	return void(chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second)))
}

// void drops an action's value, to run it among others with chromedp.Do.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// expectedRefusal is a console line about an answer the test provokes: the
// 401 of the session check before login and of the wrong token, the 400
// of the bad ban.
func expectedRefusal(text string) bool {
	return strings.Contains(text, "Failed to load resource") && (strings.Contains(text, "status of 401") || strings.Contains(text, "status of 400"))
}
