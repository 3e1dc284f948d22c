package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// scrape GETs a metrics URL (with a bearer token when given) and returns
// the status and body.
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// metricLine returns the value text of the sample whose line starts with
// prefix ("" if there is none).
func metricLine(body, prefix string) string {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix+" ") {
			return strings.TrimPrefix(l, prefix+" ")
		}
	}
	return ""
}

// Metrics on a private listener count decisions by rule, feed state and
// reloads; on the public listener they answer only with the token, and
// without a token the path is an ordinary request to the app.
func TestMetricsCountDecisionsFeedsAndReloads(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	dir := t.TempDir()
	listFile := filepath.Join(dir, "bad.txt")
	os.WriteFile(listFile, []byte("198.51.100.0/24\nnot-an-ip\n"), 0o600)
	addr, maddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfgPath := filepath.Join(dir, "parapet.yaml")
	cfg := fmt.Sprintf("upstream: %s\nlisten: %s\nreload:\n  watch: false\nmetrics:\n  listen: %s\n  token: %s\nfeeds:\n  - name: local\n    file: %s\nrate_limits:\n  rules:\n    - id: tight\n      limit: 1/minute burst 1\n      paths: [/tight/]\nrules:\n  - id: local-list\n    feeds: [local]\n", up.URL, addr, maddr, "a-long-metrics-token-1234", listFile)
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/", 200)

	for range 3 {
		resp, err := http.Get("http://" + addr + "/.env")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for range 2 {
		resp, err := http.Get("http://" + addr + "/tight/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	private := "http://" + maddr + "/_parapet/metrics"
	deadline := time.Now().Add(5 * time.Second)
	var body string
	for {
		_, body = scrape(t, private, "")
		if metricLine(body, `parapet_requests_total{decision="block",rule="path-dotfiles"}`) == "3" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := metricLine(body, `parapet_requests_total{decision="block",rule="path-dotfiles"}`); got != "3" {
		t.Fatalf("blocked .env requests counted %q, want 3:\n%s", got, body)
	}
	if got := metricLine(body, `parapet_responses_total{class="4xx"}`); got != "4" {
		t.Errorf("4xx responses %q, want 4 (3 blocks, 1 throttle)", got)
	}
	if got := metricLine(body, `parapet_requests_total{decision="throttle",rule="tight"}`); got != "1" {
		t.Errorf("throttled requests %q, want 1", got)
	}
	if got := metricLine(body, "parapet_rate_limit_hits_total"); got != "1" {
		t.Errorf("rate-limit hits %q, want 1", got)
	}
	// Every allowed request went through attack detection; the blocked
	// and throttled ones were decided before it.
	if allowed, inspected := metricLine(body, `parapet_requests_total{decision="allow",rule=""}`), metricLine(body, "parapet_detection_duration_seconds_count"); inspected == "" || inspected != allowed {
		t.Errorf("detection timed %q requests, want the %q allowed", inspected, allowed)
	}
	if got := metricLine(body, "parapet_under_attack"); got != "0" {
		t.Errorf("under attack %q, want 0", got)
	}
	if got := metricLine(body, `parapet_feed_entries{feed="local"}`); got != "1" {
		t.Errorf("feed entries %q, want 1", got)
	}
	if got := metricLine(body, `parapet_feed_skipped_lines{feed="local"}`); got != "1" {
		t.Errorf("feed skipped lines %q, want 1", got)
	}
	if !strings.Contains(body, `parapet_build_info{version=`) || !strings.Contains(body, "process_resident_memory_bytes") {
		t.Error("build info or process metrics missing")
	}
	if strings.Contains(body, "a-long-metrics-token-1234") {
		t.Fatal("the token is in the metrics")
	}

	public := "http://" + addr + "/_parapet/metrics"
	if status, _ := scrape(t, public, ""); status != http.StatusUnauthorized {
		t.Fatalf("public metrics without the token: %d, want 401", status)
	}
	if status, _ := scrape(t, public, "wrong-token-wrong-token"); status != http.StatusUnauthorized {
		t.Fatalf("public metrics with a wrong token: %d, want 401", status)
	}
	status, pub := scrape(t, public, "a-long-metrics-token-1234")
	if status != 200 || metricLine(pub, `parapet_requests_total{decision="block",rule="path-dotfiles"}`) != "3" {
		t.Fatalf("public metrics with the token: %d\n%s", status, pub)
	}

	os.WriteFile(cfgPath, []byte(cfg+"  - id: broken\n    path_regex: ['(']\n"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, "config reload refused")
	_, body = scrape(t, private, "")
	if got := metricLine(body, `parapet_config_reloads_total{result="refused"}`); got != "1" {
		t.Fatalf("refused reloads %q, want 1", got)
	}
}

// Without a token, the metrics path on the public listener is not served
// by Parapet: it goes to the app like any other path.
func TestMetricsPathIsTheAppsWithoutToken(t *testing.T) {
	p := startEdge(t)
	status, body := scrape(t, "http://"+p.addr+"/_parapet/metrics", "")
	if status != 200 || body != "app" {
		t.Fatalf("got %d %q, want the app's answer", status, body)
	}
}

// The garbage collector follows runtime.gc_percent and
// runtime.memory_limit (Parapet's defaults when unset: 400 with detection,
// Go's 100 without; memory_limit 80MB), a reload applies
// new values, and the standard GOGC variable wins over the config.
func TestRuntimeSettingsReachTheGarbageCollector(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	dir := t.TempDir()
	gc := func(maddr string) (percent, limit string) {
		_, body := scrape(t, "http://"+maddr+"/_parapet/metrics", "")
		return metricLine(body, "go_gc_gogc_percent"), metricLine(body, "go_gc_gomemlimit_bytes")
	}
	for _, c := range []struct {
		name, runtime  string
		env            []string
		percent, limit string
	}{
		{"defaults", "", nil, "400", "8.388608e+07"},
		{"defaults without detection", "detection:\n  enabled: false\n", nil, "100", "8.388608e+07"},
		{"config", "runtime:\n  gc_percent: 250\n  memory_limit: 100MB\n", nil, "250", "1.048576e+08"},
		{"GOGC wins", "runtime:\n  gc_percent: 250\n", []string{"GOGC=150"}, "150", "8.388608e+07"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, maddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
			cfgPath := filepath.Join(dir, c.name+".yaml")
			cfg := fmt.Sprintf("upstream: %s\nlisten: %s\nreload:\n  watch: false\nmetrics:\n  listen: %s\n%s", up.URL, addr, maddr, c.runtime)
			os.WriteFile(cfgPath, []byte(cfg), 0o600)
			p := startParapet(t, addr, c.env, "run", "--config", cfgPath)
			waitStatus(t, p, "/", 200)
			if percent, limit := gc(maddr); percent != c.percent || limit != c.limit {
				t.Fatalf("GOGC %s, memory limit %s; want %s and %s", percent, limit, c.percent, c.limit)
			}
			if c.env != nil {
				return
			}
			os.WriteFile(cfgPath, []byte(strings.Replace(cfg, c.runtime, "runtime:\n  gc_percent: 300\n  memory_limit: 0\n", 1)), 0o600)
			p.cmd.Process.Signal(syscall.SIGHUP)
			p.waitLog(t, "config reloaded")
			if percent, limit := gc(maddr); percent != "300" || limit != "9.223372036854776e+18" {
				t.Fatalf("after reload: GOGC %s, memory limit %s; want 300 and none", percent, limit)
			}
		})
	}
}

// Guessing the public metrics token leaves a trace: each failed attempt is
// a logged event (rule metrics-token, never the token), counted in
// parapet_requests_total, and counted towards auto-bans like any block; a
// banned client is refused before its token is looked at, even the right
// one.
func TestPublicMetricsTokenGuessesLoggedCountedAndBanned(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	const token = "the-real-metrics-token-0123"
	addr := testenv.FreeAddr(t)
	cfgPath := filepath.Join(t.TempDir(), "parapet.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("upstream: %s\nlisten: %s\ntrusted_proxies: [loopback]\nmetrics:\n  token: %s\nauto_ban:\n  block_threshold: 10\n", up.URL, addr, token)), 0o600)
	p := startParapet(t, addr, []string{banFileEnv(t)}, "run", "--config", cfgPath)
	waitStatus(t, p, "/", 200)
	scrapeAs := func(ip, auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/_parapet/metrics", nil)
		req.Header.Set("X-Forwarded-For", ip)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	const guesser, scraper = "198.51.100.40", "198.51.100.41"
	for i := 0; i < 9; i++ {
		if s, _ := scrapeAs(guesser, fmt.Sprintf("Bearer guess-%d-guess-guess", i)); s != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i, s)
		}
	}
	line := p.waitLog(t, `"client_ip":"`+guesser+`"`, `"rule":"metrics-token"`, `"decision":"block"`, `"status":401`)
	if strings.Contains(p.out.String(), "guess-0-guess") || strings.Contains(p.out.String(), token) {
		t.Fatalf("a token is in the log: %s", line)
	}
	status, body := scrapeAs(scraper, "Bearer "+token)
	if status != 200 || metricLine(body, `parapet_requests_total{decision="block",rule="metrics-token"}`) != "9" {
		t.Fatalf("scrape with the token: %d, failed attempts counted %q, want 9", status, metricLine(body, `parapet_requests_total{decision="block",rule="metrics-token"}`))
	}
	// The 10th failure reaches auto_ban.block_threshold: banned, so even
	// the right token is refused now, before it is checked.
	scrapeAs(guesser, "Bearer one-more-guess-guess")
	p.waitLog(t, "client banned", guesser)
	if s, body := scrapeAs(guesser, "Bearer "+token); s != 403 || !strings.Contains(body, "banned") {
		t.Fatalf("banned client with the right token: %d, want 403 banned", s)
	}
	if s, _ := scrapeAs(scraper, "Bearer "+token); s != 200 {
		t.Fatalf("another client with the token: %d", s)
	}
}
