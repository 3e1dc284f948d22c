package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/ratelimit"
	"github.com/parapet-waf/parapet/internal/store"
	"github.com/parapet-waf/parapet/internal/waf"
)

const banUsage = `Usage:
  parapet ban list [--server URL | --config FILE]
  parapet ban add IP [--for 1h] [--reason TEXT] [--action block|challenge] [--server URL | --config FILE]
  parapet ban remove IP [--server URL | --config FILE]

With --server (or PARAPET_SERVER) it asks the running Parapet's admin API,
with the token in PARAPET_ADMIN_TOKEN: what it prints is what the server
did (an address an allow rule lets through is refused, with the rule's id).
The token goes only over https://, or http:// to this machine (--insecure
allows plain HTTP to another one, on a private network).
Without, it works on the store the server with the same config uses: Redis
(store.type redis), or the memory store's ban file, which a running server
re-reads within a second. IPv6 clients are banned by their /64.
`

// cmdBan lists, adds and removes bans.
func cmdBan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, banUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, banUsage)
		return 0
	}
	// Each subcommand has only its own flags: list and remove take no
	// --for, --reason or --action.
	fs := flag.NewFlagSet("parapet ban "+sub, flag.ContinueOnError)
	file := fs.String("config", os.Getenv(config.EnvConfigFile), "YAML config `FILE` (env PARAPET_CONFIG), when not asking a --server")
	server := serverFlag(fs)
	dur, reason, action := new(time.Duration), new(string), new(string)
	*dur, *reason, *action = time.Hour, "banned by hand", "block"
	subUsage := map[string]string{
		"list":   "Usage:\n  parapet ban list [--server URL | --config FILE]\n\nLists the bans in force, with their reason and end.\n",
		"add":    "Usage:\n  parapet ban add IP [--for 1h] [--reason TEXT] [--action block|challenge] [--server URL | --config FILE]\n\nBans IP (an IPv6 address by its /64) for a while. An address an allow rule\nlets through is refused (exit status 1): the ban would never apply.\n",
		"remove": "Usage:\n  parapet ban remove IP [--server URL | --config FILE]\n\nLifts the ban of IP.\n",
	}[sub]
	if subUsage == "" {
		fmt.Fprintf(stderr, "parapet ban: unknown subcommand %q\n\n%s", sub, banUsage)
		return 2
	}
	if sub == "add" {
		fs.DurationVar(dur, "for", time.Hour, "how long the ban lasts")
		fs.StringVar(reason, "reason", "banned by hand", "why (shown by ban list and in logs)")
		fs.StringVar(action, "action", "block", "block (403) or challenge")
	}
	var pos []string
	for {
		if code := parseFlags(fs, subUsage, args, stdout, stderr); code >= 0 {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	n := map[string]int{"list": 0, "add": 1, "remove": 1}[sub]
	if len(pos) != n {
		fmt.Fprintf(stderr, "parapet ban %s: takes %d address(es), got %q\n\n%s", sub, n, pos, subUsage)
		return 2
	}
	var key string
	if n == 1 {
		var err error
		if key, err = ratelimit.ParseClientKey(pos[0]); err != nil {
			fmt.Fprintf(stderr, "parapet ban: %v\n", err)
			return 2
		}
	}
	if *action != "block" && *action != "challenge" {
		fmt.Fprintf(stderr, "parapet ban: --action %q must be block or challenge\n", *action)
		return 2
	}
	if *dur <= 0 {
		fmt.Fprintln(stderr, "parapet ban: --for must be positive")
		return 2
	}
	if server.URL != "" {
		return banViaAPI(ctx, *server, sub, pos, *dur, *reason, *action, stdout, stderr)
	}
	cfg, err := config.Load(*file, os.Environ())
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	if sub == "add" {
		if rule, ok := allowListedIn(cfg, key); ok {
			fmt.Fprintf(stderr, "parapet ban: %s is allow-listed by rule %s: allow rules run before bans, so a ban would never apply; remove the address from the rule first\n", pos[0], rule)
			return 1
		}
	}
	bans, err := openBans(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "parapet ban: %v\n", err)
		return 1
	}
	defer bans.Close()
	now := time.Now()
	switch sub {
	case "list":
		list, err := bans.Bans(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "parapet ban: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT\tACTION\tUNTIL\tSOURCE\tREASON")
		for _, b := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.Key, b.Action, b.Until.UTC().Format(time.RFC3339), b.Source, oneLine(b.Reason))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d ban(s) in %s\n", len(list), bans.where)
	case "add":
		b := store.Ban{Key: key, Action: *action, Reason: *reason, Source: "cli", Created: now, Until: now.Add(*dur)}
		if err := bans.AddBan(ctx, b); err != nil {
			fmt.Fprintf(stderr, "parapet ban: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "banned %s (%s) until %s: %s\n", key, *action, b.Until.UTC().Format(time.RFC3339), *reason)
	case "remove":
		removed, err := bans.RemoveBan(ctx, key)
		if err != nil {
			fmt.Fprintf(stderr, "parapet ban: %v\n", err)
			return 1
		}
		if !removed {
			fmt.Fprintf(stderr, "parapet ban: %s is not banned\n", key)
			return 1
		}
		fmt.Fprintf(stdout, "ban of %s removed\n", key)
	}
	return 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// banStore is where `parapet ban` reads and writes: Redis, or the ban
// file (edited under its lock, never through a second memory store).
type banStore struct {
	where string
	redis *store.Redis
	file  *store.BanFile
}

func openBans(ctx context.Context, cfg *config.Config) (*banStore, error) {
	if cfg.Store.Type == "redis" {
		st, err := waf.OpenStore(ctx, cfg.Store, nil)
		if err != nil {
			return nil, err
		}
		rs := st.(*store.Redis)
		if err := rs.Ping(ctx); err != nil {
			rs.Close()
			return nil, err
		}
		return &banStore{where: "redis " + cfg.Masked().Store.URL, redis: rs}, nil
	}
	f := &store.BanFile{Path: waf.BanFile(cfg)}
	return &banStore{where: f.Path, file: f}, nil
}

func (b *banStore) Close() {
	if b.redis != nil {
		b.redis.Close()
	}
}

func (b *banStore) Bans(ctx context.Context) ([]store.Ban, error) {
	if b.redis != nil {
		return b.redis.Bans(ctx)
	}
	bans, err := b.file.Read()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	list := make([]store.Ban, 0, len(bans))
	for _, x := range bans {
		if x.Until.After(now) {
			list = append(list, x)
		}
	}
	return store.SortBans(list), nil
}

func (b *banStore) AddBan(ctx context.Context, ban store.Ban) error {
	if b.redis != nil {
		return b.redis.AddBan(ctx, ban)
	}
	_, err := b.file.Update(time.Now(), func(m map[string]store.Ban) { m[ban.Key] = ban })
	return err
}

func (b *banStore) RemoveBan(ctx context.Context, key string) (bool, error) {
	if b.redis != nil {
		return b.redis.RemoveBan(ctx, key)
	}
	found := false
	_, err := b.file.Update(time.Now(), func(m map[string]store.Ban) {
		_, found = m[key]
		delete(m, key)
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	return found, nil
}

// allowListedIn returns the enforced allow rule of cfg whose ips contain
// the client key (what the server checks too, there with ip_files and
// feeds as well).
func allowListedIn(cfg *config.Config, key string) (string, bool) {
	var ip netip.Addr
	if p, err := netip.ParsePrefix(key); err == nil {
		ip = p.Addr()
	} else if ip, err = netip.ParseAddr(key); err != nil {
		return "", false
	}
	for _, r := range cfg.Rules {
		if r.Action != "allow" || r.Mode == "monitor" {
			continue
		}
		for _, s := range r.IPs {
			if p, err := netip.ParsePrefix(s); err == nil && p.Contains(ip) {
				return r.ID, true
			}
			if a, err := netip.ParseAddr(s); err == nil && a == ip {
				return r.ID, true
			}
		}
	}
	return "", false
}

// banViaAPI runs a ban subcommand against the server's admin API.
func banViaAPI(ctx context.Context, server serverOpts, sub string, pos []string, dur time.Duration, reason, action string, stdout, stderr io.Writer) int {
	c, err := newAPIClient(server)
	if err != nil {
		return fail(stderr, "ban", err)
	}
	type ban struct {
		IP, Reason, Until, Source, Action string
	}
	switch sub {
	case "list":
		var list struct{ Bans []ban }
		if err := c.do(ctx, "GET", "bans", nil, &list); err != nil {
			return fail(stderr, "ban", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT\tACTION\tUNTIL\tSOURCE\tREASON")
		for _, b := range list.Bans {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.IP, b.Action, b.Until, b.Source, oneLine(b.Reason))
		}
		tw.Flush()
		fmt.Fprintf(stdout, "%d ban(s) on %s\n", len(list.Bans), c.base)
	case "add":
		var b ban
		body := map[string]string{"ip": pos[0], "for": dur.String(), "reason": reason, "action": action}
		if err := c.do(ctx, "POST", "bans", body, &b); err != nil {
			return fail(stderr, "ban", err)
		}
		fmt.Fprintf(stdout, "banned %s (%s) until %s: %s\n", b.IP, b.Action, b.Until, b.Reason)
	case "remove":
		if err := c.do(ctx, "DELETE", "bans/"+pos[0], nil, nil); err != nil {
			return fail(stderr, "ban", err)
		}
		fmt.Fprintf(stdout, "ban of %s removed\n", pos[0])
	}
	return 0
}
