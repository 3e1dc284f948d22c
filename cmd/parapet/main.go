// Command parapet is a web application firewall for Django apps: one
// binary that sits in front of the app, as a sidecar in the same Heroku
// dyno or as its own edge service. Run `parapet help` for usage.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Parapet: a web application firewall for Django apps.

Usage:
  parapet demo [--listen ADDR]             run a demo app behind Parapet and print what to curl
  parapet run [--config FILE]              edge mode: proxy to the config's upstream
  parapet [--config FILE] -- COMMAND ...   sidecar mode: start COMMAND (e.g. gunicorn) and proxy to it
  parapet check [--config FILE]            validate the config and print it with secrets masked
  parapet ban list|add IP|remove IP        list, add (--for 1h --reason TEXT) or lift bans
  parapet rules list|add|mode|remove       see and change access and rate-limit rules live
  parapet status                           the running server's version, store, under-attack state
  parapet events [--ip IP] [--rule ID]     the running server's recent events
  parapet under-attack on|off [--for 30m]  switch under-attack mode on every instance
  parapet reload                           make the running server re-read its config file
  parapet init [PATH]                      write parapet.yaml for the Django project at PATH (default .)
  parapet csp suggest [--url URL] [FILE]   turn collected CSP violation reports into a policy
  parapet audit [PATH]                     check a Django project's source against the security checklist
  parapet scan URL                         check what a running site sends (headers, cookies, DEBUG, TRACE...)
  parapet version                          print the version (also --version)
  parapet help [COMMAND]                   this text, or COMMAND's (also COMMAND --help)

Sidecar mode (Heroku Procfile):
  web: parapet -- gunicorn app.wsgi
  Parapet binds $PORT, answers 503 until the app accepts, forwards SIGTERM/SIGINT,
  drains in-flight requests (timeouts.drain, default 25s) and exits with the
  command's status. Unless the config names an upstream, the app gets a private
  address: gunicorn a unix socket (through GUNICORN_CMD_ARGS when it has no
  --bind; a TCP --bind is rewritten), uvicorn, daphne and waitress-serve the same
  through their socket flags, any other command PORT=<a private loopback port>.
  A --bind unix:PATH of your own is used as it is.

