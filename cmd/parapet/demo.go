package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
)

// cmdDemo starts a small demo app on a loopback port and Parapet in front
// of it with the default config, and prints what to try.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet demo", flag.ContinueOnError)
	listen := fs.String("listen", "", "`ADDR`ess for Parapet (default 127.0.0.1:$PORT, else 127.0.0.1:8080)")
	if code := parseFlags(fs, demoUsage, args, stdout, stderr); code >= 0 {
		return code
	}
	if *listen == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		*listen = "127.0.0.1:" + port
	}
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "parapet demo: %v\n", err)
		return 1
	}
	app := &http.Server{Handler: demoApp()}
	go func() { _ = app.Serve(appLn) }()
	defer app.Close()

	cfg, err := config.Load("", nil)
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	cfg.Listen = *listen
	cfg.Upstream = "http://" + appLn.Addr().String()
	cfg.Edge.AllowedHosts = []string{"localhost", "127.0.0.1", "[::1]"}
	cfg.Rules = demoRules()
	// Local only: no crawler visits the demo, and it fetches nothing
	// (the crawler ranges start with the chain otherwise).
	cfg.Challenge.Crawlers.Enabled = false

	base := "http://" + strings.Replace(*listen, "127.0.0.1", "localhost", 1)
	fmt.Fprintf(stderr, "Parapet demo: a demo app (%s) is running behind Parapet at %s\nTry, in another terminal:\n", cfg.Upstream, base)
	for _, t := range demoTries {
		fmt.Fprintf(stderr, "  %s\n      %s\n", t.curl(base), t.what())
	}
	fmt.Fprintf(stderr, `  for i in 1 2 3 4 5 6 7; do curl -s -o /dev/null -w '%%{http_code} ' -X POST %s/login/; done
      the app's answer 5 times, then 429 (rule rl-login)
And open %s/members/ in a browser: the challenge page (a proof of work your
browser solves in about a second), then the demo app's page.
Every request prints one JSON log line below ("rule" names what decided). Ctrl-C stops.

`, base, base)
	return serve(ctx, cfg, nil, stdout, stderr)
}

// demoRules are the demo's access rules: a monitor-mode rule (logged, not
// enforced) and a challenge.
func demoRules() []config.Rule {
	return []config.Rule{
		{ID: "demo-monitor-search", Paths: []string{"/search"}, Mode: "monitor"},
		{ID: "demo-challenge", Action: "challenge", Paths: []string{"/members/"}},
	}
}

// demoTry is one request the demo suggests, with what Parapet answers and
// the rule its log line names; demo_test.go sends each to the running demo.
type demoTry struct {
	method, path string
	header       string // "Name: value"
	status       int
	rule         string // the log line's "rule" (or, for monitor mode, in "monitored")
	note         string
}

var demoTries = []demoTry{
	{path: "/", status: 200, note: "answered by the demo app"},
	{path: "/.env", status: 403, rule: "path-dotfiles", note: "blocked"},
	{path: "/wp-login.php", status: 403, rule: "path-php-probes", note: "blocked"},
	{path: "/", header: "Host: evil.example", status: 400, rule: "edge-host-not-allowed", note: "host not in edge.allowed_hosts"},
	{method: "TRACE", path: "/", status: 405, rule: "edge-method-not-allowed", note: "method not allowed"},
	{path: "/.git/config", header: "Accept: application/json", status: 403, rule: "path-dotfiles", note: "the block page as JSON"},
	{path: "/search?q=x&password=hunter2", status: 200, rule: "demo-monitor-search", note: "passed, logged as a monitor-mode match; the password is redacted in the log"},
	{path: "/?id=1%27%20OR%20%271%27=%271", status: 403, rule: "detect-sqli", note: "SQL injection (the CRS rule ids are in the log line)"},
	{path: "/", header: "X-Api-Version: ${jndi:ldap://x/a}", status: 403, rule: "detect-rce", note: "Log4Shell-style header (remote code execution)"},
	{path: "/members/", status: 403, rule: "demo-challenge", note: "the challenge page (HTML; open it in a browser to solve it)"},
}

// curl is the command line that sends the try to base.
func (t demoTry) curl(base string) string {
	cmd := "curl -i"
	if t.method != "" {
		cmd += " -X " + t.method
	}
	if t.header != "" {
		cmd += " -H '" + t.header + "'"
	}
	return cmd + " '" + base + t.path + "'"
}

// what says what Parapet answers.
func (t demoTry) what() string {
	s := fmt.Sprintf("%d, %s", t.status, t.note)
	if t.rule != "" {
		s += " (rule " + t.rule + ")"
	}
	return s
}

// demoApp is the stand-in upstream for `parapet demo`.
func demoApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"hello":             "from the demo app",
			"x_forwarded_for":   r.Header.Get("X-Forwarded-For"),
			"x_forwarded_proto": r.Header.Get("X-Forwarded-Proto"),
			"x_request_id":      r.Header.Get("X-Request-Id"),
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Demo app</title><h1>Demo app behind Parapet</h1>
<p>You asked for <code>%s</code>. Parapet says your address is <code>%s</code> (X-Forwarded-For) and your request id is <code>%s</code>.</p>
<p>Try <a href="/.env">/.env</a> to see a block page.</p>`,
			html.EscapeString(r.URL.RequestURI()), html.EscapeString(r.Header.Get("X-Forwarded-For")), html.EscapeString(r.Header.Get("X-Request-Id")))
	})
	return mux
}
