package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// Review 5: the API commands sent the admin token in an Authorization
// header to any --server, http:// included, where anyone on the way can
// read it (and with it switch the WAF off). Plain HTTP is refused unless
// the server is this machine, or --insecure says the network is private;
// a redirect is not followed (it would carry the token on).
func TestAPICommandsKeepTheTokenOffPlainHTTP(t *testing.T) {
	t.Setenv("PARAPET_ADMIN_TOKEN", "cli-token-0123456789")
	t.Setenv(EnvServer, "")
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/_parapet/api/reload" {
			http.Redirect(w, r, "http://elsewhere.example/_parapet/api/reload", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"bans":[]}`)
	}))
	defer srv.Close()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := realMain(args, &out, &errb)
		return code, out.String() + errb.String()
	}
	for _, args := range [][]string{
		{"ban", "list", "--server", "http://parapet.example.com"},
		{"ban", "add", "198.51.100.7", "--server", "http://192.0.2.10:8080"},
		{"rules", "list", "--server", "http://app.example.com:8080/"},
		{"status", "--server", "http://[2001:db8::1]:9180"},
		{"events", "--server", "http://10.0.0.5:9180"},
		{"reload", "--server", "http://parapet.example.com"},
		{"under-attack", "off", "--server", "http://parapet.example.com"},
	} {
		code, out := run(args...)
		if code == 0 || !strings.Contains(out, "refusing to send the admin token over plain HTTP") || !strings.Contains(out, "--insecure") {
			t.Errorf("parapet %s: exit %d, %q: want a refusal naming --insecure", strings.Join(args, " "), code, out)
		}
	}
	// PARAPET_SERVER is checked the same way.
	t.Setenv(EnvServer, "http://parapet.example.com")
	if code, out := run("status"); code == 0 || !strings.Contains(out, "plain HTTP") {
		t.Errorf("PARAPET_SERVER over http: exit %d %q", code, out)
	}
	t.Setenv(EnvServer, "")

	// --insecure lets it through (checked without sending: tests talk to
	// loopback only), as do https:// and this machine over http://.
	for _, o := range []serverOpts{{URL: "http://parapet.example.com", Insecure: true}, {URL: "https://parapet.example.com"},
		{URL: "http://localhost:9180"}, {URL: "http://[::1]:9180"}, {URL: srv.URL}} {
		if _, err := newAPIClient(o); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if code, out := run("ban", "list", "--server", srv.URL); code != 0 || !strings.Contains(out, "0 ban(s)") {
		t.Fatalf("ban list on loopback: exit %d %q", code, out)
	}
	// A redirect is reported, not followed with the token.
	before := hits.Load()
	if code, out := run("reload", "--server", srv.URL); code == 0 || !strings.Contains(out, "redirected") {
		t.Errorf("redirect: exit %d %q", code, out)
	}
	if hits.Load() != before+1 {
		t.Errorf("the redirect was followed")
	}
}