Configuration:
  --config FILE (or PARAPET_CONFIG) names a YAML file; see parapet.example.yaml
  and docs/CONFIG.md (every key, its default and its variable).
  Without a file, defaults plus the environment are used. Every key has an
  environment override named after its path: upstream -> PARAPET_UPSTREAM,
  trusted_proxies -> PARAPET_TRUSTED_PROXIES, edge.allowed_hosts ->
  PARAPET_EDGE_ALLOWED_HOSTS (lists comma-separated; lists of objects as YAML/JSON).
  PORT sets the listen address when listen is not set (default :8080); REDIS_URL
  sets store.url when it is not set (PARAPET_STORE_TYPE=redis uses it). On a dyno
  (DYNO set), trusted_proxies defaults to heroku (the router) unless it is set.
  PARAPET_SECRET (or PARAPET_CHALLENGE_SECRET) signs challenge clearance cookies;
  give every instance the same value. A clearance lasts challenge.clearance_ttl (1h)
  for one IPv4 address (challenge.ipv4_prefix: 32) or IPv6 /64; the proof of work
  gets harder under attack and for clients that keep answering challenges, up to
  challenge.max_difficulty (22 bits).
  Prometheus metrics: PARAPET_METRICS_LISTEN=127.0.0.1:9100 (a private listener),
  or PARAPET_METRICS_TOKEN=<16+ characters> to scrape /_parapet/metrics on the
  public port with "Authorization: Bearer <token>" (bans and rate limits apply there;
  a wrong token is logged as rule metrics-token and counts towards auto-bans).
  Admin API (off without a token): PARAPET_ADMIN_TOKEN=<16+ characters> serves a
  JSON API under /_parapet/api/ on the public port ("Authorization: Bearer <token>";
  bans and rate limits apply there; failed attempts are logged, counted and limited
  by admin.fail_limit), or on its own PARAPET_ADMIN_LISTEN=127.0.0.1:9180. The
  dashboard (/_parapet/ui/) and its logins are only on admin.listen or on a host
  name of its own, PARAPET_ADMIN_HOST=parapet.example.com (routed to this app;
  Parapet serves only /_parapet/ there), never on the app's own hosts. The
  commands ban, rules, status, events, under-attack and reload talk to it:
    PARAPET_SERVER=https://app.example.com PARAPET_ADMIN_TOKEN=... parapet ban add 198.51.100.7
  (the token goes only over https://, or http:// to this machine; --insecure
  allows plain HTTP to another one)
  Live changes (rules added or switched to monitor, under-attack by hand) are kept
  in Redis (store.type redis) or in a state file beside the config, across restarts.
  Memory: PARAPET_RUNTIME_MEMORY_LIMIT=80MB (default, for a 512 MB dyno shared
  with the app; a soft limit for Go's collector, raise it on a bigger machine)
  and PARAPET_RUNTIME_GC_PERCENT=400 (default with detection; Go's own is 100).
  Slow clients: the app's response is read ahead of the client (1 MB in memory,
  then a temp file, up to PARAPET_LIMITS_RESPONSE_BUFFER_BYTES=1GB; 0: off; all
  temp files up to PARAPET_LIMITS_RESPONSE_BUFFER_TOTAL=4GB), so a slow reader
  holds no gunicorn worker; one that takes nothing for PARAPET_TIMEOUTS_SEND=60s
  is cut off.
  SIGHUP (and, with reload.watch, a change to the file) reloads the config; a bad
  new config is refused and the running one keeps serving.

Attack detection (detection.*):
  The OWASP Core Rule Set runs on every request the access rules let through, with
  a Django profile. Try it in monitor mode first: PARAPET_DETECTION_MODE=monitor
  logs what would have been blocked ("monitored" and "matched_rules" in the log
  line). PARAPET_DETECTION_PARANOIA_LEVEL=1..4, PARAPET_DETECTION_INBOUND_THRESHOLD
  (5: one critical rule); exclusions by rule id, tag, path and field under
  detection.exclusions (or PARAPET_DETECTION_EXCLUSIONS as YAML/JSON); an admin
  mounted off /admin/: PARAPET_DETECTION_ADMIN_PATHS=/staff-area/;
  PARAPET_DETECTION_ENABLED=false turns it off.
  PARAPET_DETECTION_RESPONSES_ENABLED=true also checks responses (off by default;
  about 1.75x the CPU of detection on a GET): a page leaking SQL, Java, PHP, IIS or
  Ruby errors or a web shell, scored against PARAPET_DETECTION_OUTBOUND_THRESHOLD
  (4), becomes the generic error page (500), its CRS rule ids in the log line.

Content Security Policy (harden.csp):
  HTML pages the app sends without a policy get a report-only starter policy
  (default-src 'self'; script-src 'self'; ...) reporting to /_parapet/csp-report:
  nothing is blocked, browsers report what enforcing it would break. It never
  replaces the app's own. PARAPET_HARDEN_CSP_POLICY=off sends none; a policy of
  yours is sent as written (report-only unless PARAPET_HARDEN_CSP_REPORT_ONLY=false).
  parapet csp suggest turns the collected reports into a policy (parapet help csp).

Leak guard (harden.leak_guard, on by default):
  Django DEBUG pages, tracebacks and secrets in text responses become the generic
  error page (its reason is the log line's rule: leak-debug-page, leak-traceback,
  leak-secret); a DEBUG page is held back until it ends (up to 1 MB), and a leak
  past the first PARAPET_HARDEN_LEAK_GUARD_INSPECT_BYTES (64KB) of any other text
  response cuts it off. gzip, deflate, br and zstd are decoded; the app is asked
  for those only. A text response in another encoding is the 502 page
  (leak-uninspectable) unless PARAPET_HARDEN_LEAK_GUARD_UNINSPECTABLE=pass.
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// Each command's own usage, printed by `parapet CMD --help` (exit 0) and
// above its flags.
const (
	runUsage = `Usage:
  parapet run [--config FILE]              edge mode: proxy to the config's upstream
  parapet [--config FILE] -- COMMAND ...   sidecar mode: start COMMAND and proxy to it

In sidecar mode Parapet binds $PORT and gives the app a private address:
gunicorn (with no --bind, a TCP --bind or GUNICORN_CMD_ARGS), uvicorn, daphne
and waitress-serve are pointed at a unix socket of Parapet's; any other command
gets PORT set to a private loopback port. A --bind unix:PATH is used as it is.
`
	checkUsage = `Usage:
  parapet check [--config FILE]

Validates the config (the file, then PARAPET_* environment overrides) and builds
everything run would build, reports every problem at once with its file and
line, then prints the effective config with secrets masked. Exit status 1 if
the config is refused.
`
	demoUsage = `Usage:
  parapet demo [--listen ADDR]

Runs a small demo app behind Parapet with the default config and prints what
to try with curl and a browser.
`
	versionUsage = `Usage:
  parapet version     (or parapet --version)

Prints the version, the commit and date it was built from, and the Go version.
`
)

// realMain runs the CLI and returns the process exit status.
func realMain(args []string, stdout, stderr io.Writer) int {
	var child []string
	for i, a := range args {
		if a == "--" {
			args, child = args[:i], args[i+1:]
			if child == nil {
				child = []string{}
			}
			break
		}
	}
	cmd := ""
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			args[0] = "help"
		case "-version", "--version", "-v":
			args[0] = "version"
		}
	}
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	if cmd == "" {
		if child == nil && len(args) == 0 && os.Getenv("PARAPET_CONFIG") == "" && os.Getenv("PARAPET_UPSTREAM") == "" {
			// `parapet` alone, with nothing to run: show help.
			fmt.Fprint(stderr, usage)
			return 2
		}
		cmd = "run"
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch cmd {
	case "run":
		return cmdRun(ctx, args, child, stdout, stderr)
	case "check":
		return cmdCheck(args, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, args, stdout, stderr)
	case "ban":
		return cmdBan(ctx, args, stdout, stderr)
	case "rules":
		return cmdRules(ctx, args, stdout, stderr)
	case "status":
		return cmdStatus(ctx, args, stdout, stderr)
	case "events":
		return cmdEvents(ctx, args, stdout, stderr)
	case "under-attack":
		return cmdUnderAttack(ctx, args, stdout, stderr)
	case "reload":
		return cmdReload(ctx, args, stdout, stderr)
	case "init":
		return cmdInit(args, stdout, stderr)
	case "csp":
		return cmdCSP(ctx, args, stdout, stderr)
	case "audit":
		return cmdAudit(args, os.Stdin, stdout, stderr)
	case "scan":
		return cmdScan(ctx, args, stdout, stderr)
	case "version":
		fs := flag.NewFlagSet("parapet version", flag.ContinueOnError)
		if code := parseFlags(fs, versionUsage, args, stdout, stderr); code >= 0 {
			return code
		}
		fmt.Fprint(stdout, versionLine())
		return 0
	case "help":
		if len(args) > 0 && args[0] != "help" {
			// `parapet help run` is `parapet run --help`.
			return realMain([]string{args[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "parapet: unknown command %q\n\n%s", cmd, usage)
	return 2
}

// parseFlags parses args with fs. With -h or --help it prints the
// command's usage and only its flags to stdout and returns 0; a bad flag
// prints the problem and the usage to stderr and returns 2. It returns -1
// when the command should go on.
func parseFlags(fs *flag.FlagSet, cmdUsage string, args []string, stdout, stderr io.Writer) int {
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	fs.Usage = func() {
		fmt.Fprint(&buf, cmdUsage)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(&buf, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = stdout.Write(buf.Bytes())
		return 0
	}
	_, _ = stderr.Write(buf.Bytes())
	if err != nil {
		return 2
	}
	return -1
}

// configFlag parses the --config flag shared by run and check. It returns
// the file and -1, or the exit status when the command should stop.
func configFlag(name, cmdUsage string, args []string, stdout, stderr io.Writer) (string, int) {
	fs := flag.NewFlagSet("parapet "+name, flag.ContinueOnError)
	file := fs.String("config", os.Getenv("PARAPET_CONFIG"), "YAML config `FILE` (env PARAPET_CONFIG)")
	if code := parseFlags(fs, cmdUsage, args, stdout, stderr); code >= 0 {
		return "", code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "parapet %s: unexpected arguments %q (a command to run goes after --)\n", name, fs.Args())
		return "", 2
	}
	return *file, -1
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	file, code := configFlag("check", checkUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	cfg, err := loadAndBuild(file)
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	out, err := cfg.YAML()
	if err != nil {
		fmt.Fprintf(stderr, "parapet: %v\n", err)
		return 1
	}
	src := "defaults and environment"
	if file != "" {
		src = file
	}
	fmt.Fprintf(stdout, "# effective config from %s (secrets masked): OK\n%s", src, out)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "parapet check: warning: %s\n", w)
	}
	return 0
}

func printConfigError(w io.Writer, err error) {
	fmt.Fprintln(w, "parapet: config refused:")
	var es interface{ Unwrap() []error }
	if errors.As(err, &es) {
		for _, e := range es.Unwrap() {
			fmt.Fprintf(w, "  %v\n", e)
		}
		return
	}
	fmt.Fprintf(w, "  %v\n", err)
}
