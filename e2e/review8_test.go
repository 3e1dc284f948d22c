package e2e

// Bypasses found by the eighth hostile review, shown end to end against
// the real Django app under gunicorn: bodies declared as files
// (application/octet-stream) that Parapet took for files while
// json.loads(request.body) reads them as JSON.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReview8OctetStreamJSONThatGoCallsBinary: a UTF-8-encoded surrogate
// (ED A0 80), which Go's UTF-8 check refuses and json.loads reads (it
// decodes with surrogatepass), and JSON in UTF-16 after 256 or more
// spaces of white space, were taken for files and not inspected (both
// reached the view, which read q). With the attack they are now refused
// before Django sees them.
func TestReview8OctetStreamJSONThatGoCallsBinary(t *testing.T) {
	d := startDjango(t)
	post := func(body []byte) (int, string) {
		t.Helper()
		resp, err := http.Post(d.base+"/api/loads/", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const attack = `1\u0027 UNION SELECT password FROM auth_user--`
	// The surrogate: a harmless q reaches the view, which reads it.
	surrogate := func(q string) []byte {
		return []byte(`{"a": "` + "\xed\xa0\x80" + `", "q": "` + q + `"}`)
	}
	status, got := post(surrogate("blue shoes"))
	var echoed struct {
		JSON map[string]string `json:"json"`
	}
	if err := json.Unmarshal([]byte(got), &echoed); status != 200 || err != nil || echoed.JSON["q"] != "blue shoes" {
		t.Fatalf("a surrogate, harmless: %d %.200s: Django does not read it as JSON, the test proves nothing", status, got)
	}
	// Any UTF-16 body is refused (NUL bytes, 920270; review 4), before
	// the fix too unless white space filled the sniffed bytes.
	for name, body := range map[string][]byte{
		"a surrogate in UTF-8":    surrogate(attack),
		"UTF-16 after 300 spaces": utf16LE(strings.Repeat(" ", 300) + `{"q": "` + attack + `"}`),
		"UTF-16 after 256 spaces": utf16LE(strings.Repeat(" ", 256) + `{"q": "` + attack + `"}`),
	} {
		before, _ := d.requests(t)
		status, got := post(body)
		after, _ := d.requests(t)
		if status < 400 || status >= 500 || after != before {
			t.Errorf("%s, attack: %d %.200s (Django saw %d requests), want a 4xx before Django", name, status, got, after-before)
		}
	}
}
