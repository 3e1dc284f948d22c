package eventlog

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/events"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// req makes the i-th request record: every third a block by path-dotfiles
// from 203.0.113.<i%5>, the others allowed from 198.51.100.1.
func req(i int) *Record {
	r := &Record{Time: t0.Add(time.Duration(i) * time.Second), Kind: "request", RequestID: fmt.Sprint("r", i),
		ClientIP: "198.51.100.1", Method: "GET", Path: fmt.Sprintf("/page/%d?q=1", i), Status: 200, Decision: "allow"}
	if i%3 == 0 {
		r.Decision, r.Rule, r.Status = "block", "path-dotfiles", 403
		r.ClientIP = fmt.Sprintf("203.0.113.%d", i%5)
		r.Path = "/.env"
	}
	return r
}

func ids(p Page) []string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.RequestID)
	}
	return out
}

func TestRingQueryNewestFirstFilteredAndPaginated(t *testing.T) {
	g := NewRing(100)
	for i := 0; i < 250; i++ { // the ring keeps 150..249
		g.Add(req(i))
	}
	if g.Len() != 100 {
		t.Fatalf("len %d", g.Len())
	}
	p := g.Query(Filter{Limit: 3})
	if got := strings.Join(ids(p), " "); got != "r249 r248 r247" || p.Next == "" {
		t.Fatalf("first page %q next %q", got, p.Next)
	}
	// Every block, page by page: each once, newest first, none older than the ring.
	var all []string
	f := Filter{Decision: "block", Limit: 7}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
		p := g.Query(f)
		all = append(all, ids(p)...)
		if p.Next == "" {
			break
		}
		fmt.Sscan(p.Next, &f.Cursor)
	}
	var want []string
	for i := 249; i >= 150; i-- {
		if i%3 == 0 {
			want = append(want, fmt.Sprint("r", i))
		}
	}
	if strings.Join(all, " ") != strings.Join(want, " ") {
		t.Fatalf("blocks by pages:\n%v\nwant\n%v", all, want)
	}
	// Filters combine.
	ip, _ := ParseFilter(url.Values{"ip": {"203.0.113.0/30"}, "path": {"/.e"}, "rule": {"path-dotfiles"}, "since": {t0.Add(200 * time.Second).Format(time.RFC3339)}}, t0)
	for _, e := range g.Query(ip).Events {
		if e.Time.Before(t0.Add(200*time.Second)) || e.Decision != "block" || !strings.HasPrefix(e.ClientIP, "203.0.113.") {
			t.Fatalf("filter let through %+v", e)
		}
		if last := e.ClientIP[len("203.0.113."):]; last > "3" {
			t.Fatalf("outside the /30: %s", e.ClientIP)
		}
	}
	if n := len(g.Query(Filter{Path: "/page/"}).Events); n != 66 { // 100 less the 34 blocks
		t.Fatalf("path prefix: %d", n)
	}
	if n := len(g.Query(mustPrefix("192.0.2.1/32")).Events); n != 0 {
		t.Fatalf("unknown ip matched %d", n)
	}
}

func mustPrefix(s string) (f Filter) {
	f, err := ParseFilter(url.Values{"ip": {s}}, t0)
	if err != nil {
		panic(err)
	}
	return f
}

// The rule filter finds a rule among the matched ones (CRS ids) and the
// monitor-mode matches, not only the deciding rule.
func TestFilterRuleMatchesMatchedAndMonitored(t *testing.T) {
	g := NewRing(10)
	g.Add(&Record{Kind: "request", RequestID: "a", Decision: "block", Rule: "detect-sqli", MatchedRules: []string{"942100"}})
	g.Add(&Record{Kind: "request", RequestID: "b", Decision: "allow", Monitored: []string{"geo-block:block:monitor"}})
	for rule, want := range map[string]string{"942100": "a", "detect-sqli": "a", "geo-block": "b", "geo": ""} {
		if got := strings.Join(ids(g.Query(Filter{Rule: rule})), ","); got != want {
			t.Errorf("rule %s: %q, want %q", rule, got, want)
		}
	}
}

