package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/harden"
	"github.com/parapet-waf/parapet/internal/testenv"
)

const starterHeader = harden.DefaultCSP + "; report-uri /_parapet/csp-report"

// With no CSP configured, a Django page without a policy of its own gets
// Parapet's starter policy, report-only, reporting to the collector; a
// page with its own policy, enforcing or report-only, keeps it; JSON gets
// none. The first page without a policy is tagged in the log.
func TestStarterCSPOnDjangoPages(t *testing.T) {
	d := startDjangoWithConfig(t, "", banFileEnv(t))
	for _, c := range []struct {
		path                string
		enforcing, reportOn string
	}{
		{"/csp/", "", starterHeader},
		{"/", "", starterHeader},
		{"/csp/?own=enforce", "default-src 'self' 'unsafe-inline'", ""},
		{"/csp/?own=report", "", "default-src 'self'; report-uri /app-csp-reports/"},
		{"/api/echo/", "", ""},
	} {
		resp, err := http.Get(d.base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", c.path, resp.StatusCode)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != c.enforcing {
			t.Errorf("%s: Content-Security-Policy %q, want %q", c.path, got, c.enforcing)
		}
		if got := resp.Header.Get("Content-Security-Policy-Report-Only"); got != c.reportOn {
			t.Errorf("%s: Content-Security-Policy-Report-Only %q, want %q", c.path, got, c.reportOn)
		}
	}
	d.waitLog(t, `"path":"/api/echo/"`) // log lines are flushed in batches
	if n := len(d.out.Lines(`"missing:content-security-policy"`)); n != 1 {
		t.Errorf("%d log lines tagged missing:content-security-policy, want the first page's only", n)
	}
}

// visitorProxy stands for the router in front of Parapet: it forwards to
// base with the client's address in X-Forwarded-For (a public address:
// loopback clients are never auto-banned) and, when set, a session
// cookie, so a browser pointed at it is one ordinary logged-in visitor.
func visitorProxy(t *testing.T, base, clientIP, cookie string) string {
	t.Helper()
	target, _ := url.Parse(base)
	srv := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		pr.Out.Header.Set("X-Forwarded-For", clientIP)
		if cookie != "" {
			pr.Out.Header.Set("Cookie", strings.Trim(pr.In.Header.Get("Cookie")+"; "+cookie, "; "))
		}
	}})
	t.Cleanup(srv.Close)
	return srv.URL
}

// openInChromium opens u in a fresh headless Chromium until the test ends.
func openInChromium(t *testing.T, chromium, u string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", u)
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
}

