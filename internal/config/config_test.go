package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaultsWithoutFile(t *testing.T) {
	cfg, err := Load("", []string{"PARAPET_UPSTREAM=unix:/tmp/g.sock", "PORT=5123"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream != "unix:/tmp/g.sock" || cfg.Listen != ":5123" {
		t.Fatalf("upstream %q listen %q", cfg.Upstream, cfg.Listen)
	}
	if cfg.Limits.MaxBodyBytes != 25<<20 || cfg.Timeouts.ReadHeader != 10*time.Second || !cfg.Defaults.PathRules {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

func TestLoadFileAndEnvOverrides(t *testing.T) {
	p := writeFile(t, `
listen: 127.0.0.1:9000
upstream: http://127.0.0.1:8000
trusted_proxies: [heroku]
edge:
  allowed_hosts: [example.com, .example.org]
  https_redirect: true
limits:
  max_body_bytes: 10MB
timeouts:
  drain: 5s
rules:
  - id: no-admin
    paths: [/admin/]
    mode: monitor
`)
	env := []string{
		"PARAPET_EDGE_ALLOWED_HOSTS=a.example, b.example",
		"PARAPET_LIMITS_MAX_URI_BYTES=4KB",
		"PARAPET_TIMEOUTS_IDLE=30s",
		"PARAPET_EDGE_HTTPS_REDIRECT=false",
		"PORT=1234", // ignored: listen is set in the file
	}
	cfg, err := Load(p, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Edge.AllowedHosts, "|"); got != "a.example|b.example" {
		t.Errorf("allowed_hosts = %q", got)
	}
	if cfg.Listen != "127.0.0.1:9000" {
		t.Errorf("listen = %q, the file should win over PORT", cfg.Listen)
	}
	if cfg.Limits.MaxBodyBytes != 10<<20 || cfg.Limits.MaxURIBytes != 4<<10 {
		t.Errorf("sizes %v %v", cfg.Limits.MaxBodyBytes, cfg.Limits.MaxURIBytes)
	}
	if cfg.Timeouts.Idle != 30*time.Second || cfg.Timeouts.Drain != 5*time.Second {
		t.Errorf("timeouts %+v", cfg.Timeouts)
	}
	if cfg.Edge.HTTPSRedirect != Off {
		t.Error("env should have turned https_redirect off")
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].Mode != "monitor" {
		t.Errorf("rules %+v", cfg.Rules)
	}
}

func TestEnvListOfObjects(t *testing.T) {
	cfg, err := Load("", []string{`PARAPET_RULES=[{"id":"x","paths":["/x"],"headers":{"Referer":"evil"}}]`})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].ID != "x" || cfg.Rules[0].Headers["Referer"] != "evil" {
		t.Fatalf("%+v", cfg.Rules)
	}
	_, err = Load("", []string{`PARAPET_RULES=[{"id":"x","paths":["x"]}]`})
	if err == nil || !strings.Contains(err.Error(), "environment PARAPET_RULES: rules[0].paths[0]: \"x\" must start with /") {
		t.Fatalf("error should name the variable: %v", err)
	}
}

// Every problem names the file, the line and the reason.
func TestBadConfigsGiveFileLineReason(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"unknown top-level key", "listen: :8080\nupstreem: http://x\n", `:2: unknown key "upstreem" (in the top level; did you mean upstream?)`},
		{"unknown nested key", "edge:\n  allowed_hostz: [a]\n", `:2: unknown key "allowed_hostz" (in edge; did you mean allowed_hosts?)`},
		{"bad type", "limits:\n  max_body_bytes: lots\n", `:2: "lots" is not a size`},
		{"unknown key in a list item, nothing near", "rules:\n  - id: x\n    paths: [/a/]\n    zzzzzz: 1\n", `:4: unknown key "zzzzzz" (in rules[0])`},
		{"type mismatch names the key", "timeouts:\n  idle: forever\n", `:2: timeouts.idle: "forever" is not a duration (e.g. 30s, 5m)`},
		{"bad duration", "timeouts:\n  idle: forever\n", `:2:`},
		{"bad upstream scheme", "upstream: ftp://x\n", `:1: upstream: "ftp://x": scheme must be http, https or unix`},
		{"relative unix socket", "upstream: unix:tmp/x.sock\n", `:1: upstream:`},
		{"bad method", "edge:\n  allowed_methods:\n    - GET\n    - get\n", `:4: edge.allowed_methods[1]: "get" is not an upper-case HTTP method`},
		{"bad path", "rules:\n  - id: a\n    paths:\n      - /ok\n      - nope\n", `:5: rules[0].paths[1]: "nope" must start with /`},
		{"rule without id", "rules:\n  - paths: [/x]\n", `:2: rules[0].id: every rule needs an id`},
		{"duplicate id", "rules:\n  - id: path-dotfiles\n    paths: [/x]\n", `:2: rules[0].id: "path-dotfiles" is used twice`},
		{"bad status", "rules:\n  - id: a\n    paths: [/x]\n    status: 200\n", `:4: rules[0].status: 200 must be a 4xx or 5xx status`},
		{"unknown action", "rules:\n  - id: a\n    paths: [/x]\n    action: captcha\n", `:4: rules[0].action: "captcha" must be block, allow, challenge or log`},
		{"bad challenge kind", "challenge:\n  kind: riddle\n", `:2: challenge.kind: "riddle" must be pow, captcha, turnstile or hcaptcha`},
		{"turnstile without keys", "challenge:\n  kind: turnstile\n", `:2: challenge.kind: turnstile needs challenge.turnstile.site_key and secret`},
		{"difficulty too high", "challenge:\n  difficulty: 40\n", `:2: challenge.difficulty: 40 must be between 1 and 32`},
		{"refuse status", "challenge:\n  refuse_status: 500\n", `:2: challenge.refuse_status: 500 must be 403 or 429`},
		{"short secret", "challenge:\n  secret: abc\n", `:2: challenge.secret: is too short`},
		{"crawler liar action", "challenge:\n  crawlers:\n    liar_action: shrug\n", `:3: challenge.crawlers.liar_action: "shrug" must be block or challenge`},
		{"crawler without source", "challenge:\n  crawlers:\n    list:\n      - name: g\n        user_agents: [Googlebot]\n", `:4: challenge.crawlers.list[0]: needs exactly one of url and file`},
		{"bypass on block", "rules:\n  - id: a\n    ips: [192.0.2.1]\n    bypass: true\n", `:4: rules[0].bypass: only an allow rule`},
		{"feed without source", "feeds:\n  - name: a\n", `:2: feeds[0]: needs exactly one of url and file`},
		{"bad yaml", "edge: [\n", `:`},
		{"bad log level", "log:\n  level: loud\n", `:2: log.level: "loud" must be debug, info, warn or error`},
		{"short metrics token", "metrics:\n  listen: 127.0.0.1:9100\n  token: short\n", `:3: metrics.token: is too short`},
		{"bad metrics listen", "metrics:\n  listen: nine-one-hundred\n", `:2: metrics.listen: "nine-one-hundred" is not host:port`},
		{"underscore in request id header", "request_id_header: X_Request_Id\n", `:1: request_id_header: "X_Request_Id": use hyphens`},
		{"underscore in country header", "geo:\n  country_header: X_Country\n", `:2: geo.country_header: "X_Country": use hyphens`},
		{"bad websocket path", "websockets:\n  paths: [/ws/, ws]\n", `:2: websockets.paths[1]: "ws" must start with /`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.body)
			_, err := Load(p, nil)
			if err == nil {
				t.Fatal("config accepted")
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q should contain file and %q", err, tc.want)
			}
		})
	}
}

