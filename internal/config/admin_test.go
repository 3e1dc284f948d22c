package config

import (
	"strings"
	"testing"
)

func TestAdminSection(t *testing.T) {
	p := writeFile(t, `admin:
  token: short
  listen: nope
  tokens:
    - {name: alice, token: alice-token-0123456789}
    - {name: alice, token: tiny}
    - {name: "bad name", token: bob-token-0123456789}
`)
	_, err := Load(p, nil)
	if err == nil {
		t.Fatal("bad admin section accepted")
	}
	for _, want := range []string{
		p + ":2: admin.token: is too short",
		p + ":3: admin.listen: \"nope\" is not host:port",
		p + ":6: admin.tokens[1].name: \"alice\" is used twice",
		p + ":6: admin.tokens[1].token: is too short",
		p + ":7: admin.tokens[2].name: \"bad name\" must be",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}

	// The environment turns it on; the tokens are secrets; PARAPET_SERVER
	// (the CLI's) is not refused as an unknown key.
	cfg, err := Load("", []string{"PARAPET_ADMIN_TOKEN=root-token-0123456789", "PARAPET_SERVER=http://127.0.0.1:8080",
		`PARAPET_ADMIN_TOKENS=[{"name": "carol", "token": "carol-token-0123456789"}]`})
	if err != nil {
		t.Fatal(err)
	}
	toks := cfg.AdminTokens()
	if len(toks) != 2 || toks[0].Name != "admin" || toks[1].Name != "carol" || cfg.Admin.SessionTTL <= 0 {
		t.Fatalf("tokens %+v", toks)
	}
	out, _ := cfg.YAML()
	if strings.Contains(string(out), "root-token") || strings.Contains(string(out), "carol-token") {
		t.Fatalf("admin tokens printed:\n%s", out)
	}
	if off, _ := Load("", nil); len(off.AdminTokens()) != 0 {
		t.Fatal("admin API on by default")
	}
}

// admin.host is a host name alone, for the public port (not beside
// admin.listen), and must pass edge.allowed_hosts; PARAPET_ADMIN_HOST
// sets it; SameHost compares a Host header with it.
func TestAdminHost(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"admin: {host: 'https://parapet.example.com'}\n", "admin.host: \"https://parapet.example.com\" must be a host name alone"},
		{"admin: {host: 'parapet.example.com:8443'}\n", "must be a host name alone"},
		{"admin: {host: parapet.example.com, listen: '127.0.0.1:9180'}\n", "admin.host: is for the dashboard on the public port"},
		{"edge: {allowed_hosts: [app.example.com]}\nadmin: {host: parapet.example.com}\n", "admin.host: \"parapet.example.com\" must also be in edge.allowed_hosts"},
	} {
		p := writeFile(t, c.yaml)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.yaml, err, c.want)
		}
	}
	if _, err := Load(writeFile(t, "edge: {allowed_hosts: [.example.com]}\nadmin: {host: parapet.example.com}\n"), nil); err != nil {
		t.Errorf("admin.host under an allowed domain: %v", err)
	}
	cfg, err := Load("", []string{"PARAPET_ADMIN_HOST=Parapet.Example.com"})
	if err != nil || cfg.Admin.Host != "Parapet.Example.com" {
		t.Fatalf("PARAPET_ADMIN_HOST: %v %q", err, cfg.Admin.Host)
	}
	for header, want := range map[string]bool{
		"parapet.example.com": true, "PARAPET.example.com:443": true, "parapet.example.com.": true,
		"app.example.com": false, "parapet.example.com.evil.test": false, "": false, "[::1]:80": false,
	} {
		if got := SameHost(header, cfg.Admin.Host); got != want {
			t.Errorf("SameHost(%q) = %v", header, got)
		}
	}
	if SameHost("anything", "") {
		t.Error("SameHost with no admin.host")
	}
}
