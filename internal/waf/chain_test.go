package waf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/proxy"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// upstream is a real HTTP server on loopback that records what reached it.
type upstream struct {
	*httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
	lastReq *http.Request
	body    []byte
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.lastReq, u.body = r, b
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "ok %s", r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() (*http.Request, []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastReq, u.body
}

// logBuffer collects the JSON log lines.
type logBuffer struct{ testenv.Buffer }

// lines waits until at least n lines are logged (the line is written
// after the response, so a client can get there first) and returns all.
func (l *logBuffer) linesN(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		out := l.lines(t)
		if len(out) >= n || time.Now().After(deadline) {
			if len(out) < n {
				t.Fatalf("want %d log lines, have %d:\n%s", n, len(out), l.String())
			}
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *logBuffer) lines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, line := range l.Lines() {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

type parapet struct {
	*httptest.Server
	handler *Handler
	proxy   *proxy.Proxy
	logs    *logBuffer
}

// startParapet runs the real handler and proxy in front of up with the
// YAML config body (upstream filled in).
func startParapet(t *testing.T, upstreamURL, yaml string, env ...string) *parapet {
	t.Helper()
	p := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(p, []byte("upstream: "+upstreamURL+"\n"+yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, env)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := Build(cfg, testDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	up, err := config.ParseUpstream(cfg.Upstream)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	var h *Handler
	px := proxy.New(up, proxy.Options{
		ConnectTimeout:        cfg.Timeouts.UpstreamConnect,
		ResponseHeaderTimeout: cfg.Timeouts.UpstreamResponseHeader,
		RequestIDHeader:       cfg.RequestIDHeader,
		ClientKey:             ProxyClientKey,
		OnError:               func(w http.ResponseWriter, r *http.Request, s int, err error) { h.ProxyError(w, r, s, err) },
		ModifyResponse:        func(resp *http.Response) error { return h.ModifyResponse(resp) },
	})
	h = NewHandler(chain, px, events.LineSink{W: logs}, logger)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &parapet{Server: srv, handler: h, proxy: px, logs: logs}
}

// testDeps gives a chain feeds (cached in a temp dir) and geo databases.
// The directory is made first so that its removal runs last: the store
// writes its ban file until Close returns.
func testDeps(tb testing.TB) *Deps { return testDepsLogging(tb, nil) }

// testDepsLogging is testDeps with a logger.
func testDepsLogging(tb testing.TB, log *slog.Logger) *Deps {
	dir := tb.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	deps := NewDepsClient(ctx, dir, testenv.LoopbackClient(), log)
	tb.Cleanup(func() {
		cancel()
		_ = deps.Close()
	})
	return deps
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t *testing.T, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

func TestAllowedRequestReachesUpstreamWithCleanForwardingHeaders(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "")
	resp, body := get(t, p.URL+"/hello?x=1", "X-Forwarded-For", "6.6.6.6", "X-Forwarded-Proto", "https", "X-Request-Id", "spoofed-id", "Forwarded", "for=6.6.6.6")
	if resp.StatusCode != 200 || body != "ok /hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	r, _ := up.last()
	// The peer (loopback) is not a trusted proxy: everything the client claimed is replaced.
	if got := r.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Errorf("upstream X-Forwarded-For = %q, want 127.0.0.1 (spoofed value must not pass)", got)
	}
	if got := r.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("upstream X-Forwarded-Proto = %q, want http", got)
	}
	if r.Header.Get("Forwarded") != "" {
		t.Error("Forwarded header passed through")
	}
	id := r.Header.Get("X-Request-Id")
	if id == "" || id == "spoofed-id" || resp.Header.Get("X-Request-Id") != id {
		t.Errorf("request id upstream %q, response %q", id, resp.Header.Get("X-Request-Id"))
	}
	if r.Host != strings.TrimPrefix(p.URL, "http://") {
		t.Errorf("upstream Host = %q, want the client's Host", r.Host)
	}
}

func TestTrustedProxyChainGivesClientIPSchemeAndID(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "trusted_proxies: [loopback]\n")
	_, _ = get(t, p.URL+"/", "X-Forwarded-For", "6.6.6.6, 203.0.113.9", "X-Forwarded-Proto", "https", "X-Request-Id", "abc-123")
	r, _ := up.last()
	if got := r.Header.Get("X-Forwarded-For"); got != "203.0.113.9" {
		t.Errorf("X-Forwarded-For = %q, want the hop just outside the trust boundary", got)
	}
	if r.Header.Get("X-Forwarded-Proto") != "https" || r.Header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("proto %q id %q", r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Request-Id"))
	}
	logs := p.logs.linesN(t, 1)
	if logs[len(logs)-1]["client_ip"] != "203.0.113.9" {
		t.Errorf("log client_ip = %v", logs[len(logs)-1]["client_ip"])
	}
}

func TestPathRuleBlocksWithPageAndNeverReachesUpstream(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "")
	resp, body := get(t, p.URL+"/.env")
	if resp.StatusCode != 403 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	if !strings.Contains(body, "path-dotfiles") || !strings.Contains(body, id) || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("block page lacks reason or id:\n%s", body)
	}
	resp, body = get(t, p.URL+"/.git/config", "Accept", "application/json")
	var j map[string]any
	if err := json.Unmarshal([]byte(body), &j); err != nil || j["reason"] != "path-dotfiles" || j["request_id"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("JSON block: %v %q", err, body)
	}
	if up.hits.Load() != 0 {
		t.Fatalf("upstream saw %d blocked requests", up.hits.Load())
	}
	lines := p.logs.linesN(t, 2)
	last := lines[len(lines)-1]
	if last["decision"] != "block" || last["rule"] != "path-dotfiles" || last["status"] != float64(403) || last["level"] != "WARN" {
		t.Errorf("log line %v", last)
	}
}

