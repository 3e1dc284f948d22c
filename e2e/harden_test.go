package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
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
// never gets its traceback page out through Parapet, compressed or not.
func TestDjangoDebugTracebackNeverLeaks(t *testing.T) {
	d := startDjango(t, "DJANGO_SETTINGS_MODULE=testapp.settings_debug")
	for _, path := range []string{"/boom/", "/no-such-page/"} {
		for _, enc := range []string{"", "gzip"} {
			req, _ := http.NewRequest("GET", d.base+path, nil)
			if enc != "" {
				req.Header.Set("Accept-Encoding", enc)
			}
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, leak := range []string{"Traceback", "DEBUG = True", "deliberate failure", "SECRET_KEY", "Django Version"} {
				if strings.Contains(string(body), leak) {
					t.Fatalf("%s (Accept-Encoding %q): %q leaked", path, enc, leak)
				}
			}
			if resp.StatusCode/100 != 4 && resp.StatusCode/100 != 5 || resp.Header.Get("Content-Encoding") != "" {
				t.Fatalf("%s: status %d encoding %q", path, resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			if !strings.Contains(string(body), resp.Header.Get("X-Request-Id")) {
				t.Errorf("%s: generic page lacks the request id", path)
			}
		}
	}
	d.waitLog(t, `"level":"ERROR"`, `"rule":"leak-traceback"`, `"path":"/boom/"`)
	d.waitLog(t, `"level":"ERROR"`, `"rule":"leak-debug-page"`, `"path":"/no-such-page/"`)
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
