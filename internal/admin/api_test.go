package admin_test

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

var endpoints = []struct{ method, path, body string }{
	{"GET", "/_parapet/api/status", ""},
	{"GET", "/_parapet/api/bans", ""},
	{"POST", "/_parapet/api/bans", `{"ip":"198.51.100.1"}`},
	{"DELETE", "/_parapet/api/bans/198.51.100.1", ""},
	{"GET", "/_parapet/api/rules", ""},
	{"POST", "/_parapet/api/rules", `{"kind":"access","rule":{"id":"x","ips":["198.51.100.1"]}}`},
	{"PATCH", "/_parapet/api/rules/office", `{"mode":"monitor"}`},
	{"DELETE", "/_parapet/api/rules/office", ""},
	{"POST", "/_parapet/api/under-attack", `{"on":true}`},
	{"POST", "/_parapet/api/reload", ""},
	{"GET", "/_parapet/api/events", ""},
	{"GET", "/_parapet/api/stats", ""},
}

// Every endpoint refuses a request without a token and with a wrong one;
// wrong tokens are logged (never their text), counted, and past
// admin.fail_limit (3/minute here) the address gets 429, even with the
// right token, while another address is still served.
func TestEveryEndpointRefusesMissingAndWrongTokens(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), strings.Replace(tokens, "3/minute", "1000/minute", 1)))
	for _, e := range endpoints {
		if code, body, _ := s.call(t, e.method, e.path, "", e.body); code != http.StatusUnauthorized || body["error"] == nil {
			t.Errorf("%s %s without a token: %d %v", e.method, e.path, code, body)
		}
		if code, _, h := s.call(t, e.method, e.path, "wrong-token-guess-0000", e.body); code != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s %s with a wrong token: %d", e.method, e.path, code)
		}
	}
	if strings.Contains(s.out.String(), "wrong-token-guess") {
		t.Fatal("a wrong token's text was logged")
	}
	s.waitLines(t, `"msg":"admin"`, "wrong bearer token")
	time.Sleep(300 * time.Millisecond) // log lines are flushed every 100 ms
	if n := len(s.out.Lines(`"msg":"admin"`, "wrong bearer token")); n != len(endpoints) {
		t.Fatalf("%d wrong-token events logged, want %d", n, len(endpoints))
	}
	if m := s.metric(t, "parapet_admin_auth_failures_total"); m != "parapet_admin_auth_failures_total "+itoa(len(endpoints)) {
		t.Fatalf("metric: %q", m)
	}
	// The refused requests are blocks of rule admin-token in the request log.
	if !s.waitLines(t, `"rule":"admin-token"`, `"status":401`) {
		t.Fatal("no request event with rule admin-token")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFailedAttemptsAreRateLimitedPerAddress(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), tokens))
	var codes []int
	for i := 0; i < 5; i++ {
		code, _, _ := s.call(t, "GET", "/_parapet/api/status", "wrong-token-guess-0000", "", "X-Forwarded-For", "198.51.100.50")
		codes = append(codes, code)
	}
	// 3/minute: three 401s (the burst), then 429.
	if codes[0] != 401 || codes[2] != 401 || codes[3] != 429 || codes[4] != 429 {
		t.Fatalf("statuses %v", codes)
	}
	code, _, h := s.call(t, "GET", "/_parapet/api/status", rootToken, "", "X-Forwarded-For", "198.51.100.50")
	if code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("right token from a locked-out address: %d (Retry-After %q)", code, h.Get("Retry-After"))
	}
	if code, _, _ := s.call(t, "GET", "/_parapet/api/status", rootToken, "", "X-Forwarded-For", "198.51.100.51"); code != 200 {
		t.Fatalf("another address: %d", code)
	}
	// Logins with a wrong token count the same.
	for i := 0; i < 4; i++ {
		code, _, _ = s.call(t, "POST", "/_parapet/api/session", "", `{"token":"nope-nope-nope-nope"}`, "X-Forwarded-For", "198.51.100.52", "Host", adminHost)
	}
	if code != 429 {
		t.Fatalf("fourth wrong login: %d", code)
	}
}