// waitUntil polls cond every 100 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// violations reads the collector at the violations path of base.
func violations(t *testing.T, base, token string) harden.ViolationReport {
	t.Helper()
	req, _ := http.NewRequest("GET", base+harden.ViolationsPath, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep harden.ViolationReport
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %d %s", harden.ViolationsPath, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func reported(rep harden.ViolationReport, directive, blocked string) int {
	n := 0
	for _, v := range rep.Violations {
		if v.Directive == directive && v.BlockedURI == blocked {
			n += v.Count
		}
	}
	return n
}

const cspToken = "csp-test-token-0123456789abcdef"

// A real Chromium loads a Django page that breaks the starter policy (an
// inline script and handler, 150 style= attributes, an image from another
// host): it reports each violation, the collector records them, and the
// visitor is none the worse for the hundred-odd reports its browser sent
// (no 429, no ban, its own posts still go through). Then `parapet csp
// suggest` reads the collector, on the metrics listener and on the public
// port with the token, and prints a policy allowing what was seen, with
// the risky sources named.
func TestChromiumReportsReachTheCollectorAndSuggest(t *testing.T) {
	chromium := requireChromium(t)
	maddr := testenv.FreeAddr(t)
	// Its own ban file: a ban must not outlive the test (the default file
	// is shared by every server on the machine).
	d := startDjangoWithConfig(t, fmt.Sprintf("metrics:\n  listen: %s\n  token: %s\n", maddr, cspToken), banFileEnv(t))
	const client = "203.0.113.50"
	front := visitorProxy(t, d.base, client, "")

	openInChromium(t, chromium, front+"/csp/?styles=150&id=one")
	waitUntil(t, 60*time.Second, "the page to load in Chromium", func() bool { return len(d.out.Lines(`csp-page-done=one`)) > 0 })
	var rep harden.ViolationReport
	waitUntil(t, 30*time.Second, "the first report", func() bool {
		rep = violations(t, "http://"+maddr, "")
		return len(rep.Violations) > 0
	})
	// The rest of the reports arrive: wait until the log stops growing.
	for last := -1; ; time.Sleep(2 * time.Second) {
		if n := len(d.out.Lines(`"path":"/_parapet/csp-report"`)); n != last {
			last = n
			continue
		}
		break
	}
	rep = violations(t, "http://"+maddr, "")
	t.Logf("Chromium reported %d style= attributes of 150, %d inline scripts, %d inline handlers, %d images",
		reported(rep, "style-src-attr", "inline"), reported(rep, "script-src-elem", "inline"), reported(rep, "script-src-attr", "inline"),
		reported(rep, "img-src", "https://cdn.example.net/logo.png"))
	statuses := map[string]int{}
	for _, l := range d.out.Lines(`"path":"/_parapet/csp-report"`) {
		statuses[regexp.MustCompile(`"status":\d+`).FindString(l)]++
	}
	if reported(rep, "script-src-elem", "inline") == 0 || reported(rep, "script-src-attr", "inline") == 0 ||
		reported(rep, "img-src", "https://cdn.example.net/logo.png") == 0 || reported(rep, "style-src-attr", "inline") < 100 {
		t.Fatalf("the collector has %+v; the report posts were answered %v", rep.Violations, statuses)
	}
	if rep.Policy != harden.DefaultCSP || !rep.ReportOnly {
		t.Errorf("collector says the policy sent is %q (report-only %v), want the starter policy", rep.Policy, rep.ReportOnly)
	}
	lines := d.out.Lines(`"path":"/_parapet/csp-report"`)
	for _, l := range lines {
		if !strings.Contains(l, `"status":204`) || !strings.Contains(l, `"client_ip":"`+client+`"`) {
			t.Fatalf("a report was not taken from %s: %s", client, l)
		}
	}
	t.Logf("%d report posts, all 204", len(lines))
	resp, err := http.Post(front+"/api/echo/", "application/json", strings.NewReader(`{"after":"the reports"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the visitor's own post after its browser's reports: %d, want 200", resp.StatusCode)
	}

	suggest := func(env []string, args ...string) (string, string, int) {
		cmd := exec.Command(parapetBin, append([]string{"csp", "suggest"}, args...)...)
		cmd.Env = append(testenv.CleanEnv(), env...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
	out, errOut, code := suggest([]string{"PARAPET_METRICS_LISTEN=" + maddr})
	if code != 0 {
		t.Fatalf("csp suggest from the metrics listener: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("parapet csp suggest:\n%s", out)
	lastLine := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	want := "default-src 'self'; script-src 'self' 'unsafe-inline'; img-src 'self' data: https://cdn.example.net; object-src 'none'; " +
		"base-uri 'self'; frame-ancestors 'self'; form-action 'self'; style-src 'self' 'unsafe-inline'"
	if lastLine != want {
		t.Errorf("suggested policy:\n got %s\nwant %s", lastLine, want)
	}
	for _, re := range []string{
		`(?m)^# script-src\n#   \+ 'unsafe-inline' +\d+ report\(s\) as script-src-attr, script-src-elem, e\.g\. on http://127\.0\.0\.1:\d+/csp/\n#     RISK: inline scripts`,
		`(?m)^# style-src\n#   \+ 'unsafe-inline' +\d{3} report\(s\) as style-src-attr.*\n#     RISK: inline styles`,
		`(?m)^#   \+ https://cdn\.example\.net +1 report\(s\) as img-src`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s", re)
		}
	}

	// The public port: only with the token.
	if out, errOut, code := suggest(nil, "--url", d.base+harden.ViolationsPath); code != 1 || !strings.Contains(errOut, "401: set PARAPET_METRICS_TOKEN") {
		t.Errorf("public port without the token: exit %d\n%s%s", code, out, errOut)
	}
	pub, errOut, code := suggest([]string{"PARAPET_METRICS_TOKEN=" + cspToken}, "--url", d.base+harden.ViolationsPath)
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(pub), want) {
		t.Errorf("public port with the token: exit %d\n%s%s", code, pub, errOut)
	}
	if l := d.waitLog(t, `"path":"/_parapet/csp-violations"`, `"rule":"metrics-token"`); !strings.Contains(l, `"status":401`) {
		t.Errorf("refused read logged as %s", l)
	}
}