func TestUnknownEnvironmentKeyIsRefused(t *testing.T) {
	_, err := Load("", []string{"PARAPET_UPSTRAEM=http://x"})
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Env != "PARAPET_UPSTRAEM" || !strings.Contains(es[0].Reason, "did you mean PARAPET_UPSTREAM") {
		t.Fatalf("got %v", err)
	}
	if _, err := Load("", []string{"PARAPET_CONFIG=/x.yaml"}); err != nil {
		t.Fatalf("PARAPET_CONFIG is not a key but is allowed: %v", err)
	}
	if _, err := Load("", []string{"PORT=http"}); err == nil {
		t.Fatal("bad PORT accepted")
	}
}

// A feed URL's query (an API key) is masked in what check prints, and the
// running config keeps it.
func TestMaskedHidesFeedQuery(t *testing.T) {
	p := writeFile(t, "feeds:\n  - name: vendor\n    url: https://lists.example/ips.txt?api_key=SUPERSECRETKEY123\n")
	cfg, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "SUPERSECRETKEY123") || !strings.Contains(string(out), "ips.txt?api_key=xxxxx") {
		t.Fatalf("feed query not masked:\n%s", out)
	}
	if cfg.Feeds[0].URL != "https://lists.example/ips.txt?api_key=SUPERSECRETKEY123" {
		t.Fatal("masking changed the running config")
	}
}

func TestMaskedHidesUpstreamPassword(t *testing.T) {
	cfg, err := Load("", []string{"PARAPET_UPSTREAM=https://user:s3cr3t@app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t") || !strings.Contains(string(out), "user:xxxxx@app.example.com") {
		t.Fatalf("secret not masked:\n%s", out)
	}
	if cfg.Upstream != "https://user:s3cr3t@app.example.com" {
		t.Fatal("masking changed the running config")
	}
	// The printed config loads back to the same values.
	p := writeFile(t, string(out))
	again, err := Load(p, nil)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, out)
	}
	if again.Timeouts != cfg.Timeouts || again.Limits != cfg.Limits {
		t.Fatalf("round trip changed values: %+v vs %+v", again.Timeouts, cfg.Timeouts)
	}
}

