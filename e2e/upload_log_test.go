package e2e

import (
	"bytes"
	"crypto/rand"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// A browser's photo upload (a CSRF token, a title, a JPEG of 200 KB, 3 MB
// or 12 MB: under, over and far over detection.multipart_limit) with the
// default config is an ordinary request in the log: allowed, nothing
// monitored, no tag. Issue #19 saw detect-body-too-large:log on such an
// upload before the multipart rewrite (internal/detect streams multipart
// bodies, inspecting every text field and skipping file contents).
func TestOrdinaryUploadLogsNoAlarm(t *testing.T) {
	d := startDjangoWithConfig(t, "", banFileEnv(t))
	for _, size := range []int{200 << 10, 3 << 20, 12 << 20} {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("csrfmiddlewaretoken", "k3JxQ0bWm9ZrT7yVq2LcN8sFhD4gA6uPeR1oIiXzBn5tYwKdMvC0jSlHfG7aE2Uq")
		w.WriteField("title", "Holiday photos, day 2")
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="IMG_2041.JPG"`)
		h.Set("Content-Type", "image/jpeg")
		pw, _ := w.CreatePart(h)
		photo := make([]byte, size)
		rand.Read(photo)
		copy(photo, []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00})
		pw.Write(photo)
		w.Close()
		req, _ := http.NewRequest("POST", d.base+"/upload/", &body)
		req.Host = "www.example.com"
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		line := d.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`)
		if resp.StatusCode != 200 || !strings.Contains(line, `"decision":"allow"`) || !strings.Contains(line, `"level":"INFO"`) ||
			strings.Contains(line, `"monitored"`) || strings.Contains(line, `"tags"`) || strings.Contains(line, "body-too-large") {
			t.Errorf("%d-byte photo upload: %d, logged as %s", size, resp.StatusCode, line)
		}
	}
}
