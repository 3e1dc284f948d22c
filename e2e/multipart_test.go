package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sqli is a field value the CRS blocks wherever it finds it.
const sqli = "1' UNION SELECT username, password FROM auth_user--"

// formEcho is what the test app's /form/echo/ answers: the fields and
// files Django parsed.
type formEcho struct {
	Post  map[string][]string `json:"post"`
	Files map[string][]struct {
		Name   string `json:"name"`
		Size   int    `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
}

func postMultipart(t *testing.T, d *django, boundary string, body []byte) (int, formEcho, string) {
	t.Helper()
	resp, err := http.Post(d.base+"/form/echo/", "multipart/form-data; boundary="+boundary, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var got formEcho
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("echo: %v: %s", err, raw)
		}
	}
	return resp.StatusCode, got, resp.Header.Get("X-Request-Id")
}

// Bodies that Go's multipart reader and Django's read differently, each
// carrying a SQL injection in a field only Django sees (issue #15, items 1
// and 2). Each must be blocked (403) or refused (400) before Django: by
// default (the first two fail strict multipart validation, rule 200003,
// with 400), and with rule 200003 removed, by the SQL injection rules
// (403): Parapet reads the field Django reads.
func TestMultipartBypassesAreClosed(t *testing.T) {
	t.Run("default", func(t *testing.T) { multipartBypasses(t, startDjango(t), false) })
	t.Run("without 200003", func(t *testing.T) {
		multipartBypasses(t, startDjangoWithConfig(t, "detection:\n  directives: SecRuleRemoveById 200003\n"), true)
	})
}

func multipartBypasses(t *testing.T, d *django, wantSQLi bool) {
	field := func(name, value string) string {
		return "Content-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value
	}
	padding := make([]byte, 2<<20)
	rand.Read(padding)
	for i, c := range padding {
		if c == '-' { // a "--B" in the file would be a separator
			padding[i] = '+'
		}
	}
	for _, c := range []struct {
		name string
		body string
	}{
		// (a) a part after the closing delimiter: Django reads on.
		{"part after closing delimiter",
			"--B\r\n" + field("title", "hello") + "\r\n--B--\r\n--B\r\n" + field("q", sqli) + "\r\n--B--\r\n"},
		// (b) inside a file, a line that is the boundary plus one more
		// character: Go takes it for content, Django for a delimiter.
		{"boundary plus a character inside a file",
			"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--Bx\r\n" +
				field("q", sqli) + "\r\n--B--\r\n"},
		// Item 2: a 2 MB file ahead of the field used to switch inspection
		// off (multipart_over_limit: pass).
		{"2 MB file padding",
			"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n" +
				string(padding) + "\r\n--B\r\n" + field("q", sqli) + "\r\n--B--\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, _ := d.requests(t)
			status, got, id := postMultipart(t, d, "B", []byte(c.body))
			after, _ := d.requests(t)
			if status != 403 && status != 400 {
				t.Fatalf("answered %d, Django parsed q=%q", status, got.Post["q"])
			}
			if after != before {
				t.Errorf("Django saw the request (%d requests before, %d after)", before, after)
			}
			line := d.waitLog(t, `"request_id":"`+id+`"`)
			if !strings.Contains(line, `"rule":"detect-`) || wantSQLi && (status != 403 || !strings.Contains(line, `"rule":"detect-sqli"`)) {
				t.Errorf("%d, logged %s", status, line)
			}
		})
	}
}

// A browser's upload (a file and text fields, the file larger than
// detection.multipart_limit so it is spooled to disk) reaches Django
// intact: every field and the file byte for byte.
func TestMultipartUploadWithFieldsArrivesIntact(t *testing.T) {
	d := startDjangoWithConfig(t, "detection:\n  multipart_limit: 1MB\n")
	for _, size := range []int{100 << 10, 3 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		const b = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
		var body bytes.Buffer
		part := func(header, content string) {
			body.WriteString("--" + b + "\r\n" + header + "\r\n\r\n" + content + "\r\n")
		}
		part(`Content-Disposition: form-data; name="title"`, "Holiday in Dún Laoghaire")
		part(`Content-Disposition: form-data; name="file"; filename="photo.bin"`+"\r\nContent-Type: application/octet-stream", string(data))
		part(`Content-Disposition: form-data; name="tags"`, "sea")
		part(`Content-Disposition: form-data; name="tags"`, "harbour")
		part(`Content-Disposition: form-data; name="empty"; filename=""`+"\r\nContent-Type: application/octet-stream", "")
		body.WriteString("--" + b + "--\r\n")
		status, got, id := postMultipart(t, d, b, body.Bytes())
		sum := sha256.Sum256(data)
		if status != 200 {
			t.Fatalf("%d-byte upload: %d: %s", size, status, d.waitLog(t, `"request_id":"`+id+`"`))
		}
		if f := got.Files["file"]; len(f) != 1 || f[0].Name != "photo.bin" || f[0].Size != size || f[0].SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%d-byte upload: Django got files %+v", size, got.Files)
		}
		want := map[string][]string{"title": {"Holiday in Dún Laoghaire"}, "tags": {"sea", "harbour"}, "empty": {""}}
		if g, _ := json.Marshal(got.Post); string(g) != mustJSON(want) {
			t.Errorf("%d-byte upload: Django got fields %s, want %s", size, g, mustJSON(want))
		}
		line := d.waitLog(t, `"request_id":"`+id+`"`)
		if strings.Contains(line, "body-uninspected") {
			t.Errorf("%d-byte upload passed uninspected: %s", size, line)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// The upload checks see the files Django keeps: a PHP file after the
// closing delimiter of a photo upload is refused (415) before Django,
// which would have saved it.
func TestMultipartUploadChecksSeeDjangosFiles(t *testing.T) {
	d := startDjango(t, `PARAPET_HARDEN_UPLOADS=[{"paths": ["/form/echo/"], "allowed_extensions": [".jpg"], "check_content": true}]`)
	photo := "--B\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0JFIF\r\n"
	shell := "--B\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"shell.php\"\r\nContent-Type: text/plain\r\n\r\n<?php system($_GET['c']); ?>\r\n"
	status, got, _ := postMultipart(t, d, "B", []byte(photo+"--B--\r\n"))
	if status != 200 || len(got.Files["photo"]) != 1 {
		t.Fatalf("a photo: %d %+v", status, got)
	}
	before, _ := d.requests(t)
	status, got, _ = postMultipart(t, d, "B", []byte(photo+"--B--\r\n"+shell+"--B--\r\n"))
	if after, _ := d.requests(t); status != 415 || after != before {
		t.Fatalf("a PHP file after the closing delimiter: %d, Django saw %d requests and files %+v", status, after-before, got.Files)
	}
}