func TestParseFilterRefusesBadParameters(t *testing.T) {
	for q, field := range map[string]string{
		"ip=300.1.1.1":                     "ip",
		"ip=10.0.0.0/33":                   "ip",
		"decision=deny":                    "decision",
		"path=admin":                       "path",
		"since=yesterday":                  "since",
		"since=-5m":                        "since",
		"limit=0":                          "limit",
		"limit=5000":                       "limit",
		"cursor=abc":                       "cursor",
		"colour=red":                       "colour",
		"rule=" + strings.Repeat("x", 201): "rule",
	} {
		v, _ := url.ParseQuery(q)
		_, err := ParseFilter(v, t0)
		pe, ok := err.(*ParseError)
		if !ok || pe.Field != field {
			t.Errorf("%s: %v, want an error about %s", q, err, field)
		}
	}
	f, err := ParseFilter(url.Values{"since": {"15m"}, "limit": {"5"}, "ip": {"::ffff:192.0.2.1"}}, t0)
	if err != nil || !f.Since.Equal(t0.Add(-15*time.Minute)) || f.Limit != 5 || f.IP.String() != "192.0.2.1/32" {
		t.Fatalf("%+v %v", f, err)
	}
}

func TestCounterStatsBucketsRulesAndTops(t *testing.T) {
	now := t0.Add(45 * time.Second)
	c := NewCounter(func() time.Time { return now })
	add := func(ago time.Duration, decision, rule, ip, country string, asn uint32, path, ua string) {
		c.Add(&Record{Kind: "request", Time: now.Add(-ago), Decision: decision, Rule: rule, ClientIP: ip, Country: country, ASN: asn, Path: path, UserAgent: ua})
	}
	for i := 0; i < 30; i++ {
		add(90*time.Second, "allow", "", "198.51.100.1", "FR", 0, "/", "Mozilla")
	}
	for i := 0; i < 5; i++ {
		add(30*time.Second, "block", "path-dotfiles", "203.0.113.9", "NL", 64500, "/.env?x=1", "sqlmap/1.7")
	}
	add(30*time.Second, "throttle", "rl-login", "203.0.113.7", "", 0, "/login/", "")
	add(10*time.Second, "challenge", "under-attack", "203.0.113.9", "NL", 64500, "/", "sqlmap/1.7")
	add(2*time.Hour, "block", "old", "192.0.2.1", "US", 0, "/old", "x")                        // outside 1h
	add(5*time.Second, "respond", "admin-api", "127.0.0.1", "", 0, "/_parapet/api/status", "") // not a refusal
	add(5*time.Second, "allow", "allow-office", "192.0.2.9", "", 0, "/", "")                   // nor this
	c.Add(&Record{Kind: "admin", Time: now, Message: "ban"})                                   // not counted

	st := c.Stats(time.Hour, 10)
	if st.Step != "1m0s" || len(st.Buckets) != 60 {
		t.Fatalf("step %s, %d buckets", st.Step, len(st.Buckets))
	}
	var allow, block, challenge, throttle int64
	for _, b := range st.Buckets {
		allow += b.Allow
		block += b.Block
		challenge += b.Challenge
		throttle += b.Throttle
	}
	if allow != 31 || block != 5 || challenge != 1 || throttle != 1 || st.Buckets[len(st.Buckets)-1].Other != 1 {
		t.Fatalf("totals %d %d %d %d", allow, block, challenge, throttle)
	}
	last := st.Buckets[len(st.Buckets)-1]
	if !last.T.Equal(now.Truncate(time.Minute)) || last.Block != 5 || last.Rules["path-dotfiles"] != 5 {
		t.Fatalf("last bucket %+v", last)
	}
	if st.Buckets[len(st.Buckets)-2].Allow != 30 {
		t.Fatalf("the allows of 90s ago are not in the bucket before: %+v", st.Buckets[len(st.Buckets)-2])
	}
	if fmt.Sprint(st.ByRule) != "map[path-dotfiles:5 rl-login:1 under-attack:1]" {
		t.Fatalf("by rule %v", st.ByRule)
	}
	if fmt.Sprint(st.Top.IPs) != "[{203.0.113.9 6} {203.0.113.7 1}]" ||
		fmt.Sprint(st.Top.Countries) != "[{NL 6}]" ||
		fmt.Sprint(st.Top.ASNs) != "[{AS64500 6}]" ||
		fmt.Sprint(st.Top.Paths) != "[{/.env 5} {/ 1} {/login/ 1}]" ||
		fmt.Sprint(st.Top.UserAgents) != "[{sqlmap/1.7 6} {(none) 1}]" {
		t.Fatalf("tops %+v", st.Top)
	}
	// A day: the 2h-old block is in, in 24m buckets.
	day := c.Stats(24*time.Hour, 1)
	if day.Step != "24m0s" || len(day.Buckets) != 60 || day.ByRule["old"] != 1 || fmt.Sprint(day.Top.IPs) != "[{203.0.113.9 6}]" {
		t.Fatalf("day: step %s, %d buckets, by rule %v, ips %v", day.Step, len(day.Buckets), day.ByRule, day.Top.IPs)
	}
	// Five minutes: 10 s buckets.
	if s := c.Stats(5*time.Minute, 0); s.Step != "10s" || len(s.Buckets) != 30 {
		t.Fatalf("5m: %s %d", s.Step, len(s.Buckets))
	}
}

