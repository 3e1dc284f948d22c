package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

func TestDjangoCookiesHardenedOverHTTPS(t *testing.T) {
	d := startDjango(t)
	req, _ := http.NewRequest("GET", d.base+"/cookies/", nil)
	req.Header.Set("X-Forwarded-Proto", "https") // from the trusted proxy (loopback)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session, csrf string
	for _, c := range resp.Header.Values("Set-Cookie") {
		switch {
		case strings.HasPrefix(c, "sessionid="):
			session = c
		case strings.HasPrefix(c, "csrftoken="):
			csrf = c
		}
	}
	for _, flag := range []string{"; Secure", "; HttpOnly", "; SameSite=Lax"} {
		if !strings.Contains(session, flag) {
			t.Errorf("sessionid lacks %s: %s", flag, session)
		}
	}
	if !strings.Contains(csrf, "; Secure") || !strings.Contains(csrf, "; SameSite=Lax") || strings.Contains(csrf, "HttpOnly") {
		t.Errorf("csrftoken: %s (JavaScript must still read it)", csrf)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", resp.Header)
	}
	d.waitLog(t, `"path":"/cookies/"`, "hardened-cookie:sessionid")
}

// The DEBUG=True app (a second settings module under a second gunicorn)
// never gets its traceback page out through Parapet, compressed or not,
// as HTML or as the text API clients get, however long the page: 300-750
// KB for /boom-big/ (a deep traceback with a big local in every frame;
// ?value=big adds a 100 KB exception message), 330 KB for the 404 page
// (2,000 URL patterns), their traceback, settings and URL list far past
// the 64 KB Parapet reads before the headers go out. The page names the
// rule the log line names.
func TestDjangoDebugTracebackNeverLeaks(t *testing.T) {
	pages := []struct {
		path, accept string
		status       int
		rule         string
	}{
		{"/boom/", "", 500, "leak-traceback"},
		{"/no-such-page/", "", 404, "leak-debug-page"},
		{"/boom-big/", "", 500, "leak-traceback"},
		{"/boom-big/?value=big", "", 500, "leak-traceback"},
		{"/boom-big/?value=big", "application/json", 500, "leak-traceback"},
		{"/catalogue/section-7/item/x/", "", 404, "leak-debug-page"},
	}
	// The premise, straight from gunicorn: the long pages are long, their
	// leaks past the first 64 KB.
	sock := testenv.StartGunicorn(t, "testapp.settings_debug")
	for _, p := range pages[1:] {
		req, _ := http.NewRequest("GET", "http://app"+p.path, nil)
		if p.accept != "" {
			req.Header.Set("Accept", p.accept)
		}
		resp, err := testenv.UnixClient(sock).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != p.status || len(b) < 200<<10 || strings.Index(string(b), "INSTALLED_APPS") < 64<<10 && strings.Index(string(b), "section-1999") < 64<<10 {
			t.Fatalf("%s from gunicorn: %d, %d bytes: not a DEBUG page with its leaks past 64 KB", p.path, resp.StatusCode, len(b))
		}
	}

	d := startDjango(t, "DJANGO_SETTINGS_MODULE=testapp.settings_debug")
	for _, p := range pages {
		for _, enc := range []string{"", "gzip"} {
			req, _ := http.NewRequest("GET", d.base+p.path, nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			if p.accept != "" {
				req.Header.Set("Accept", p.accept)
			}
			resp, err := noDecompress.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("%s (Accept-Encoding %q): %v", p.path, enc, err)
			}
			for _, leak := range []string{"Traceback", "DEBUG = True", "deliberate failure", "SECRET_KEY", "Django Version",
				"INSTALLED_APPS", "Installed Applications", "a local variable", "catalogue/section-", "URLconf"} {
				if strings.Contains(string(body), leak) {
					t.Fatalf("%s (Accept-Encoding %q): %q leaked", p.path, enc, leak)
				}
			}
			id := resp.Header.Get("X-Request-Id")
			if resp.StatusCode != p.status || resp.Header.Get("Content-Encoding") != "" {
				t.Fatalf("%s: status %d encoding %q", p.path, resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			if !strings.Contains(string(body), id) || !strings.Contains(string(body), p.rule) {
				t.Errorf("%s: the generic page lacks the request id or the rule %s:\n%s", p.path, p.rule, body)
			}
			d.waitLog(t, `"level":"ERROR"`, `"request_id":"`+id+`"`, `"rule":"`+p.rule+`"`)
		}
	}
}

// An ordinary 350 KB page that shows, 220 KB in, a traceback it caught
// (or a database URL with its password) has gone out with its headers
// when the leak comes: Parapet cuts it off before the leak, the client
// never gets it, and the log line says so. Compressed (Django's
// gzip_page), the page fits the window and is replaced instead.
func TestDjangoLeakPastTheWindowIsCutOff(t *testing.T) {
	d := startDjango(t)
	for _, path := range []string{"/careless/", "/careless/?leak=secret"} {
		for _, enc := range []string{"", "gzip"} {
			req, _ := http.NewRequest("GET", d.base+path, nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			resp, err := noDecompress.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			wire, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := wire
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(wire))
				if err != nil {
					t.Fatal(err)
				}
				body, _ = io.ReadAll(zr) // cut off: what a client can decode
			}
			what := fmt.Sprintf("%s (Accept-Encoding %q)", path, enc)
			for _, leak := range []string{"most recent call last", "careless view's own failure", "s3cr3t"} {
				if strings.Contains(string(body), leak) {
					t.Fatalf("%s: %q reached the client", what, leak)
				}
			}
			id := resp.Header.Get("X-Request-Id")
			rule := "leak-traceback"
			if strings.Contains(path, "secret") {
				rule = "leak-secret"
			}
			switch {
			case resp.StatusCode == 200 && readErr != nil && len(body) > 150<<10 && strings.HasPrefix(string(body), "<!doctype html>"):
				d.waitLog(t, `"request_id":"`+id+`"`, `"rule":"`+rule+`"`, "cut off", `"level":"ERROR"`)
			case resp.StatusCode == 500 && enc == "gzip" && strings.Contains(string(body), rule):
				d.waitLog(t, `"request_id":"`+id+`"`, `"rule":"`+rule+`"`, `"level":"ERROR"`)
			default:
				t.Fatalf("%s: status %d, %d bytes, read error %v", what, resp.StatusCode, len(body), readErr)
			}
		}
	}
}

// Whatever encoding the app answers in (zstd, deflate, stacked codings),
// the leak guard reads it; one it cannot read is the generic 502 page,
// not an unread body. And Parapet asks the app only for codings it reads.
func TestDjangoEncodingsTheGuardReads(t *testing.T) {
	d := startDjango(t)
	leak := []byte("Internal Server Error: /boom/\nTraceback (most recent call last):\n  File \"/app/views.py\", line 3, in boom\nRuntimeError: x\n")
	for _, c := range []struct {
		ce     string
		stack  []string
		status int
		rule   string
	}{
		{"zstd", []string{"zstd"}, 500, "leak-traceback"},
		{"deflate", []string{"deflate"}, 500, "leak-traceback"},
		{"deflate", []string{"deflate-raw"}, 500, "leak-traceback"},
		{"gzip, gzip", []string{"gzip", "gzip"}, 500, "leak-traceback"},
		{"identity, gzip", []string{"gzip"}, 500, "leak-traceback"},
		{"gzip, zstd", []string{"gzip", "zstd"}, 500, "leak-traceback"},
		{"compress", nil, 502, "leak-uninspectable"},
	} {
		before, _ := d.requests(t)
		form := url.Values{"b64": {base64.StdEncoding.EncodeToString(testenv.Encode(t, leak, c.stack...))},
			"ce64": {base64.StdEncoding.EncodeToString([]byte(c.ce))}}
		resp, err := http.PostForm(d.base+"/encoded/", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if after, _ := d.requests(t); after != before+1 {
			t.Fatalf("%s: the app did not answer (%d -> %d requests)", c.ce, before, after)
		}
		if resp.StatusCode != c.status || strings.Contains(string(body), "Traceback") || !strings.Contains(string(body), c.rule) {
			t.Fatalf("%s: %d %s", c.ce, resp.StatusCode, body)
		}
		d.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`, `"rule":"`+c.rule+`"`)
	}
	req, _ := http.NewRequest("GET", d.base+"/accept-encoding/", nil)
	req.Header.Set("Accept-Encoding", "gzip, compress, dcb, br;q=0.5")
	resp, err := noDecompress.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		AcceptEncoding string `json:"accept_encoding"`
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.AcceptEncoding != "gzip, br;q=0.5" {
		t.Fatalf("the app was asked for %q", got.AcceptEncoding)
	}
}

func TestDjangoUploadWithJPGNameButPHPContentRefused(t *testing.T) {
	d := startDjango(t, `PARAPET_HARDEN_UPLOADS=[{"paths": ["/upload/"], "max_bytes": "30MB", "allowed_extensions": [".jpg", ".png"], "check_content": true}]`)
	send := func(name string, content []byte) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(content)
		mw.Close()
		resp, err := http.Post(d.base+"/upload/", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	before, _ := d.requests(t)
	status, body := send("avatar.jpg", []byte("<?php echo shell_exec($_GET['c']); ?>"))
	if status != http.StatusUnsupportedMediaType || !strings.Contains(body, "upload-content-mismatch") {
		t.Fatalf("PHP as .jpg: %d %s", status, body)
	}
	if after, _ := d.requests(t); after != before {
		t.Fatal("Django saw the refused upload")
	}
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE1}, bytes.Repeat([]byte("exif"), 1<<20)...)
	status, body = send("avatar.jpg", jpeg)
	sum := sha256.Sum256(jpeg)
	if status != 200 || !strings.Contains(body, hex.EncodeToString(sum[:])) {
		t.Fatalf("real JPEG: %d %s", status, body)
	}
}
