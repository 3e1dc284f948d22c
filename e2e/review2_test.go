package e2e

// Bypasses found by the second hostile review (proxy, leak guard, flood
// defense), each shown end to end against the real Django app under
// gunicorn. Each test fails while the bypass holds.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// Django's technical 404 page puts the request path in its <title>
// before the robots meta tag the leak guard looks for in the first 2 KB
// (technical_404.html), and HTML-escapes it: 420 "&" in the path are
// 2,100 bytes of "&amp;", so the tag lands past 2 KB, the page is not
// recognised as a DEBUG page and streams. Only the DEBUG footer at its
// very end is then found and cut off; the 2,000 URL patterns of the
// URLconf, which the guard is there to hide, have all gone out. A path
// holding the tag's own words does it in 16 bytes: the guard checks only
// the first "NONE,NOARCHIVE" it finds, the one in the title.
func TestReview2Debug404LeaksURLconfWhenThePathHidesTheRobotsTag(t *testing.T) {
	d := startDjango(t, "DJANGO_SETTINGS_MODULE=testapp.settings_debug")
	for _, path := range []string{"/" + strings.Repeat("&", 420) + "/", "/" + strings.Repeat("a", 2100) + "/", "/NONE,NOARCHIVE/"} {
		resp, err := noDecompress.Get(d.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body) // cut off or not: what the client got
		resp.Body.Close()
		n := strings.Count(string(body), "catalogue/section-")
		if n > 0 || strings.Contains(string(body), "URLconf") {
			t.Errorf("GET /%s...: status %d, %d bytes reached the client with %d of the DEBUG 404 page's URL patterns",
				path[1:9], resp.StatusCode, len(body), n)
		}
	}
}

// slowReader sends GET path on a connection whose receive buffer is tiny
// and then reads nothing more than the status line: a client that reads
// its answer as slowly as TCP lets it.
func slowReader(t *testing.T, addr, path string) net.Conn {
	t.Helper()
	dialer := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	c, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n", path, addr, browser)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("slow reader's status line: %q %v", line, err)
	}
	return c
}

