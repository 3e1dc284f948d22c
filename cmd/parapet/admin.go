package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

const rulesUsage = `Usage:
  parapet rules list [--server URL]
  parapet rules add [--kind access|rate_limit] RULE [--server URL]
  parapet rules mode ID enforce|monitor [--server URL]
  parapet rules remove ID [--server URL]

Talks to the running Parapet's admin API (--server or PARAPET_SERVER, the
token in PARAPET_ADMIN_TOKEN; https://, or http:// to this machine unless
--insecure). RULE is the rule as in the config file, in
JSON (or a file holding it, or - for stdin):
  parapet rules add '{"id": "block-net", "ips": ["198.51.100.0/24"]}'
  parapet rules add --kind rate_limit '{"id": "rl-api", "limit": "10/s", "paths": ["/api/"]}'
It is validated by the server as a rule in the file is, and kept across
restarts. mode switches any rule, the file's too, between enforce and
monitor; remove deletes a rule added live (the file's stay in the file).
`

const statusUsage = `Usage:
  parapet status [--server URL] [--json]

Prints the running Parapet's version, config hash, uptime, instances, store
health and under-attack state (the admin API's GET /_parapet/api/status).
`

const eventsUsage = `Usage:
  parapet events [--server URL] [--ip IP] [--rule ID] [--decision D] [--path P] [--since 1h] [--limit N]

Prints the running Parapet's recent events, newest first, one JSON object a
line (the admin API's GET /_parapet/api/events).
`

const underAttackUsage = `Usage:
  parapet under-attack on [--for 30m] [--reason TEXT] [--server URL]
  parapet under-attack off [--server URL]

Switches under-attack mode (every client without clearance is challenged)
on every instance, through the admin API.
`

const reloadUsage = `Usage:
  parapet reload [--server URL]

Asks the running Parapet to re-read its config file (as SIGHUP does); a bad
file is refused with its file, line and reason, and the running config keeps
serving.
`

