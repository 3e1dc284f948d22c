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
// Django with that body, small or large: Django reads nothing without a
// Content-Length, so Parapet sends the body with one (buffered in memory,
// or spooled to a file past 64 KB).
func TestChunkedBodyReachesDjango(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	p := startParapet(t, "unix:"+sock, transportOnly)
	for _, n := range []int{3, 20_000} { // about 40 bytes and about 300 KB
		body := `{"order": 42, "items": [` + strings.Repeat(`"tea and cake", `, n) + `"end"]}`
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/api/echo/", io.NopCloser(strings.NewReader(body)))
		req.ContentLength = -1 // sent chunked
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Length int            `json:"length"`
			JSON   map[string]any `json:"json"`
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		if got.Length != len(body) || got.JSON["order"] != float64(42) {
			t.Errorf("Django saw %d bytes, want the %d-byte body", got.Length, len(body))
		}
	}
}
