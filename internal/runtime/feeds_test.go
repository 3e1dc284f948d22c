package runtime_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/testenv"
)

const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

// rangesServer publishes crawler ranges (Google's JSON format) on
// loopback and counts the fetches of each path.
type rangesServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newRangesServer(t *testing.T) *rangesServer {
	rs := &rangesServer{hits: map[string]int{}}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.hits[r.URL.Path]++
		rs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"prefixes":[{"ipv4Prefix":"66.249.64.0/27"}]}`)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *rangesServer) count(path string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.hits[path]
}

// crawlerConfig is a config whose one crawler's ranges are at url
// (refreshed every second), with a challenged path.
func crawlerConfig(upstream, listen, cache, crawlers string) string {
	return "upstream: " + upstream + `
listen: ` + listen + `
trusted_proxies: [loopback]
feed_cache_dir: ` + cache + `
detection: {enabled: false}
reload: {watch: false}
rules:
  - id: check-humans
    action: challenge
    paths: [/members/]
challenge:
  crawlers:
` + crawlers
}

func crawlerList(url string) string {
	return `    list:
      - name: google
        user_agents: [Googlebot]
        url: ` + url + `
        refresh: 1s
`
}

// The crawler range feeds are the chain's: started when a config is
// activated (so the first fake Googlebot is already refused), not when a
// crawler first shows up; a reload that is refused starts nothing; a
// reload whose config no longer names them retires them (no more fetches,
// no longer listed among the running feeds).
func TestVisCrawlerFeedsStartAtActivationAndStopAtRetire(t *testing.T) {
	rs := newRangesServer(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "parapet.yaml")
	listen := testenv.FreeAddr(t)
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(crawlerConfig(app.URL, listen, filepath.Join(dir, "feeds"), crawlerList(rs.URL+"/google.json")))
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := serveInProcess(t, cfg)

	// Fetched at start, before any request.
	waitFor(t, "the ranges fetched at activation", func() bool { return rs.count("/google.json") > 0 })
	get := func(ip, ua, path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+listen+path, nil)
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "parapet serves", func() bool {
		resp, err := http.Get("http://" + listen + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	// The ranges, fetched before any request, are applied: Googlebot from
	// its range is let through a challenged path (the fetch above is seen
	// by the server a moment before the feed applies it), and one claiming
	// Googlebot from elsewhere is refused.
	waitFor(t, "Googlebot from its range let through a challenged path", func() bool {
		return get("66.249.64.5", googlebot, "/members/") == 200
	})
	if code := get("203.0.113.66", googlebot, "/"); code != 403 {
		t.Fatalf("a fake Googlebot: %d, want 403", code)
	}
	if !hasFeed(rt, "crawler-google") {
		t.Fatal("crawler-google is not among the running feeds")
	}

	// A refused reload (a bad rule) names new ranges: nothing is fetched.
	write(crawlerConfig(app.URL, listen, filepath.Join(dir, "feeds"), crawlerList(rs.URL+"/other.json")) +
		"  - id: bad\n    ips: [not-an-address]\n")
	if err := rt.Reload(t.Context(), "test"); err == nil {
		t.Fatal("a config with a bad rule was not refused")
	}
	time.Sleep(300 * time.Millisecond)
	if n := rs.count("/other.json"); n != 0 {
		t.Fatalf("a refused reload fetched the ranges it named %d times", n)
	}

	// A reload turning crawler recognition off retires the feed.
	write(crawlerConfig(app.URL, listen, filepath.Join(dir, "feeds"), "    enabled: false\n"))
	if err := rt.Reload(t.Context(), "test"); err != nil {
		t.Fatal(err)
	}
	if hasFeed(rt, "crawler-google") {
		t.Fatal("crawler-google still running after a reload that turned crawlers off")
	}
	before := rs.count("/google.json")
	time.Sleep(2500 * time.Millisecond) // over two refresh periods
	if after := rs.count("/google.json"); after != before {
		t.Fatalf("the retired feed was fetched %d more times", after-before)
	}
	if code := get("203.0.113.66", googlebot, "/"); code != 200 {
		t.Fatalf("with crawler recognition off a Googlebot User-Agent got %d", code)
	}
}

func hasFeed(rt *runtime.Runtime, name string) bool {
	for _, s := range rt.Deps().Feeds.Statuses() {
		if s.Name == name {
			return true
		}
	}
	return false
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accessConfig is a config whose access rule blocks the addresses of a
// feed at url (refreshed every second).
func accessConfig(upstream, listen, cache, name, url string) string {
	return "upstream: " + upstream + `