func TestEveryKeyHasAnEnvOverride(t *testing.T) {
	// Walk the schema: each key's variable must be accepted (not "no such key").
	var names []string
	cfg := Default()
	walkKeys(reflect.ValueOf(cfg).Elem(), "", func(path string, _ reflect.Value) { names = append(names, EnvName(path)) })
	if len(names) < 20 {
		t.Fatalf("only %d keys found", len(names))
	}
	for _, n := range names {
		_, err := Load("", []string{n + "=x"})
		if err != nil && strings.Contains(err.Error(), "no such config key") {
			t.Errorf("%s refused as unknown", n)
		}
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"512": 512, "64KB": 64 << 10, "10MiB": 10 << 20, "1gb": 1 << 30, " 2 MB ": 2 << 20} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1TB", "MB", "1.5MB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseUpstream(t *testing.T) {
	for in, want := range map[string][2]string{
		"http://127.0.0.1:8000":   {"tcp", "127.0.0.1:8000"},
		"https://app.example.com": {"tcp", "app.example.com:443"},
		"http://app":              {"tcp", "app:80"},
		"unix:/tmp/gunicorn.sock": {"unix", "/tmp/gunicorn.sock"},
	} {
		u, err := ParseUpstream(in)
		if err != nil || u.Network != want[0] || u.Address != want[1] {
			t.Errorf("%q: %+v %v", in, u, err)
		}
	}
}

// FuzzLoad feeds arbitrary YAML to the loader: it must never panic, and a
// refusal must always say where.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"listen: :8080\nupstream: http://127.0.0.1:8000\n",
		"edge:\n  allowed_hosts: [a, .b, '*']\n",
		"rules:\n  - id: x\n    path_regex: ['(?i)\\.php$']\n    ips: [10.0.0.0/8]\n",
		"limits: {max_body_bytes: 1GB}\n",
		"timeouts: {idle: 1h}\n",
		"trusted_proxies: [heroku, 10.0.0.0/8]\n",
		"&a [*a]",
		"- - - -",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		p := filepath.Join(dir, "f.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p, nil)
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// edge.https_redirect is auto by default, and takes true, false and auto in
// the file and the environment (any boolean spelling there).
func TestHTTPSRedirectToggle(t *testing.T) {
	if d := Default().Edge.HTTPSRedirect; d != Auto {
		t.Fatalf("default %q, want auto", d)
	}
	for _, tc := range []struct {
		file, env string
		want      Toggle
		bad       bool
	}{
		{"true", "", On, false},
		{"false", "", Off, false},
		{"auto", "", Auto, false},
		{"", "1", On, false},
		{"", "FALSE", Off, false},
		{"", "Auto", Auto, false},
		{"sometimes", "", "", true},
		{"", "maybe", "", true},
	} {
		body := "listen: :1\n"
		if tc.file != "" {
			body += "edge:\n  https_redirect: " + tc.file + "\n"
		}
		var env []string
		if tc.env != "" {
			env = []string{"PARAPET_EDGE_HTTPS_REDIRECT=" + tc.env}
		}
		cfg, err := Load(writeFile(t, body), env)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "must be auto, true or false") {
				t.Errorf("%q/%q: %v", tc.file, tc.env, err)
			}
			continue
		}
		if err != nil || cfg.Edge.HTTPSRedirect != tc.want {
			t.Errorf("%q/%q: %v %v", tc.file, tc.env, cfg, err)
		}
	}
}

// On a Heroku dyno the router is trusted without a config file, unless
// the file or the environment says otherwise.
func TestHerokuDynoTrustsTheRouter(t *testing.T) {
	cfg, err := Load("", []string{"PARAPET_UPSTREAM=unix:/tmp/g.sock", "PORT=5123", "DYNO=web.1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.TrustedProxies, []string{"heroku"}) {
		t.Fatalf("on a dyno trusted_proxies = %v, want [heroku]", cfg.TrustedProxies)
	}
	cfg, _ = Load("", []string{"PARAPET_UPSTREAM=unix:/tmp/g.sock"})
	if len(cfg.TrustedProxies) != 0 {
		t.Fatalf("off Heroku trusted_proxies = %v, want none", cfg.TrustedProxies)
	}
	cfg, _ = Load("", []string{"PARAPET_UPSTREAM=unix:/tmp/g.sock", "DYNO=web.1", "PARAPET_TRUSTED_PROXIES=10.0.0.0/8"})
	if !slices.Equal(cfg.TrustedProxies, []string{"10.0.0.0/8"}) {
		t.Fatalf("the environment's trusted_proxies lost to DYNO: %v", cfg.TrustedProxies)
	}
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte("upstream: unix:/tmp/g.sock\ntrusted_proxies: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ = Load(path, []string{"DYNO=web.1"})
	if len(cfg.TrustedProxies) != 0 {
		t.Fatalf("the file's empty trusted_proxies lost to DYNO: %v", cfg.TrustedProxies)
	}
}
