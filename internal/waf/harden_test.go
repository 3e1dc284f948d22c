package waf

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

const djangoDebug404 = `<!DOCTYPE html><html lang="en"><head><meta name="robots" content="NONE,NOARCHIVE"><title>Page not found at /nope/</title></head>
<body><p>You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p></body></html>`

const traceback = "Internal Server Error: /boom/\nTraceback (most recent call last):\n  File \"/app/views.py\", line 3, in boom\nRuntimeError: x\n"

func TestSecurityHeadersAndCookies(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "gunicorn")
		w.Header().Set("X-Powered-By", "Django")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN") // the app's own choice is kept
		w.Header().Add("Set-Cookie", "sessionid=abc; Path=/; Max-Age=1209600")
		w.Header().Add("Set-Cookie", "csrftoken=def; Path=/; SameSite=Strict")
		w.Header().Add("Set-Cookie", "theme=dark; Path=/")
		fmt.Fprint(w, "ok")
	})
	p := startParapet(t, up.URL, "trusted_proxies: [loopback]\nharden:\n  csp:\n    policy: \"default-src 'self'\"\n")
	resp, _ := get(t, p.URL+"/", "X-Forwarded-Proto", "https")
	h := resp.Header
	for name, want := range map[string]string{
		"X-Content-Type-Options":              "nosniff",
		"X-Frame-Options":                     "SAMEORIGIN",
		"Referrer-Policy":                     "same-origin",
		"Cross-Origin-Opener-Policy":          "same-origin",
		"Strict-Transport-Security":           "max-age=31536000; includeSubDomains",
		"Content-Security-Policy-Report-Only": "default-src 'self'; report-uri /_parapet/csp-report",
		"Server":                              "",
		"X-Powered-By":                        "",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	cookies := strings.Join(h.Values("Set-Cookie"), "\n")
	for _, want := range []string{
		"sessionid=abc; Path=/; Max-Age=1209600; Secure; HttpOnly; SameSite=Lax",
		"csrftoken=def; Path=/; SameSite=Strict; Secure",
		"theme=dark; Path=/",
	} {
		if !strings.Contains(cookies, want+"\n") && !strings.HasSuffix(cookies, want) {
			t.Errorf("cookies lack %q:\n%s", want, cookies)
		}
	}
	line := p.logs.linesN(t, 1)[0]
	if tags := fmt.Sprint(line["tags"]); !strings.Contains(tags, "missing:x-content-type-options") || strings.Contains(tags, "missing:x-frame-options") {
		t.Errorf("missing-header tags: %s", tags)
	}
	// Over plain HTTP: no HSTS, and no Secure flag (browsers would drop the cookie).
	resp, _ = get(t, p.URL+"/")
	if resp.Header.Get("Strict-Transport-Security") != "" || strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), ";"), "Secure") {
		t.Errorf("HTTPS-only hardening over HTTP: %v", resp.Header)
	}
}

func TestLeakGuardStopsDebugPagesTracebacksAndSecrets(t *testing.T) {
	cases := []struct {
		name, body, encoding, ctype string
		status                      int
		rule                        string
	}{
		{"django debug 404", djangoDebug404, "", "text/html", 404, "leak-debug-page"},
		{"traceback in a 500", traceback, "", "text/plain", 500, "leak-traceback"},
		{"gzip debug page", djangoDebug404, "gzip", "text/html", 404, "leak-debug-page"},
		{"brotli traceback", traceback, "br", "text/html", 500, "leak-traceback"},
		{"AWS key in a 200", `{"key": "AKIAIOSFODNN7EXAMPLE"}`, "", "application/json", 200, "leak-secret"},
		{"database URL", "DATABASE_URL=postgres://app:s3cr3t@db.internal:5432/app", "", "text/plain", 200, "leak-secret"},
		{"configured secret", "token: my-own-secret-value-123", "", "text/plain", 200, "leak-secret"},
		{"traceback after 40 KB, chunked", strings.Repeat("x", 40<<10) + traceback, "", "text/html", 500, "leak-traceback"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				body := []byte(c.body)
				switch c.encoding {
				case "gzip":
					var b bytes.Buffer
					zw := gzip.NewWriter(&b)
					zw.Write(body)
					zw.Close()
					body = b.Bytes()
				case "br":
					var b bytes.Buffer
					bw := brotli.NewWriter(&b)
					bw.Write(body)
					bw.Close()
					body = b.Bytes()
				}
				if c.encoding != "" {
					w.Header().Set("Content-Encoding", c.encoding)
				}
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				// Write in pieces with flushes: a chunked, streamed answer.
				for len(body) > 0 {
					n := min(len(body), 4096)
					w.Write(body[:n])
					w.(http.Flusher).Flush()
					body = body[n:]
				}
			})
			p := startParapet(t, up.URL, "harden:\n  leak_guard:\n    secret_patterns: ['my-own-secret-value-\\d+']\n")
			req, _ := http.NewRequest("GET", p.URL+"/x", nil)
			req.Header.Set("Accept-Encoding", "gzip, br")
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(raw)
			for _, leak := range []string{"DEBUG = True", "Traceback", "AKIA", "s3cr3t", "my-own-secret"} {
				if strings.Contains(body, leak) {
					t.Fatalf("%q leaked through", leak)
				}
			}
			want := c.status
			if want < 400 {
				want = 500
			}
			if resp.StatusCode != want || resp.Header.Get("Content-Encoding") != "" || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
				t.Fatalf("status %d encoding %q body %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), body)
			}
			line := p.logs.linesN(t, 1)[0]
			if line["rule"] != c.rule || line["level"] != "ERROR" {
				t.Errorf("log line %v", line)
			}
		})
	}
}