func TestNoTokenMeansTheSurfaceIsOff(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), ""))
	for _, e := range endpoints {
		if code, _, _ := s.call(t, e.method, e.path, rootToken, e.body); code != http.StatusNotFound {
			t.Errorf("%s %s with the API off: %d", e.method, e.path, code)
		}
	}
}

func TestStatus(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), tokens))
	code, st, _ := s.call(t, "GET", "/_parapet/api/status", aliceToken, "")
	if code != 200 {
		t.Fatalf("%d %v", code, st)
	}
	if st["version"] != "test" || len(st["config_hash"].(string)) != 16 || st["mode"] != "edge" {
		t.Fatalf("status %v", st)
	}
	if inst := st["instances"].([]any); len(inst) != 1 {
		t.Fatalf("instances %v", inst)
	}
	if ua := st["under_attack"].(map[string]any); ua["on"] != false {
		t.Fatalf("under_attack %v", ua)
	}
	if sv := st["store"].(map[string]any); sv["type"] != "memory" || sv["healthy"] != true {
		t.Fatalf("store %v", sv)
	}
}

// The dashboard's session: a login sets a Secure, HttpOnly,
// SameSite=Strict cookie scoped to /_parapet/ and answers the CSRF value;
// changes made with the cookie need X-CSRF-Token; logging out ends the
// session on the server (the old cookie no longer works).
func TestSessionLoginCSRFAndLogout(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), tokens))
	if code, _, _ := s.call(t, "POST", "/_parapet/api/session", "", `{"token":"not-the-token-000000"}`, "Host", adminHost); code != 401 {
		t.Fatalf("login with a wrong token: %d", code)
	}
	if code, body, _ := s.call(t, "POST", "/_parapet/api/session", "", `{"tokn":"x"}`, "Host", adminHost); code != 400 {
		t.Fatalf("login with a bad body: %d %v", code, body)
	}
	code, body, h := s.call(t, "POST", "/_parapet/api/session", "", `{"token":"`+aliceToken+`"}`, "Host", adminHost)
	if code != 200 || body["actor"] != "alice" || len(body["csrf"].(string)) < 20 {
		t.Fatalf("login: %d %v", code, body)
	}
	csrf := body["csrf"].(string)
	sc := h.Get("Set-Cookie")
	for _, want := range []string{"parapet_admin=", "Path=/_parapet/", "HttpOnly", "SameSite=Strict", "Secure", "Max-Age="} {
		if !strings.Contains(sc, want) {
			t.Fatalf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	cookie := strings.SplitN(sc, ";", 2)[0]
	code, body, _ = s.call(t, "GET", "/_parapet/api/session", "", "", "Cookie", cookie, "Host", adminHost)
	if code != 200 || body["csrf"] != csrf || body["actor"] != "alice" {
		t.Fatalf("session: %d %v", code, body)
	}
	if code, _, _ := s.call(t, "GET", "/_parapet/api/bans", "", "", "Cookie", cookie, "Host", adminHost); code != 200 {
		t.Fatalf("GET with the cookie: %d", code)
	}
	// A change with the cookie but no (or the wrong) CSRF header.
	for _, hdr := range [][]string{{"Host", adminHost, "Cookie", cookie}, {"Host", adminHost, "Cookie", cookie, "X-CSRF-Token", "forged"}} {
		if code, _, _ := s.call(t, "POST", "/_parapet/api/bans", "", `{"ip":"198.51.100.9"}`, hdr...); code != 403 {
			t.Fatalf("POST with the cookie, headers %v: %d", hdr, code)
		}
		if code, _, _ := s.call(t, "POST", "/_parapet/api/under-attack", "", `{"on":true}`, hdr...); code != 403 {
			t.Fatalf("under-attack with the cookie, headers %v: %d", hdr, code)
		}
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/session", "", "", "Cookie", cookie, "Host", adminHost); code != 403 {
		t.Fatalf("logout without CSRF: %d", code)
	}
	code, ban, _ := s.call(t, "POST", "/_parapet/api/bans", "", `{"ip":"198.51.100.9"}`, "Cookie", cookie, "X-CSRF-Token", csrf, "Host", adminHost)
	if code != 201 || ban["source"] != "admin:alice" {
		t.Fatalf("POST with cookie and CSRF: %d %v", code, ban)
	}
	if !s.waitLines(t, `"msg":"admin"`, `"actor":"alice"`, "banned 198.51.100.9") {
		t.Fatal("no admin event naming alice")
	}
	// A forged cookie (re-signed payload) is refused.
	if code, _, _ := s.call(t, "GET", "/_parapet/api/session", "", "", "Cookie", "parapet_admin=eyJpIjoieCJ9.AAAA", "Host", adminHost); code != 401 {
		t.Fatalf("forged cookie: %d", code)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/session", "", "", "Cookie", cookie, "X-CSRF-Token", csrf, "Host", adminHost); code != 204 {
		t.Fatalf("logout: %d", code)
	}
	if code, _, _ := s.call(t, "GET", "/_parapet/api/session", "", "", "Cookie", cookie, "Host", adminHost); code != 401 {
		t.Fatalf("session after logout: %d", code)
	}
	if code, _, _ := s.call(t, "GET", "/_parapet/api/bans", "", "", "Cookie", cookie, "Host", adminHost); code != 401 {
		t.Fatalf("GET with the logged-out cookie: %d", code)
	}
	// Bearer requests need no CSRF header.
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/bans/198.51.100.9", rootToken, ""); code != 204 {
		t.Fatalf("bearer DELETE: %d", code)
	}
}

