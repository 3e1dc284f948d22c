package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

const adminToken = "e2e-admin-token-0123456789"

// adminParapet runs `parapet run` in front of the Django app under
// gunicorn with the admin API on, and an allow rule for 203.0.113.0/24.
func adminParapet(t *testing.T) (*process, []string) {
	t.Helper()
	sock := testenv.StartGunicorn(t, "")
	p := edgeParapet(t, sock, "PARAPET_ADMIN_TOKEN="+adminToken,
		"PARAPET_ADMIN_STATE_FILE="+filepath.Join(t.TempDir(), "state.json"),
		`PARAPET_RULES=[{"id": "office", "action": "allow", "ips": ["203.0.113.0/24"]}]`)
	return p, []string{"PARAPET_SERVER=http://" + p.addr, "PARAPET_ADMIN_TOKEN=" + adminToken}
}

// A ban made through the admin API makes that client get 403 through the
// proxy in front of the Django app, and no other client.
func TestAdminAPIBanBlocksTheClientInFrontOfDjango(t *testing.T) {
	p, _ := adminParapet(t)
	base := "http://" + p.addr
	if s := send(t, "GET", base, "/", "198.51.100.70").StatusCode; s != 200 {
		t.Fatalf("before the ban: %d", s)
	}
	req, _ := http.NewRequest("POST", base+"/_parapet/api/bans", strings.NewReader(`{"ip":"198.51.100.70","for":"1h","reason":"e2e"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ban map[string]any
	json.NewDecoder(resp.Body).Decode(&ban)
	resp.Body.Close()
	if resp.StatusCode != 201 || ban["ip"] != "198.51.100.70" {
		t.Fatalf("ban: %d %v", resp.StatusCode, ban)
	}
	if s := send(t, "GET", base, "/", "198.51.100.70").StatusCode; s != 403 {
		t.Fatalf("banned client through the proxy: %d", s)
	}
	if s := send(t, "GET", base, "/", "198.51.100.71").StatusCode; s != 200 {
		t.Fatalf("another client: %d", s)
	}
	p.waitLog(t, `"client_ip":"198.51.100.70"`, `"rule":"banned"`, `"status":403`)
	p.waitLog(t, `"msg":"admin"`, `"actor":"admin"`, "banned 198.51.100.70")
}

// The CLI talks to the running server's API: what it prints is what the
// server did.
func TestCLITalksToTheAdminAPI(t *testing.T) {
	p, env := adminParapet(t)
	base := "http://" + p.addr

	out, code := run(t, env, "ban", "add", "203.0.113.9", "--reason", "oops")
	if code != 1 || !strings.Contains(out, "203.0.113.9 is allow-listed by rule office: ") {
		t.Fatalf("ban add of an allow-listed address: %d\n%s", code, out)
	}
	out, code = run(t, env, "ban", "add", "198.51.100.80", "--for", "2h", "--reason", "from the cli")
	if code != 0 || !strings.Contains(out, "banned 198.51.100.80 (block) until ") {
		t.Fatalf("ban add: %d\n%s", code, out)
	}
	if s := send(t, "GET", base, "/", "198.51.100.80").StatusCode; s != 403 {
		t.Fatalf("client banned by the CLI: %d", s)
	}
	out, code = run(t, env, "events", "--ip", "198.51.100.80", "--limit", "5")
	if code != 0 || !strings.Contains(out, `"banned"`) || strings.Contains(out, "198.51.100.81") {
		t.Fatalf("events: %d\n%s", code, out)
	}
	out, code = run(t, env, "ban", "list")
	if code != 0 || !strings.Contains(out, "198.51.100.80") || !strings.Contains(out, "from the cli") || !strings.Contains(out, "admin:admin") {
		t.Fatalf("ban list: %d\n%s", code, out)
	}
	if out, code = run(t, env, "ban", "remove", "198.51.100.80"); code != 0 {
		t.Fatalf("ban remove: %d\n%s", code, out)
	}
	if out, code = run(t, env, "ban", "remove", "198.51.100.80"); code != 1 || !strings.Contains(out, "not banned") {
		t.Fatalf("ban remove again: %d\n%s", code, out)
	}

	out, code = run(t, env, "rules", "add", `{"id": "block-net", "ips": ["198.51.100.0/24", "nope"]}`)
	if code != 1 || !strings.Contains(out, "ips[1]: ") {
		t.Fatalf("rules add with a bad address: %d\n%s", code, out)
	}
	if out, code = run(t, env, "rules", "add", `{"id": "block-net", "ips": ["198.51.100.0/24"]}`); code != 0 {
		t.Fatalf("rules add: %d\n%s", code, out)
	}
	if s := send(t, "GET", base, "/", "198.51.100.90").StatusCode; s != 403 {
		t.Fatalf("live rule through the proxy: %d", s)
	}
	if out, code = run(t, env, "rules", "mode", "block-net", "monitor"); code != 0 || !strings.Contains(out, "monitor") {
		t.Fatalf("rules mode: %d\n%s", code, out)
	}
	if s := send(t, "GET", base, "/", "198.51.100.90").StatusCode; s != 200 {
		t.Fatalf("monitored live rule: %d", s)
	}
	out, code = run(t, env, "rules", "list")
	if code != 0 || !strings.Contains(out, "block-net") || !strings.Contains(out, "office") || !strings.Contains(out, "monitor") {
		t.Fatalf("rules list: %d\n%s", code, out)
	}
	if out, code = run(t, env, "rules", "remove", "office"); code != 1 || !strings.Contains(out, "config file") {
		t.Fatalf("rules remove of a file rule: %d\n%s", code, out)
	}
	if out, code = run(t, env, "rules", "remove", "block-net"); code != 0 {
		t.Fatalf("rules remove: %d\n%s", code, out)
	}

	out, code = run(t, env, "status")
	if code != 0 || !strings.Contains(out, "store:        memory, healthy") || !strings.Contains(out, "under attack: off") {
		t.Fatalf("status: %d\n%s", code, out)
	}
	if out, code = run(t, env, "under-attack", "on", "--for", "10m", "--reason", "drill"); code != 0 || !strings.Contains(out, "drill") {
		t.Fatalf("under-attack on: %d\n%s", code, out)
	}
	if out, _ = run(t, env, "status"); !strings.Contains(out, "under attack: ON") {
		t.Fatalf("status under attack:\n%s", out)
	}
	if out, code = run(t, env, "under-attack", "off"); code != 0 {
		t.Fatalf("under-attack off: %d\n%s", code, out)
	}

	// A wrong token: refused, non-zero, and nothing changed.
	bad := []string{"PARAPET_SERVER=" + base, "PARAPET_ADMIN_TOKEN=wrong-token-0000000000"}
	if out, code = run(t, bad, "ban", "add", "198.51.100.81"); code != 1 || !strings.Contains(out, "wrong admin token") {
		t.Fatalf("wrong token: %d\n%s", code, out)
	}
	if out, code = run(t, []string{"PARAPET_ADMIN_TOKEN=" + adminToken}, "status"); code != 2 || !strings.Contains(out, "--server") {
		t.Fatalf("no server: %d\n%s", code, out)
	}
}
