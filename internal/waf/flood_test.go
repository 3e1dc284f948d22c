package waf

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
)

// A banned client is refused right after the access rules; an
// allow-listed client is never refused by a ban, even one made for it.
func TestBansStageAfterAllowList(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "trusted_proxies: [loopback]\nrules:\n  - id: office\n    action: allow\n    ips: [192.0.2.200]\n")
	bans := p.handler.Chain().flood.bans
	for _, ip := range []string{"203.0.113.9", "192.0.2.200"} {
		bans.Ban(context.Background(), netip.MustParseAddr(ip), "test ban", "test", "block", time.Hour)
	}
	hits := up.hits.Load()
	if resp, body := get(t, p.URL+"/", "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != 403 || !strings.Contains(body, "banned") {
		t.Fatalf("banned client: %d %s", resp.StatusCode, body)
	}
	if up.hits.Load() != hits {
		t.Fatal("a banned client's request reached the upstream")
	}
	if resp, _ := get(t, p.URL+"/", "X-Forwarded-For", "192.0.2.200"); resp.StatusCode != 200 {
		t.Fatalf("allow-listed client with a ban: %d", resp.StatusCode)
	}
	if resp, _ := get(t, p.URL+"/", "X-Forwarded-For", "203.0.113.10"); resp.StatusCode != 200 {
		t.Fatalf("other client: %d", resp.StatusCode)
	}
	lines := p.logs.linesN(t, 3)
	if lines[0]["rule"] != "banned" || lines[0]["decision"] != "block" {
		t.Fatalf("log line: %v", lines[0])
	}
	if s := p.handler.Chain().Flood(); s.BanRefused != 1 || s.BansMade != 2 {
		t.Fatalf("stats: %+v", s)
	}
}