// Review 5: a script on any page of the app shares the app's origin, so
// it could use a dashboard session made there (read the CSRF token from
// GET session, send the cookie). Sessions are made and honoured only on
// admin.host (or admin.listen): on the app's host a login is refused with
// a message saying how to get one, and a session cookie made on
// admin.host is not accepted; bearer tokens work on every host.
func TestSessionsOnlyOnTheAdminHost(t *testing.T) {
	s := start(t, writeConfig(t, t.TempDir(), app(t), tokens))
	code, body, h := s.call(t, "POST", "/_parapet/api/session", "", `{"token":"`+rootToken+`"}`)
	if msg, _ := body["error"].(string); code != 403 || h.Get("Set-Cookie") != "" || !strings.Contains(msg, adminHost) {
		t.Fatalf("login on the app's host: %d %v (Set-Cookie %q), want 403 naming %s", code, body, h.Get("Set-Cookie"), adminHost)
	}
	code, body, h = s.call(t, "POST", "/_parapet/api/session", "", `{"token":"`+rootToken+`"}`, "Host", "PARAPET.test:443")
	if code != 200 || h.Get("Set-Cookie") == "" || strings.Contains(strings.ToLower(h.Get("Set-Cookie")), "domain=") {
		t.Fatalf("login on admin.host: %d %v (Set-Cookie %q), want 200 and a host-only cookie", code, body, h.Get("Set-Cookie"))
	}
	cookie := strings.SplitN(h.Get("Set-Cookie"), ";", 2)[0]
	csrf := body["csrf"].(string)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/_parapet/api/session", ""},
		{"GET", "/_parapet/api/bans", ""},
		{"PATCH", "/_parapet/api/rules/block-scanner", `{"mode":"monitor"}`},
	} {
		if code, body, _ := s.call(t, c.method, c.path, "", c.body, "Cookie", cookie, "X-CSRF-Token", csrf); code != 403 {
			t.Errorf("%s %s with admin.host's session on the app's host: %d %v, want 403", c.method, c.path, code, body)
		}
	}
	if s.get(t, "198.51.100.3", "/scanner/") != 403 {
		t.Fatal("the block rule was switched off through the app's host")
	}
	if code, _, _ := s.call(t, "GET", "/_parapet/api/bans", "", "", "Cookie", cookie, "Host", adminHost); code != 200 {
		t.Fatalf("the session on admin.host: %d", code)
	}
	if code, _, _ := s.call(t, "GET", "/_parapet/api/bans", rootToken, ""); code != 200 {
		t.Fatalf("bearer on the app's host: %d", code)
	}

	// Without admin.host (or admin.listen) there is no login anywhere on
	// the public port, and the refusal says how to turn it on.
	s2 := start(t, writeConfig(t, t.TempDir(), app(t), "admin: {token: "+rootToken+"}\n"))
	code, body, _ = s2.call(t, "POST", "/_parapet/api/session", "", `{"token":"`+rootToken+`"}`)
	if msg, _ := body["error"].(string); code != 403 || !strings.Contains(msg, "admin.host") || !strings.Contains(msg, "admin.listen") {
		t.Fatalf("login without admin.host: %d %v, want 403 naming admin.host and admin.listen", code, body)
	}
	if code, _, _ := s2.call(t, "GET", "/_parapet/api/status", rootToken, ""); code != 200 {
		t.Fatalf("bearer without admin.host: %d", code)
	}
}