listen: ` + listen + `
trusted_proxies: [loopback]
feed_cache_dir: ` + cache + `
detection: {enabled: false}
reload: {watch: false}
challenge: {crawlers: {enabled: false}}
feeds:
  - {name: ` + name + `, url: "` + url + `", refresh: 1s}
rules:
  - id: vendor-block
    action: block
    feeds: [` + name + `]
`
}

// Issue 18: access-rule feeds started while the config was being built,
// so a reload that was then refused (or `parapet check`) started a feed
// that ran, fetching every refresh, until the next good reload. They are
// the chain's, as the crawler feeds are: started when a config is
// activated (the first request from a listed address is refused), never
// by a refused reload or a check, and retired with the config that named
// them.
func TestVisAccessRuleFeedsStartAtActivationAndStopAtRetire(t *testing.T) {
	list := newListServer(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "parapet.yaml")
	listen := testenv.FreeAddr(t)
	cache := filepath.Join(dir, "feeds")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// parapet check builds everything and fetches nothing.
	write(accessConfig(app.URL, listen, cache, "vendor", list.URL+"/check.txt"))
	if _, err := runtime.Check(file, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := list.count("/check.txt"); n != 0 {
		t.Fatalf("parapet check fetched the feed %d times", n)
	}

	write(accessConfig(app.URL, listen, cache, "vendor", list.URL+"/vendor.txt"))
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := serveInProcess(t, cfg)
	get := func(ip string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+listen+"/", nil)
		req.Header.Set("X-Forwarded-For", ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "parapet serves", func() bool {
		resp, err := http.Get("http://" + listen + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	waitFor(t, "the feed fetched at activation and its address refused", func() bool {
		return list.count("/vendor.txt") > 0 && get("198.51.100.9") == 403
	})
	if code := get("192.0.2.1"); code != 200 {
		t.Fatalf("an address off the list: %d", code)
	}
	if !hasFeed(rt, "vendor") {
		t.Fatal("vendor is not among the running feeds")
	}

	// A refused reload (a bad rule) names a new feed: nothing is fetched.
	write(accessConfig(app.URL, listen, cache, "other", list.URL+"/other.txt") + "  - id: bad\n    ips: [not-an-address]\n")
	if err := rt.Reload(t.Context(), "test"); err == nil {
		t.Fatal("a config with a bad rule was not refused")
	}
	time.Sleep(1500 * time.Millisecond) // over a refresh period
	if n := list.count("/other.txt"); n != 0 {
		t.Fatalf("a refused reload fetched the feed it named %d times", n)
	}
	if hasFeed(rt, "other") {
		t.Fatal("a refused reload left its feed running")
	}

	// A good reload naming another feed starts it and retires the old one.
	write(accessConfig(app.URL, listen, cache, "other", list.URL+"/other.txt"))
	if err := rt.Reload(t.Context(), "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new feed fetched", func() bool { return list.count("/other.txt") > 0 })
	if hasFeed(rt, "vendor") {
		t.Fatal("vendor still running after a reload that no longer names it")
	}
	before := list.count("/vendor.txt")
	time.Sleep(2500 * time.Millisecond) // over two refresh periods
	if after := list.count("/vendor.txt"); after != before {
		t.Fatalf("the retired feed was fetched %d more times", after-before)
	}
}

// listServer publishes a plain IP list (198.51.100.0/24) on loopback and
// counts the fetches of each path.
type listServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newListServer(t *testing.T) *listServer {
	ls := &listServer{hits: map[string]int{}}
	ls.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ls.mu.Lock()
		ls.hits[r.URL.Path]++
		ls.mu.Unlock()
		fmt.Fprint(w, "198.51.100.0/24\n")
	}))
	t.Cleanup(ls.Close)
	return ls
}

func (ls *listServer) count(path string) int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.hits[path]
}

// serveInProcess runs the server on cfg in this process until the test
// ends (its feeds dial loopback only), returning its runtime; its output
// is logged if the test fails.
func serveInProcess(t *testing.T, cfg *config.Config) *runtime.Runtime {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	done := make(chan int, 1)
	rtc := make(chan *runtime.Runtime, 1)
	go func() {
		done <- runtime.Serve(ctx, cfg, runtime.Options{Version: "test", Stdout: out, Stderr: out,
			Environ: func() []string { return nil }, FeedClient: testenv.LoopbackClient(),
			Setup: func(rt *runtime.Runtime) error { rtc <- rt; return nil }})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("parapet output:\n%s", out.String())
		}
	})
	return <-rtc
}
