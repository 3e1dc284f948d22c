package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// With admin.listen the dashboard is served on that private listener
// (beside the API it calls), not on the public port: in Chromium a wrong
// token is refused, the token logs in there, the status view shows the
// feeds' health (a file feed loaded, a failing one flagged in the
// header), and a ban made in the UI gets 403 on the public port.
func TestVisDashboardOnAdminListenInChromium(t *testing.T) {
	chromium := requireChromium(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	dir := t.TempDir()
	list := filepath.Join(dir, "office.txt")
	os.WriteFile(list, []byte("198.51.100.0/24\n192.0.2.7\n"), 0o600)
	addr, private := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfgPath := filepath.Join(dir, "parapet.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`upstream: %s
listen: %s
trusted_proxies: [loopback]
feed_cache_dir: %s
detection: {enabled: false}
admin: {token: %s, listen: '%s'}
feeds:
  - {name: office, file: %s}
  - {name: vendor, url: "http://127.0.0.1:1/list.txt"}
rules:
  - id: office-list
    action: log
    feeds: [office, vendor]
`, up.URL, addr, filepath.Join(dir, "feeds"), dashboardToken, private, list)), 0o600)
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/", 200)
	pub := &process{addr: private, out: p.out, done: p.done, cmd: p.cmd}
	waitStatus(t, pub, "/_parapet/ui/", 200)
	resp, err := http.Get("http://" + addr + "/_parapet/ui/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != "" {
		t.Fatalf("the public port's /_parapet/ui/ is not the app's with admin.listen: %d", resp.StatusCode)
	}

	b := startBrowser(t, chromium, 1280, 900, 60*time.Second)
	ctx, run := b.ctx, b.run
	ui := "http://" + private + "/_parapet/ui/"

	run("a wrong token",
		chromedp.Navigate(ui),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#token", "not-the-token-at-all-0000"),
		chromedp.Click("#login-form button[type=submit]"),
		poll(`document.getElementById('login-error').textContent.includes('not valid')`))
	run("log in on admin.listen",
		void(chromedp.Evaluate[bool](`(document.querySelector('#token').value = '', true)`)),
		chromedp.SendKeys("#token", dashboardToken),
		chromedp.Click("#login-form button[type=submit]"),
		chromedp.WaitVisible("#app"))
	run("feed health",
		chromedp.Navigate(ui+"#status"),
		chromedp.WaitVisible("#view-status"),
		poll(`document.getElementById('status').textContent.includes('office: ok')`),
		poll(`document.getElementById('status').textContent.includes('2 entries (file)')`),
		poll(`document.getElementById('status').textContent.includes('vendor: failing')`),
		poll(`document.getElementById('health').textContent.includes('feed vendor failing')`))
	run("ban a client",
		chromedp.Navigate(ui+"#bans"),
		chromedp.WaitVisible(`#ban-form`),
		chromedp.SendKeys(`#ban-form input[name=ip]`, "203.0.113.78"),
		chromedp.Click(`#ban-form button[type=submit]`),
		poll(`[...document.querySelectorAll('#bans tbody tr')].some(r => r.textContent.includes('203.0.113.78'))`))
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.78")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("the client banned on admin.listen got %d on the public port", resp.StatusCode)
	}
	run("status view", chromedp.Navigate(ui+"#status"), poll(`document.getElementById('status').textContent.includes('office: ok')`))
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(artifactsDir(t), "dashboard-admin-listen.png")
		if err := os.WriteFile(path, shot, 0o644); err == nil {
			t.Logf("screenshot: %s", path)
		}
	}
	b.checkProblems()
}
