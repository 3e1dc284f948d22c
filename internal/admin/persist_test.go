package admin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// Live changes made through the API survive a restart with the memory
// store: the ban (the ban file), the live rule and the mode override (the
// state file beside the config), and under-attack mode switched on by hand.
func TestLiveChangesSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	file := writeConfig(t, dir, app(t), tokens)
	s := start(t, file)
	mustCall(t, s, "POST", "/_parapet/api/bans", `{"ip":"198.51.100.7","for":"2h","reason":"kept"}`, 201)
	mustCall(t, s, "POST", "/_parapet/api/rules", `{"kind":"access","rule":{"id":"block-net","ips":["192.0.2.0/24"]}}`, 201)
	mustCall(t, s, "PATCH", "/_parapet/api/rules/block-scanner", `{"mode":"monitor"}`, 200)
	mustCall(t, s, "POST", "/_parapet/api/under-attack", `{"on":true,"for":"1h"}`, 200)
	s.stop()
	state := strings.TrimSuffix(file, ".yaml") + ".state.json"
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state file beside the config: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".parapet-state-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	s2 := start(t, file) // a new process would read the same files
	_, list, _ := s2.call(t, "GET", "/_parapet/api/rules", rootToken, "")
	byID := map[string]map[string]any{}
	for _, r := range list["rules"].([]any) {
		m := r.(map[string]any)
		byID[m["id"].(string)] = m
	}
	if r := byID["block-net"]; r == nil || r["source"] != "live" {
		t.Fatalf("live rule after restart: %v", list)
	}
	if r := byID["block-scanner"]; r["mode"] != "monitor" {
		t.Fatalf("override after restart: %v", r)
	}
	_, bans, _ := s2.call(t, "GET", "/_parapet/api/bans", rootToken, "")
	if b := bans["bans"].([]any); len(b) != 1 || b[0].(map[string]any)["reason"] != "kept" {
		t.Fatalf("bans after restart: %v", bans)
	}
	_, st, _ := s2.call(t, "GET", "/_parapet/api/status", rootToken, "")
	if ua := st["under_attack"].(map[string]any); ua["on"] != true {
		t.Fatalf("under attack after restart: %v", ua)
	}
	mustCall(t, s2, "POST", "/_parapet/api/under-attack", `{"on":false}`, 200)
	if got := s2.get(t, "192.0.2.9", "/page"); got != 403 {
		t.Fatalf("live rule not enforced after restart: %d", got)
	}
	if got := s2.get(t, "198.51.100.7", "/page"); got != 403 {
		t.Fatalf("ban not enforced after restart: %d", got)
	}
	if got := s2.get(t, "198.51.100.8", "/scanner/x"); got != 200 {
		t.Fatalf("monitor override not applied after restart: %d", got)
	}
}

// Two instances on one real redis-server: a ban and a live rule made
// through one are listed and enforced by the other, and both see each
// other in status.
func TestTwoInstancesShareBansAndRulesThroughRedis(t *testing.T) {
	r := testenv.StartRedis(t)
	up := app(t)
	extra := tokens + "store: {type: redis, url: '" + r.URL() + "', key_prefix: 't:'}\n"
	a := start(t, writeConfig(t, t.TempDir(), up, extra))
	b := start(t, writeConfig(t, t.TempDir(), up, extra))

	mustCall(t, a, "POST", "/_parapet/api/bans", `{"ip":"198.51.100.7","for":"1h","reason":"seen on a"}`, 201)
	_, bans, _ := b.call(t, "GET", "/_parapet/api/bans", rootToken, "")
	if l := bans["bans"].([]any); len(l) != 1 || l[0].(map[string]any)["reason"] != "seen on a" {
		t.Fatalf("b's bans: %v", bans)
	}
	if got := b.get(t, "198.51.100.7", "/page"); got != 403 {
		t.Fatalf("b let a's banned client through: %d", got)
	}

	mustCall(t, a, "POST", "/_parapet/api/rules", `{"kind":"access","rule":{"id":"block-net","ips":["192.0.2.0/24"]}}`, 201)
	waitFor(t, "b enforces a's live rule", func() bool { return b.get(t, "192.0.2.9", "/page") == 403 })
	_, list, _ := b.call(t, "GET", "/_parapet/api/rules", rootToken, "")
	found := false
	for _, r := range list["rules"].([]any) {
		found = found || r.(map[string]any)["id"] == "block-net"
	}
	if !found {
		t.Fatalf("b does not list a's live rule: %v", list)
	}
	mustCall(t, b, "PATCH", "/_parapet/api/rules/block-net", `{"mode":"monitor"}`, 200)
	waitFor(t, "a follows b's monitor switch", func() bool { return a.get(t, "192.0.2.9", "/page") == 200 })

	waitFor(t, "each instance sees two", func() bool {
		_, st, _ := a.call(t, "GET", "/_parapet/api/status", rootToken, "")
		return len(st["instances"].([]any)) == 2
	})
	_, st, _ := b.call(t, "GET", "/_parapet/api/status", rootToken, "")
	if sv := st["store"].(map[string]any); sv["type"] != "redis" || sv["healthy"] != true {
		t.Fatalf("store: %v", sv)
	}

	// Under-attack by hand on a is on for b too.
	mustCall(t, a, "POST", "/_parapet/api/under-attack", `{"on":true,"for":"10m"}`, 200)
	waitFor(t, "b under attack", func() bool {
		_, st, _ := b.call(t, "GET", "/_parapet/api/status", rootToken, "")
		return st["under_attack"].(map[string]any)["on"] == true
	})

	// A restart of b keeps everything (it is all in Redis).
	b.stop()
	b2 := start(t, b.file)
	if got := b2.get(t, "198.51.100.7", "/page"); got != 403 {
		t.Fatalf("ban after restart: %d", got)
	}
	_, list, _ = b2.call(t, "GET", "/_parapet/api/rules", rootToken, "")
	if !strings.Contains(jsonString(list), `"block-net"`) {
		t.Fatalf("rules after restart: %v", list)
	}
}

func mustCall(t *testing.T, s *server, method, path, body string, want int) map[string]any {
	t.Helper()
	code, m, _ := s.call(t, method, path, rootToken, body)
	if code != want {
		t.Fatalf("%s %s: %d %v, want %d", method, path, code, m, want)
	}
	return m
}