// A flood of distinct addresses does not grow the top lists past their cap
// and does not hide the one address that keeps coming back.
func TestCounterTopIsBoundedAndKeepsHeavyHitters(t *testing.T) {
	now := t0
	c := NewCounter(func() time.Time { return now })
	for i := 0; i < 20000; i++ {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		if i%10 == 0 {
			ip = "203.0.113.66"
		}
		c.Add(&Record{Kind: "request", Time: now, Decision: "block", ClientIP: ip})
	}
	c.mu.Lock()
	n := len(c.minutes[now.Unix()/60%60].keys[dimIP])
	c.mu.Unlock()
	if n > topCap {
		t.Fatalf("%d keys kept", n)
	}
	top := c.Stats(time.Hour, 1).Top.IPs
	if len(top) != 1 || top[0].Key != "203.0.113.66" || top[0].Count < 2000 {
		t.Fatalf("heavy hitter lost: %v", top)
	}
}

type ringSource struct {
	g *Ring
	c *Counter
}

func (s ringSource) Query(_ context.Context, f Filter) (Page, error) { return s.g.Query(f), nil }
func (s ringSource) Stats(_ context.Context, w time.Duration, n int) (Stats, error) {
	return s.c.Stats(w, n), nil
}

func TestEventsHandler(t *testing.T) {
	g := NewRing(1000)
	for i := 0; i < 300; i++ {
		g.Add(req(i))
	}
	h := EventsHandler(ringSource{g: g})
	get := func(q string, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/_parapet/api/events?"+q, nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("decision=block&limit=2", "")
	var body struct {
		Events []map[string]any `json:"events"`
		Next   string           `json:"next"`
	}
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &body) != nil {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(body.Events) != 2 || body.Next == "" || body.Events[0]["request_id"] != "r297" || body.Events[0]["client_ip"] != "203.0.113.2" ||
		body.Events[0]["rule"] != "path-dotfiles" || body.Events[0]["kind"] != "request" || body.Events[0]["status"] != float64(403) {
		t.Fatalf("%s", w.Body)
	}
	w = get("decision=block&limit=2&cursor="+body.Next, "")
	json.Unmarshal(w.Body.Bytes(), &body)
	if body.Events[0]["request_id"] != "r291" {
		t.Fatalf("second page %s", w.Body)
	}
	// Nothing matches: an empty list, not null.
	if w := get("ip=192.0.2.1", ""); strings.TrimSpace(w.Body.String()) != `{"events":[],"next":""}` {
		t.Fatalf("%s", w.Body)
	}
	// Bad parameters: 400, naming the field.
	w = get("limit=99999", "")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `"field":"limit"`) || !strings.Contains(w.Body.String(), "from 1 to 1000") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	// The NDJSON export streams every match, past the page size.
	w = get("decision=block&limit=7", "application/json;q=0.5, application/x-ndjson")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	sc := bufio.NewScanner(w.Body)
	n := 0
	for sc.Scan() {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Decision != "block" {
			t.Fatalf("line %d: %v %s", n, err, sc.Text())
		}
		n++
	}
	if n != 100 { // 0, 3, ..., 297
		t.Fatalf("%d lines exported, want 100", n)
	}
	if w := httptest.NewRecorder(); true {
		h.ServeHTTP(w, httptest.NewRequest("POST", "/_parapet/api/events", nil))
		if w.Code != 405 {
			t.Fatalf("POST: %d", w.Code)
		}
	}
}

func TestStatsHandler(t *testing.T) {
	c := NewCounter(func() time.Time { return t0 })
	c.Add(&Record{Kind: "request", Time: t0, Decision: "block", Rule: "r1", ClientIP: "203.0.113.1", Path: "/x"})
	h := StatsHandler(ringSource{c: c})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/_parapet/api/stats?window=15m", nil))
	var st struct {
		Window  string `json:"window"`
		Buckets []struct {
			T     time.Time `json:"t"`
			Block int       `json:"block"`
			Allow *int      `json:"allow"`
		} `json:"buckets"`
		ByRule map[string]int `json:"by_rule"`
		Top    map[string][]struct {
			Key   string `json:"key"`
			Count int    `json:"count"`
		} `json:"top"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || w.Code != 200 {
		t.Fatalf("%d %v %s", w.Code, err, w.Body)
	}
	if st.Window != "15m0s" || len(st.Buckets) != 45 || st.Buckets[44].Block != 1 || st.Buckets[0].Allow == nil || st.ByRule["r1"] != 1 ||
		st.Top["ips"][0].Key != "203.0.113.1" || st.Top["paths"][0].Key != "/x" {
		t.Fatalf("%s", w.Body)
	}
	for _, key := range []string{"ips", "countries", "asns", "paths", "user_agents"} {
		if _, ok := st.Top[key]; !ok {
			t.Fatalf("top has no %s: %s", key, w.Body)
		}
	}
	for _, q := range []string{"window=30s", "window=48h", "window=soon", "top=0", "x=1"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/_parapet/api/stats?"+q, nil))
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"errors":[{"field"`) {
			t.Fatalf("%s: %d %s", q, w.Code, w.Body)
		}
	}
}