// The 429 carries Retry-After and the RateLimit-* headers; a client that
// asks for JSON gets JSON.
func TestThrottleAnswer(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "rate_limits:\n  rules:\n    - id: api\n      limit: 2/minute\n      paths: [/api/]\n")
	for i := 0; i < 2; i++ {
		if resp, _ := get(t, p.URL+"/api/x"); resp.StatusCode != 200 {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := get(t, p.URL+"/api/x", "Accept", "application/json")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" || resp.Header.Get("RateLimit-Limit") != "2" ||
		resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("RateLimit-Reset") != "30" || resp.Header.Get("RateLimit-Policy") != "2;w=60;burst=2" {
		t.Fatalf("429: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"api"`) {
		t.Fatalf("body: %s %s", resp.Header.Get("Content-Type"), body)
	}
	if p.handler.Chain().Flood().RateLimitHits != 1 {
		t.Fatal("hit not counted")
	}
}

// A reload builds a new chain on the same store: counts and bans carry on.
func TestReloadKeepsStore(t *testing.T) {
	up := newUpstream(t, nil)
	deps := testDeps(t)
	build := func(limit string) *Chain {
		return mustBuild(t, deps, "upstream: "+up.URL+"\nrate_limits:\n  rules:\n    - id: api\n      limit: "+limit+"\n")
	}
	p := startParapet(t, up.URL, "")
	p.handler.Swap(build("3/hour"))
	for i := 0; i < 3; i++ {
		get(t, p.URL+"/x")
	}
	p.handler.Swap(build("3/hour"))
	if resp, _ := get(t, p.URL+"/x"); resp.StatusCode != 429 {
		t.Fatalf("after reload the count restarted: %d", resp.StatusCode)
	}
}

func TestFloodConfigErrorsAtTheirLines(t *testing.T) {
	_, err := buildFromYAML(t, `upstream: http://127.0.0.1:1
store:
  type: redis
  on_error: maybe
rate_limits:
  rules:
    - id: x
      limit: 10/fortnight
      action: tarpit
auto_ban:
  statuses: [200]
under_attack:
  exempt_paths: [webhooks/]
`)
	for _, want := range []string{
		"p.yaml:3: store.type: redis needs a URL",
		"p.yaml:4: store.on_error: \"maybe\" must be open or closed",
		"p.yaml:9: rate_limits.rules[0].action",
		"p.yaml:11: auto_ban.statuses[0]",
		"p.yaml:13: under_attack.exempt_paths[0]",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	_, err = buildFromYAML(t, "upstream: http://127.0.0.1:1\nrate_limits:\n  rules:\n    - id: x\n      limit: 10/fortnight\n")
	if err == nil || !strings.Contains(err.Error(), "p.yaml:5: rate_limits.rules[0].limit") {
		t.Fatalf("bad limit: %v", err)
	}
}

// REDIS_URL (Heroku's config var) fills store.url; check masks its password.
func TestRedisURLFromEnvironment(t *testing.T) {
	cfg, err := config.Load("", []string{"REDIS_URL=rediss://:s3cret@redis.example.com:6380", "PARAPET_STORE_TYPE=redis"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.URL != "rediss://:s3cret@redis.example.com:6380" {
		t.Fatalf("store.url %q", cfg.Store.URL)
	}
	out, _ := cfg.YAML()
	if strings.Contains(string(out), "s3cret") || !strings.Contains(string(out), "redis.example.com") {
		t.Fatalf("check output:\n%s", out)
	}
	cfg, _ = config.Load("", []string{"REDIS_URL=redis://a:1", "PARAPET_STORE_URL=redis://b:2"})
	if cfg.Store.URL != "redis://b:2" {
		t.Fatalf("PARAPET_STORE_URL should win over REDIS_URL: %q", cfg.Store.URL)
	}
}

// under_attack.enabled challenges everyone without clearance; a chain
// built but never installed (a refused reload) changes nothing.
func TestUnderAttackFollowsTheServingChain(t *testing.T) {
	up := newUpstream(t, nil)
	deps := testDeps(t)
	build := func(on bool) *Chain {
		body := "upstream: " + up.URL + "\n"
		if on {
			body += "under_attack:\n  enabled: true\n  exempt_paths: [/webhooks/]\n"
		}
		return mustBuild(t, deps, body)
	}
	p := startParapet(t, up.URL, "")
	p.handler.Swap(build(false))
	build(true) // built, not installed
	if resp, _ := get(t, p.URL+"/"); resp.StatusCode != 200 {
		t.Fatalf("a chain that was never installed switched under-attack mode on: %d", resp.StatusCode)
	}
	p.handler.Swap(build(true))
	if resp, _ := get(t, p.URL+"/"); resp.StatusCode != 403 {
		t.Fatalf("under_attack.enabled: %d, want the challenge page (403)", resp.StatusCode)
	}
	if resp, _ := get(t, p.URL+"/webhooks/stripe/"); resp.StatusCode != 200 {
		t.Fatalf("exempt path: %d", resp.StatusCode)
	}
	// An exemption covers a path only when it stays under the prefix
	// once normalised: a view that resolves dot segments must not turn
	// the webhook exemption into a way past the challenge.
	if resp, _ := get(t, p.URL+"/webhooks/../login/"); resp.StatusCode != 403 {
		t.Fatalf("/webhooks/../login/ under attack: %d, want the challenge page (403)", resp.StatusCode)
	}
	if !p.handler.Chain().Flood().UnderAttack {
		t.Fatal("stats do not say under attack")
	}
	lines := p.logs.linesN(t, 3)
	if lines[1]["rule"] != "under-attack" || lines[1]["decision"] != "challenge" {
		t.Fatalf("log line: %v", lines[1])
	}
}

// Lists of numbers take the same comma-separated form in the environment
// as lists of strings.
func TestAutoBanStatusesFromEnvironment(t *testing.T) {
	cfg, err := config.Load("", []string{"PARAPET_AUTO_BAN_STATUSES=401, 404,429"})
	if err != nil || len(cfg.AutoBan.Statuses) != 3 || cfg.AutoBan.Statuses[2] != 429 {
		t.Fatalf("%v %v", cfg.AutoBan.Statuses, err)
	}
	if _, err := config.Load("", []string{"PARAPET_AUTO_BAN_STATUSES=401,four"}); err == nil || !strings.Contains(err.Error(), "PARAPET_AUTO_BAN_STATUSES") {
		t.Fatalf("bad number: %v", err)
	}
	if _, err := config.Load("", []string{"PARAPET_AUTO_BAN_STATUSES=401,200"}); err == nil || !strings.Contains(err.Error(), "auto_ban.statuses[1]") {
		t.Fatalf("status 200: %v", err)
	}
}

// A client trickling its request body holds no slot of upstream_limit:
// the body is received before a slot is asked for, so other clients are
// served meanwhile (with a cap of 1 and no queue, a held slot would make
// them 503 at once).
func TestSlowBodyHoldsNoUpstreamSlot(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, "app")
	}))
	defer up.Close()
	p := startParapet(t, up.URL, "detection: {enabled: false}\nupstream_limit: {max_concurrent: 1, queue: 0}\n")
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /upload/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n%s", strings.Repeat("a", 100))
	time.Sleep(200 * time.Millisecond) // the slow upload is now being received
	for i := 0; i < 3; i++ {
		resp, err := http.Get(p.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "app" {
			t.Fatalf("request %d during a slow upload: %d %q (the upload holds the only upstream slot)", i, resp.StatusCode, body)
		}
	}
}