// Django's admin, logged in, on the page with the most scripts (an add
// form: jQuery, the date widget's calendar, the JavaScript catalog)
// breaks nothing in the starter policy: a real Chromium sends no report. The same browser does report a page that breaks it, within
// the time waited here.
func TestStarterCSPFitsDjangoAdmin(t *testing.T) {
	chromium := requireChromium(t)
	d := startDjangoWithConfig(t, "", append(djangoAdminDB(t), banFileEnv(t))...)
	session := adminSession(t, d.base)

	// The control: a page that breaks the policy is reported promptly.
	front := visitorProxy(t, d.base, "203.0.113.60", "")
	openInChromium(t, chromium, front+"/csp/?id=control")
	waitUntil(t, 60*time.Second, "the control page to load", func() bool { return len(d.out.Lines(`csp-page-done=control`)) > 0 })
	loaded := time.Now()
	waitUntil(t, 10*time.Second, "the control page's reports", func() bool {
		return len(d.out.Lines(`"path":"/_parapet/csp-report"`, `"client_ip":"203.0.113.60"`)) > 0
	})
	lag := time.Since(loaded)
	t.Logf("the control page's first report came %v after the page's last script ran", lag.Round(time.Millisecond))

	admin := visitorProxy(t, d.base, "203.0.113.61", session)
	openInChromium(t, chromium, admin+"/admin/testapp/article/add/")
	for _, asset := range []string{"/admin/testapp/article/add/", "/admin/jsi18n/", "/static/admin/js/admin/DateTimeShortcuts.js", "/static/admin/js/prepopulate_init.js", "/static/admin/css/forms.css"} {
		waitUntil(t, 60*time.Second, "Chromium to load "+asset, func() bool {
			return len(d.out.Lines(`"path":"`+asset+`"`, `"status":200`, `"client_ip":"203.0.113.61"`)) > 0
		})
	}
	page := d.out.Lines(`"path":"/admin/testapp/article/add/"`, `"client_ip":"203.0.113.61"`)[0]
	if !strings.Contains(page, `"status":200`) {
		t.Fatalf("the admin page: %s", page)
	}
	time.Sleep(max(3*time.Second, 5*lag))
	if reports := d.out.Lines(`"path":"/_parapet/csp-report"`, `"client_ip":"203.0.113.61"`); len(reports) > 0 {
		t.Errorf("Django's admin broke the starter policy %d times:\n%s", len(reports), strings.Join(reports, "\n"))
	}
}

// adminSession logs the test app's staff user in and returns its session
// cookie ("sessionid=...").
func adminSession(t *testing.T, base string) string {
	t.Helper()
	client, _ := csrfClient(t, base)
	resp, err := client.Get(base + "/admin/login/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the admin login page: %d", resp.StatusCode)
	}
	resp, err = client.PostForm(base+"/admin/login/?next=/admin/", url.Values{"csrfmiddlewaretoken": {string(m[1])}, "username": {"admin"}, "password": {adminPassword}, "next": {"/admin/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "sessionid" {
			return "sessionid=" + ck.Value
		}
	}
	t.Fatalf("admin login: %d, no session cookie", resp.StatusCode)
	return ""
}
