package detect

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// mysqlError is what a view with a bare `except Exception as e: return
// HttpResponse(str(e))` shows when MySQL refuses its query.
const mysqlError = `<html><body><p>Could not load the report: (1064, "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '\'' ORDER BY name' at line 1")</p></body></html>`

// javaError adds a second leak class (CRS 952: Java errors).
const javaError = `<pre>java.lang.NullPointerException
	at com.example.ReportServlet.doGet(ReportServlet.java:42)
	at javax.servlet.http.HttpServlet.service(HttpServlet.java:634)</pre>`

const responsesOn = "detection:\n  responses:\n    enabled: true\n"

// upstreamResponse is the response a proxy hands to ModifyResponse.
func upstreamResponse(r *http.Request, status int, contentType, encoding string, body []byte) *http.Response {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if encoding != "" {
		h.Set("Content-Encoding", encoding)
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}
}

// roundTrip runs a request through Check and its response through
// CheckResponse, as the chain does, and returns the decision on the way
// in, the (possibly replaced) response with its body read, and the info.
func roundTrip(t *testing.T, s *Stage, r *http.Request, resp func(*http.Request) *http.Response) (decision.Decision, *http.Response, []byte, *decision.Info) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the handler returned
	r = r.WithContext(ctx)
	inf := info()
	d := s.Check(ctx, r, inf)
	if d.Decided() {
		return d, nil, nil, inf
	}
	res := resp(r)
	if err := s.CheckResponse(ctx, res, inf); err != nil {
		t.Fatalf("CheckResponse: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if n := s.out.open.Load(); n != 0 {
		t.Fatalf("%d transactions still held after the response", n)
	}
	return d, res, body, inf
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// A page leaking a MySQL error is replaced by the generic error page,
// compressed or not (in every coding the leak guard reads, the same
// decoder); the CRS rule ids go to the decision, not the page.
func TestOutboundLeakReplacedByGenericPage(t *testing.T) {
	s := stageFromYAML(t, responsesOn)
	for _, enc := range []string{"", "gzip", "zstd", "deflate", "gzip, br"} {
		body := []byte(mysqlError)
		if enc != "" {
			body = testenv.Encode(t, body, strings.Split(enc, ", ")...)
		}
		_, res, page, inf := roundTrip(t, s, browserRequest("GET", "/reports/?sort=name", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 200, "text/html; charset=utf-8", enc, body)
		})
		if res.StatusCode != 500 || res.Header.Get("Content-Encoding") != "" || res.Header.Get("Content-Length") != fmt.Sprint(len(page)) {
			t.Fatalf("%q: %d %v", enc, res.StatusCode, res.Header)
		}
		if !bytes.Contains(page, []byte(inf.ID)) || bytes.Contains(page, []byte("SQL syntax")) || bytes.Contains(page, []byte("951")) {
			t.Fatalf("%q: page %s", enc, page)
		}
		f := inf.Final
		t.Logf("%q: %s %v: %s", enc, f.RuleID, f.Rules, f.Reason)
		if !f.Decided() || !strings.HasPrefix(f.RuleID, RuleOutbound) || !f.Critical || !strings.Contains(strings.Join(f.Rules, ","), "951230") {
			t.Fatalf("%q: decision %+v", enc, f)
		}
		for _, id := range f.Rules {
			if !strings.HasPrefix(id, "95") || strings.HasPrefix(id, "959") {
				t.Errorf("%q: rule %s is not a response leak rule: %v", enc, id, f.Rules)
			}
		}
	}
	// An upstream 5xx keeps its status.
	_, res, _, _ := roundTrip(t, s, browserRequest("GET", "/reports/", nil), func(r *http.Request) *http.Response {
		return upstreamResponse(r, 503, "text/html", "", []byte(mysqlError))
	})
	if res.StatusCode != 503 {
		t.Fatalf("upstream 503 became %d", res.StatusCode)
	}
}

