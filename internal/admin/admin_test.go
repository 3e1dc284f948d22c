package admin_test

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

	"github.com/parapet-waf/parapet/internal/admin"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/testenv"
)

const (
	rootToken  = "root-token-0123456789"
	aliceToken = "alice-token-0123456789"
	scrape     = "metrics-token-0123456789"
)

// server is one Parapet running in the test's process (runtime.Serve,
// the admin API wired as cmd/parapet wires it) in front of a small app.
type server struct {
	base string
	file string
	out  *testenv.Buffer
	stop func()
}

// app answers every request with 200 "app".
func app(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// writeConfig writes a config for a test server: extra is appended YAML.
func writeConfig(t *testing.T, dir, upstream, extra string) string {
	t.Helper()
	file := filepath.Join(dir, "parapet.yaml")
	body := "upstream: " + upstream + `
listen: ` + testenv.FreeAddr(t) + `
trusted_proxies: [loopback]
feed_cache_dir: ` + filepath.Join(dir, "feeds") + `
detection: {enabled: false}
reload: {watch: false}
metrics: {token: ` + scrape + `}
rules:
  - id: office
    action: allow
    ips: [203.0.113.0/24]
  - id: block-scanner
    paths: [/scanner/]
` + extra
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// adminHost is the dashboard's own host name in the test configs
// (admin.host): dashboard sessions are only made and honoured there.
const adminHost = "parapet.test"

const tokens = `admin:
  token: ` + rootToken + `
  host: ` + adminHost + `
  fail_limit: 3/minute
  tokens:
    - {name: alice, token: ` + aliceToken + `}
`

// start runs Parapet with the config file until the test ends (or stop).
func start(t *testing.T, file string) *server {
	t.Helper()
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	done := make(chan int)
	go func() {
		done <- runtime.Serve(ctx, cfg, runtime.Options{Version: "test", Stdout: out, Stderr: out, Environ: func() []string { return nil },
			FeedClient: testenv.LoopbackClient(), Setup: admin.Setup(admin.Options{})})
	}()
	s := &server{base: "http://" + cfg.Listen, file: file, out: out}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("parapet did not stop")
		}
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("parapet output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("parapet exited with %d:\n%s", code, out.String())
		default:
		}
		resp, err := http.Get(s.base + "/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("parapet never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends a request to the API; token "" sends none. It returns the
// status and the decoded JSON body (nil if none).
func (s *server) call(t *testing.T, method, path, token, body string, header ...string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			m = map[string]any{"raw": string(raw)}
		}
	}
	return resp.StatusCode, m, resp.Header
}

// get sends a plain request from client (X-Forwarded-For through the
// trusted loopback proxy) and returns the status.
func (s *server) get(t *testing.T, client, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("X-Forwarded-For", client)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metric returns the scraped value line of name (its first series).
func (s *server) metric(t *testing.T, name string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+"/_parapet/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+scrape)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			return l
		}
	}
	return ""
}

func errorFields(m map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := m["errors"].([]any)
	for _, e := range list {
		p, _ := e.(map[string]any)
		f, _ := p["field"].(string)
		r, _ := p["reason"].(string)
		out[f] = r
	}
	return out
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLines reports whether a line with all the words is written within
// 5 s (log lines are flushed every 100 ms).
func (s *server) waitLines(t *testing.T, words ...string) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.out.Lines(words...)) == 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