// A response streams to the client as fast as the client reads it, with
// no write timeout (timeouts.write: 0) and no buffering of the app's
// answer: the upstream slot (upstream_limit) and the gunicorn worker that
// writes the response stay taken for as long as the client takes. One
// connection reading a 10 MB download slowly takes the only slot of
// max_concurrent: 1, and every other visitor gets 503 upstream-busy; with
// the default config, 8 such connections take all 8 gunicorn threads and
// the site stops answering. (nginx in front of gunicorn buffers the
// response and frees the worker; its send_timeout bounds the client.)
func TestReview2SlowReaderHoldsTheUpstream(t *testing.T) {
	t.Run("upstream_limit slot", func(t *testing.T) {
		d := startDjango(t, "PARAPET_UPSTREAM_LIMIT_MAX_CONCURRENT=1", "PARAPET_UPSTREAM_LIMIT_QUEUE_TIMEOUT=1s")
		slowReader(t, d.addr, "/download/?lines=200000&batch=1000")
		time.Sleep(500 * time.Millisecond) // the app has filled every buffer on the way
		resp, err := http.Get(d.base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET / while one client reads a download slowly: %d, want 200", resp.StatusCode)
		}
	})
	t.Run("gunicorn workers", func(t *testing.T) {
		d := startDjango(t)
		for i := 0; i < 8; i++ { // testenv's gunicorn: 1 worker, 8 threads
			slowReader(t, d.addr, fmt.Sprintf("/download/?lines=200000&batch=1000&n=%d", i))
		}
		time.Sleep(500 * time.Millisecond)
		client := &http.Client{Timeout: 10 * time.Second}
		resp, err := client.Get(d.base + "/")
		if err != nil {
			t.Fatalf("GET / while 8 clients read downloads slowly: %v (the app's workers are all held)", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET / while 8 clients read downloads slowly: %d, want 200", resp.StatusCode)
		}
	})
}

// Browsers send Fetch Metadata (Sec-Fetch-Site and the rest) only to
// potentially trustworthy URLs: over plain HTTP to a real host name they
// send none (Fetch Metadata, "append the Fetch metadata headers": "If r's
// url is not potentially trustworthy, return"). So the auto-ban exemption
// for another site's requests does not cover a third-party page that
// points its images at http://victim/ (https_redirect is off by default,
// and a visitor without HSTS for the site does not upgrade): 40 <img
// src=http://victim.test/.env?n> in a real headless Chromium get its
// visitor banned for an hour. The visitor reaches Parapet through a
// router that appends its address to X-Forwarded-For, as Heroku's does.
func TestReview2ThirdPartyPageOverPlainHTTPBansItsVisitors(t *testing.T) {
	chromium := requireChromium(t)
	d := startDjango(t, banFileEnv(t))
	const visitor = "198.51.100.50"
	target, _ := url.Parse(d.base)
	var fetchMetadata atomic.Int64
	router := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		pr.Out.Header.Set("X-Forwarded-For", visitor)
		if pr.In.Header.Get("Sec-Fetch-Site") != "" {
			fetchMetadata.Add(1)
		}
	}})
	defer router.Close()
	_, routerPort, _ := net.SplitHostPort(router.Listener.Addr().String())
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("<!doctype html><title>cats</title>")
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, `<img src="http://victim.test:%s/.env?%d">`, routerPort, i)
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, b.String())
	}))
	defer evil.Close()
	_, evilPort, _ := net.SplitHostPort(evil.Listener.Addr().String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium,
		"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0",
		"--host-resolver-rules=MAP victim.test 127.0.0.1, MAP evil.test 127.0.0.1",
		"http://evil.test:"+evilPort+"/")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for len(d.out.Lines(`"client_ip":"`+visitor+`"`, `"rule":"path-dotfiles"`)) < 40 && len(d.out.Lines("client banned", visitor)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("chromium did not load the images (%d seen)", len(d.out.Lines(`"client_ip":"`+visitor+`"`)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := fetchMetadata.Load(); n != 0 {
		t.Fatalf("premise: chromium sent Sec-Fetch-Site on %d plain-HTTP requests", n)
	}
	req, _ := http.NewRequest("GET", router.URL+"/", nil)
	req.Header.Set("User-Agent", browser)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		l := d.out.Lines("client banned", visitor)
		t.Errorf("the visitor, after a third-party page's 40 images over plain HTTP: %d, want 200 (not banned); %v", resp.StatusCode, l)
	}
}

// Secrets the operator gives Parapet reach its output (stderr and the
// JSON log, which Heroku ships to every log drain): a store URL that does
// not parse is printed whole, password included ("%" in a password not
// escaped), since the redaction gives up when url.Parse does; and a feed
// URL's query (an API key, as list vendors hand them out) is neither
// masked by `parapet check` nor kept out of the fetch error logged at
// every failed refresh.
func TestReview2OperatorSecretsStayOutOfOutput(t *testing.T) {
	out, _ := run(t, []string{"PARAPET_STORE_TYPE=redis", "PARAPET_STORE_URL=redis://default:hunter2%zz@redis.example:6379"}, "check")
	if strings.Contains(out, "hunter2") {
		t.Errorf("check with a store URL that does not parse printed its password:\n%s", out)
	}
	cfg := writeConfig(t, "feeds:\n  - name: vendor\n    url: http://127.0.0.1:1/list.txt?api_key=SUPERSECRETKEY123\nrules:\n  - id: vendor\n    feeds: [vendor]\n")
	if out, _ := run(t, nil, "check", "--config", cfg); strings.Contains(out, "SUPERSECRETKEY123") {
		t.Errorf("check printed a feed URL's API key:\n%s", out)
	}
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, []string{"PARAPET_LISTEN=" + addr, "PARAPET_UPSTREAM=http://127.0.0.1:1",
		"PARAPET_FEED_CACHE_DIR=" + t.TempDir()}, "run", "--config", cfg)
	p.waitLog(t, "feed", "127.0.0.1:1") // the first fetch, and its failure
	p.waitLog(t, "feed", "connection refused")
	if ls := p.out.Lines("SUPERSECRETKEY123"); len(ls) > 0 {
		t.Errorf("the log carries a feed URL's API key:\n%s", strings.Join(ls, "\n"))
	}
}