// Review 5: an IPv6 ban is of a /64, and an allow rule runs before the
// bans; a ban of 2001:db8::/64 while 2001:db8::5 is allow-listed was
// answered 201 but never applied to that address (only the prefix's first
// address was checked). A ban whose range holds any allow-listed address
// is refused with 409 naming the rule, whichever of its addresses is
// given; a /64 beside it is banned.
func TestBanRangeOverlappingAnAllowRuleIsRefused(t *testing.T) {
	s := start(t, writeConfig(t, t.TempDir(), app(t), `  - id: office6
    action: allow
    ips: ['2001:db8::5']
`+tokens))
	for _, ip := range []string{"2001:db8::/64", "2001:db8::7", "2001:db8::5"} {
		code, body, _ := s.call(t, "POST", "/_parapet/api/bans", rootToken, `{"ip":"`+ip+`"}`)
		msg, _ := body["error"].(string)
		if code != 409 || !strings.Contains(msg, "allow-listed by rule office6") || errorFields(body)["ip"] == "" {
			t.Errorf("ban of %s beside allow-listed 2001:db8::5: %d %v, want 409 naming office6", ip, code, body)
		}
	}
	if code, body, _ := s.call(t, "GET", "/_parapet/api/bans", rootToken, ""); code != 200 || strings.Contains(fmt.Sprint(body), "2001:db8::") {
		t.Fatalf("a refused ban was kept: %d %v", code, body)
	}
	if code, body, _ := s.call(t, "POST", "/_parapet/api/bans", rootToken, `{"ip":"2001:db8:0:1::7"}`); code != 201 || body["ip"] != "2001:db8:0:1::/64" {
		t.Fatalf("ban of the next /64: %d %v", code, body)
	}
}