func TestLeakGuardPassesNormalPagesByteForByte(t *testing.T) {
	page := strings.Repeat("<p>An ordinary page about Python exceptions and settings.</p>\n", 5000) // 300 KB
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(page))
	zw.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/gz" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
			return
		}
		w.Write([]byte(page))
	})
	p := startParapet(t, up.URL, "")
	if resp, body := get(t, p.URL+"/plain"); resp.StatusCode != 200 || body != page {
		t.Fatalf("plain page changed: %d, %d bytes", resp.StatusCode, len(body))
	}
	req, _ := http.NewRequest("GET", p.URL+"/gz", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(raw, gz.Bytes()) {
		t.Fatalf("gzip body changed: %d vs %d bytes", len(raw), gz.Len())
	}
}

// A 200 MB download streams through with bounded memory: the guard reads
// 64 KB, the rest is copied in 32 KB buffers.
func TestLargeDownloadStreamsWithBoundedMemory(t *testing.T) {
	const size = 200 << 20
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	p := startParapet(t, up.URL, "")
	// The heap the process already holds (rules, the caches earlier tests
	// filled; some 60 MiB in use under the race detector, 20 MiB of it
	// the collector's slack) is not the download's: collected, then
	// measured before it starts.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := http.Get(p.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	done := make(chan struct{})
	peakc := make(chan uint64)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		for {
			select {
			case <-done:
				peakc <- peak
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak {
					peak = ms.HeapInuse
				}
			}
		}
	}()
	n, err := io.Copy(io.Discard, resp.Body)
	close(done)
	peak := <-peakc
	if err != nil || n != size {
		t.Fatalf("got %d bytes: %v", n, err)
	}
	// The download (client, Parapet, upstream in this process) adds far
	// less than the body's size: a buffered body would add 200 MiB.
	if grew := int64(peak) - int64(before.HeapInuse); grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB (to %d MiB) during a 200 MiB download", grew>>20, peak>>20)
	}
}