// With only the anon throttle configured (the common DRF setup:
// DEFAULT_THROTTLE_CLASSES = [AnonRateThrottle]), a request carrying any
// Authorization header is exempt from it (the anon rule's "unless" field)
// and, with no user throttle, counted by nothing: "Authorization: x" on
// every request buys unlimited requests. DRF itself treats a header whose
// scheme no authentication class claims as anonymous (TokenAuthentication
// returns None for "x"), so the view runs for an anonymous client past
// the anon limit. The made-up-token bound (max_tokens_per_client) only
// works when the user throttle is on.
func TestReview2AnonThrottleAloneSkippedByAnyAuthorization(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	p := edgeParapet(t, sock, "PARAPET_RATE_LIMITS_THROTTLES_ANON=5/minute")
	django := testenv.UnixClient(sock)
	before, _ := testenv.DjangoRequests(t, django, "http://django")
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/echo/?n=1", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.95")
		req.Header.Set("Authorization", "x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	after, _ := testenv.DjangoRequests(t, django, "http://django")
	if after-before > 5 {
		t.Fatalf("anon: 5/minute, 20 requests with \"Authorization: x\": statuses %v, Django saw %d (want at most 5)", codes, after-before)
	}
}

// The README's own example limit is keyed by the session cookie
// (key: cookie:sessionid, action: ban). Parapet cannot tell a real
// session from a made-up one, and a request without the cookie is not
// counted at all: a client that sends a new random sessionid each time
// (or none) is a fresh bucket every time, never limited, never banned,
// and each request adds a key to the store (500,000 evict every other
// client's buckets and counters). Issue 15 item 9 closed this for the
// DRF user throttle (max_tokens_per_client) but not for header: and
// cookie: keys.
func TestReview2CookieKeyedLimitGetsFreshBuckets(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	cfg := writeConfig(t, `
trusted_proxies: [loopback]
rate_limits:
  rules:
    - id: exports
      limit: 3/hour
      key: cookie:sessionid
      paths: [/api/echo/]
      action: ban
      ban_for: 6h
`)
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, []string{"PARAPET_LISTEN=" + addr, "PARAPET_UPSTREAM=unix:" + sock, banFileEnv(t)}, "run", "--config", cfg)
	waitStatus(t, p, "/", 200)
	django := testenv.UnixClient(sock)
	before, _ := testenv.DjangoRequests(t, django, "http://django")
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/echo/?export=all", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.96")
		req.Header.Set("User-Agent", browser)
		if i%2 == 0 {
			req.AddCookie(&http.Cookie{Name: "sessionid", Value: fmt.Sprintf("made-up-%d", i)})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	after, _ := testenv.DjangoRequests(t, django, "http://django")
	if after-before > 3 {
		t.Fatalf("exports: 3/hour by session, 20 exports from one address with made-up or no sessionid: statuses %v, Django saw %d (want at most 3)", codes, after-before)
	}
}