func TestBans(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), tokens))
	for _, tc := range []struct{ body, field string }{
		{`{"ip":"not-an-ip"}`, "ip"},
		{`{"ip":"198.51.100.7","for":"soon"}`, "for"},
		{`{"ip":"198.51.100.7","for":"-1h"}`, "for"},
		{`{"ip":"198.51.100.7","action":"shout"}`, "action"},
	} {
		code, body, _ := s.call(t, "POST", "/_parapet/api/bans", rootToken, tc.body)
		if code != 400 || errorFields(body)[tc.field] == "" {
			t.Errorf("%s: %d %v", tc.body, code, body)
		}
	}
	if code, body, _ := s.call(t, "POST", "/_parapet/api/bans", rootToken, `{"ip":"198.51.100.7","bogus":1}`); code != 400 {
		t.Errorf("unknown field: %d %v", code, body)
	}
	code, body, _ := s.call(t, "POST", "/_parapet/api/bans", rootToken, `{"ip":"203.0.113.9","for":"1h"}`)
	if code != 409 || !strings.HasPrefix(body["error"].(string), "203.0.113.9 is allow-listed by rule office: ") {
		t.Fatalf("allow-listed: %d %v", code, body)
	}
	if s.get(t, "198.51.100.7", "/page") != 200 {
		t.Fatal("client refused before its ban")
	}
	code, ban, _ := s.call(t, "POST", "/_parapet/api/bans", rootToken, `{"ip":"198.51.100.7","for":"2h","reason":"probing"}`)
	if code != 201 || ban["ip"] != "198.51.100.7" || ban["reason"] != "probing" || ban["source"] != "admin:admin" || ban["until"] == "" {
		t.Fatalf("ban: %d %v", code, ban)
	}
	if got := s.get(t, "198.51.100.7", "/page"); got != 403 {
		t.Fatalf("banned client got %d", got)
	}
	if got := s.get(t, "198.51.100.8", "/page"); got != 200 {
		t.Fatalf("another client got %d", got)
	}
	code, list, _ := s.call(t, "GET", "/_parapet/api/bans", rootToken, "")
	if bans := list["bans"].([]any); code != 200 || len(bans) != 1 || bans[0].(map[string]any)["ip"] != "198.51.100.7" {
		t.Fatalf("list: %d %v", code, list)
	}
	// IPv6 by its /64.
	code, ban, _ = s.call(t, "POST", "/_parapet/api/bans", rootToken, `{"ip":"2001:db8:1:2::5"}`)
	if code != 201 || ban["ip"] != "2001:db8:1:2::/64" {
		t.Fatalf("IPv6 ban: %d %v", code, ban)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/bans/2001:db8:1:2::/64", rootToken, ""); code != 204 {
		t.Fatalf("lift IPv6 ban: %d", code)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/bans/198.51.100.7", rootToken, ""); code != 204 {
		t.Fatalf("lift: %d", code)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/bans/198.51.100.7", rootToken, ""); code != 404 {
		t.Fatalf("lift again: %d", code)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/bans/nonsense", rootToken, ""); code != 400 {
		t.Fatalf("lift nonsense: %d", code)
	}
	if got := s.get(t, "198.51.100.7", "/page"); got != 200 {
		t.Fatalf("unbanned client got %d", got)
	}
	if !s.waitLines(t, `"msg":"admin"`, "lifted the ban of 198.51.100.7") {
		t.Fatal("no event for the lifted ban")
	}
}

