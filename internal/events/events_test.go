package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// jwt is a signed JSON Web Token (HS256, {"sub":"1234567890"}).
const jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

func TestRedactorPath(t *testing.T) {
	r := NewRedactor([]string{"email"})
	cases := map[[2]string]string{
		{"/a", ""}:                               "/a",
		{"/a", "q=1"}:                            "/a?q=1",
		{"/s", "q=x&password=p&Email=e"}:         "/s?q=x&password=REDACTED&Email=REDACTED",
		{"/s", "access_token=t&next=/x"}:         "/s?access_token=REDACTED&next=/x",
		{"/s", "csrfmiddlewaretoken=abc&flag"}:   "/s?csrfmiddlewaretoken=REDACTED&flag",
		{"/s", "pass%77ord=x"}:                   "/s?pass%77ord=REDACTED",
		{"/s", "%zz=secret"}:                     "/s?%zz=REDACTED",
		{"/s", "API_KEY=1&sessionid=2&sig=3&a="}: "/s?API_KEY=REDACTED&sessionid=REDACTED&sig=REDACTED&a=",
		// JWTs under any name and in the path; "eyJ" alone is no token.
		{"/s", "t=" + jwt + "&next=/eyJhbGciOi"}:                           "/s?t=REDACTED&next=/eyJhbGciOi",
		{"/verify/" + jwt + "/", ""}:                                       "/verify/REDACTED/",
		{"/v/" + jwt[:len(jwt)-44] + ".", "x=1"}:                           "/v/REDACTED?x=1",
		{"/a", "keyJ=x&q=Bearer%20eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x"}: "/a?keyJ=REDACTED&q=Bearer%20REDACTED",
	}
	for in, want := range cases {
		if got := r.Path(in[0], in[1]); got != want {
			t.Errorf("Path(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

// A line reaches the underlying writer at once when the writer is idle,
// without waiting for a timer, Flush or Close. A line that follows a write
// closer than the linger interval (an hour here) waits for it, or for Flush.
func TestBufferedWriterWritesLinesAsTheyCome(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := NewBufferedWriter(lockedWriter{&mu, &out}, 1024, time.Hour)
	defer w.Close()
	lines := func() int {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(out.String(), "\n")
	}
	fmt.Fprint(w, "line one\n")
	for deadline := time.Now().Add(5 * time.Second); lines() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("line one not written while the writer was idle: %d lines", lines())
		}
	}
	fmt.Fprint(w, "line two\n")
	time.Sleep(50 * time.Millisecond)
	if n := lines(); n != 1 {
		t.Fatalf("line two was written within the linger interval (%d lines)", n)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := lines(); n != 2 {
		t.Fatalf("Flush did not write line two (%d lines)", n)
	}
}

// countingWriter counts the writes it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes int
	out    bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	return c.out.Write(p)
}

// Under a steady stream of lines, the writer writes about once per linger
// interval (not once per line or per wake-up), and loses nothing.
func TestBufferedWriterLingersUnderLoad(t *testing.T) {
	c := &countingWriter{}
	w := NewBufferedWriter(c, 1<<20, 50*time.Millisecond)
	n := 0
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; n++ {
		fmt.Fprintf(w, "line %d\n", n)
		time.Sleep(100 * time.Microsecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := strings.Count(c.out.String(), "\n"); got != n {
		t.Fatalf("%d lines written, want %d", got, n)
	}
	// 300 ms at one write per 50 ms: 7 or 8; every line alone would be n.
	if c.writes > 12 {
		t.Fatalf("%d writes for %d lines over 300 ms with a 50 ms linger", c.writes, n)
	}
}

// gateWriter blocks each Write until the test lets it through, recording
// each batch it was given.
type gateWriter struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	batches []string
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.started <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.batches = append(g.batches, string(p))
	g.mu.Unlock()
	return len(p), nil
}

// While a write is under way, the lines that arrive queue up and go out
// together in the next write; a full queue makes writers wait, and
// nothing is lost or split.
func TestBufferedWriterBatchesWhileBusy(t *testing.T) {
	g := &gateWriter{started: make(chan struct{}, 100), release: make(chan struct{}, 100)}
	w := NewBufferedWriter(g, 20, 0)
	fmt.Fprint(w, "first\n")
	<-g.started // the goroutine is writing "first"
	fmt.Fprint(w, "a\n")
	fmt.Fprint(w, "b\n")
	fmt.Fprint(w, "c\n")
	blocked := make(chan struct{})
	go func() {
		fmt.Fprint(w, "a-longer-line-\n") // 6 queued + 15 > 20: waits for room
		close(blocked)
	}()
	select {
	case <-blocked:
		t.Fatal("a write past the queue's size did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	g.release <- struct{}{} // "first" done
	<-g.started             // "a b c" being written
	<-blocked
	g.release <- struct{}{}
	<-g.started
	g.release <- struct{}{}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"first\n", "a\nb\nc\n", "a-longer-line-\n"}
	if fmt.Sprint(g.batches) != fmt.Sprint(want) {
		t.Fatalf("batches %q, want %q", g.batches, want)
	}
	if _, err := fmt.Fprint(w, "late\n"); err == nil {
		t.Fatal("a write after Close succeeded")
	}
}

func TestBufferedWriterCloseWritesEverything(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	w := NewBufferedWriter(lockedWriter{&mu, &out}, 64, 0)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2000 {
		t.Fatalf("%d lines written, want 2000", n)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "g") || !strings.Contains(l, " line ") {
			t.Fatalf("line split or mixed: %q", l)
		}
	}
}

func TestRedactorUserAgent(t *testing.T) {
	r := NewRedactor(nil)
	long := strings.Repeat("é", 200) // 400 bytes
	for in, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64)": "Mozilla/5.0 (X11; Linux x86_64)",
		"bot/1 token=" + jwt:              "bot/1 token=REDACTED",
		"a\r\nb\x00c":                     "a  b c",
		long:                              strings.Repeat("é", 128) + "...",
	} {
		if got := r.UserAgent(in); got != want {
			t.Errorf("UserAgent(%q) = %q, want %q", in, got, want)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestLineSinkWritesValidJSON(t *testing.T) {
	var out bytes.Buffer
	e := &Event{Time: time.Unix(0, 0).UTC(), RequestID: "r1", ClientIP: "192.0.2.1", Method: "GET", Host: "h",
		Path: "/a\"b\\c\n<script>\x01\xff", Status: 403, Bytes: 12, Duration: 1500 * time.Microsecond,
		Decision: "block", RuleID: "x", Mode: "enforce", Tags: []string{"tor", "é"}, Monitored: []string{"m:log"},
		Matched: []string{"942100", "941160"}, Inspection: 420 * time.Microsecond, ASN: 64500, UserAgent: "curl/8"}
	LineSink{W: &out}.Emit(context.Background(), e)
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if m["path"] != "/a\"b\\c\n<script>\x01\ufffd" || m["level"] != "WARN" || m["duration_ms"] != 1.5 || m["detect_ms"] != 0.42 || m["status"] != float64(403) ||
		fmt.Sprint(m["matched_rules"]) != "[942100 941160]" || m["asn"] != float64(64500) || m["user_agent"] != "curl/8" {
		t.Fatalf("%v", m)
	}
	if !strings.HasSuffix(out.String(), "}\n") || strings.Count(out.String(), "\n") != 1 {
		t.Fatal("not exactly one line")
	}
	out.Reset()
	LineSink{W: &out}.Emit(context.Background(), &Event{Decision: "allow"})
	if strings.Contains(out.String(), "detect_ms") {
		t.Fatalf("a request detection did not inspect has detect_ms: %s", out.String())
	}
	out.Reset()
	LineSink{W: &out, Level: slog.LevelWarn}.Emit(context.Background(), &Event{Decision: "allow"})
	if out.Len() != 0 {
		t.Fatal("info line written below the level")
	}
}

// A happening that is not a request is one line named after its kind,
// without the request fields.
func TestLineSinkWritesHappenings(t *testing.T) {
	var out bytes.Buffer
	LineSink{W: &out}.Emit(context.Background(), &Event{Kind: KindAdmin, Time: time.Unix(0, 0).UTC(), Message: "ban 203.0.113.9 for 1h", Actor: "ops"})
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if m["msg"] != "admin" || m["message"] != "ban 203.0.113.9 for 1h" || m["actor"] != "ops" || m["level"] != "INFO" {
		t.Fatalf("%v", m)
	}
	if _, ok := m["status"]; ok {
		t.Fatalf("a happening has request fields: %v", m)
	}
}

// FuzzLineSink: any strings give one valid JSON line that decodes back
// to the same text (invalid UTF-8 replaced).
func FuzzLineSink(f *testing.F) {
	f.Add("/path?q=1", "tag", "\x00\"\\\u2028")
	f.Fuzz(func(t *testing.T, path, tag, reason string) {
		var out bytes.Buffer
		LineSink{W: &out}.Emit(context.Background(), &Event{Path: path, Tags: []string{tag}, Reason: reason, Decision: "allow"})
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %v %q", err, out.String())
		}
		if want := string([]rune(path)); m["path"] != want { // each invalid byte becomes U+FFFD
			t.Fatalf("path %q decoded as %q", want, m["path"])
		}
	})
}

// Bearer credentials whose spelling hid them from the redactor (the third
// hostile review): a JWT whose dots are "%2E" (Django decodes the query,
// the view reads a JWT), and the links Django mails, which work for
// whoever holds them: the password reset link /reset/<uidb64>/<token>/
// (the token below is what Django 3.2's PasswordResetTokenGenerator
// made), the same link in a login's ?next=, django-allauth's
// <uidb36>-<token>, and django.core.signing's values (email confirmation,
// unsubscribe links). Before, each was logged as it came.
func TestReview4RedactorHidesEncodedJWTsAndDjangoLinks(t *testing.T) {
	r := NewRedactor(nil)
	dotted := strings.ReplaceAll(jwt, ".", "%2E")
	const reset = "dj3nl4-61d4994c280badc8e9e7c91f2735c3ee"
	const signed = "eyJ1IjoxfQ:1xZitk:S4eW7TctBIwyR_vLHLhzbUB5GU2zAX14nz_0Bb9LNbk"
	cases := map[[2]string]string{
		{"/api/", "t=" + dotted}:                                               "/api/?t=REDACTED",
		{"/api/", "t=%65yJ" + dotted[3:]}:                                      "/api/?t=REDACTED",
		{"/reset/MQ/" + reset + "/", ""}:                                       "/reset/MQ/REDACTED/",
		{"/reset/MQ/" + reset[:7] + reset[7:27] + "/", "a=1"}:                  "/reset/MQ/REDACTED/?a=1",
		{"/login/", "next=/reset/MQ/" + reset + "/"}:                           "/login/?next=REDACTED",
		{"/login/", "next=%2Freset%2FMQ%2F" + reset + "%2F"}:                   "/login/?next=REDACTED",
		{"/accounts/password/reset/key/1-" + reset + "/", ""}:                  "/accounts/password/reset/key/REDACTED/",
		{"/confirm-email/" + signed + "/", ""}:                                 "/confirm-email/REDACTED/",
		{"/unsubscribe/a@b.c:IyvYWuigO3SM57SVzhaAQtH4Jr3gj8i1njydFwz7WLE", ""}: "/unsubscribe/REDACTED",
		// What only looks a little like them stays.
		{"/reset/MQ/set-password/", ""}:                      "/reset/MQ/set-password/",
		{"/blog/2024-01-02/my-post/", "x=a-b"}:               "/blog/2024-01-02/my-post/?x=a-b",
		{"/p/deadbeef-cafe/", "t=12:30"}:                     "/p/deadbeef-cafe/?t=12:30",
		{"/items/550e8400-e29b-41d4-a716-446655440000/", ""}: "/items/550e8400-e29b-41d4-a716-446655440000/",
	}
	for in, want := range cases {
		if got := r.Path(in[0], in[1]); got != want {
			t.Errorf("Path(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

// A request can make an event's fields as long as its request line and
// headers allow (a 30 KB path gets 414 but is still logged): every sink
// gets the event bounded, whatever the client sent.
func TestEventsAreBoundedWhateverTheRequest(t *testing.T) {
	long := strings.Repeat("é", 20000) // 40 KB, two bytes per character
	tags := make([]string, 500)
	for i := range tags {
		tags[i] = long
	}
	e := &Event{Kind: KindRequest, Path: "/" + long, Host: long, Method: long, Reason: long, Message: long, Error: long,
		UserAgent: long, RequestID: long, RuleID: long, Actor: long, Tags: tags, Matched: tags, Monitored: tags}
	var out bytes.Buffer
	Multi{LineSink{W: &out}}.Emit(context.Background(), e)
	if n := out.Len(); n > 64<<10 {
		t.Fatalf("one event made a %d-byte log line", n)
	}
	if len(e.Path) > MaxPath+3 || len(e.Host) > MaxHost+3 || len(e.Tags) > MaxList || len(e.Tags[0]) > MaxID+3 {
		t.Fatalf("fields not bounded: path %d, host %d, %d tags", len(e.Path), len(e.Host), len(e.Tags))
	}
	if !strings.HasSuffix(e.Path, "é...") || tags[0] != long {
		t.Fatalf("path not cut on a character boundary (%q), or the caller's list was modified", e.Path[len(e.Path)-8:])
	}
}
