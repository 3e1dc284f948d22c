package rules

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/geo"
	"github.com/parapet-waf/parapet/internal/geo/geotest"
	"github.com/parapet-waf/parapet/internal/netlist"
)

func load(t *testing.T, yaml string) (*config.Config, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p
}

func deps(t *testing.T) Deps {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return Deps{Feeds: netlist.NewRegistry(ctx, t.TempDir(), nil, nil), OpenGeo: func(p string) (*geo.DB, error) {
		if p == "" {
			return geo.Default()
		}
		return geo.Open(p)
	}}
}

func build(t *testing.T, yaml string) *Engine {
	t.Helper()
	cfg, _ := load(t, yaml)
	e, err := New(cfg, deps(t))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type req struct {
	method, path, ip, ua string
	header               map[string]string
}

func check(e *Engine, q req) (decision.Decision, *decision.Info) {
	if q.method == "" {
		q.method = "GET"
	}
	r := httptest.NewRequest(q.method, "http://x"+q.path, nil)
	r.Header.Set("User-Agent", q.ua)
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	info := &decision.Info{ClientIP: netip.MustParseAddr(q.ip)}
	return e.Check(context.Background(), r, info), info
}

func TestScopeExceptionsAndModes(t *testing.T) {
	e := build(t, `
rules:
  - id: admin-from-office-only
    paths: [/admin/]
    ips: [0.0.0.0/0, "::/0"]
    except_paths: [/admin/login/]
  - id: office
    action: allow
    ips: [192.0.2.0/24]
  - id: hotlinkers
    paths: [/media/]
    headers: {Referer: '^https://leech\.example/'}
  - id: logged-in-scrapers
    cookies: [sessionid]
    user_agents: {regex: ['(?i)headless']}
    mode: monitor
  - id: note-posts
    methods: [POST]
    paths: [/api/]
    action: log
`)
	cases := []struct {
		name    string
		q       req
		decided bool
		rule    string
	}{
		{"admin from outside", req{path: "/admin/users/", ip: "203.0.113.1", ua: "b"}, true, "admin-from-office-only"},
		{"admin login is an exception", req{path: "/admin/login/", ip: "203.0.113.1", ua: "b"}, false, ""},
		{"office allow wins over the block", req{path: "/admin/users/", ip: "192.0.2.9", ua: "b"}, false, "office"},
		{"hotlink by referer", req{path: "/media/a.jpg", ip: "203.0.113.1", ua: "b", header: map[string]string{"Referer": "https://leech.example/p"}}, true, "hotlinkers"},
		{"other referer passes", req{path: "/media/a.jpg", ip: "203.0.113.1", ua: "b", header: map[string]string{"Referer": "https://ok.example/"}}, false, ""},
	}
	for _, c := range cases {
		d, _ := check(e, c.q)
		if d.Decided() != c.decided || d.RuleID != c.rule {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
	// Monitor mode: recorded, not enforced.
	d, info := check(e, req{path: "/", ip: "203.0.113.1", ua: "HeadlessChrome/120", header: map[string]string{"Cookie": "sessionid=x"}})
	if d.Decided() || len(info.Matched) != 1 || info.Matched[0].RuleID != "logged-in-scrapers" || info.Matched[0].Mode != decision.Monitor {
		t.Errorf("monitor: %+v %+v", d, info.Matched)
	}
	d, info = check(e, req{method: "POST", path: "/api/x", ip: "203.0.113.1", ua: "b"})
	if d.Decided() || len(info.Matched) != 1 || info.Matched[0].Action != decision.Log {
		t.Errorf("log action: %+v %+v", d, info.Matched)
	}
}

func TestBypassAllowSkipsDetection(t *testing.T) {
	e := build(t, "rules:\n  - id: monitoring\n    action: allow\n    bypass: true\n    ips: [10.1.0.0/16]\n")
	d, info := check(e, req{path: "/.env", ip: "10.1.2.3", ua: "x"})
	if !d.Final || d.RuleID != "monitoring" || !info.Skips("detect") {
		t.Fatalf("%+v %+v", d, info.SkipStages)
	}
}

func TestEmptyUserAgentAndDefaults(t *testing.T) {
	e := build(t, "defaults:\n  empty_user_agent: block\n  enable_user_agents: [ua-curl]\n  disable_user_agents: [ua-nikto]\n")
	for ua, want := range map[string]string{"": "ua-empty", "curl/8.5": "ua-curl", "Nikto/2.1": "", "sqlmap/1.7": "ua-sqlmap"} {
		d, _ := check(e, req{path: "/", ip: "192.0.2.1", ua: ua})
		if d.RuleID != want {
			t.Errorf("UA %q: rule %q, want %q", ua, d.RuleID, want)
		}
	}
	e = build(t, "defaults:\n  user_agent_mode: monitor\n")
	if d, info := check(e, req{path: "/", ip: "192.0.2.1", ua: "sqlmap/1"}); d.Decided() || len(info.Matched) != 1 {
		t.Fatalf("monitor defaults: %+v %+v", d, info.Matched)
	}
}

func TestCountryAndASN(t *testing.T) {
	db := geotest.WriteIPinfoLite(t, map[string]geotest.Entry{
		"198.51.100.0/24": {Country: "DE", ASN: 64501, ASOrg: "Cheap VPS"},
		"203.0.113.0/24":  {Country: "FR", ASN: 64502},
	})
	e := build(t, `
geo:
  database: `+db+`
rules:
  - id: eu-only-writes
    countries_except: [FR]
    methods: [POST]
  - id: vps
    asns: [AS64501]
    action: log
`)
	if d, _ := check(e, req{method: "POST", path: "/", ip: "198.51.100.1", ua: "b"}); d.RuleID != "eu-only-writes" {
		t.Errorf("POST from DE: %+v", d)
	}
	if d, _ := check(e, req{method: "POST", path: "/", ip: "203.0.113.1", ua: "b"}); d.Decided() {
		t.Errorf("POST from FR: %+v", d)
	}
	if d, _ := check(e, req{method: "POST", path: "/", ip: "10.0.0.1", ua: "b"}); d.RuleID != "eu-only-writes" {
		t.Errorf("unknown country counts as ZZ, outside the list: %+v", d)
	}
	_, info := check(e, req{path: "/", ip: "198.51.100.1", ua: "b"})
	if info.Country != "DE" || len(info.Matched) != 1 || info.Matched[0].RuleID != "vps" {
		t.Errorf("ASN log rule: %+v", info)
	}
}

// Bad rules are refused with the line they are on.
func TestBadRulesPointAtTheirLine(t *testing.T) {
	ipFile := filepath.Join(t.TempDir(), "block.txt")
	os.WriteFile(ipFile, []byte("192.0.2.1\n10.0.0.300\n"), 0o600)
	cases := []struct{ yaml, want string }{
		{"rules:\n  - id: a\n    ips:\n      - 192.0.2.0/24\n      - 10.0.0/8\n", `:5: rules[0].ips[1]: "10.0.0/8" is not an IP address or CIDR`},
		{"rules:\n  - id: a\n    countries: [DE, Germany]\n", `:3: rules[0].countries[1]: "Germany" is not a two-letter ISO country code`},
		{"rules:\n  - id: a\n    user_agents:\n      regex: ['(']\n", `:4: rules[0].user_agents.regex[0]`},
		{"rules:\n  - id: a\n    asns: [AS1]\n", `geo.asn_database: asns rules need ASN data`},
		{"rules:\n  - id: a\n    feeds: [nope]\n", `:3: rules[0].feeds[0]: no feed named "nope"`},
		{"rules:\n  - id: a\n    mode: monitor\n", `:2: rules[0]: matches nothing specific`},
		{"rules:\n  - id: a\n    ip_files: [" + ipFile + "]\n", ipFile + `:2: "10.0.0.300" is not an IP address or CIDR`},
		{"rules:\n  - id: a\n    headers: {Referer: '('}\n", `:3: rules[0].headers.Referer: bad regex`},
		{"defaults:\n  enable_user_agents: [ua-nope]\n", `no default User-Agent rule "ua-nope"`},
	}
	for _, c := range cases {
		cfg, path := load(t, c.yaml)
		_, err := New(cfg, deps(t))
		if err == nil || !strings.Contains(err.Error(), c.want) || (strings.HasPrefix(c.want, ":") && !strings.Contains(err.Error(), path)) {
			t.Errorf("%q:\n got %v\nwant %s%s", c.yaml, err, path, c.want)
		}
	}
}

func BenchmarkRulesCheck(b *testing.B) {
	p := filepath.Join(b.TempDir(), "parapet.yaml")
	os.WriteFile(p, []byte("rules:\n  - id: r\n    ips: [198.51.100.0/24]\n  - id: c\n    countries: [KP]\n"), 0o600)
	cfg, _ := config.Load(p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, err := New(cfg, Deps{Feeds: netlist.NewRegistry(ctx, b.TempDir(), nil, nil), OpenGeo: func(string) (*geo.DB, error) { return geo.Default() }})
	if err != nil {
		b.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "http://x/articles/?page=2", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
	b.ReportAllocs()
	for b.Loop() {
		info := &decision.Info{ClientIP: netip.MustParseAddr("81.2.69.160")}
		e.Check(ctx, r, info)
	}
}