func TestRules(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), tokens+`rate_limits:
  rules:
    - {id: rl-search, limit: 100/minute, paths: [/search]}
`))
	code, list, _ := s.call(t, "GET", "/_parapet/api/rules", rootToken, "")
	rules := list["rules"].([]any)
	if code != 200 || len(rules) != 3 {
		t.Fatalf("rules: %d %v", code, list)
	}
	office := rules[0].(map[string]any)
	if office["id"] != "office" || office["kind"] != "access" || office["mode"] != "enforce" || office["source"] != "file" || office["action"] != "allow" {
		t.Fatalf("office: %v", office)
	}
	if rl := rules[2].(map[string]any); rl["kind"] != "rate_limit" || rl["limit"] != "100/minute" {
		t.Fatalf("rate limit: %v", rl)
	}
	// Validation by field, by the config's own code.
	for _, tc := range []struct{ body, field string }{
		{`{"kind":"access","rule":{"id":"x","ips":["198.51.100.0/24","bad"]}}`, "ips[1]"},
		{`{"kind":"access","rule":{"id":"x","path_regex":["("]}}`, "path_regex[0]"},
		{`{"kind":"access","rule":{"id":"x","ips":["198.51.100.1"],"pathz":["/"]}}`, "pathz"},
		{`{"kind":"access","rule":{"id":"office","ips":["198.51.100.1"]}}`, "id"},
		{`{"kind":"access","rule":{"id":"x","action":"smite","ips":["198.51.100.1"]}}`, "action"},
		{`{"kind":"access","rule":{"ips":["198.51.100.1"]}}`, "id"},
		{`{"kind":"access","rule":{"id":"x","paths":["nope"]}}`, "paths[0]"},
		{`{"kind":"rate_limit","rule":{"id":"y","limit":"fast"}}`, "limit"},
		{`{"kind":"rate_limit","rule":{"id":"y","limit":"5/minute","key":"shoe"}}`, "key"},
		{`{"kind":"banana","rule":{"id":"x"}}`, "kind"},
		{`{"kind":"access"}`, "rule"},
	} {
		code, body, _ := s.call(t, "POST", "/_parapet/api/rules", rootToken, tc.body)
		if code != 400 || errorFields(body)[tc.field] == "" {
			t.Errorf("%s: %d %v (want field %s)", tc.body, code, body, tc.field)
		}
	}
	if got := s.get(t, "198.51.100.20", "/page"); got != 200 {
		t.Fatalf("before the live rule: %d", got)
	}
	code, rule, _ := s.call(t, "POST", "/_parapet/api/rules", aliceToken, `{"kind":"access","rule":{"id":"block-net","ips":["198.51.100.0/24"],"status":451}}`)
	if code != 201 || rule["source"] != "live" || rule["mode"] != "enforce" || rule["status"] != float64(451) {
		t.Fatalf("add: %d %v", code, rule)
	}
	if got := s.get(t, "198.51.100.20", "/page"); got != 451 {
		t.Fatalf("live rule not enforced: %d", got)
	}
	// Monitor: logged, not enforced.
	if code, r, _ := s.call(t, "PATCH", "/_parapet/api/rules/block-net", aliceToken, `{"mode":"monitor"}`); code != 200 || r["mode"] != "monitor" {
		t.Fatalf("monitor: %d %v", code, r)
	}
	if got := s.get(t, "198.51.100.20", "/page"); got != 200 {
		t.Fatalf("monitored rule enforced: %d", got)
	}
	if code, r, _ := s.call(t, "PATCH", "/_parapet/api/rules/block-net", aliceToken, `{"mode":"sometimes"}`); code != 400 || errorFields(r)["mode"] == "" {
		t.Fatalf("bad mode: %d %v", code, r)
	}
	// A live rule's fields change, validated the same way.
	if code, r, _ := s.call(t, "PATCH", "/_parapet/api/rules/block-net", aliceToken, `{"ips":["nope"]}`); code != 400 || errorFields(r)["ips[0]"] == "" {
		t.Fatalf("bad patch: %d %v", code, r)
	}
	if code, r, _ := s.call(t, "PATCH", "/_parapet/api/rules/block-net", aliceToken, `{"mode":"enforce","status":403}`); code != 200 || r["status"] != float64(403) {
		t.Fatalf("patch: %d %v", code, r)
	}
	if got := s.get(t, "198.51.100.20", "/page"); got != 403 {
		t.Fatalf("patched rule: %d", got)
	}
	// A file rule: only its mode, through an override.
	if got := s.get(t, "192.0.2.30", "/scanner/x"); got != 403 {
		t.Fatalf("file rule: %d", got)
	}
	if code, r, _ := s.call(t, "PATCH", "/_parapet/api/rules/block-scanner", rootToken, `{"mode":"monitor"}`); code != 200 || r["mode"] != "monitor" || r["source"] != "file" {
		t.Fatalf("file rule to monitor: %d %v", code, r)
	}
	if got := s.get(t, "192.0.2.30", "/scanner/x"); got != 200 {
		t.Fatalf("file rule in monitor: %d", got)
	}
	if code, _, _ := s.call(t, "PATCH", "/_parapet/api/rules/block-scanner", rootToken, `{"paths":["/other/"]}`); code != 409 {
		t.Fatalf("file rule fields: %d", code)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/rules/block-scanner", rootToken, ""); code != 409 {
		t.Fatalf("delete file rule: %d", code)
	}
	if code, _, _ := s.call(t, "PATCH", "/_parapet/api/rules/nope", rootToken, `{"mode":"monitor"}`); code != 404 {
		t.Fatalf("patch missing: %d", code)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/rules/block-net", rootToken, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if got := s.get(t, "198.51.100.20", "/page"); got != 200 {
		t.Fatalf("deleted rule still enforced: %d", got)
	}
	if code, _, _ := s.call(t, "DELETE", "/_parapet/api/rules/block-net", rootToken, ""); code != 404 {
		t.Fatalf("delete again: %d", code)
	}
	// A live rate limit.
	code, rule, _ = s.call(t, "POST", "/_parapet/api/rules", rootToken, `{"kind":"rate_limit","rule":{"id":"rl-live","limit":"2/minute","paths":["/limited/"]}}`)
	if code != 201 || rule["kind"] != "rate_limit" {
		t.Fatalf("add rate limit: %d %v", code, rule)
	}
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, s.get(t, "198.51.100.40", "/limited/x"))
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Fatalf("live rate limit: %v", got)
	}
	for _, want := range []string{"added live access rule block-net", "switched access rule block-net to monitor", "switched access rule block-scanner to monitor", "deleted live rule block-net"} {
		if !s.waitLines(t, `"msg":"admin"`, want) {
			t.Errorf("no admin event %q", want)
		}
	}
}

