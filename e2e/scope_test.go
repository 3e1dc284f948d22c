package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// rawRequest sends target exactly as written (no client cleans it up) on a
// fresh connection and returns the status, the Location header and the
// body.
func rawRequest(t *testing.T, network, addr, method, target string) (int, string, string) {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: %s\r\nAccept: */*\r\nConnection: close\r\n\r\n", method, target, browser)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// A path block cannot be walked around by spelling the path differently
// (issue #15 item 16), and an allow or an exception does not stretch past
// its prefix. Each spelling is first sent to Django directly (gunicorn
// without Parapet) to learn whether it reaches the protected view; every
// one that does must be refused through Parapet by the rule that protects
// it. The spellings are the ones a hostile review tried, on the admin and
// on files served by django.views.static.serve, which normalises its path
// (so "/files/public/../private/x" serves files/private/x). Detection is
// off: the access rules must hold by themselves (the CRS's path traversal
// rules catch some "..", not "//" or "/./").
//
// A rule with methods: [GET] covers HEAD (issue #15 item 11): Django runs
// the GET view for HEAD.
func TestPathScopeSpellings(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	d := startDjangoWithConfig(t, `
detection:
  enabled: false
rules:
  - id: public-files
    action: allow
    paths: [/files/public/]
  - id: no-private
    paths: [/files/private/]
  - id: docs-public-only
    paths: [/docs/]
    except_paths: [/docs/public/]
  - id: no-admin
    paths: [/admin/]
  - id: search-reads
    paths: [/search/]
    methods: [GET]
`)
	const secret = "PRIVATE-7f3a"
	admin := func(status int, location, body string) bool {
		return status == 200 && strings.Contains(body, "Django site admin") || status == 302 && strings.HasPrefix(location, "/admin/login/")
	}
	private := func(status int, _, body string) bool { return status == 200 && strings.Contains(body, secret) }
	cases := []struct {
		rule      string
		protected func(status int, location, body string) bool
		spellings []string
	}{
		{"no-admin", admin, []string{"/admin/", "/admin/login/", "/admin%2Flogin/", "/%61dmin/", "/admin//login/", "/admin/./login/",
			"/admin/login/..", "//admin/", "/./admin/", "/%2e/admin/", "/x/../admin/", "/admin;x/", "/admin/;x/login/", "/ADMIN/", "/Admin/login/"}},
		{"no-private", private, []string{"/files/private/secret.txt", "/files//private/secret.txt", "/files/./private/secret.txt",
			"/files/.//private/secret.txt", "/files/%2fprivate/secret.txt", "/files/private%2Fsecret.txt", "/files/private//secret.txt",
			"/files/public/../private/secret.txt", "/files/public/%2e%2e/private/secret.txt", "/files/x/..%2fprivate/secret.txt",
			"/files/private;x/secret.txt", "/files/public/..;/private/secret.txt", "/files/PRIVATE/secret.txt"}},
		{"docs-public-only", private, []string{"/docs/private/secret.txt", "/docs//private/secret.txt", "/docs/public/../private/secret.txt",
			"/docs/public/%2e%2e/private/secret.txt", "/docs/public//../private/secret.txt"}},
	}
	reached := 0
	for _, c := range cases {
		for _, target := range c.spellings {
			if !c.protected(rawRequest(t, "unix", sock, "GET", target)) {
				t.Logf("%s: Django does not route it to the protected view", target)
				continue
			}
			reached++
			status, location, body := rawRequest(t, "tcp", d.addr, "GET", target)
			switch {
			case c.protected(status, location, body):
				t.Errorf("%s: walked around rule %s: Django served the protected view through Parapet", target, c.rule)
			case status != 403 || !strings.Contains(body, c.rule):
				t.Errorf("%s: %d, want 403 from rule %s: %.200s", target, status, c.rule, body)
			}
		}
	}
	if reached < 20 {
		t.Fatalf("only %d spellings reach a protected view: the test app changed, the test proves little", reached)
	}
	// What the allow and the exception are for still passes.
	for _, target := range []string{"/files/public/hello.txt", "/docs/public/hello.txt", "/files/public//hello.txt"} {
		if status, _, body := rawRequest(t, "tcp", d.addr, "GET", target); status != 200 || body != "public file\n" {
			t.Errorf("%s: %d %.200s, want the public file", target, status, body)
		}
	}
	// HEAD follows GET; other methods are outside the rule.
	if status, _, body := rawRequest(t, "tcp", d.addr, "GET", "/search/?q=x"); status != 403 || !strings.Contains(body, "search-reads") {
		t.Errorf("GET /search/: %d %.200s", status, body)
	}
	if status, _, _ := rawRequest(t, "tcp", d.addr, "HEAD", "/search/?q=x"); status != 403 {
		t.Errorf("HEAD /search/ with a GET-only rule: %d, want 403", status)
	} else {
		d.waitLog(t, `"method":"HEAD"`, `"rule":"search-reads"`)
	}
	if _, _, body := rawRequest(t, "tcp", d.addr, "POST", "/search/"); strings.Contains(body, "search-reads") {
		t.Errorf("POST /search/ refused by a GET-only rule") // (Django refuses it: no CSRF token)
	}
}