// The outbound threshold is CRS's >=: one critical leak (score 5) is
// blocked at 4 and 5, passes at 6; two leaks (10) are blocked at 6.
func TestOutboundThresholdEdges(t *testing.T) {
	for _, c := range []struct {
		threshold int
		body      string
		blocked   bool
	}{
		{4, mysqlError, true},
		{5, mysqlError, true},
		{6, mysqlError, false},
		{6, mysqlError + javaError, true},
		{11, mysqlError + javaError, false},
		{1, "<html><body>nothing to see</body></html>", false},
	} {
		s := stageFromYAML(t, fmt.Sprintf("detection:\n  outbound_threshold: %d\n  responses:\n    enabled: true\n", c.threshold))
		_, res, body, inf := roundTrip(t, s, browserRequest("GET", "/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 200, "text/html", "", []byte(c.body))
		})
		if blocked := res.StatusCode == 500; blocked != c.blocked {
			t.Errorf("threshold %d, %d bytes: status %d, want blocked=%v (%+v)", c.threshold, len(c.body), res.StatusCode, c.blocked, inf.Final)
		}
		if !c.blocked && string(body) != c.body {
			t.Errorf("threshold %d: body changed", c.threshold)
		}
	}
}

// Monitor mode lets the response through unchanged and records what
// would have been blocked.
func TestOutboundMonitorMode(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  mode: monitor\n  responses:\n    enabled: true\n")
	_, res, body, inf := roundTrip(t, s, browserRequest("GET", "/", nil), func(r *http.Request) *http.Response {
		return upstreamResponse(r, 200, "text/html", "", []byte(mysqlError))
	})
	if res.StatusCode != 200 || string(body) != mysqlError || inf.Final.Decided() {
		t.Fatalf("monitor: %d %s", res.StatusCode, body)
	}
	if len(inf.Matched) != 1 || inf.Matched[0].Mode != decision.Monitor || !strings.HasPrefix(inf.Matched[0].RuleID, RuleOutbound) || len(inf.Matched[0].Rules) == 0 {
		t.Fatalf("monitor record: %+v", inf.Matched)
	}
}

// Passing bodies reach the client byte for byte: larger than the
// inspected prefix, compressed, of types not inspected, with an encoding
// Parapet cannot read (tagged), or not what their encoding claims.
func TestOutboundPassingBodiesUnchanged(t *testing.T) {
	s := stageFromYAML(t, responsesOn+"    body_limit: 4KB\n")
	big := []byte("<html><body>" + strings.Repeat("<p>An ordinary paragraph about union station.</p>\n", 10000) + mysqlError)
	for _, c := range []struct {
		name, ct, enc string
		body          []byte
		tag           string
	}{
		{"leak past the inspected prefix", "text/html", "", big, ""},
		{"gzip", "text/html", "gzip", gz(big), ""},
		{"not a listed type", "application/octet-stream", "", []byte(mysqlError), ""},
		{"compress", "text/html", "compress", []byte(mysqlError), "detect-response-uninspected:compress"},
		{"zstd that is not", "text/html", "zstd", []byte(mysqlError), ""},
		{"gzip that is not", "text/html", "gzip", []byte(mysqlError), ""},
		{"empty", "text/html", "", nil, ""},
	} {
		_, res, body, inf := roundTrip(t, s, browserRequest("GET", "/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 200, c.ct, c.enc, c.body)
		})
		if res.StatusCode != 200 || !bytes.Equal(body, c.body) || inf.Final.Decided() {
			t.Errorf("%s: %d, %d bytes back of %d", c.name, res.StatusCode, len(body), len(c.body))
		}
		if c.tag != "" && (len(inf.Tags) != 1 || inf.Tags[0] != c.tag) {
			t.Errorf("%s: tags %v", c.name, inf.Tags)
		}
	}
	// HEAD answers and protocol switches are left alone.
	for _, m := range []string{"HEAD", "GET"} {
		status := 200
		if m == "GET" {
			status = http.StatusSwitchingProtocols
		}
		_, res, body, _ := roundTrip(t, s, browserRequest(m, "/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, status, "text/html", "", []byte(mysqlError))
		})
		if res.StatusCode != status || string(body) != mysqlError {
			t.Errorf("%s %d: %d", m, status, res.StatusCode)
		}
	}
}