func TestUnderAttackByHand(t *testing.T) {
	dir := t.TempDir()
	s := start(t, writeConfig(t, dir, app(t), tokens))
	if got := s.get(t, "198.51.100.60", "/page"); got != 200 {
		t.Fatalf("before: %d", got)
	}
	if code, r, _ := s.call(t, "POST", "/_parapet/api/under-attack", rootToken, `{"on":true,"for":"soon"}`); code != 400 || errorFields(r)["for"] == "" {
		t.Fatalf("bad for: %d %v", code, r)
	}
	if code, r, _ := s.call(t, "POST", "/_parapet/api/under-attack", rootToken, `{}`); code != 400 || errorFields(r)["on"] == "" {
		t.Fatalf("no on: %d %v", code, r)
	}
	code, r, _ := s.call(t, "POST", "/_parapet/api/under-attack", rootToken, `{"on":true,"for":"30m","reason":"botnet"}`)
	if code != 200 || r["on"] != true || !strings.Contains(r["reason"].(string), "botnet") || r["until"] == "" {
		t.Fatalf("on: %d %v", code, r)
	}
	// Every client without clearance is challenged (a browser navigation
	// gets the challenge page).
	if got := s.get(t, "198.51.100.60", "/page"); got == 200 {
		t.Fatal("under attack, a client without clearance got the page")
	}
	_, st, _ := s.call(t, "GET", "/_parapet/api/status", rootToken, "")
	if ua := st["under_attack"].(map[string]any); ua["on"] != true || ua["until"] == "" {
		t.Fatalf("status: %v", ua)
	}
	if code, r, _ = s.call(t, "POST", "/_parapet/api/under-attack", rootToken, `{"on":false}`); code != 200 || r["on"] != false {
		t.Fatalf("off: %d %v", code, r)
	}
	if got := s.get(t, "198.51.100.60", "/page"); got != 200 {
		t.Fatalf("after: %d", got)
	}
	if !s.waitLines(t, `"msg":"under_attack"`, "under-attack mode on") || !s.waitLines(t, `"msg":"under_attack"`, "under-attack mode off") {
		t.Fatal("no under_attack events for on and off")
	}
}

