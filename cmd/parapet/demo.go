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
	cfg.Rules = []config.Rule{{ID: "demo-monitor-search", Paths: []string{"/search"}, Mode: "monitor"}}

	base := "http://" + strings.Replace(*listen, "127.0.0.1", "localhost", 1)
	fmt.Fprintf(stderr, `Parapet demo: a demo app (%s) is running behind Parapet at %s
Try, in another terminal:
  curl -i %s/                                   200, answered by the demo app
  curl -i %s/.env                               403, blocked by rule path-dotfiles
  curl -i %s/wp-login.php                       403, blocked by rule path-php-probes
  curl -i -H 'Host: evil.example' %s/           400, host not in edge.allowed_hosts
  curl -i -X TRACE %s/                          405, method not allowed
  curl -i -H 'Accept: application/json' %s/.git/config    403 as JSON
  curl -i '%s/search?q=x&password=hunter2'      200, but logged as monitor match; password redacted
  curl -i "%s/?id=1%%27%%20OR%%20%%271%%27=%%271"         403, SQL injection (detect-sqli, CRS rule ids in the log)
  curl -i -H 'X-Api-Version: ${jndi:ldap://x/a}' %s/    403, Log4Shell-style header (detect-java)
  for i in 1 2 3 4 5 6 7; do curl -s -o /dev/null -w '%%{http_code} ' -X POST %s/login/; done
                                                the app's answer 5 times, then 429 (rule rl-login)
Every request prints one JSON log line below. Ctrl-C stops.

`, cfg.Upstream, base, base, base, base, base, base, base, base, base, base, base)
	return serve(ctx, cfg, nil, stdout, stderr)
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
