package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

const visToken = "vis-e2e-admin-token-0123456789"

// visInstance is one parapet process of a fleet sharing a Redis.
type visInstance struct {
	*process
	base string
}

func startVisInstance(t *testing.T, upstream, redisURL string) *visInstance {
	t.Helper()
	addr := testenv.FreeAddr(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "parapet.yaml")
	cfg := fmt.Sprintf(`upstream: %s
listen: %s
trusted_proxies: [loopback]
feed_cache_dir: %s
detection: {enabled: false}
admin: {token: %s}
store: {type: redis, url: '%s', key_prefix: 'vis-e2e:'}
rules:
  - id: block-scanner
    paths: [/scanner/]
`, upstream, addr, filepath.Join(dir, "feeds"), visToken, redisURL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/", 200)
	return &visInstance{process: p, base: "http://" + addr}
}

// do sends a request from client (X-Forwarded-For through the trusted
// loopback proxy), with the admin token when admin is set, and returns
// the status and body.
func (v *visInstance) do(t *testing.T, method, path, client, body string, admin bool) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, v.base+path, rd)
	req.Header.Set("User-Agent", "Mozilla/5.0 (vis e2e)")
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+visToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two real parapet processes on one real redis-server: a block on
// instance A is in instance B's events API (named as A's), each sees the
// other in status, and a ban posted to B's API is enforced by A (403).
func TestVisTwoProcessesOnOneRedisShareEventsAndBans(t *testing.T) {
	rd := testenv.StartRedis(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	a := startVisInstance(t, up.URL, rd.URL())
	b := startVisInstance(t, up.URL, rd.URL())

	instances := func(v *visInstance) []string {
		code, body := v.do(t, "GET", "/_parapet/api/status", "", "", true)
		if code != 200 {
			t.Fatalf("status: %d %s", code, body)
		}
		var st struct {
			Instances []struct{ ID string } `json:"instances"`
		}
		json.Unmarshal([]byte(body), &st)
		var ids []string
		for _, i := range st.Instances {
			ids = append(ids, i.ID)
		}
		return ids
	}
	var seen []string
	deadline := time.Now().Add(15 * time.Second)
	for seen = instances(b); len(seen) != 2 && time.Now().Before(deadline); seen = instances(b) {
		time.Sleep(100 * time.Millisecond)
	}
	if len(seen) != 2 {
		t.Fatalf("B's status sees instances %v, want two", seen)
	}

	if code, _ := a.do(t, "GET", "/scanner/probe", "198.51.100.61", "", false); code != 403 {
		t.Fatalf("the block rule on A answered %d", code)
	}
	type record struct {
		Instance string `json:"instance"`
		ClientIP string `json:"client_ip"`
		Rule     string `json:"rule"`
		Decision string `json:"decision"`
		Path     string `json:"path"`
	}
	var got []record
	deadline = time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		code, body := b.do(t, "GET", "/_parapet/api/events?ip=198.51.100.61", "", "", true)
		if code != 200 {
			t.Fatalf("B's events: %d %s", code, body)
		}
		var page struct{ Events []record }
		json.Unmarshal([]byte(body), &page)
		if got = page.Events; len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("B's events for A's blocked client: %+v, want the one block", got)
	}
	e := got[0]
	if e.Rule != "block-scanner" || e.Decision != "block" || e.Path != "/scanner/probe" {
		t.Fatalf("B's copy of A's block: %+v", e)
	}
	_, ownBody := a.do(t, "GET", "/_parapet/api/events?ip=198.51.100.61", "", "", true)
	var own struct{ Events []record }
	json.Unmarshal([]byte(ownBody), &own)
	if len(own.Events) != 1 || own.Events[0].Instance != e.Instance || !slices.Contains(seen, e.Instance) {
		t.Fatalf("the event's instance %q: A calls it %+v, status lists %v", e.Instance, own.Events, seen)
	}

	if code, _ := a.do(t, "GET", "/", "198.51.100.62", "", false); code != 200 {
		t.Fatalf("the client to be banned got %d on A before the ban", code)
	}
	if code, body := b.do(t, "POST", "/_parapet/api/bans", "", `{"ip":"198.51.100.62","for":"1h","reason":"posted to B"}`, true); code != 201 {
		t.Fatalf("ban on B: %d %s", code, body)
	}
	if code, body := a.do(t, "GET", "/", "198.51.100.62", "", false); code != 403 {
		t.Fatalf("A let B's banned client through: %d %.200s", code, body)
	}
	if code, body := a.do(t, "GET", "/_parapet/api/bans", "", "", true); code != 200 || !strings.Contains(body, "posted to B") {
		t.Fatalf("A's bans: %d %s", code, body)
	}
}