// adminFlags parses a subcommand's flags with positional arguments
// anywhere, and returns the API client.
func adminFlags(fs *flag.FlagSet, server *serverOpts, cmdUsage string, args []string, stdout, stderr io.Writer) (pos []string, c *apiClient, code int) {
	for {
		if code := parseFlags(fs, cmdUsage, args, stdout, stderr); code >= 0 {
			return nil, nil, code
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	c, err := newAPIClient(*server)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, nil, 2
	}
	return pos, c, -1
}

func wantArgs(stderr io.Writer, name string, pos []string, n int, usage string) bool {
	if len(pos) == n {
		return true
	}
	fmt.Fprintf(stderr, "%s: takes %d argument(s), got %q\n\n%s", name, n, pos, usage)
	return false
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, rulesUsage)
		return 0
	case "list", "add", "mode", "remove":
	default:
		fmt.Fprintf(stderr, "parapet rules: unknown subcommand %q\n\n%s", sub, rulesUsage)
		return 2
	}
	fs := flag.NewFlagSet("parapet rules "+sub, flag.ContinueOnError)
	server := serverFlag(fs)
	kind := new(string)
	if sub == "add" {
		fs.StringVar(kind, "kind", "access", "access or rate_limit")
	}
	pos, c, code := adminFlags(fs, server, rulesUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	n := map[string]int{"list": 0, "add": 1, "mode": 2, "remove": 1}[sub]
	if !wantArgs(stderr, fs.Name(), pos, n, rulesUsage) {
		return 2
	}
	type rule = map[string]any
	switch sub {
	case "list":
		var list struct{ Rules []rule }
		if err := c.do(ctx, "GET", "rules", nil, &list); err != nil {
			return fail(stderr, "rules", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tMODE\tSOURCE\tRULE")
		for _, r := range list.Rules {
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%s\n", r["id"], r["kind"], r["mode"], r["source"], ruleSummary(r))
		}
		tw.Flush()
	case "add":
		raw := pos[0]
		if raw == "-" || !strings.HasPrefix(strings.TrimSpace(raw), "{") {
			var b []byte
			var err error
			if raw == "-" {
				b, err = io.ReadAll(os.Stdin)
			} else {
				b, err = os.ReadFile(raw)
			}
			if err != nil {
				return fail(stderr, "rules", err)
			}
			raw = string(b)
		}
		if !json.Valid([]byte(raw)) {
			fmt.Fprintln(stderr, "parapet rules add: RULE is not JSON (the rule as in the config file, e.g. '{\"id\": \"x\", \"ips\": [\"198.51.100.7\"]}')")
			return 2
		}
		var r rule
		if err := c.do(ctx, "POST", "rules", map[string]any{"kind": *kind, "rule": json.RawMessage(raw)}, &r); err != nil {
			return fail(stderr, "rules", err)
		}
		fmt.Fprintf(stdout, "added %v rule %v (%v): %s\n", r["kind"], r["id"], r["mode"], ruleSummary(r))
	case "mode":
		var r rule
		if err := c.do(ctx, "PATCH", "rules/"+url.PathEscape(pos[0]), map[string]string{"mode": pos[1]}, &r); err != nil {
			return fail(stderr, "rules", err)
		}
		fmt.Fprintf(stdout, "rule %v is in %v mode\n", r["id"], r["mode"])
	case "remove":
		if err := c.do(ctx, "DELETE", "rules/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return fail(stderr, "rules", err)
		}
		fmt.Fprintf(stdout, "rule %s removed\n", pos[0])
	}
	return 0
}

// ruleSummary renders a rule's own fields compactly.
func ruleSummary(r map[string]any) string {
	var keys []string
	for k := range r {
		switch k {
		case "id", "kind", "mode", "source":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		b, _ := json.Marshal(r[k])
		parts = append(parts, k+"="+string(b))
	}
	return strings.Join(parts, " ")
}

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet status", flag.ContinueOnError)
	server := serverFlag(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON as it is")
	pos, c, code := adminFlags(fs, server, statusUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if !wantArgs(stderr, fs.Name(), pos, 0, statusUsage) {
		return 2
	}
	var st struct {
		Version       string `json:"version"`
		ConfigHash    string `json:"config_hash"`
		UptimeSeconds int64  `json:"uptime_seconds"`
		Mode          string `json:"mode"`
		Instances     []struct {
			ID       string    `json:"id"`
			LastSeen time.Time `json:"last_seen"`
		} `json:"instances"`
		UnderAttack struct {
			On     bool   `json:"on"`
			Reason string `json:"reason"`
			Until  string `json:"until"`
		} `json:"under_attack"`
		Store struct {
			Type    string `json:"type"`
			Healthy bool   `json:"healthy"`
		} `json:"store"`
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "status", nil, &raw); err != nil {
		return fail(stderr, "status", err)
	}
	if *asJSON {
		fmt.Fprintln(stdout, string(raw))
		return 0
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return fail(stderr, "status", err)
	}
	health := "healthy"
	if !st.Store.Healthy {
		health = "UNREACHABLE"
	}
	ua := "off"
	if st.UnderAttack.On {
		ua = "ON: " + st.UnderAttack.Reason
		if st.UnderAttack.Until != "" {
			ua += " (until " + st.UnderAttack.Until + ")"
		}
	}
	fmt.Fprintf(stdout, "server:       %s\nversion:      %s (%s mode)\nconfig hash:  %s\nuptime:       %s\nstore:        %s, %s\nunder attack: %s\ninstances:    %d\n",
		c.base, st.Version, st.Mode, st.ConfigHash, (time.Duration(st.UptimeSeconds) * time.Second).String(), st.Store.Type, health, ua, len(st.Instances))
	for _, in := range st.Instances {
		fmt.Fprintf(stdout, "  %s (seen %s ago)\n", in.ID, time.Since(in.LastSeen).Round(time.Second))
	}
	return 0
}

func cmdEvents(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet events", flag.ContinueOnError)
	server := serverFlag(fs)
	q := url.Values{}
	var limit int
	filters := map[string]*string{}
	for _, name := range []string{"ip", "rule", "decision", "path", "since"} {
		filters[name] = fs.String(name, "", "only events with this "+name)
	}
	fs.IntVar(&limit, "limit", 50, "at most this many events")
	pos, c, code := adminFlags(fs, server, eventsUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if !wantArgs(stderr, fs.Name(), pos, 0, eventsUsage) {
		return 2
	}
	for name, v := range filters {
		if *v != "" {
			q.Set(name, *v)
		}
	}
	q.Set("limit", strconv.Itoa(limit))
	var out struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := c.do(ctx, "GET", "events?"+q.Encode(), nil, &out); err != nil {
		return fail(stderr, "events", err)
	}
	for _, e := range out.Events {
		fmt.Fprintln(stdout, string(e))
	}
	return 0
}

func cmdUnderAttack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet under-attack", flag.ContinueOnError)
	server := serverFlag(fs)
	dur := fs.Duration("for", 30*time.Minute, "how long (on)")
	reason := fs.String("reason", "", "why (on)")
	pos, c, code := adminFlags(fs, server, underAttackUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if !wantArgs(stderr, fs.Name(), pos, 1, underAttackUsage) || pos[0] != "on" && pos[0] != "off" {
		if len(pos) == 1 {
			fmt.Fprintf(stderr, "parapet under-attack: %q must be on or off\n", pos[0])
		}
		return 2
	}
	body := map[string]any{"on": pos[0] == "on"}
	if pos[0] == "on" {
		body["for"], body["reason"] = dur.String(), *reason
	}
	var st struct {
		On     bool   `json:"on"`
		Reason string `json:"reason"`
		Until  string `json:"until"`
	}
	if err := c.do(ctx, "POST", "under-attack", body, &st); err != nil {
		return fail(stderr, "under-attack", err)
	}
	if st.On {
		fmt.Fprintf(stdout, "under-attack mode on until %s: %s\n", st.Until, st.Reason)
	} else {
		fmt.Fprintln(stdout, "under-attack mode off")
	}
	return 0
}

func cmdReload(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet reload", flag.ContinueOnError)
	server := serverFlag(fs)
	pos, c, code := adminFlags(fs, server, reloadUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if !wantArgs(stderr, fs.Name(), pos, 0, reloadUsage) {
		return 2
	}
	var out struct {
		ConfigHash string `json:"config_hash"`
	}
	if err := c.do(ctx, "POST", "reload", nil, &out); err != nil {
		return fail(stderr, "reload", err)
	}
	fmt.Fprintf(stdout, "config reloaded (hash %s)\n", out.ConfigHash)
	return 0
}