// Log copies what the request's event carries (already redacted where it
// was built) and its records are the API's.
func TestLogEmitsToRingAndStats(t *testing.T) {
	l, err := New(context.Background(), Options{Instance: "web.1", RingSize: 100, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	red := events.NewRedactor(nil)
	tags := []string{"tor"}
	l.Emit(context.Background(), &events.Event{Time: t0, RequestID: "x", ClientIP: "203.0.113.5", Path: red.Path("/login", "password=hunter2"),
		UserAgent: red.UserAgent("curl/8\n"), Decision: "block", RuleID: "tor", ASN: 64500, Tags: tags, Duration: 1500 * time.Microsecond})
	tags[0] = "changed"
	l.Emit(context.Background(), &events.Event{Kind: events.KindAdmin, Time: t0, Message: "ban 203.0.113.5", Actor: "ops"})
	p, _ := l.Query(context.Background(), Filter{})
	if len(p.Events) != 2 || p.Events[0].Kind != "admin" || p.Events[0].Actor != "ops" {
		t.Fatalf("%+v", p.Events)
	}
	r := p.Events[1]
	if r.Path != "/login?password=REDACTED" || r.UserAgent != "curl/8 " || r.Instance != "web.1" || r.Tags[0] != "tor" || r.DurationMS != 1.5 || r.ASN != 64500 {
		t.Fatalf("%+v", r)
	}
	st, _ := l.Stats(context.Background(), time.Hour, 5)
	if st.ByRule["tor"] != 1 || st.Top.ASNs[0].Key != "AS64500" {
		t.Fatalf("%+v", st)
	}
}

func TestFileRotatesBySizeAndRemovesOldFiles(t *testing.T) {
	dir := t.TempDir()
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	path := filepath.Join(dir, "events.ndjson")
	// A rotated file from 10 days ago, and a stranger that must be left alone.
	old := filepath.Join(dir, "events-20250219T120000.000.ndjson")
	os.WriteFile(old, []byte("{}\n"), 0o600)
	os.Chtimes(old, t0.Add(-10*24*time.Hour), t0.Add(-10*24*time.Hour))
	stranger := filepath.Join(dir, "events-notes.ndjson")
	os.WriteFile(stranger, []byte("keep"), 0o600)
	os.Chtimes(stranger, t0.Add(-10*24*time.Hour), t0.Add(-10*24*time.Hour))

	f, err := OpenFile(FileOptions{Path: path, MaxBytes: 2000, Retention: 7 * 24 * time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("a rotated file past retention was kept at open")
	}
	if _, err := os.Stat(stranger); err != nil {
		t.Fatal("a file that is not a rotated one was removed")
	}
	total := 0
	for i := 0; i < 60; i++ {
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		f.Write(req(i))
		f.Flush() // one line per write, so each rotation happens between lines
		total++
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events*.ndjson"))
	lines := 0
	rotated := 0
	for _, name := range files {
		if name == stranger {
			continue
		}
		data, _ := os.ReadFile(name)
		if len(data) > 2000 {
			t.Fatalf("%s has %d bytes, past the 2000 limit", name, len(data))
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var r Record
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatalf("%s: %v: %q", name, err, l)
			}
			lines++
		}
		if name != path {
			rotated++
		}
	}
	if lines != total || rotated < 2 {
		t.Fatalf("%d lines in %d rotated files (+1), want %d lines and rotation", lines, rotated, total)
	}
	// Reopened later, appending; past retention the rotated ones go.
	f, err = OpenFile(FileOptions{Path: path, MaxBytes: 2000, Retention: time.Nanosecond, Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	files, _ = filepath.Glob(filepath.Join(dir, "events*.ndjson"))
	if len(files) != 2 { // the current file and the stranger
		t.Fatalf("after retention: %v", files)
	}
}
