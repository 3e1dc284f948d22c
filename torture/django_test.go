package torture

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// A client that sends its body chunked (no Content-Length) still reaches
// Django with that body: Django reads nothing without a Content-Length,
// so Parapet sends a small buffered body with one.
func TestChunkedBodyReachesDjango(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	p := startParapet(t, "unix:"+sock, nil)
	body := `{"order": 42, "items": ["tea", "cake"]}`
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/api/echo/", io.NopCloser(strings.NewReader(body)))
	req.ContentLength = -1 // sent chunked
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Length int            `json:"length"`
		JSON   map[string]any `json:"json"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	if got.Length != len(body) || got.JSON["order"] != float64(42) {
		t.Fatalf("Django saw %d bytes (%v), want the %d-byte body", got.Length, got.JSON, len(body))
	}
}