func TestReloadRefusesABadFileAndKeepsServing(t *testing.T) {
	dir := t.TempDir()
	file := writeConfig(t, dir, app(t), tokens)
	s := start(t, file)
	_, st, _ := s.call(t, "GET", "/_parapet/api/status", rootToken, "")
	hash := st["config_hash"]
	good, _ := os.ReadFile(file)
	bad := strings.Replace(string(good), "paths: [/scanner/]", "paths: [scanner]", 1)
	os.WriteFile(file, []byte(bad), 0o600)
	code, body, _ := s.call(t, "POST", "/_parapet/api/reload", rootToken, "")
	if code != 400 {
		t.Fatalf("bad reload: %d %v", code, body)
	}
	p := body["errors"].([]any)[0].(map[string]any)
	line := 1 + strings.Count(bad[:strings.Index(bad, "paths: [scanner]")], "\n")
	if p["file"] != file || p["line"] != float64(line) || p["field"] != "rules[1].paths[0]" || !strings.Contains(p["reason"].(string), "must start with /") {
		t.Fatalf("problem: %v", p)
	}
	if got := s.get(t, "192.0.2.30", "/scanner/x"); got != 403 {
		t.Fatalf("running config replaced: %d", got)
	}
	if !s.waitLines(t, `"msg":"config"`, "config reload refused") {
		t.Fatal("no config event for the refusal")
	}
	os.WriteFile(file, []byte(strings.Replace(string(good), "paths: [/scanner/]", "paths: [/scanner2/]", 1)), 0o600)
	code, body, _ = s.call(t, "POST", "/_parapet/api/reload", rootToken, "")
	if code != 200 || body["config_hash"] == hash {
		t.Fatalf("reload: %d %v", code, body)
	}
	if got := s.get(t, "192.0.2.30", "/scanner/x"); got != 200 {
		t.Fatalf("reloaded config not serving: %d", got)
	}
	if got := s.get(t, "192.0.2.30", "/scanner2/x"); got != 403 {
		t.Fatalf("reloaded rule: %d", got)
	}
}

// With admin.listen the API is served on that private address only: on
// the public port its path is the app's.
func TestAdminListenIsAPrivateListener(t *testing.T) {
	dir := t.TempDir()
	private := testenv.FreeAddr(t)
	// admin.host is for the public port: with admin.listen it is refused.
	noHost := strings.Replace(tokens, "  host: "+adminHost+"\n", "", 1)
	s := start(t, writeConfig(t, dir, app(t), noHost+"  listen: "+private+"\n"))
	if code, body, _ := s.call(t, "GET", "/_parapet/api/status", rootToken, ""); code != 200 || body["raw"] != "app" {
		t.Fatalf("public port: %d %v (want the app's answer)", code, body)
	}
	priv := &server{base: "http://" + private, out: s.out}
	waitFor(t, "the private listener", func() bool {
		resp, err := http.Get(priv.base + "/_parapet/api/status")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	if code, _, _ := priv.call(t, "GET", "/_parapet/api/status", "", ""); code != 401 {
		t.Fatalf("private listener without a token: %d", code)
	}
	if code, body, _ := priv.call(t, "GET", "/_parapet/api/status", aliceToken, ""); code != 200 || body["version"] != "test" {
		t.Fatalf("private listener: %d %v", code, body)
	}
	if code, _, _ := priv.call(t, "POST", "/_parapet/api/bans", aliceToken, `{"ip":"198.51.100.3"}`); code != 201 {
		t.Fatalf("ban on the private listener: %d", code)
	}
	if got := s.get(t, "198.51.100.3", "/page"); got != 403 {
		t.Fatalf("ban made on the private listener not enforced: %d", got)
	}
	if code, _, _ := priv.call(t, "GET", "/elsewhere", rootToken, ""); code != 404 {
		t.Fatalf("private listener off the API: %d", code)
	}
}
