package harden

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/decision"
)

const uploadsYAML = `upstream: http://127.0.0.1:1
limits:
  max_body_bytes: 1MB
harden:
  uploads:
    - paths: [/photos/]
      max_files: 3
      allowed_extensions: [.jpg, .png]
      check_content: true
`

var (
	jpegHead = "\xff\xd8\xff\xe0" + strings.Repeat("j", 100)
	pngHead  = "\x89PNG\r\n\x1a\n" + strings.Repeat("p", 100)
)

func upFile(name, filename, content string) string {
	return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n"
}

func uploadRequest(method, body string, chunked bool) *http.Request {
	r := httptest.NewRequest(method, "/photos/new", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	if chunked {
		r.ContentLength = -1
	}
	return r
}

// The upload checks see the files Django keeps, with the names Django
// gives them (issue #15, item 1): files Go's multipart reader never sees,
// names it reads differently, contents Django decodes.
func TestUploadChecksSeeWhatDjangoSees(t *testing.T) {
	s := stage(t, uploadsYAML)
	php := "<?php system($_GET['c']); ?>"
	for _, c := range []struct {
		name, method, body string
		status             int
		rule               string
	}{
		{"a photo", "POST", upFile("photo", "cat.jpg", jpegHead) + "--B--\r\n", 0, ""},
		{"a file after the closing delimiter", "POST", upFile("photo", "cat.jpg", jpegHead) + "--B--\r\n" + upFile("x", "shell.php", php) + "--B--\r\n", 415, RuleUploadExtension},
		{"a file after --Bx inside a photo", "POST", upFile("photo", "cat.jpg", jpegHead+"\r\n--Bx\r\nContent-Disposition: form-data; name=\"x\"; filename=\"shell.php\"\r\n\r\n"+php) + "--B--\r\n", 415, RuleUploadExtension},
		{"filename* after filename", "POST", "--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.jpg\"; filename*=utf-8''shell.php\r\n\r\n" + php + "\r\n--B--\r\n", 415, RuleUploadExtension},
		{"a path in an HTML reference", "POST", upFile("photo", "cron.d&#47;cat.jpg", jpegHead) + "--B--\r\n", 400, RuleUploadFilename},
		{"a base64 photo Django decodes", "POST", "--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(pngHead)) + "\r\n--B--\r\n", 0, ""},
		{"base64 PHP named .png", "POST", "--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(php)) + "\r\n--B--\r\n", 415, RuleUploadContent},
		// A browser's empty file input: Django makes it a field, not a file.
		{"an empty file input", "POST", upFile("photo", "cat.jpg", jpegHead) + upFile("other", "", "") + "--B--\r\n", 0, ""},
		// DRF parses multipart bodies of PUT and PATCH with Django's parser.
		{"PATCH", "PATCH", upFile("photo", "shell.php", php) + "--B--\r\n", 415, RuleUploadExtension},
		{"a body Django would read on from inside a skipped part", "POST", "--B\r\nContent-Disposition: form-data\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n" + upFile("photo", "cat.jpg", jpegHead) + "--B--\r\n", 400, RuleUploadMalformed},
	} {
		for _, chunked := range []bool{false, true} {
			r := uploadRequest(c.method, c.body, chunked)
			d := s.Check(r.Context(), r, &decision.Info{})
			if d.Status != c.status || d.RuleID != c.rule {
				t.Errorf("%s (chunked %v): %d %s %q, want %d %s", c.name, chunked, d.Status, d.RuleID, d.Reason, c.status, c.rule)
				continue
			}
			if !d.Decided() {
				if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, []byte(c.body)) {
					t.Errorf("%s: replayed %d bytes, sent %d", c.name, len(got), len(c.body))
				}
			}
		}
	}
}

// A chunked upload is read no further than limits.max_body_bytes, even
// without max_bytes (chunked bodies are not capped before the stages).
func TestUploadChunkedCappedAtMaxBody(t *testing.T) {
	s := stage(t, uploadsYAML)
	r := uploadRequest("POST", upFile("photo", "cat.jpg", jpegHead+strings.Repeat("j", 2<<20))+"--B--\r\n", true)
	if d := s.Check(r.Context(), r, &decision.Info{}); d.Status != 413 || d.RuleID != RuleUploadTooLarge {
		t.Fatalf("%+v", d)
	}
}

// The upload checks cover every spelling of their paths that a view
// normalising its path would serve (the scope's Restrict meaning).
func TestUploadChecksCoverPathSpellings(t *testing.T) {
	s := stage(t, uploadsYAML)
	php := "<?php system($_GET['c']); ?>"
	for _, path := range []string{"/photos/new", "//photos/new", "/x/../photos/new", "/./photos/new", "/photos;v=1/new"} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(upFile("photo", "shell.php", php)+"--B--\r\n"))
		r.URL.Path = path
		r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		if d := s.Check(r.Context(), r, &decision.Info{}); d.Status != 415 {
			t.Errorf("%s: %d %s, want 415 (the upload rule on /photos/)", path, d.Status, d.RuleID)
		}
	}
}
