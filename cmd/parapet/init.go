package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/djangoproj"
	"github.com/parapet-waf/parapet/internal/findings"
)

const initUsage = `Usage:
  parapet init [--force] [--dry-run] [PATH]

Reads the Django project at PATH (default: the current directory): manage.py's
settings module (split settings followed through star imports), the Procfile,
wsgi.py/asgi.py and urls.py. Writes PATH/parapet.yaml with safe defaults for
that app (allowed hosts from a literal ALLOWED_HOSTS, its admin, login and
static paths, webhook paths exempted from challenges and write limits), shows
the difference to the file already there, proposes the Procfile's web line and
prints the config vars to set. Values computed when Django starts (os.environ,
env.list) are reported as "cannot tell", never guessed. An existing
parapet.yaml that differs is not replaced without --force.
`

// cmdInit writes parapet.yaml for a Django project.
func cmdInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet init", flag.ContinueOnError)
	force := fs.Bool("force", false, "replace an existing parapet.yaml that differs")
	dry := fs.Bool("dry-run", false, "show what would be written, write nothing")
	var pos []string
	for {
		if code := parseFlags(fs, initUsage, args, stdout, stderr); code >= 0 {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "parapet init: one project directory, got %q\n", pos)
		return 2
	}
	root := "."
	if len(pos) == 1 {
		root = pos[0]
	}
	proj, err := djangoproj.Scan(root)
	if err != nil {
		fmt.Fprintf(stderr, "parapet init: %v\n", err)
		return 1
	}
	body := initYAML(proj)

	// The file init writes must pass `parapet check` on its own.
	tmp, err := os.CreateTemp("", "parapet-init-*.yaml")
	if err != nil {
		fmt.Fprintf(stderr, "parapet init: %v\n", err)
		return 1
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(body); err != nil {
		fmt.Fprintf(stderr, "parapet init: %v\n", err)
		return 1
	}
	tmp.Close()
	if _, err := loadAndBuildEnv(tmp.Name(), nil); err != nil {
		fmt.Fprintln(stderr, "parapet init: the config written for this project does not pass parapet check (a bug, please report it):")
		printConfigError(stderr, err)
		return 1
	}

	dest := filepath.Join(root, "parapet.yaml")
	old, err := os.ReadFile(dest)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "parapet init: %v\n", err)
		return 1
	}
	code := 0
	switch {
	case exists && string(old) == body:
		fmt.Fprintf(stdout, "%s is up to date.\n", dest)
	case exists && !*force:
		fmt.Fprintf(stdout, "%s exists and differs from what init would write:\n", dest)
		writeDiff(stdout, dest+" (yours)", dest+" (parapet init)", string(old), body)
		fmt.Fprintf(stderr, "parapet init: %s not replaced: it exists (run with --force to replace it, or merge the changes above by hand)\n", dest)
		code = 1
	default:
		from := "/dev/null"
		if exists {
			from = dest + " (old)"
		}
		writeDiff(stdout, from, dest, string(old), body)
		if *dry {
			fmt.Fprintf(stdout, "--dry-run: %s not written.\n", dest)
		} else if err := writeFileAtomic(dest, []byte(body)); err != nil {
			fmt.Fprintf(stderr, "parapet init: %v\n", err)
			return 1
		} else {
			fmt.Fprintf(stdout, "Wrote %s (parapet check passes on it).\n", dest)
		}
	}
	fmt.Fprintln(stdout)
	proposeProcfile(stdout, proj)
	printConfigVars(stdout)
	notes := proj.Notes
	if _, why := allowedHosts(proj); why != "" {
		notes = append([]string{"cannot tell ALLOWED_HOSTS: " + why + "; set edge.allowed_hosts (PARAPET_EDGE_ALLOWED_HOSTS)"}, notes...)
	}
	if len(notes) > 0 {
		fmt.Fprintln(stdout, "\nWhat init could not tell (check these by hand):")
		for _, n := range notes {
			fmt.Fprintf(stdout, "  - %s\n", n)
		}
	}
	return code
}

// urlPath turns a URL setting (STATIC_URL = "static/" or "/static/") into
// a path prefix, or "" for a full URL (a CDN) or nothing.
func urlPath(s string) string {
	if s == "" || strings.Contains(s, "://") || strings.HasPrefix(s, "//") {
		return ""
	}
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	if s == "/" {
		return ""
	}
	return s
}

