package waf

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/detect"
)

const (
	mysqlLeak = `<p>Could not load the report: (1064, "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near ''' at line 1")</p>`
	pyTrace   = "Traceback (most recent call last):\n  File \"/app/reports/views.py\", line 12, in report\n"
)

// The leak guard and outbound detection both read the start of the body:
// a page past both prefixes reaches the client once and whole (plain and
// gzipped); a database error is replaced by detection's generic page
// with the hardening headers; a traceback is the leak guard's, which
// runs first, and detection then leaves the replaced response alone.
func TestOutboundDetectionComposesWithLeakGuard(t *testing.T) {
	big := strings.Repeat("<p>An ordinary paragraph about union station and O'Brien.</p>\n", 5000) // 300 KB
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write([]byte(big))
	_ = zw.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write([]byte(big))
		case "/big.gz":
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(zipped.Bytes())
		case "/mysql":
			_, _ = w.Write([]byte(mysqlLeak))
		case "/both":
			w.WriteHeader(500)
			_, _ = w.Write([]byte(mysqlLeak + pyTrace))
		}
	})
	p := startParapet(t, up.URL, "detection:\n  responses:\n    enabled: true\n")

	if resp, body := get(t, p.URL+"/big"); resp.StatusCode != 200 || body != big {
		t.Fatalf("big page: %d, %d bytes of %d", resp.StatusCode, len(body), len(big))
	}
	req, _ := http.NewRequest("GET", p.URL+"/big.gz", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, _ = got.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got.Bytes(), zipped.Bytes()) {
		t.Fatalf("gzipped page: %d, %d bytes of %d", resp.StatusCode, got.Len(), zipped.Len())
	}

	resp, body := get(t, p.URL+"/mysql")
	if resp.StatusCode != 500 || strings.Contains(body, "SQL syntax") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("mysql leak: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = get(t, p.URL+"/both")
	if resp.StatusCode != 500 || strings.Contains(body, "SQL syntax") || strings.Contains(body, "Traceback") {
		t.Fatalf("traceback and mysql: %d %s", resp.StatusCode, body)
	}
	lines := p.logs.linesN(t, 4)
	for i, want := range []string{"", "", "detect-outbound-disclosure", "leak-traceback"} {
		if lines[i]["rule"] != nil && lines[i]["rule"] != want || lines[i]["rule"] == nil && want != "" {
			t.Errorf("line %d: rule %v, want %q: %v", i, lines[i]["rule"], want, lines[i])
		}
	}
	if m, _ := lines[2]["matched_rules"].([]any); len(m) != 1 || m[0] != "951230" || lines[2]["level"] != "ERROR" {
		t.Errorf("outbound event: %v", lines[2])
	}
}

// In the real handler every transaction held for a response is closed,
// whatever becomes of the request: answered, HEAD, the app unreachable,
// its body cut off before or after the inspected prefix, the client gone
// while the app works.
func TestOutboundTransactionsClosedOnEveryPath(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		case "/cut-early", "/cut-late":
			n := 1 << 10
			if r.URL.Path == "/cut-late" {
				n = 200 << 10
			}
			w.Header().Set("Content-Length", fmt.Sprint(2*n))
			_, _ = w.Write(bytes.Repeat([]byte("x"), n))
			w.(http.Flusher).Flush()
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		_, _ = w.Write([]byte("<p>ok</p>"))
	})
	p := startParapet(t, up.URL, "detection:\n  responses:\n    enabled: true\n")
	var det *detect.Stage
	for _, s := range p.handler.Chain().stages {
		if d, ok := s.(*detect.Stage); ok {
			det = d
		}
	}
	if det == nil {
		t.Fatal("no detection stage")
	}
	if resp, _ := get(t, p.URL+"/ok"); resp.StatusCode != 200 {
		t.Fatalf("ok: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("HEAD", p.URL+"/ok", nil)
	if resp, _ := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	if resp, _ := get(t, p.URL+"/?id=1%27%20OR%20%271%27=%271"); resp.StatusCode != 403 {
		t.Fatalf("inbound attack: %d", resp.StatusCode)
	}
	// A body cut inside or after the inspected prefix is cut for the
	// client too (or answered 502): never passed off as complete.
	for _, path := range []string{"/cut-early", "/cut-late"} {
		if resp, err := http.Get(p.URL + path); err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && err == nil {
				t.Fatalf("%s: a cut body passed as complete", path)
			}
		}
	}
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := client.Get(p.URL + "/slow"); err == nil {
		t.Fatal("the impatient client got an answer")
	}
	up.Close() // the app is gone
	if resp, _ := get(t, p.URL+"/ok"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("app gone: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for det.Held() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions still held", det.Held())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