// errAfter is an upstream body that fails after some bytes.
type errAfter struct{ n int }

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("connection reset by peer")
	}
	n := min(len(p), e.n)
	for i := range p[:n] {
		p[i] = 'a'
	}
	e.n -= n
	return n, nil
}

// Every transaction is closed and every slot given back, whatever
// happens: a response, an upstream failing mid-body, no response at all
// (the request refused later, the upstream unreachable, the client
// gone), an inbound block, and all of them at once.
func TestOutboundTransactionsNeverLeak(t *testing.T) {
	s := stageFromYAML(t, responsesOn)
	goroutines := runtime.NumGoroutine()

	// Inbound block: nothing held.
	r := browserRequest("GET", "/?id=1%27%20OR%20%271%27=%271", nil)
	if d := s.Check(r.Context(), r, info()); !d.Decided() || s.out.open.Load() != 0 {
		t.Fatalf("inbound block: %+v, %d held", d, s.out.open.Load())
	}

	// No response: the request's context ends (the handler returned).
	ctx, cancel := context.WithCancel(context.Background())
	r = browserRequest("GET", "/", nil).WithContext(ctx)
	inf := info()
	s.Check(ctx, r, inf)
	if s.out.open.Load() != 1 {
		t.Fatalf("held %d after a passing request, want 1", s.out.open.Load())
	}
	cancel()
	waitHeld(t, s, 0)
	// A response arriving after that finds nothing to do, and passes.
	res := upstreamResponse(r, 200, "text/html", "", []byte(mysqlError))
	if err := s.CheckResponse(ctx, res, inf); err != nil || res.StatusCode != 200 {
		t.Fatalf("late response: %v %d", err, res.StatusCode)
	}

	// The upstream fails half-way through the inspected prefix.
	ctx, cancel = context.WithCancel(context.Background())
	r = browserRequest("GET", "/", nil).WithContext(ctx)
	inf = info()
	s.Check(ctx, r, inf)
	res = upstreamResponse(r, 200, "text/html", "", nil)
	res.Body = io.NopCloser(&errAfter{n: 100})
	if err := s.CheckResponse(ctx, res, inf); err == nil {
		t.Fatal("a body failing mid-read was not reported")
	}
	cancel()
	if s.out.open.Load() != 0 || len(s.slots) != 0 {
		t.Fatalf("after an upstream error: %d held, %d slots taken", s.out.open.Load(), len(s.slots))
	}

	// Many at once, the client going away while its response is inspected.
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			r := browserRequest("GET", "/", nil).WithContext(ctx)
			inf := &decision.Info{ID: fmt.Sprint("req-", i), ClientIP: info().ClientIP}
			s.Check(ctx, r, inf)
			res := upstreamResponse(r, 200, "text/html", "", []byte(mysqlError))
			if i%2 == 0 {
				go cancel()
			}
			if err := s.CheckResponse(ctx, res, inf); err != nil {
				t.Error(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			cancel()
		}()
	}
	wg.Wait()
	waitHeld(t, s, 0)
	if len(s.slots) != 0 {
		t.Fatalf("%d slots still taken", len(s.slots))
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Fatalf("%d goroutines, %d before", n, goroutines)
	}
}