func yamlList(items []string) string {
	b, _ := json.Marshal(items) // JSON is YAML
	return strings.ReplaceAll(string(b), `","`, `", "`)
}

// initYAML is the parapet.yaml init writes for proj.
func initYAML(p *djangoproj.Project) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	name := filepath.Base(mustAbs(p.Root))
	w("# parapet.yaml for the Django project %q, written by `parapet init`.\n", name)
	if p.SettingsModule != "" {
		w("# Read from %s (settings %s)", strings.Join(p.SettingsFiles, ", "), p.SettingsModule)
		if len(p.URLs.Files) > 0 {
			w(" and %s", strings.Join(p.URLs.Files, ", "))
		}
		w(".\n")
	}
	w("# Every key can be overridden by a config var named after it\n")
	w("# (edge.allowed_hosts -> PARAPET_EDGE_ALLOWED_HOSTS); parapet.example.yaml lists\n")
	w("# them all. Check changes with: parapet check --config parapet.yaml\n\n")

	if p.Procfile != nil {
		w("# Heroku's router is the proxy in front: its X-Forwarded-For and\n")
		w("# X-Forwarded-Proto are believed, so the client address is real and a plain\n")
		w("# HTTP request is redirected to HTTPS (edge.https_redirect: auto).\n")
		w("trusted_proxies: [heroku]\n\n")
	} else {
		w("# The proxy in front of Parapet, whose X-Forwarded-For/-Proto to believe:\n")
		w("# heroku on Heroku, or your load balancer's addresses (10.0.0.0/8, private).\n")
		w("# trusted_proxies: [heroku]\n\n")
	}

	w("edge:\n")
	hosts, hostsWhy := allowedHosts(p)
	if hosts != nil {
		v := p.Settings["ALLOWED_HOSTS"]
		w("  # ALLOWED_HOSTS of %s: other Host headers get 400 before Django sees them.\n", v.Where)
		w("  allowed_hosts: %s\n", yamlList(hosts))
	} else {
		w("  # Cannot tell ALLOWED_HOSTS: %s.\n", hostsWhy)
		w("  # List your hosts here or in PARAPET_EDGE_ALLOWED_HOSTS (www.example.com,.example.com);\n")
		w("  # until then any Host passes.\n")
		w("  # allowed_hosts: [www.example.com]\n")
	}
	w("\n")

	w("detection:\n")
	w("  # Start in monitor mode: attacks are logged (\"monitored\" in the log line), not\n")
	w("  # blocked. Switch to enforce (PARAPET_DETECTION_MODE=enforce) once a few days of\n")
	w("  # real traffic show no false positives.\n")
	w("  mode: monitor\n")
	var admin []string
	for _, a := range p.URLs.Admin {
		if a != "/" {
			admin = append(admin, a)
		}
	}
	if len(admin) > 0 {
		w("  admin_paths: %s   # where urls.py mounts admin.site.urls\n", yamlList(admin))
	}
	var skip []string
	for _, s := range []string{"STATIC_URL", "MEDIA_URL"} {
		if v, ok := p.Setting(s); ok {
			if path := urlPath(v.Str); path != "" && !slices.Contains(skip, path) {
				skip = append(skip, path)
			}
		}
	}
	if len(skip) > 0 {
		w("  skip_paths: %s   # STATIC_URL and MEDIA_URL: GETs of files skip detection\n", yamlList(skip))
	}
	w("\n")

	login := loginPaths(p, admin)
	hooks := p.URLs.Webhooks
	if len(login) > 0 || len(hooks) > 0 {
		w("rate_limits:\n  rules:\n")
		if len(login) > 0 {
			w("    - id: rl-login-app        # this app's login pages, limited like the built-in rl-login\n")
			w("      limit: 5/minute burst 5\n      methods: [POST]\n")
			w("      paths: %s\n", yamlList(login))
		}
		if len(hooks) > 0 {
			w("    - id: rl-writes           # the built-in write limit, without the webhooks\n")
			w("      limit: 120/minute burst 60\n      methods: [POST, PUT, PATCH, DELETE]\n")
			w("      except_paths: %s\n", yamlList(hooks))
		}
		w("\n")
	}
	if len(hooks) > 0 {
		w("under_attack:\n")
		w("  # Webhook senders cannot solve a challenge: these paths are never challenged.\n")
		w("  exempt_paths: %s\n", yamlList(hooks))
	}
	return b.String()
}

