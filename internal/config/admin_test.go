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