// One failed store call opens the store guard's circuit breaker, and with
// store.on_error: open (the default) every request for the next 500 ms
// passes without bans or rate limits. The Redis calls run under the
// request's context, so a client that sends a request and hangs up at
// once makes the call fail (context canceled): a store "error" any client
// can cause as often as it likes. A banned client that keeps doing so
// gets its own requests through the ban.
func TestReview2ClientHangingUpLiftsBansThroughRedis(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL()}
	p := edgeParapet(t, sock, env...)
	const banned = "203.0.113.200"
	if out, code := run(t, env, "ban", "add", banned, "--for", "1h", "--reason", "review"); code != 0 {
		t.Fatalf("ban add: %d %s", code, out)
	}
	if s := send(t, "GET", "http://"+p.addr, "/", banned).StatusCode; s != 403 {
		t.Fatalf("premise: the banned client gets %d, want 403", s)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // requests whose client hangs up at once, from any address
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				continue
			}
			fmt.Fprintf(c, "GET /?hangup HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.201\r\n\r\n")
			c.Close()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	passed := 0
	for i := 0; i < 200; i++ {
		if send(t, "GET", "http://"+p.addr, "/", banned).StatusCode == 200 {
			passed++
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	<-done
	if passed > 0 {
		time.Sleep(300 * time.Millisecond) // the log is flushed every 100 ms
		l := p.out.Lines("STORE UNAVAILABLE")
		t.Fatalf("%d of 200 requests of a banned client got through while another connection kept hanging up (%v)", passed, l)
	}
}

// Issue 15 item 8 keeps requests a browser sends for another site's page
// (Sec-Fetch-Site: cross-site, no-cors) out of auto-bans, but a rate
// limit with action: ban bans by itself, and counts them: a third-party
// page with six <img src=https://victim/search/?q=n> gets every visitor
// banned for ban_for (6 hours here) by a limit of 5/minute on /search/.
func TestReview2ThirdPartyImagesTripABanLimit(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	cfg := writeConfig(t, `
trusted_proxies: [loopback]
rate_limits:
  rules:
    - id: search
      limit: 5/minute
      paths: [/search/]
      action: ban
      ban_for: 6h
`)
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, []string{"PARAPET_LISTEN=" + addr, "PARAPET_UPSTREAM=unix:" + sock, banFileEnv(t)}, "run", "--config", cfg)
	waitStatus(t, p, "/", 200)
	const visitor = "198.51.100.60"
	for i := 0; i < 6; i++ { // what Chromium sends for <img> on another site's page
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/search/?q=%d", addr, i), nil)
		req.Header.Set("X-Forwarded-For", visitor)
		req.Header.Set("User-Agent", browser)
		req.Header.Set("Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Sec-Fetch-Mode", "no-cors")
		req.Header.Set("Sec-Fetch-Dest", "image")
		req.Header.Set("Referer", "https://evil.example/")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if s := send(t, "GET", "http://"+addr, "/", visitor).StatusCode; s != 200 {
		time.Sleep(300 * time.Millisecond) // the log is flushed every 100 ms
		t.Fatalf("the visitor after another site's page sent six cross-site image requests: %d, want 200 (not banned); %v", s, p.out.Lines("client banned"))
	}
}

// under_attack.upstream_latency is meant to see the app slowing down, but
// the time it averages runs until the response has been written to the
// client: a client that reads a download slowly is "app latency". Two
// such downloads, read after six seconds, put under-attack mode on with
// the app idle and fast, and every API client without a clearance is then
// refused (429) for at least calm_for. (The threshold is 5 s: Django's
// first request, under a loaded machine, has taken 2.3 s here.)
func TestReview2SlowReadersTurnOnUnderAttack(t *testing.T) {
	d := startDjango(t, "PARAPET_UNDER_ATTACK_UPSTREAM_LATENCY=5s")
	var conns []net.Conn
	for i := 0; i < 2; i++ {
		conns = append(conns, slowReader(t, d.addr, fmt.Sprintf("/download/?lines=100000&batch=1000&r=%d", i)))
	}
	time.Sleep(6 * time.Second)
	for _, c := range conns { // read the rest, to the last chunk
		c.SetReadDeadline(time.Now().Add(90 * time.Second))
		var tail []byte
		buf := make([]byte, 64<<10)
		for !bytes.HasSuffix(tail, []byte("\r\n0\r\n\r\n")) {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("reading the download: %v", err)
			}
			tail = append(tail[max(0, len(tail)-8):], buf[:n]...)
		}
	}
	time.Sleep(2500 * time.Millisecond) // a tick or two of the controller
	req, _ := http.NewRequest("GET", d.base+"/api/echo/?q=1", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "an API client")
	req.Header.Set("X-Forwarded-For", "198.51.100.70")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("an API client after two slow downloads: %d, want 200 (%v)", resp.StatusCode, d.out.Lines("UNDER ATTACK"))
	}
}