func TestMonitorModeLetsThroughAndRecords(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "rules:\n  - id: watch-admin\n    paths: [/admin/]\n    mode: monitor\n  - id: note-api\n    paths: [/api/]\n    action: log\n")
	resp, _ := get(t, p.URL+"/admin/login/")
	if resp.StatusCode != 200 || up.hits.Load() != 1 {
		t.Fatalf("monitor rule blocked: %d", resp.StatusCode)
	}
	_, _ = get(t, p.URL+"/api/x")
	lines := p.logs.linesN(t, 2)
	if m := fmt.Sprint(lines[0]["monitored"]); m != "[watch-admin:block:monitor]" {
		t.Errorf("monitored = %s", m)
	}
	if m := fmt.Sprint(lines[1]["monitored"]); m != "[note-api:log]" {
		t.Errorf("logged = %s", m)
	}
	if lines[0]["decision"] != "allow" {
		t.Errorf("decision %v", lines[0]["decision"])
	}
}

func TestEdgeGuards(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, `
edge:
  allowed_hosts: [example.com, .example.org]
  allowed_methods: [GET, POST]
  https_redirect: true
  https_redirect_exempt: [/healthz]
trusted_proxies: [loopback]
limits:
  max_uri_bytes: 100
  max_body_bytes: 1KB
detection:
  enabled: false # bodies here have no Content-Type: CRS 920640 would block them first
`)
	cases := []struct {
		name    string
		method  string
		path    string
		host    string
		proto   string
		body    io.Reader
		status  int
		header  string
		wantHdr string
	}{
		{"allowed host over https", "GET", "/", "example.com", "https", nil, 200, "", ""},
		{"subdomain of dotted entry", "GET", "/", "www.example.org:443", "https", nil, 200, "", ""},
		{"the dotted domain itself", "GET", "/", "example.org", "https", nil, 200, "", ""},
		{"unknown host", "GET", "/", "evil.com", "https", nil, 400, "", ""},
		{"suffix trick", "GET", "/", "notexample.com", "https", nil, 400, "", ""},
		{"method not allowed", "DELETE", "/", "example.com", "https", nil, 405, "Allow", "GET, POST"},
		{"plain http redirected", "GET", "/a?b=1", "example.com", "http", nil, 301, "Location", "https://example.com/a?b=1"},
		{"exempt path not redirected", "GET", "/healthz", "example.com", "http", nil, 200, "", ""},
		{"dot segments out of an exempt path redirected", "GET", "/healthz/../admin/", "example.com", "http", nil, 301, "Location", "https://example.com/healthz/../admin/"},
		{"uri too long", "GET", "/" + strings.Repeat("a", 200), "example.com", "https", nil, 414, "", ""},
		{"declared body too large", "POST", "/", "example.com", "https", strings.NewReader(strings.Repeat("x", 2000)), 413, "", ""},
		{"chunked body too large", "POST", "/", "example.com", "https", io.MultiReader(strings.NewReader(strings.Repeat("x", 3000))), 413, "", ""},
		{"chunked body within limit", "POST", "/", "example.com", "https", io.MultiReader(strings.NewReader("small")), 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, p.URL+tc.path, tc.body)
			req.Host = tc.host
			req.Header.Set("X-Forwarded-Proto", tc.proto)
			resp, body := do(t, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.header != "" && resp.Header.Get(tc.header) != tc.wantHdr {
				t.Errorf("%s = %q, want %q", tc.header, resp.Header.Get(tc.header), tc.wantHdr)
			}
		})
	}
}

func TestChunkedRequestBodyStreamsIntact(t *testing.T) {
	up := newUpstream(t, nil)
	// Detection off: a 700 KB body without a Content-Type is over its
	// inspection limit and a CRS protocol violation (920640).
	p := startParapet(t, up.URL, "detection:\n  enabled: false\n")
	payload := bytes.Repeat([]byte("parapet-chunk-"), 50000) // 700 KB
	req, _ := http.NewRequest("POST", p.URL+"/upload", io.MultiReader(bytes.NewReader(payload)))
	req.ContentLength = -1 // force Transfer-Encoding: chunked
	resp, _ := do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r, body := up.last()
	if !bytes.Equal(body, payload) {
		t.Fatalf("upstream got %d bytes, want %d identical", len(body), len(payload))
	}
	// Received whole (spooled past 64 KB) and sent with its length, as
	// nginx does: Django reads no body without a Content-Length.
	if len(r.TransferEncoding) != 0 || r.ContentLength != int64(len(payload)) {
		t.Errorf("transfer encoding %v, content length %d", r.TransferEncoding, r.ContentLength)
	}
}

