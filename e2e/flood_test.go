package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// banFileEnv keeps a test's bans in its own file.
func banFileEnv(t *testing.T) string {
	return "PARAPET_STORE_BAN_FILE=" + filepath.Join(t.TempDir(), "bans.json")
}

// csrfClient loads the login page and returns a client with the CSRF
// cookie and the form token.
func csrfClient(t *testing.T, base string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/login/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in login page:\n%s", page)
	}
	return client, string(m[1])
}

func postLogin(t *testing.T, client *http.Client, base, token, password string) *http.Response {
	t.Helper()
	form := url.Values{"csrfmiddlewaretoken": {token}, "username": {"alice"}, "password": {password}}
	resp, err := client.PostForm(base+"/login/", form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// A password-guessing client is cut off after the built-in login limit
// (5/minute burst 5), and Django sees no more than those five attempts;
// even the right password is refused until the limit allows again.
func TestLoginBruteForceCutOffBeforeDjango(t *testing.T) {
	d := startDjango(t, banFileEnv(t))
	client, token := csrfClient(t, d.base)
	before, _ := d.requests(t)
	var statuses []int
	for i := 0; i < 30; i++ {
		resp := postLogin(t, client, d.base, token, fmt.Sprintf("guess-%d", i))
		statuses = append(statuses, resp.StatusCode)
		if i == 5 {
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("RateLimit-Limit") != "5" || resp.Header.Get("RateLimit-Remaining") != "0" {
				t.Fatalf("6th attempt: %d %v", resp.StatusCode, resp.Header)
			}
			if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 10 || ra > 12 {
				t.Fatalf("Retry-After %q, want about 12s", resp.Header.Get("Retry-After"))
			}
		}
	}
	for i, s := range statuses {
		want := 200 // Django's login page with "wrong password"
		if i >= 5 {
			want = 429
		}
		if s != want {
			t.Fatalf("attempt %d: %d (all: %v)", i+1, s, statuses)
		}
	}
	if resp := postLogin(t, client, d.base, token, "correct horse"); resp.StatusCode != 429 {
		t.Fatalf("the right password within the limit's cool-down: %d", resp.StatusCode)
	}
	after, paths := d.requests(t)
	if after-before != 5 {
		t.Fatalf("Django saw %d login attempts, want 5: %v", after-before, paths[len(paths)-(after-before):])
	}
	d.waitLog(t, `"decision":"throttle"`, `"rule":"rl-login"`)
	// Reading pages is not affected by the login limit.
	if resp, err := client.Get(d.base + "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / after the login limit: %v %v", resp, err)
	}
}

// edgeParapet runs `parapet run` in front of sock with env.
func edgeParapet(t *testing.T, sock string, env ...string) *process {
	t.Helper()
	addr := testenv.FreeAddr(t)
	p := startParapet(t, addr, append([]string{"PARAPET_LISTEN=" + addr, "PARAPET_UPSTREAM=unix:" + sock,
		"PARAPET_TRUSTED_PROXIES=loopback", banFileEnv(t)}, env...), "run")
	waitStatus(t, p, "/", 200)
	return p
}

// send makes one request as client ip (through the trusted loopback proxy).
func send(t *testing.T, method, base, path, ip string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", browser)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// Two instances share one real redis-server and enforce one limit
// together: the attacker spreading attempts over both gets 5 in all.
func TestTwoInstancesShareOneLimitThroughRedis(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL()}
	a, b := edgeParapet(t, sock, env...), edgeParapet(t, sock, env...)
	django := testenv.UnixClient(sock)
	before, _ := testenv.DjangoRequests(t, django, "http://django")
	var codes []int
	for i := 0; i < 12; i++ {
		p := a
		if i%2 == 1 {
			p = b
		}
		codes = append(codes, send(t, "POST", "http://"+p.addr, "/login/", "203.0.113.50").StatusCode)
	}
	after, _ := testenv.DjangoRequests(t, django, "http://django")
	if after-before != 5 {
		t.Fatalf("Django saw %d attempts through two instances, want 5 (statuses %v)", after-before, codes)
	}
	for i, c := range codes {
		if (i < 5) != (c != 429) {
			t.Fatalf("statuses %v: the first 5 pass (Django's 403 without CSRF), the rest 429", codes)
		}
	}
	// A ban made through one instance holds on the other.
	out, code := run(t, env, "ban", "add", "203.0.113.77", "--for", "1h", "--reason", "shared ban")
	if code != 0 {
		t.Fatalf("ban add: %d %s", code, out)
	}
	for _, p := range []*process{a, b} {
		if s := send(t, "GET", "http://"+p.addr, "/", "203.0.113.77").StatusCode; s != 403 {
			t.Fatalf("banned client through %s: %d", p.addr, s)
		}
	}
	out, code = run(t, env, "ban", "list")
	if code != 0 || !strings.Contains(out, "203.0.113.77") || !strings.Contains(out, "shared ban") || !strings.Contains(out, "redis redis://") {
		t.Fatalf("ban list: %d\n%s", code, out)
	}
	if out, code = run(t, env, "ban", "remove", "203.0.113.77"); code != 0 {
		t.Fatalf("ban remove: %d %s", code, out)
	}
	for _, p := range []*process{a, b} {
		if s := send(t, "GET", "http://"+p.addr, "/", "203.0.113.77").StatusCode; s != 200 {
			t.Fatalf("unbanned client through %s: %d", p.addr, s)
		}
	}
}

// Redis dies mid-test and comes back: with on_error open requests pass
// (and a loud line is logged, once, not per request); with closed they get
// 503; after Redis returns, limits are enforced again, nothing crashed.
func TestRedisKilledAndRestarted(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL(), "PARAPET_STORE_TIMEOUT=100ms"}
	open := edgeParapet(t, sock, env...)
	closed := edgeParapet(t, sock, append(env, "PARAPET_STORE_ON_ERROR=closed")...)

	redis.Kill()
	for i := 0; i < 20; i++ {
		if s := send(t, "GET", "http://"+open.addr, "/", "192.0.2.10").StatusCode; s != 200 {
			t.Fatalf("on_error open, Redis down: %d", s)
		}
		resp := send(t, "GET", "http://"+closed.addr, "/", "192.0.2.10")
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("on_error closed, Redis down: %d", resp.StatusCode)
		}
	}
	// Failing open means no limit: more logins than the limit get through.
	for i := 0; i < 8; i++ {
		if s := send(t, "POST", "http://"+open.addr, "/login/", "192.0.2.11").StatusCode; s == 429 {
			t.Fatalf("login %d limited with Redis down and on_error open", i+1)
		}
	}
	for _, p := range []*process{open, closed} {
		p.waitLog(t, "STORE UNAVAILABLE")
		if n := len(p.out.Lines("STORE UNAVAILABLE")); n > 2 {
			t.Fatalf("store error logged %d times for ~30 requests; want it rate-limited", n)
		}
	}
	open.waitLog(t, "failing open")
	closed.waitLog(t, "failing closed")

	redis.Start()
	deadline := time.Now().Add(10 * time.Second)
	for send(t, "GET", "http://"+closed.addr, "/", "192.0.2.12").StatusCode != 200 {
		if time.Now().After(deadline) {
			t.Fatal("on_error closed instance did not recover after Redis came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The open instance notices on its next requests (its pooled
	// connections to the dead server fail first) and says so.
	deadline = time.Now().Add(10 * time.Second)
	for len(open.out.Lines("store reachable again")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("on_error open instance never logged that the store is back")
		}
		send(t, "GET", "http://"+open.addr, "/", "192.0.2.12")
		time.Sleep(100 * time.Millisecond)
	}
	var codes []int
	for i := 0; i < 7; i++ {
		codes = append(codes, send(t, "POST", "http://"+open.addr, "/login/", "192.0.2.13").StatusCode)
	}
	if codes[4] == 429 || codes[5] != 429 || codes[6] != 429 {
		t.Fatalf("limits after Redis came back: %v", codes)
	}
	for _, p := range []*process{open, closed} {
		if strings.Contains(p.out.String(), "panic") {
			t.Fatalf("panic:\n%s", p.out.String())
		}
	}
}

// `parapet ban add|list|remove` works on the ban file of a running server
// (memory store), which picks the change up.
func TestBanCLIRoundTripAgainstRunningServer(t *testing.T) {
	banEnv := banFileEnv(t)
	d := startDjango(t, banEnv)
	const ip = "198.51.100.23"
	if s := send(t, "GET", d.base, "/", ip).StatusCode; s != 200 {
		t.Fatalf("before the ban: %d", s)
	}
	out, code := run(t, []string{banEnv}, "ban", "add", ip, "--for", "1h", "--reason", "seen probing")
	if code != 0 || !strings.Contains(out, ip) {
		t.Fatalf("ban add: %d %s", code, out)
	}
	waitFor(t, func() bool { return send(t, "GET", d.base, "/", ip).StatusCode == 403 }, "the server to pick up the ban")
	d.waitLog(t, `"rule":"banned"`, `"client_ip":"`+ip+`"`)
	if s := send(t, "GET", d.base, "/", "198.51.100.24").StatusCode; s != 200 {
		t.Fatalf("another client: %d", s)
	}
	out, code = run(t, []string{banEnv}, "ban", "list")
	if code != 0 || !strings.Contains(out, ip) || !strings.Contains(out, "seen probing") || !strings.Contains(out, "cli") {
		t.Fatalf("ban list: %d\n%s", code, out)
	}
	out, code = run(t, []string{banEnv}, "ban", "remove", ip)
	if code != 0 {
		t.Fatalf("ban remove: %d %s", code, out)
	}
	waitFor(t, func() bool { return send(t, "GET", d.base, "/", ip).StatusCode == 200 }, "the server to lift the ban")
	if out, _ = run(t, []string{banEnv}, "ban", "list"); strings.Contains(out, ip) {
		t.Fatalf("removed ban still listed:\n%s", out)
	}
	if out, code = run(t, []string{banEnv}, "ban", "remove", ip); code != 1 {
		t.Fatalf("removing a ban that is not there: %d %s", code, out)
	}
	if out, code = run(t, []string{banEnv}, "ban", "add", "not-an-ip"); code != 2 || !strings.Contains(out, "not an IP") {
		t.Fatalf("bad address: %d %s", code, out)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A client that makes Django answer 404 again and again (a scanner) is
// banned with the reason; Django sees the storm only up to the threshold;
// an allow-listed client doing the same is never banned; the ban survives
// a restart.
func TestAutoBanAfter404Storm(t *testing.T) {
	banEnv := banFileEnv(t)
	yaml := `
auto_ban:
  status_threshold: 20
  window: 1m
rules:
  - id: office
    action: allow
    ips: [192.0.2.200]
`
	d := startDjangoWithConfig(t, yaml, banEnv)
	before, _ := d.requests(t)
	for _, ip := range []string{"203.0.113.66", "192.0.2.200"} {
		for i := 0; i < 20; i++ {
			if s := send(t, "GET", d.base, fmt.Sprintf("/no-such-page-%d/", i), ip).StatusCode; s != 404 {
				t.Fatalf("%s probe %d: %d", ip, i, s)
			}
		}
	}
	for i := 0; i < 5; i++ {
		if s := send(t, "GET", d.base, "/", "203.0.113.66").StatusCode; s != 403 {
			t.Fatalf("scanner after 20 404s: %d", s)
		}
	}
	if s := send(t, "GET", d.base, "/", "192.0.2.200").StatusCode; s != 200 {
		t.Fatalf("allow-listed client after 20 404s: %d", s)
	}
	after, _ := d.requests(t)
	if after-before != 41 {
		t.Fatalf("Django saw %d requests, want 40 probes + 1 allow-listed page", after-before)
	}
	line := d.waitLog(t, "client banned", "203.0.113.66")
	if !strings.Contains(line, "20 401/403/404 answers from the app") {
		t.Fatalf("ban log line: %s", line)
	}
	// Restart: the ban is still there (the memory store's ban file).
	d.cmd.Process.Signal(sigterm)
	d.wait(t, 30*time.Second)
	out, code := run(t, []string{banEnv}, "ban", "list")
	if code != 0 || !strings.Contains(out, "203.0.113.66") || strings.Contains(out, "192.0.2.200") {
		t.Fatalf("ban list after stop: %d\n%s", code, out)
	}
	d2 := startDjangoWithConfig(t, yaml, banEnv)
	if s := send(t, "GET", d2.base, "/", "203.0.113.66").StatusCode; s != 403 {
		t.Fatalf("ban lost over a restart: %d", s)
	}
}

// flood sends n requests with up to conc at once; ipFor(i) is request i's
// client. It returns the status counts.
func flood(t *testing.T, method, url string, n, conc int, ipFor func(i int) string) map[int]int {
	t.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[int]int{}
	tr := &http.Transport{MaxIdleConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[int]int{}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				req, _ := http.NewRequest(method, url, nil)
				req.Header.Set("X-Forwarded-For", ipFor(i))
				req.Header.Set("User-Agent", browser)
				resp, err := client.Do(req)
				if err != nil {
					local[-1]++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local[resp.StatusCode]++
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return counts
}

// Under-attack mode switches on by itself under a flood (request rate
// past the threshold): clients without clearance are challenged; after
// the flood it switches off again once calm_for has passed.
func TestUnderAttackFlipsOnUnderFloodAndOffAfter(t *testing.T) {
	yaml := `
under_attack:
  request_rate: 40
  calm_for: 3s
  exempt_paths: [/webhooks/]
`
	d := startDjangoWithConfig(t, yaml, banFileEnv(t))
	if s := send(t, "GET", d.base, "/", "192.0.2.1").StatusCode; s != 200 {
		t.Fatalf("before: %d", s)
	}
	// About 4 s of traffic well above 40/s, from many addresses (no
	// single client trips a rate limit).
	stop := time.Now().Add(4 * time.Second)
	total := map[int]int{}
	for round := 0; time.Now().Before(stop); round++ {
		c := flood(t, "GET", d.base+"/", 200, 8, func(i int) string { return fmt.Sprintf("10.%d.%d.%d", round%250, i/250, i%250) })
		for k, v := range c {
			total[k] += v
		}
	}
	line := d.waitLog(t, "UNDER ATTACK")
	if !strings.Contains(line, "request rate") {
		t.Fatalf("log: %s", line)
	}
	if total[403] == 0 || total[200] == 0 {
		t.Fatalf("statuses during the flood: %v (want 200s before the switch, challenges after)", total)
	}
	resp := send(t, "GET", d.base, "/", "192.0.2.2")
	if resp.StatusCode != 403 {
		t.Fatalf("a fresh client right after the flood: %d, want the challenge page (403)", resp.StatusCode)
	}
	d.waitLog(t, `"rule":"under-attack"`, `"decision":"challenge"`)
	// Calm: off again after calm_for (3 s) and a tick or two.
	start := time.Now()
	waitForLong(t, 15*time.Second, func() bool { return send(t, "GET", d.base, "/", "192.0.2.3").StatusCode == 200 }, "under-attack mode to switch off")
	if time.Since(start) < 2*time.Second {
		t.Fatalf("switched off after %v, before calm_for", time.Since(start))
	}
	d.waitLog(t, "under-attack mode off")
}

func waitForLong(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The upstream cap: with 2 slots and a queue of 1 waiting at most 300 ms,
// 8 slow requests at once give 2 to Django, the rest 503 + Retry-After.
func TestUpstreamConcurrencyCap(t *testing.T) {
	d := startDjango(t, banFileEnv(t), "PARAPET_UPSTREAM_LIMIT_MAX_CONCURRENT=2", "PARAPET_UPSTREAM_LIMIT_QUEUE=1", "PARAPET_UPSTREAM_LIMIT_QUEUE_TIMEOUT=300ms")
	before, _ := d.requests(t)
	var mu sync.Mutex
	codes := map[int]int{}
	retry := 0
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp := send(t, "GET", d.base, "/slow/?seconds=1.5", fmt.Sprintf("192.0.2.%d", 10+i))
			mu.Lock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "" {
				retry++
			}
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	after, _ := d.requests(t)
	if codes[200] != 2 || codes[503] != 6 || retry != 6 || after-before != 2 {
		t.Fatalf("statuses %v (503 with Retry-After: %d), Django saw %d; want 2 served, 6 refused", codes, retry, after-before)
	}
	d.waitLog(t, `"rule":"upstream-busy"`)
}

// rssKiB reads a process's peak resident set size.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// A login flood of 20,000 requests, each from a different address drawn
// at random from 100,000 (X-Forwarded-For from the trusted loopback
// proxy): per-IP limits never trip, so a site-wide limit on the login
// path does the work. Django receives no more than that limit and
// Parapet's memory stays bounded (every address leaves buckets for
// rl-login and rl-writes in the store). FLOOD_REQUESTS=100000 sends one
// request from each of the 100,000 addresses instead.
func TestFloodFromManyAddressesStaysBounded(t *testing.T) {
	yaml := `
rate_limits:
  rules:
    - id: login-sitewide
      limit: 50/hour burst 50
      key: path
      methods: [POST]
      paths: [/login/]
`
	d := startDjangoWithConfig(t, yaml, banFileEnv(t))
	before, _ := d.requests(t)
	const pool = 100_000
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("FLOOD_REQUESTS")); err == nil && v > 0 && v <= pool {
		n = v
	}
	perm := make([]int, pool)
	for i := range perm {
		perm[i] = i
	}
	seed := uint32(2463534242) // a fixed shuffle (xorshift)
	for i := len(perm) - 1; i > 0; i-- {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		j := int(seed % uint32(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	start := time.Now()
	counts := flood(t, "POST", d.base+"/login/", n, 16, func(i int) string {
		a := perm[i]
		return fmt.Sprintf("100.%d.%d.%d", 64+a>>16, a>>8&255, a&255)
	})
	elapsed := time.Since(start)
	after, _ := d.requests(t)
	rss := rssKiB(t, d.cmd.Process.Pid)
	t.Logf("%d requests from as many distinct addresses (out of %d) in %v: statuses %v; Django saw %d; Parapet peak RSS %d KiB", n, pool, elapsed, counts, after-before, rss)
	if after-before > 50 {
		t.Fatalf("Django saw %d login POSTs, limit 50", after-before)
	}
	if counts[429] < n-50 || counts[-1] > 0 {
		t.Fatalf("statuses %v", counts)
	}
	if rss > 256<<10 {
		t.Fatalf("Parapet peak RSS %d KiB > 256 MiB", rss)
	}
}

// Under-attack mode is shared through Redis: a flood on one instance
// switches the other on too, and both switch off after the flood.
func TestUnderAttackSharedAcrossInstancesThroughRedis(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL(),
		"PARAPET_UNDER_ATTACK_REQUEST_RATE=40", "PARAPET_UNDER_ATTACK_CALM_FOR=3s"}
	a, b := edgeParapet(t, sock, env...), edgeParapet(t, sock, env...)
	stop := time.Now().Add(3 * time.Second)
	for round := 0; time.Now().Before(stop); round++ {
		flood(t, "GET", "http://"+a.addr+"/", 200, 8, func(i int) string { return fmt.Sprintf("10.%d.%d.%d", round%250, i/250, i%250) })
	}
	b.waitLog(t, "UNDER ATTACK")
	if s := send(t, "GET", "http://"+b.addr, "/", "192.0.2.50").StatusCode; s != 403 {
		t.Fatalf("the instance that saw no flood does not challenge: %d", s)
	}
	waitForLong(t, 15*time.Second, func() bool {
		return send(t, "GET", "http://"+a.addr, "/", "192.0.2.51").StatusCode == 200 &&
			send(t, "GET", "http://"+b.addr, "/", "192.0.2.51").StatusCode == 200
	}, "both instances to switch off")
	b.waitLog(t, "under-attack mode off")
}

// DRF throttles: a client that puts a made-up token on every request
// (each token a bucket of its own before) gets max_tokens_per_client
// buckets, then counts as anonymous; the bound is one set in Redis, so
// spreading the tokens over two instances gains nothing. A token the
// client brought before keeps its bucket.
func TestDRFThrottleMadeUpTokensGetNoFreshBuckets(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	redis := testenv.StartRedis(t)
	env := []string{"PARAPET_STORE_TYPE=redis", "REDIS_URL=" + redis.URL(),
		"PARAPET_RATE_LIMITS_THROTTLES_ANON=5/minute", "PARAPET_RATE_LIMITS_THROTTLES_USER=100/minute",
		"PARAPET_RATE_LIMITS_THROTTLES_MAX_TOKENS_PER_CLIENT=3"}
	a, b := edgeParapet(t, sock, env...), edgeParapet(t, sock, env...)
	django := testenv.UnixClient(sock)
	before, _ := testenv.DjangoRequests(t, django, "http://django")
	get := func(p *process, ip, token string) int {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/echo/?n=1", nil)
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		p := a
		if i%2 == 1 {
			p = b
		}
		codes[get(p, "203.0.113.90", fmt.Sprintf("Token made-up-%d", i))]++
	}
	after, _ := testenv.DjangoRequests(t, django, "http://django")
	if codes[200] != 3+5 || codes[429] != 12 || after-before != 8 {
		t.Fatalf("20 made-up tokens: statuses %v, Django saw %d; want 3 token buckets + 5 anonymous = 8", codes, after-before)
	}
	a.waitLog(t, `"rule":"throttle-anon"`, `"token-not-admitted"`)
	if s := get(b, "203.0.113.90", "Token made-up-0"); s != 200 {
		t.Fatalf("a token the client brought first: %d", s)
	}
	if s := get(a, "203.0.113.91", "Token made-up-19"); s != 200 {
		t.Fatalf("another client: %d", s)
	}
}

// A third-party page with 40 <img src=/.env?n> (and 70 images of pages
// that do not exist) makes its visitor's browser send requests that are
// blocked (or 404 in Django) one by one, but they do not get the visitor
// banned: the browser marks them cross-site. A scanner sending the same
// paths without those marks is banned after block_threshold (30).
func TestThirdPartyPageCannotGetItsVisitorsBanned(t *testing.T) {
	d := startDjango(t, banFileEnv(t))
	img := func(path, ip string, thirdParty bool) int {
		req, _ := http.NewRequest("GET", d.base+path, nil)
		req.Header.Set("X-Forwarded-For", ip)
		req.Header.Set("User-Agent", browser)
		if thirdParty { // what Chromium and Firefox send for an <img> on another site's page
			req.Header.Set("Accept", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Sec-Fetch-Mode", "no-cors")
			req.Header.Set("Sec-Fetch-Dest", "image")
			req.Header.Set("Referer", "https://evil.example/")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	const visitor, scanner = "198.51.100.31", "198.51.100.32"
	for i := 0; i < 40; i++ {
		if s := img(fmt.Sprintf("/.env?%d", i), visitor, true); s != 403 {
			t.Fatalf("third-party image %d of /.env: %d, want 403 (still blocked)", i, s)
		}
	}
	for i := 0; i < 70; i++ {
		if s := img(fmt.Sprintf("/no-such-page-%d/", i), visitor, true); s != 404 {
			t.Fatalf("third-party image %d of a missing page: %d, want Django's 404", i, s)
		}
	}
	if s := send(t, "GET", d.base, "/", visitor).StatusCode; s != 200 {
		t.Fatalf("the visitor after another site's page made its browser send 40 blocked and 70 404 requests: %d, want 200 (not banned)", s)
	}
	d.waitLog(t, `"client_ip":"`+visitor+`"`, `"rule":"path-dotfiles"`)
	for i := 0; i < 30; i++ {
		img(fmt.Sprintf("/.env?%d", i), scanner, false)
	}
	if s := send(t, "GET", d.base, "/", scanner).StatusCode; s != 403 {
		t.Fatalf("a scanner after 30 blocks: %d, want 403 (banned)", s)
	}
	d.waitLog(t, "client banned", scanner)
	if l := d.out.Lines("client banned", visitor); len(l) > 0 {
		t.Fatalf("the visitor was banned: %s", l[0])
	}
}
