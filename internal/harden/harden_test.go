package harden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

func stage(t testing.TB, yaml string) *Stage {
	t.Helper()
	p := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(p, []byte(yaml), 0o600)
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHardenCookie(t *testing.T) {
	s := stage(t, "harden:\n  cookies:\n    - name: 'session*'\n      secure: true\n      http_only: true\n      same_site: Strict\n      max_age_cap: 1h\n")
	info := &decision.Info{}
	cases := map[string]string{
		// Flags the app set are never removed or duplicated.
		"sessionid=a; Path=/; secure; SameSite=None": "sessionid=a; Path=/; secure; SameSite=None; HttpOnly",
		// Long lifetimes are capped.
		"session_x=b; Path=/; Max-Age=1209600": "session_x=b; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Strict",
		// The last SameSite is the one browsers keep: a bare one after
		// None leaves the browser's default, so Strict is added.
		"sessionid=a; Secure; HttpOnly; SameSite=None; SameSite": "sessionid=a; Secure; HttpOnly; SameSite=None; SameSite; SameSite=Strict",
		"sessionid=a; Secure; HttpOnly; SameSite; SameSite=Lax":  "sessionid=a; Secure; HttpOnly; SameSite; SameSite=Lax",
		// Other cookies are left alone.
		"theme=dark; Max-Age=99999999": "theme=dark; Max-Age=99999999",
	}
	for in, want := range cases {
		if got := s.hardenCookie(in, true, info); got != want {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
	if got := s.hardenCookie("sessionid=a", false, info); strings.Contains(got, "Secure") {
		t.Errorf("Secure added over HTTP: %q", got)
	}
}

func TestHardenConfigErrors(t *testing.T) {
	for yaml, want := range map[string]string{
		"harden:\n  cookies:\n    - name: sessionid\n      same_site: sometimes\n":               `:4: harden.cookies[0].same_site: "sometimes" must be Lax, Strict or None`,
		"harden:\n  csp:\n    report_path: csp\n":                                                `:3: harden.csp.report_path: "csp" must start with /`,
		"harden:\n  leak_guard:\n    secret_patterns: ['(']\n":                                   `harden.leak_guard.secret_patterns: pattern 0 is not a valid regex`,
		"harden:\n  cors:\n    - paths: [/api/]\n      allowed_origins: [https://a.example/x]\n": `:3: harden.cors[0]: origin "https://a.example/x" must be scheme://host[:port] with no path`,
		"harden:\n  uploads:\n    - max_files: 2\n":                                              `:3: harden.uploads[0]: needs paths`,
		"harden:\n  leak_guard:\n    uninspectable: allow\n":                                     `:3: harden.leak_guard.uninspectable: "allow" must be block or pass`,
	} {
		p := filepath.Join(t.TempDir(), "p.yaml")
		os.WriteFile(p, []byte(yaml), 0o600)
		cfg, err := config.Load(p, nil)
		if err == nil {
			_, err = New(cfg)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q:\n got %v\nwant %s", yaml, err, want)
		}
	}
}

func TestParseCSPReports(t *testing.T) {
	vs, err := Parse(strings.NewReader(`{"csp-report":{"document-uri":"https://s/p?q=secret","violated-directive":"img-src","blocked-uri":"data"}}`))
	if err != nil || len(vs) != 1 || vs[0].DocumentURI != "https://s/p" || vs[0].Directive != "img-src" {
		t.Fatalf("%+v %v", vs, err)
	}
	if _, err := Parse(strings.NewReader("not json")); err == nil {
		t.Fatal("garbage accepted")
	}
	c := NewCSPCollector(1)
	c.Record([]Violation{{Directive: "img-src"}, {Directive: "script-src"}, {Directive: "img-src"}})
	if snap := c.Snapshot(); len(snap) != 1 || snap[0].Count != 2 {
		t.Fatalf("bounded collector: %+v", snap)
	}
}
