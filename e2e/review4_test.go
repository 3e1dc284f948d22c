package e2e

// Bypasses found by the fourth hostile review, each shown end to end
// against the real Django app under gunicorn. Each test fails while the
// bypass holds.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"
)

// utf16LE encodes s as UTF-16, little-endian, without a BOM.
func utf16LE(s string) []byte {
	var b bytes.Buffer
	for _, u := range utf16.Encode([]rune(s)) {
		_ = binary.Write(&b, binary.LittleEndian, u)
	}
	return b.Bytes()
}

// utf32BE encodes s as UTF-32, big-endian, without a BOM.
func utf32BE(s string) []byte {
	var b bytes.Buffer
	for _, r := range s {
		_ = binary.Write(&b, binary.BigEndian, uint32(r))
	}
	return b.Bytes()
}

// json.loads on bytes (the idiom json.loads(request.body)) detects the
// encoding itself: UTF-8, UTF-16 and UTF-32 in either byte order, with or
// without a BOM (json.detect_encoding). Parapet read a body full of NUL
// bytes as a binary file under application/octet-stream and inspected
// nothing, and under other types its JSON reading saw no JSON: the same
// payloads that are blocked as UTF-8 reached the view decoded (on main,
// each application/octet-stream case below got 200 with q decoded). Now
// such a body is read as text and its JSON in the encoding json.loads
// picks; under every type it is refused.
func TestReview4JSONInUTF16AndUTF32ReachesJSONLoads(t *testing.T) {
	d := startDjango(t)
	const attack = `{"q": "x' UNION ALL SELECT username, password FROM auth_user--"}`
	post := func(ct string, body []byte) (int, string) {
		resp, err := http.Post(d.base+"/api/loads/", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("application/json", []byte(attack)); status != http.StatusForbidden {
		t.Fatalf("UTF-8 as application/json: %d %.200s, want 403: the test proves nothing", status, body)
	}
	encodings := map[string][]byte{
		"UTF-16LE":          utf16LE(attack),
		"UTF-16LE with BOM": append([]byte{0xff, 0xfe}, utf16LE(attack)...),
		"UTF-32BE":          utf32BE(attack),
	}
	for name, body := range encodings {
		for _, ct := range []string{"application/octet-stream", "application/json", "text/plain", "application/x-www-form-urlencoded"} {
			status, got := post(ct, body)
			var echoed struct {
				JSON map[string]string `json:"json"`
			}
			_ = json.Unmarshal([]byte(got), &echoed)
			switch {
			case status == 200 && strings.Contains(echoed.JSON["q"], "UNION ALL SELECT"):
				t.Errorf("%s as %s: reached json.loads, which decoded q = %q", name, ct, echoed.JSON["q"])
			case status < 400 || status >= 500:
				t.Errorf("%s as %s: %d %.200s, want a 4xx", name, ct, status, got)
			}
		}
	}
}
