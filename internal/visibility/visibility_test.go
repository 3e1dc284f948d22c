package visibility_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/testenv"
	"github.com/parapet-waf/parapet/internal/visibility"
)

const token = "vis-root-token-0123456789"

// server is one Parapet in the test's process, wired as cmd/parapet wires
// it (runtime.Serve with visibility.Setup), in front of a small app.
type server struct {
	base string
	out  *testenv.Buffer
}

// start writes a config (extra appended) and serves it until the test ends.
func start(t *testing.T, extra string) *server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "parapet.yaml")
	body := "upstream: " + app.URL + `
listen: ` + testenv.FreeAddr(t) + `
trusted_proxies: [loopback]
feed_cache_dir: ` + filepath.Join(dir, "feeds") + `
detection: {enabled: false}
reload: {watch: false}
rules:
  - id: block-scanner
    paths: [/scanner/]
` + extra
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- runtime.Serve(ctx, cfg, runtime.Options{Version: "test", Stdout: out, Stderr: out,
			Environ: func() []string { return nil }, FeedClient: testenv.LoopbackClient(), Setup: visibility.Setup()})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("parapet did not stop")
		}
		if t.Failed() {
			t.Logf("parapet output:\n%s", out.String())
		}
	})
	s := &server{base: "http://" + cfg.Listen, out: out}
	waitFor(t, "parapet answers", func() bool {
		select {
		case code := <-done:
			t.Fatalf("parapet exited with %d:\n%s", code, out.String())
		default:
		}
		resp, err := http.Get(s.base + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return s
}

// call sends method path to base with the bearer token (none if "") and
// extra headers, and returns the status, the headers and the body.
func call(t *testing.T, base, method, path, bearer, body string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func decode(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(bytes.TrimSpace(raw), v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, raw)
	}
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// One instance has one id everywhere: the admin API's status (the
// instance it names and the heartbeat in Redis it reads "instances seen"
// from), the instance field of its events, and its entries on the Redis
// event stream.
func TestVisOneInstanceIDEverywhere(t *testing.T) {
	rd := testenv.StartRedis(t)
	s := start(t, "admin: {token: "+token+"}\nstore: {type: redis, url: '"+rd.URL()+"', key_prefix: 'vis:'}\n")

	req, _ := http.NewRequest("GET", s.base+"/scanner/x", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("the block rule answered %d", resp.StatusCode)
	}

	// Status lists this instance, from its own id and from the heartbeat
	// it wrote to Redis (once a second): one entry when both agree.
	var st struct {
		Instances []struct{ ID string } `json:"instances"`
	}
	c := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer c.Close()
	var beats []string
	waitFor(t, "the heartbeat is in Redis", func() bool {
		beats, _ = c.ZRange(context.Background(), "vis:instances", 0, -1).Result()
		return len(beats) > 0
	})
	code, _, raw := call(t, s.base, "GET", "/_parapet/api/status", token, "")
	if code != 200 {
		t.Fatalf("status: %d %s", code, raw)
	}
	decode(t, raw, &st)
	if len(st.Instances) != 1 || st.Instances[0].ID == "" || len(beats) != 1 || beats[0] != st.Instances[0].ID {
		t.Fatalf("one instance running: status names %+v, the heartbeats %q", st.Instances, beats)
	}
	id := st.Instances[0].ID

	var page struct {
		Events []struct {
			Instance string `json:"instance"`
			Rule     string `json:"rule"`
		} `json:"events"`
	}
	waitFor(t, "the block in the events", func() bool {
		_, _, raw := call(t, s.base, "GET", "/_parapet/api/events?rule=block-scanner", token, "")
		decode(t, raw, &page)
		return len(page.Events) > 0
	})
	if page.Events[0].Instance != id {
		t.Fatalf("the event's instance %q, status's %q", page.Events[0].Instance, id)
	}

	var stream []redis.XMessage
	waitFor(t, "the block on the stream", func() bool {
		stream, err = c.XRange(context.Background(), "vis:events", "-", "+").Result()
		return err == nil && len(stream) > 0
	})
	for _, m := range stream {
		if m.Values["i"] != id {
			t.Fatalf("stream entry by instance %v, status's %q", m.Values["i"], id)
		}
	}
}

// With admin.listen the dashboard is served there, beside the API it
// calls on its own origin: the page and its assets load, a login with the
// token gives the session cookie, and a change made with the cookie and
// its CSRF value (a ban) is enforced on the public port. The public port
// serves neither (the paths are the app's), and with a wrong token the
// login is refused.
func TestVisDashboardOnAdminListen(t *testing.T) {
	private := testenv.FreeAddr(t)
	s := start(t, "admin: {token: "+token+", listen: '"+private+"'}\n")
	priv := "http://" + private
	waitFor(t, "the admin listener", func() bool {
		resp, err := http.Get(priv + "/_parapet/ui/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})

	code, h, page := call(t, priv, "GET", "/_parapet/ui/", "", "")
	if code != 200 || !strings.Contains(string(page), `<script src="app.js"`) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("dashboard on admin.listen: %d %q (CSP %q)", code, page, h.Get("Content-Security-Policy"))
	}
	for _, asset := range []string{"app.js", "app.css", "favicon.svg"} {
		if code, _, _ := call(t, priv, "GET", "/_parapet/ui/"+asset, "", ""); code != 200 {
			t.Errorf("%s on admin.listen: %d", asset, code)
		}
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(priv + "/_parapet/ui")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/_parapet/ui/" {
		t.Errorf("/_parapet/ui on admin.listen: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _, body := call(t, s.base, "GET", "/_parapet/ui/", "", ""); code != 200 || string(body) != "app" {
		t.Errorf("public port /_parapet/ui/ with admin.listen: %d %q, want the app's answer", code, body)
	}

	if code, _, _ := call(t, priv, "POST", "/_parapet/api/session", "", `{"token":"not-the-token-0000000"}`); code != 401 {
		t.Fatalf("login with a wrong token: %d", code)
	}
	code, h, raw := call(t, priv, "POST", "/_parapet/api/session", "", `{"token":"`+token+`"}`)
	if code != 200 {
		t.Fatalf("login on admin.listen: %d %s", code, raw)
	}
	var sess struct{ CSRF, Actor string }
	decode(t, raw, &sess)
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "parapet_admin" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || sess.CSRF == "" {
		t.Fatalf("session cookie %+v, body %s", cookie, raw)
	}
	jar := "parapet_admin=" + cookie.Value
	if code, _, raw := call(t, priv, "GET", "/_parapet/api/session", "", "", "Cookie", jar); code != 200 || !strings.Contains(string(raw), `"actor":"admin"`) {
		t.Fatalf("session read with the cookie: %d %s", code, raw)
	}
	if code, _, raw := call(t, priv, "POST", "/_parapet/api/bans", "", `{"ip":"198.51.100.77"}`, "Cookie", jar); code != 403 {
		t.Fatalf("a change with the cookie but no CSRF value: %d %s", code, raw)
	}
	if code, _, raw := call(t, priv, "POST", "/_parapet/api/bans", "", `{"ip":"198.51.100.77"}`, "Cookie", jar, "X-CSRF-Token", sess.CSRF); code != 201 {
		t.Fatalf("a ban from the dashboard's session: %d %s", code, raw)
	}
	if code, _, _ := call(t, s.base, "GET", "/", "", "", "X-Forwarded-For", "198.51.100.77"); code != 403 {
		t.Fatalf("the ban made on admin.listen is not enforced on the public port: %d", code)
	}
}

// The events and stats endpoints as wired (behind the API's auth):
// refused without a token, bad parameters are 400 naming the field, and
// Accept: application/x-ndjson exports the events one per line.
func TestVisEventsAndStatsThroughTheAPI(t *testing.T) {
	s := start(t, "admin: {token: "+token+"}\n")
	for _, path := range []string{"/_parapet/api/events", "/_parapet/api/stats"} {
		if code, _, _ := call(t, s.base, "GET", path, "", ""); code != 401 {
			t.Errorf("%s without a token: %d", path, code)
		}
		if code, _, _ := call(t, s.base, "GET", path, "wrong-token-0000000000", ""); code != 401 {
			t.Errorf("%s with a wrong token: %d", path, code)
		}
	}
	for path, field := range map[string]string{
		"/_parapet/api/events?limit=0":        "limit",
		"/_parapet/api/events?ip=not-an-ip":   "ip",
		"/_parapet/api/events?since=tomorrow": "since",
		"/_parapet/api/stats?window=forever":  "window",
	} {
		code, _, raw := call(t, s.base, "GET", path, token, "")
		if code != 400 || !strings.Contains(string(raw), `"field":"`+field+`"`) {
			t.Errorf("%s: %d %s, want 400 naming %s", path, code, raw, field)
		}
	}
	for i := 0; i < 3; i++ {
		call(t, s.base, "GET", "/scanner/"+string(rune('a'+i)), "", "", "X-Forwarded-For", "198.51.100.20")
	}
	var lines []string
	waitFor(t, "three blocks exported", func() bool {
		code, h, raw := call(t, s.base, "GET", "/_parapet/api/events?ip=198.51.100.20", token, "", "Accept", "application/x-ndjson")
		if code != 200 || h.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("export: %d %q", code, h.Get("Content-Type"))
		}
		lines = strings.Split(strings.TrimSpace(string(raw)), "\n")
		return len(lines) == 3
	})
	for _, l := range lines {
		var r struct{ Rule, ClientIP string }
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Rule != "block-scanner" {
			t.Errorf("export line %q (%v)", l, err)
		}
	}
	code, _, raw := call(t, s.base, "GET", "/_parapet/api/stats?window=1h", token, "")
	if code != 200 || !strings.Contains(string(raw), `"block-scanner":3`) {
		t.Errorf("stats: %d %s", code, raw)
	}
}

// Review 5 (the dashboard's session on the app's origin): on the public
// port the dashboard lives on admin.host only. That host serves nothing
// of the app (404 for every path outside /_parapet/, which the app never
// sees); the app's hosts get no dashboard: with admin.host they are sent
// there, without it they are told how to turn it on, and a login is
// refused with the same advice; bearer tokens work on every host.
func TestVisDashboardOnlyOnTheAdminHost(t *testing.T) {
	s := start(t, "admin: {token: "+token+", host: parapet.example.com}\n")
	const host = "parapet.example.com"
	code, h, page := call(t, s.base, "GET", "/_parapet/ui/", "", "", "Host", host)
	if code != 200 || !strings.Contains(string(page), `<script src="app.js"`) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("dashboard on admin.host: %d %q", code, page)
	}
	for _, path := range []string{"/", "/accounts/login/", "/_parapet/nothing", "/static/app.js"} {
		if code, _, body := call(t, s.base, "GET", path, "", "", "Host", host+":443"); code != 404 || !strings.Contains(string(body), "admin.host") {
			t.Errorf("GET %s on admin.host: %d %q, want Parapet's 404", path, code, body)
		}
	}
	if code, _, body := call(t, s.base, "GET", "/_parapet/api/status", token, "", "Host", host); code != 200 {
		t.Errorf("the API on admin.host: %d %s", code, body)
	}
	// The app's host: sent to admin.host, on the same port.
	code, h, _ = call(t, s.base, "GET", "/_parapet/ui/#events", "", "")
	_, port, _ := strings.Cut(strings.TrimPrefix(s.base, "http://"), ":")
	if want := "http://" + host + ":" + port + "/_parapet/ui/"; code != http.StatusFound || h.Get("Location") != want {
		t.Errorf("dashboard on the app's host: %d to %q, want 302 to %s", code, h.Get("Location"), want)
	}
	if code, _, body := call(t, s.base, "GET", "/", "", ""); code != 200 || string(body) != "app" {
		t.Errorf("the app on its own host: %d %q", code, body)
	}
	if code, _, body := call(t, s.base, "GET", "/_parapet/api/status", token, ""); code != 200 {
		t.Errorf("bearer API on the app's host: %d %s", code, body)
	}
	// Log lines may wait up to the writer's 10 ms linger under load.
	for deadline := time.Now().Add(2 * time.Second); !strings.Contains(s.out.String(), `"rule":"admin-host"`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("the refusals on admin.host are not in the events")
			break
		}
	}

	// Without admin.host: no dashboard on the public port, and it says
	// how to get one.
	s2 := start(t, "admin: {token: "+token+"}\n")
	code, h, page = call(t, s2.base, "GET", "/_parapet/ui/", "", "")
	if code != 403 || !strings.Contains(string(page), "admin.host") || !strings.Contains(string(page), "admin.listen") || strings.Contains(string(page), "<script") ||
		!strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("dashboard on the app's origin without admin.host: %d %q (CSP %q)", code, page, h.Get("Content-Security-Policy"))
	}
	code, _, raw := call(t, s2.base, "POST", "/_parapet/api/session", "", `{"token":"`+token+`"}`)
	if code != 403 || !strings.Contains(string(raw), "PARAPET_ADMIN_HOST") {
		t.Errorf("login without admin.host: %d %s", code, raw)
	}
}