func TestUpstreamFailuresGiveCleanPages(t *testing.T) {
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Second)
	})
	p := startParapet(t, slow.URL, "timeouts:\n  upstream_response_header: 200ms\n")
	start := time.Now()
	resp, body := get(t, p.URL+"/")
	if resp.StatusCode != 504 || !strings.Contains(body, "upstream-timeout") || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("slow upstream: %d after %v: %s", resp.StatusCode, time.Since(start), body)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	p = startParapet(t, dead, "")
	resp, body = get(t, p.URL+"/")
	if resp.StatusCode != 502 || !strings.Contains(body, "upstream-error") {
		t.Fatalf("dead upstream: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "connection refused") || strings.Contains(body, ln.Addr().String()) {
		t.Errorf("error page leaks internals: %s", body)
	}
	lines := p.logs.linesN(t, 1)
	if lines[len(lines)-1]["error"] == nil {
		t.Error("log line lacks the upstream error")
	}
}

func TestNotReadyUpstreamGets503WithRetryAfter(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "")
	p.proxy.SetReady(false)
	resp, _ := get(t, p.URL+"/")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Blocks still apply while the app boots.
	resp, _ = get(t, p.URL+"/.env")
	if resp.StatusCode != 403 {
		t.Fatalf("block while not ready: %d", resp.StatusCode)
	}
	p.proxy.SetReady(true)
	if resp, _ = get(t, p.URL+"/"); resp.StatusCode != 200 {
		t.Fatalf("after ready: %d", resp.StatusCode)
	}
}

func TestLogLineRedactsSecrets(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "SETCOOKIESECRET"})
	})
	p := startParapet(t, up.URL, "log:\n  redact_query: [email]\n")
	_, _ = get(t, p.URL+"/search?q=shoes&password=hunter2&email=a@b.c&api_key=K1&page=2",
		"Authorization", "Bearer AUTHSECRET", "Cookie", "sessionid=COOKIESECRET")
	line := p.logs.linesN(t, 1)[0]
	out := p.logs.String()
	for _, secret := range []string{"hunter2", "a@b.c", "K1", "AUTHSECRET", "COOKIESECRET", "SETCOOKIESECRET"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	if line["path"] != "/search?q=shoes&password=REDACTED&email=REDACTED&api_key=REDACTED&page=2" {
		t.Errorf("path = %v", line["path"])
	}
	for _, k := range []string{"time", "request_id", "client_ip", "method", "host", "path", "status", "bytes", "duration_ms", "decision"} {
		if _, ok := line[k]; !ok {
			t.Errorf("log line lacks %q: %v", k, line)
		}
	}
}

func TestSwapChangesRulesAtomically(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "")
	if resp, _ := get(t, p.URL+"/private/x"); resp.StatusCode != 200 {
		t.Fatal("unexpected block")
	}
	p.handler.Swap(mustBuild(t, testDeps(t), "upstream: "+up.URL+"\nrules:\n  - id: private\n    paths: [/private/]\n    status: 404\n"))
	if resp, body := get(t, p.URL+"/private/x"); resp.StatusCode != 404 || !strings.Contains(body, "private") {
		t.Fatalf("after swap: %d", resp.StatusCode)
	}
}

// buildFromYAML loads a config body and builds a chain from it.
func buildFromYAML(t *testing.T, yaml string) (*Chain, error) {
	t.Helper()
	return buildWithDeps(t, testDeps(t), yaml)
}

// buildWithDeps loads a config body (written to p.yaml in a temp dir) and
// builds a chain from it on deps; chains built on the same deps share the
// store, feeds and challenge secret, as a reload does.
func buildWithDeps(t *testing.T, deps *Deps, yaml string) (*Chain, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.yaml")
	_ = os.WriteFile(path, []byte(yaml), 0o600)
	cfg, err := config.Load(path, nil)
	if err != nil {
		return nil, err
	}
	return Build(cfg, deps)
}

// mustBuild is buildWithDeps failing the test on a refused config.
func mustBuild(t *testing.T, deps *Deps, yaml string) *Chain {
	t.Helper()
	c, err := buildWithDeps(t, deps, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBuildReportsBadTrustedProxyAtItsLine(t *testing.T) {
	_, err := buildFromYAML(t, "upstream: http://127.0.0.1:1\ntrusted_proxies:\n  - heroku\n  - 10.0.0/8\n")
	if err == nil || !strings.Contains(err.Error(), "p.yaml:4: trusted_proxies[1]") {
		t.Fatalf("got %v", err)
	}
}

// WebSockets (HTTP Upgrade) pass through both ways.
func TestWebSocketUpgradePassesThrough(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString("echo:" + line)
		_ = brw.Flush()
	})
	p := startParapet(t, up.URL, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	fmt.Fprintf(conn, "hello\n")
	got, _ := br.ReadString('\n')
	if got != "echo:hello\n" {
		t.Fatalf("got %q", got)
	}
}
