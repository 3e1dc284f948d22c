package rules

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/decision"
)

// Access rules read paths as package scope does: a block covers every
// spelling a view may resolve into its prefix, an allow or an exception
// never stretches past its prefix, HEAD follows GET, and paths and
// path_regex are one list.
func TestRuleScopeSpellingsAndHEAD(t *testing.T) {
	e := build(t, `
rules:
  - id: public-files
    action: allow
    paths: [/media/public/]
  - id: no-private
    paths: [/media/private/]
  - id: office-only-admin
    paths: [/admin/]
    except_paths: [/admin/login/]
  - id: search-reads
    paths: [/search/]
    methods: [GET]
  - id: staff-api
    paths: [/staff/]
    path_regex: ['^/api/v\d+/staff/']
`)
	for _, c := range []struct {
		method, target, host, rule string
	}{
		{"GET", "/media/private/a.pdf", "", "no-private"},
		{"GET", "/media//private/a.pdf", "", "no-private"},
		{"GET", "/media/./private/a.pdf", "", "no-private"},
		{"GET", "/media/x/../private/a.pdf", "", "no-private"},
		{"GET", "/media/private;x/a.pdf", "", "no-private"},
		{"GET", "/media/private%2Fa.pdf", "", "no-private"},
		{"GET", "/media/public/../private/a.pdf", "", "no-private"}, // the allow does not stretch
		{"GET", "/media/public/a.pdf", "", "public-files"},
		{"GET", "/admin/users/", "", "office-only-admin"},
		{"GET", "/admin/login/", "", ""},
		{"GET", "/admin/login/../users/", "", "office-only-admin"}, // nor the exception
		{"GET", "/search/", "", "search-reads"},
		{"HEAD", "/search/", "", "search-reads"},
		{"POST", "/search/", "", ""},
		{"GET", "/staff/x", "", "staff-api"},
		{"GET", "/api/v2/staff/x", "", "staff-api"}, // paths OR path_regex
	} {
		host := c.host
		if host == "" {
			host = "www.example.com"
		}
		r := httptest.NewRequest(c.method, "http://"+host+c.target, nil)
		r.Host = host
		info := &decision.Info{ClientIP: netip.MustParseAddr("203.0.113.1")}
		d := e.Check(r.Context(), r, info)
		if d.RuleID != c.rule {
			t.Errorf("%s %s (host %s): rule %q (%v), want %q", c.method, c.target, host, d.RuleID, d.Action, c.rule)
		}
	}
}

// hosts scope a rule like Django's ALLOWED_HOSTS entries.
func TestRuleHosts(t *testing.T) {
	e := build(t, "rules:\n  - id: internal\n    hosts: [.internal.example, admin.example.com]\n")
	for host, want := range map[string]string{
		"db.internal.example:8080": "internal",
		"internal.example":         "internal",
		"ADMIN.example.com.":       "internal",
		"www.example.com":          "",
		"xinternal.example":        "",
	} {
		r := httptest.NewRequest("GET", "http://x/", nil)
		r.Host = host
		if d := e.Check(r.Context(), r, &decision.Info{ClientIP: netip.MustParseAddr("203.0.113.1")}); d.RuleID != want {
			t.Errorf("host %s: rule %q, want %q", host, d.RuleID, want)
		}
	}
}

func TestRuleScopeErrorsPointAtTheirLine(t *testing.T) {
	for yaml, want := range map[string]string{
		"rules:\n  - id: a\n    path_regex: ['^/ok', '(']\n":         `:3: rules[0].path_regex[1]: bad regex "("`,
		"rules:\n  - id: a\n    hosts: [example.com, 'http://x/']\n": `:3: rules[0].hosts[1]: "http://x/" must be a host name`,
	} {
		cfg, path := load(t, yaml)
		_, err := New(cfg, deps(t))
		if err == nil || !strings.Contains(err.Error(), path+want) {
			t.Errorf("%q: %v, want %s", yaml, err, want)
		}
	}
}
