package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/csppolicy"
	"github.com/parapet-waf/parapet/internal/harden"
)

const cspUsage = `Usage:
  parapet csp suggest [--url URL] [--base POLICY] [--config FILE] [FILE ...]

Turns the CSP violations Parapet's collector has seen into a policy that would
allow them: the policy Parapet sends (the report-only starter policy unless
harden.csp.policy says otherwise) with each blocked source added to its
directive, grouped by directive with how often and where it was reported, and
a warning for each risky source ('unsafe-inline', 'unsafe-eval', data: where
it can run code, wildcard and scheme-only hosts, plain HTTP). The last line is
the policy, for harden.csp.policy (keep report_only: true until no new
reports come in).

The violations are read from a running Parapet at /_parapet/csp-violations:
  - on the metrics listener (metrics.listen): with no --url and no FILE, the
    one of the config (--config, PARAPET_CONFIG, PARAPET_METRICS_LISTEN);
  - on the public port with the metrics token (metrics.token,
    PARAPET_METRICS_TOKEN), e.g. on Heroku:
      PARAPET_METRICS_TOKEN=$(heroku config:get PARAPET_METRICS_TOKEN) \
        parapet csp suggest --url https://APP.herokuapp.com/_parapet/csp-violations
    The token is sent over HTTPS, or plain HTTP to this machine, never
    otherwise.
or from FILEs saved from that path ("-": standard input). Each instance
collects its own reports since its config was last loaded: give several
--url or FILEs to merge instances.
`

// cspFetchLimit bounds a violations answer: the collector holds at most
// 1,000 violations of two 256-byte URIs.
const cspFetchLimit = 4 << 20

// cmdCSP runs `parapet csp suggest`.
func cmdCSP(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, cspUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, cspUsage)
		return 0
	case "suggest":
	default:
		fmt.Fprintf(stderr, "parapet csp: unknown subcommand %q\n\n%s", sub, cspUsage)
		return 2
	}
	fs := flag.NewFlagSet("parapet csp suggest", flag.ContinueOnError)
	var urls []string
	fs.Func("url", "read the violations from `URL` (repeatable), e.g. http://127.0.0.1:9100/_parapet/csp-violations", func(s string) error {
		urls = append(urls, s)
		return nil
	})
	base := fs.String("base", "", "suggest on top of this `POLICY` instead of the one the server reports sending")
	file := fs.String("config", os.Getenv(config.EnvConfigFile), "YAML config `FILE` (env PARAPET_CONFIG): metrics.listen and metrics.token")
	var files []string
	for {
		if code := parseFlags(fs, cspUsage, args, stdout, stderr); code >= 0 {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}

	var reports []sourcedReport
	for _, f := range files {
		rep, err := readReportFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "parapet csp suggest: %v\n", err)
			return 1
		}
		reports = append(reports, sourcedReport{f, rep})
	}
	if len(files) == 0 || len(urls) > 0 {
		cfg, err := config.Load(*file, os.Environ())
		if err != nil {
			printConfigError(stderr, err)
			return 1
		}
		if len(urls) == 0 {
			u, err := listenerURL(cfg.Metrics.Listen)
			if err != nil {
				fmt.Fprintf(stderr, "parapet csp suggest: %v\n\n%s", err, cspUsage)
				return 2
			}
			urls = []string{u}
		}
		for _, u := range urls {
			rep, err := fetchReport(ctx, u, cfg.Metrics.Token)
			if err != nil {
				fmt.Fprintf(stderr, "parapet csp suggest: %v\n", err)
				return 1
			}
			reports = append(reports, sourcedReport{u, rep})
		}
	}
	printSuggestion(stdout, reports, *base)
	return 0
}

// sourcedReport is a violation report and where it came from.
type sourcedReport struct {
	from string
	rep  harden.ViolationReport
}

// listenerURL is the violations URL on the metrics listener addr.
func listenerURL(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("no --url, no FILE, and no metrics.listen in the config to read the violations from")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("metrics.listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + harden.ViolationsPath, nil
}

func readReportFile(name string) (harden.ViolationReport, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return harden.ViolationReport{}, err
		}
		defer f.Close()
		r = f
	}
	return decodeReport(r, name)
}

func decodeReport(r io.Reader, from string) (harden.ViolationReport, error) {
	var rep harden.ViolationReport
	body, err := io.ReadAll(io.LimitReader(r, cspFetchLimit+1))
	if err != nil {
		return rep, fmt.Errorf("reading %s: %w", from, err)
	}
	if len(body) > cspFetchLimit {
		return rep, fmt.Errorf("%s: over %d MB, not a violations report", from, cspFetchLimit>>20)
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		return rep, fmt.Errorf("%s: not a violations report (%s): %w", from, harden.ViolationsPath, err)
	}
	return rep, nil
}