func TestCORSAndCSPReports(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, `
harden:
  cors:
    - paths: [/api/]
      allowed_origins: [https://app.example.com]
      allowed_methods: [GET, POST]
      allowed_headers: [Content-Type, X-CSRFToken]
      allow_credentials: true
      max_age: 10m
`)
	preflight := func(origin, method string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", p.URL+"/api/items/", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		resp, _ := do(t, req)
		return resp
	}
	resp := preflight("https://app.example.com", "POST")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Access-Control-Max-Age") != "600" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "Content-Type, X-CSRFToken" {
		t.Fatalf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight("https://evil.example", "POST"); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d", resp.StatusCode)
	}
	if resp := preflight("https://app.example.com", "DELETE"); resp.StatusCode != 403 {
		t.Fatalf("method not allowed: %d", resp.StatusCode)
	}
	if up.hits.Load() != 0 {
		t.Fatalf("preflights reached the app: %d", up.hits.Load())
	}
	resp, _ = get(t, p.URL+"/api/items/", "Origin", "https://app.example.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Vary") != "Origin" {
		t.Fatalf("actual request: %v", resp.Header)
	}

	// A browser's classic CSP report and a Reporting API batch land in the events.
	for _, body := range []string{
		`{"csp-report":{"document-uri":"https://site/page?x=1","violated-directive":"script-src-elem","effective-directive":"script-src-elem","blocked-uri":"https://evil.example/x.js"}}`,
		`[{"type":"csp-violation","age":1,"url":"https://site/page","body":{"documentURL":"https://site/page","effectiveDirective":"script-src-elem","blockedURL":"https://evil.example/x.js"}}]`,
	} {
		req, _ := http.NewRequest("POST", p.URL+"/_parapet/csp-report", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/csp-report")
		resp, _ := do(t, req)
		if resp.StatusCode != 204 {
			t.Fatalf("report: %d", resp.StatusCode)
		}
	}
	lines := p.logs.linesN(t, 6)
	last := lines[len(lines)-1]
	if !strings.Contains(fmt.Sprint(last["reason"]), "script-src-elem blocked https://evil.example/x.js on https://site/page (seen 2 times)") {
		t.Fatalf("report event: %v", last)
	}
	if v := p.handler.Chain().CSPViolations(); len(v) != 1 || v[0].Count != 2 {
		t.Fatalf("violations: %+v", v)
	}
}

func multipartBody(t *testing.T, files map[string][]byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	boundary := "XyZBoundary123"
	for name, content := range files {
		fmt.Fprintf(&buf, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n", boundary, name)
		buf.Write(content)
		buf.WriteString("\r\n")
	}
	fmt.Fprintf(&buf, "--%s\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n--%s--\r\n", boundary, boundary)
	return "multipart/form-data; boundary=" + boundary, &buf
}

func TestUploadChecks(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, `
harden:
  uploads:
    - paths: [/photos/]
      max_bytes: 2MB
      max_files: 2
      allowed_extensions: [.jpg, .png]
      check_content: true
`)
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{7}, 1500000)...) // 1.5 MB: spooled to a temp file
	png := append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}, bytes.Repeat([]byte{1}, 100)...)
	php := []byte("<?php system($_GET['c']); ?>")
	cases := []struct {
		name   string
		files  map[string][]byte
		status int
		rule   string
	}{
		{"real jpeg", map[string][]byte{"cat.jpg": jpeg}, 200, ""},
		{"php named .jpg", map[string][]byte{"cat.jpg": php}, 415, "upload-content-mismatch"},
		{"php named .png with png magic", map[string][]byte{"x.png": append(append([]byte{}, png[:8]...), php...)}, 415, "upload-content-mismatch"},
		{"extension not allowed", map[string][]byte{"shell.php": php}, 415, "upload-extension"},
		{"path in file name", map[string][]byte{"../../etc/cron.d/x.jpg": jpeg[:100]}, 400, "upload-bad-filename"},
		{"too many files", map[string][]byte{"a.png": png, "b.png": png, "c.png": png}, 413, "upload-too-many-files"},
		{"too large", map[string][]byte{"a.jpg": jpeg, "b.jpg": jpeg}, 413, "upload-too-large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := up.hits.Load()
			ct, body := multipartBody(t, c.files)
			sent := body.Bytes()
			req, _ := http.NewRequest("POST", p.URL+"/photos/new", bytes.NewReader(append([]byte(nil), sent...)))
			req.Header.Set("Content-Type", ct)
			resp, page := do(t, req)
			if resp.StatusCode != c.status || (c.rule != "" && !strings.Contains(page, c.rule)) {
				t.Fatalf("status %d, want %d (%s): %s", resp.StatusCode, c.status, c.rule, page)
			}
			if c.status == 200 {
				_, got := up.last()
				if !bytes.Equal(got, sent) {
					t.Fatalf("upstream got %d bytes, sent %d: not byte-identical", len(got), len(sent))
				}
			} else if up.hits.Load() != before {
				t.Fatal("a refused upload reached the app")
			}
		})
	}
}

func TestCORSWildcardWithCredentialsRefused(t *testing.T) {
	_, err := buildFromYAML(t, "upstream: http://127.0.0.1:1\nharden:\n  cors:\n    - paths: [/api/]\n      allowed_origins: ['*']\n      allow_credentials: true\n")
	if err == nil || !strings.Contains(err.Error(), ":4: harden.cors[0]: allowed_origins \"*\" with allow_credentials") {
		t.Fatalf("got %v", err)
	}
}