// allowedHosts returns the literal ALLOWED_HOSTS Parapet accepts, or nil
// and why not.
func allowedHosts(p *djangoproj.Project) ([]string, string) {
	v, ok := p.Settings["ALLOWED_HOSTS"]
	switch {
	case !ok:
		return nil, "it is not set in " + strings.Join(p.SettingsFiles, ", ")
	case !v.Known:
		return nil, v.Why
	case !v.IsList:
		return nil, v.Where + " is not a list"
	case len(v.List) == 0:
		return nil, v.Where + " is empty (Django allows only localhost then, with DEBUG on)"
	}
	for _, h := range v.List {
		if h == "" || strings.ContainsAny(h, "/ :") && !strings.HasPrefix(h, "[") {
			return nil, fmt.Sprintf("%s holds %q, which is not a host name", v.Where, h)
		}
	}
	return v.List, ""
}

// loginPaths are the app's login pages that the built-in rl-login does not
// already cover: LOGIN_URL, login routes, the admin's login under a moved admin.
func loginPaths(p *djangoproj.Project, admin []string) []string {
	builtin := config.DefaultRateLimits()[0].Paths
	var out []string
	add := func(path string) {
		if path != "" && !slices.Contains(builtin, path) && !slices.Contains(out, path) {
			out = append(out, path)
		}
	}
	if v, ok := p.Setting("LOGIN_URL"); ok && strings.HasPrefix(v.Str, "/") {
		add(urlPath(v.Str))
	}
	for _, l := range p.URLs.Login {
		add(l)
	}
	for _, a := range admin {
		add(a + "login/")
	}
	return out
}

// proposeProcfile prints the Procfile with its web process behind Parapet.
func proposeProcfile(w io.Writer, p *djangoproj.Project) {
	var old string
	name := filepath.Join(p.Root, "Procfile")
	if p.Procfile != nil {
		b, _ := os.ReadFile(p.Procfile.Path)
		old = string(b)
		web := p.Procfile.Cmds["web"]
		if strings.HasPrefix(web, "parapet ") {
			fmt.Fprintf(w, "Procfile: the web process already runs behind Parapet:\n  web: %s\n", web)
			return
		}
		if web == "" {
			web = defaultServer(p)
		}
		var lines []string
		replaced := false
		for _, l := range strings.SplitAfter(old, "\n") {
			if n, _, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(n) == "web" && !replaced {
				l = "web: parapet -- " + web + "\n"
				replaced = true
			}
			if l != "" {
				lines = append(lines, l)
			}
		}
		if !replaced {
			lines = append(lines, "web: parapet -- "+web+"\n")
		}
		fmt.Fprintln(w, "Proposed Procfile (not written: apply it yourself; other process types stay as they are):")
		writeDiff(w, name, name+" (behind Parapet)", old, strings.Join(lines, ""))
	} else {
		fmt.Fprintln(w, "Proposed Procfile (not written):")
		writeDiff(w, "/dev/null", name, "", "web: parapet -- "+defaultServer(p)+"\n")
	}
	fmt.Fprintln(w, "Parapet listens on $PORT and gives the app a private socket: no --bind needed (a --bind 0.0.0.0:$PORT is rewritten).")
}

func defaultServer(p *djangoproj.Project) string {
	mod := p.AppModule
	if mod == "" {
		mod = "yourproject.wsgi"
	}
	if p.ASGI {
		if !strings.Contains(mod, ":") {
			mod += ":application"
		}
		return "uvicorn " + mod
	}
	return "gunicorn " + mod
}

func printConfigVars(w io.Writer) {
	fmt.Fprint(w, `
Config vars to set (fresh random values; the same on every dyno, never in git):
  heroku config:set PARAPET_SECRET=`+randomHex(32)+` \
                    PARAPET_METRICS_TOKEN=`+randomHex(24)+`
PARAPET_SECRET signs challenge clearance cookies. PARAPET_METRICS_TOKEN is the
admin token Parapet has today: it opens /_parapet/metrics and the collected CSP
reports (/_parapet/csp-violations, read by parapet csp suggest) on the public port
to "Authorization: Bearer <token>" (there is no admin API yet).
`)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".parapet.yaml.new.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeDiff prints a line diff of a and b (every line, marked ' ', '-' or
// '+'): the files init writes are short.
func writeDiff(w io.Writer, nameA, nameB, a, b string) {
	var out bytes.Buffer
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	for _, l := range findings.Diff(a, b) {
		fmt.Fprintf(&out, "%c%s\n", l.Kind, l.Text)
	}
	_, _ = w.Write(out.Bytes())
}