// fetchReport reads the violations at rawURL, with the token when there
// is one and the connection keeps it private (HTTPS, or this machine).
func fetchReport(ctx context.Context, rawURL, token string) (harden.ViolationReport, error) {
	var rep harden.ViolationReport
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return rep, fmt.Errorf("--url %q: want http(s)://HOST[:PORT]%s", rawURL, harden.ViolationsPath)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = harden.ViolationsPath
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return rep, err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		if u.Scheme != "https" && !loopbackHost(u.Hostname()) {
			return rep, fmt.Errorf("%s: refusing to send the metrics token over plain HTTP to another machine; use https://", u.Redacted())
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second,
		// A redirect must not carry the token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return rep, fmt.Errorf("reading the violations: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized && token == "":
		return rep, fmt.Errorf("%s: 401: set PARAPET_METRICS_TOKEN to the server's metrics.token", u.Redacted())
	case resp.StatusCode == http.StatusUnauthorized:
		return rep, fmt.Errorf("%s: 401: the server refused the token (PARAPET_METRICS_TOKEN / metrics.token)", u.Redacted())
	case resp.StatusCode != http.StatusOK:
		return rep, fmt.Errorf("%s: %s: not a Parapet violations report (on the public port it needs metrics.token set on the server)", u.Redacted(), resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return rep, fmt.Errorf("%s: answered %q, not JSON: not a Parapet violations report (on the public port it needs metrics.token set on the server)", u.Redacted(), ct)
	}
	return decodeReport(resp.Body, u.Redacted())
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// printSuggestion writes the suggestion for the merged reports: comment
// lines, then the policy on the last line.
func printSuggestion(w io.Writer, reports []sourcedReport, base string) {
	var seen []csppolicy.Violation
	dropped := 0
	serverPolicy := ""
	for _, r := range reports {
		for _, v := range r.rep.Violations {
			seen = append(seen, csppolicy.Violation{Directive: v.Directive, BlockedURI: v.BlockedURI, DocumentURI: v.DocumentURI, Count: v.Count})
		}
		dropped += r.rep.Dropped
		if serverPolicy == "" {
			serverPolicy = r.rep.Policy
		}
	}
	from := make([]string, len(reports))
	for i, r := range reports {
		from[i] = r.from
	}
	basePolicy := base
	switch {
	case base != "":
		fmt.Fprintf(w, "# Base policy (--base): %s\n", base)
	case serverPolicy != "":
		basePolicy = serverPolicy
		fmt.Fprintf(w, "# Base policy (what Parapet sends): %s\n", serverPolicy)
	default:
		basePolicy = harden.DefaultCSP
		fmt.Fprintf(w, "# The server sends no policy of its own (harden.csp.policy off, or the app's own):\n# suggesting on top of Parapet's starter policy; give yours with --base.\n# Base policy: %s\n", basePolicy)
	}
	s := csppolicy.Suggest(csppolicy.Parse(basePolicy).Without("report-uri", "report-to"), seen)
	fmt.Fprintf(w, "# %d report(s) of %d kind(s) of violation from %s\n", s.Reports, len(seen), strings.Join(from, ", "))
	if dropped > 0 {
		fmt.Fprintf(w, "# %d violation(s) were not kept: the collector was full (1,000 kinds); reload the config to start afresh\n", dropped)
	}
	if len(seen) == 0 {
		fmt.Fprintln(w, "# No violations collected yet: browse the site (or wait for traffic) and run this again.")
	}
	risk := map[[2]string]string{}
	for _, r := range s.Risks {
		risk[[2]string{r.Directive, r.Source}] = r.Why
	}
	last := ""
	for _, a := range s.Added {
		if a.Directive != last {
			fmt.Fprintf(w, "#\n# %s\n", a.Directive)
			last = a.Directive
		}
		fmt.Fprintf(w, "#   + %-34s %d report(s) as %s, e.g. on %s\n", a.Source, a.Count, printable(strings.Join(a.Reported, ", ")), printable(a.Example))
		if why := risk[[2]string{a.Directive, a.Source}]; why != "" {
			fmt.Fprintf(w, "#     RISK: %s\n", why)
		}
	}
	var old []csppolicy.Risk
	for _, r := range s.Risks {
		if !r.New {
			old = append(old, r)
		}
	}
	if len(old) > 0 {
		fmt.Fprintln(w, "#\n# Already in the base policy:")
		for _, r := range old {
			fmt.Fprintf(w, "#   %s %s\n#     RISK: %s\n", r.Directive, r.Source, r.Why)
		}
	}
	if len(s.Skipped) > 0 {
		fmt.Fprintln(w, "#\n# Not turned into sources:")
		for _, sk := range s.Skipped {
			blocked := sk.BlockedURI
			if blocked == "" {
				blocked = `""`
			}
			fmt.Fprintf(w, "#   %s %s (%d report(s)): %s\n", sk.Directive, printable(blocked), sk.Count, sk.Why)
		}
	}
	if len(s.Added) > 0 {
		fmt.Fprintln(w, "#\n# Anyone can post reports: allow only the sources you recognise. A host reported once,\n# on no page of yours, may be someone's attempt to get it into your policy.")
	}
	fmt.Fprintln(w, "#\n# The policy (harden.csp.policy; Parapet adds the report-uri):")
	fmt.Fprintln(w, s.Policy.String())
}

// printable replaces what a terminal would act on (control and format
// characters: escapes, bidi overrides) in text from reports, which
// anyone can post.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsGraphic(r) {
			return r
		}
		return '?'
	}, s)
}