func waitHeld(t *testing.T, s *Stage, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.out.open.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions held, want %d", s.out.open.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// With responses off (the default), no transaction outlives Check and
// the stage leaves responses alone.
func TestOutboundOffByDefault(t *testing.T) {
	s := stageFromYAML(t, "")
	if s.out != nil {
		t.Fatal("response inspection on by default")
	}
	r := browserRequest("GET", "/", nil)
	inf := info()
	s.Check(r.Context(), r, inf)
	res := upstreamResponse(r, 200, "text/html", "", []byte(mysqlError))
	if err := s.CheckResponse(r.Context(), res, inf); err != nil || res.StatusCode != 200 {
		t.Fatalf("%v %d", err, res.StatusCode)
	}
}

// BenchmarkOutboundHeldMemory reports the heap each request holds while
// the app works on it with detection.responses on: its transaction stays
// open between Check and CheckResponse (with responses off it is closed
// at once and holds nothing):
//
//	go test -run '^$' -bench OutboundHeldMemory ./internal/detect/
func BenchmarkOutboundHeldMemory(b *testing.B) {
	s := stageFromYAML(b, responsesOn)
	for _, c := range []struct {
		name string
		make func() *http.Request
	}{{"GET", typicalGET}, {"POST2KB", func() *http.Request { return formPOST(form2KB()) }}} {
		b.Run(c.name, func(b *testing.B) {
			const held = 200
			for b.Loop() {
				var cancels []context.CancelFunc
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := range held {
					ctx, cancel := context.WithCancel(context.Background())
					cancels = append(cancels, cancel)
					r := c.make().WithContext(ctx)
					if d := s.Check(ctx, r, &decision.Info{ID: fmt.Sprint(i)}); d.Decided() {
						b.Fatalf("blocked: %s", d.Reason)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/held/1024, "KB/held")
				for _, cancel := range cancels {
					cancel()
				}
				deadline := time.Now().Add(5 * time.Second)
				for s.out.open.Load() != 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}

// At paranoia level 2 the CRS scores any 5xx from the app (950100): the
// app's own error page becomes the generic one, keeping its status. At
// level 1 it passes.
func TestOutboundParanoia2ReplacesAppErrorPages(t *testing.T) {
	page := "<html><body><h1>Sorry, something broke</h1></body></html>"
	for _, pl := range []int{1, 2} {
		s := stageFromYAML(t, fmt.Sprintf("detection:\n  paranoia_level: %d\n  responses:\n    enabled: true\n", pl))
		_, res, body, inf := roundTrip(t, s, browserRequest("GET", "/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 503, "text/html", "", []byte(page))
		})
		replaced := string(body) != page
		if res.StatusCode != 503 || replaced != (pl == 2) || pl == 2 && strings.Join(inf.Final.Rules, ",") != "950100" {
			t.Errorf("paranoia %d: %d replaced=%v %+v", pl, res.StatusCode, replaced, inf.Final)
		}
	}
}

// A request waiting for the app holds no inspection slot: with one slot,
// a second request is inspected while the first is still held.
func TestOutboundWaitHoldsNoSlot(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  max_concurrent: 1\n  responses:\n    enabled: true\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := browserRequest("GET", "/slow/", nil).WithContext(ctx)
	inf := info()
	s.Check(ctx, first, inf)
	done := make(chan decision.Decision, 1)
	go func() {
		r := browserRequest("GET", "/?id=1%27%20OR%20%271%27=%271", nil)
		done <- s.Check(r.Context(), r, &decision.Info{ID: "second", ClientIP: inf.ClientIP})
	}()
	select {
	case d := <-done:
		if !d.Decided() {
			t.Fatalf("second request not inspected: %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second request waited for the slot of one waiting on the app")
	}
	if s.Held() != 1 {
		t.Fatalf("held %d", s.Held())
	}
	res := upstreamResponse(first, 200, "text/html", "", []byte("<p>ok</p>"))
	if err := s.CheckResponse(ctx, res, inf); err != nil || s.Held() != 0 || len(s.slots) != 0 {
		t.Fatalf("%v, held %d, slots %d", err, s.Held(), len(s.slots))
	}
}

// The Django profile's response rules catch what the CRS misses at
// paranoia level 1: PostgreSQL errors as psycopg2 words them and SQLite
// errors as Python's sqlite3 does, in HTML and JSON-escaped, and not
// prose or code about databases. Without the profile they pass.
func TestOutboundDjangoDatabaseErrors(t *testing.T) {
	on := stageFromYAML(t, responsesOn)
	off := stageFromYAML(t, "detection:\n  django_profile: false\n  responses:\n    enabled: true\n")
	for _, c := range []struct {
		name, contentType, body, rule string
	}{
		{"psycopg2 syntax error", "text/html", `<p>Could not load the report: syntax error at or near "'"` + "\nLINE 1: SELECT * FROM reports WHERE name = ''' ORDER BY name\n</p>", "4100101"},
		{"psycopg2 syntax error in JSON", "application/json", `{"error": "syntax error at or near \"'\"\nLINE 1: SELECT * FROM reports WHERE name = '''\n"}`, "4100101"},
		{"unterminated string", "text/html", `<p>unterminated quoted string at or near "'1 ORDER BY 1"</p>`, "4100101"},
		{"truncated query", "text/plain", "syntax error at end of input\nLINE 1: SELECT * FROM reports WHERE id =\n", "4100101"},
		{"bad integer", "application/json", `{"detail": "invalid input syntax for type integer: \"1 OR 1=1\""}`, "4100101"},
		{"unknown column", "text/html", `<p>column "passwd" does not exist</p>`, "4100101"},
		{"operator", "text/html", `<p>operator does not exist: integer = text</p>`, "4100101"},
		{"sqlite syntax error", "text/html", `<p>Could not load the report: near "ORDER": syntax error</p>`, "4100102"},
		{"sqlite syntax error in JSON", "application/json", `{"error": "near \"'\": syntax error"}`, "4100102"},
		{"sqlite unrecognized token", "text/html", `<p>unrecognized token: "'''"</p>`, "4100102"},
		{"sqlite unknown table", "text/plain", "no such table: auth_user2", "4100102"},
		// Through a Django template ({{ error }}): quotes become entities.
		{"psycopg2 syntax error, template-escaped", "text/html", `<p class="error">syntax error at or near &quot;&#x27;&quot;` + "\nLINE 1: SELECT * FROM reports WHERE name = &#x27;&#x27;&#x27;\n</p>", "4100101"},
		{"unknown column, template-escaped", "text/html", `<p>column &quot;passwd&quot; does not exist</p>`, "4100101"},
		{"sqlite syntax error, template-escaped", "text/html", `<p>near &quot;&#x27;&quot;: syntax error</p>`, "4100102"},
		{"sqlite unknown column in JSON", "application/json", `{"error": "no such column: passwd"}`, "4100102"},
	} {
		_, res, page, inf := roundTrip(t, on, browserRequest("GET", "/reports/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 200, c.contentType, "", []byte(c.body))
		})
		if res.StatusCode != 500 || bytes.Contains(page, []byte(c.body[:12])) || strings.Join(inf.Final.Rules, ",") != c.rule || inf.Final.RuleID != RuleOutbound+"-disclosure" {
			t.Errorf("%s: %d %+v", c.name, res.StatusCode, inf.Final)
		}
		_, res, page, _ = roundTrip(t, off, browserRequest("GET", "/reports/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 200, c.contentType, "", []byte(c.body))
		})
		if res.StatusCode != 200 || string(page) != c.body {
			t.Errorf("%s, without the Django profile: %d", c.name, res.StatusCode)
		}
	}
	for _, prose := range []string{
		`<p>The server reports a syntax error at or near the first token it cannot parse; read the LINE marker.</p>`,
		`<p>If a column does not exist, Django's migrate tells you which one. No such table? Run migrate.</p>`,
		`<pre>cursor.execute("SELECT * FROM reports WHERE name = %s", [name])  # never format SQL yourself</pre>`,
		`<p>The operator does not exist in SQLite; near the end of this guide we show a syntax error.</p>`,
		`{"results": ["union station", "O'Brien", "select * from timetable", "near \"the station\""]}`,
		`<p>Sorry, there is no such table: we seat walk-ins at the bar. No such column: ask at the desk.</p>`,
	} {
		_, res, page, inf := roundTrip(t, on, browserRequest("GET", "/blog/", nil), func(r *http.Request) *http.Response {
			return upstreamResponse(r, 200, "text/html", "", []byte(prose))
		})
		if res.StatusCode != 200 || string(page) != prose {
			t.Errorf("prose blocked: %q: %+v", prose, inf.Final)
		}
	}
}
