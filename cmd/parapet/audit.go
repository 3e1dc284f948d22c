package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parapet-waf/parapet/internal/audit"
	"github.com/parapet-waf/parapet/internal/findings"
)

const auditUsage = `Usage:
  parapet audit [--format text|json|sarif] [--fail-on high|medium|low|none]
                [--settings MODULE] [--no-history] [--verbose]
                [--write-config FILE [--yes]] [PATH]

Checks the Django project at PATH (default .) against the security checklist
for Django on Heroku, without Python: settings (DEBUG, SECRET_KEY,
ALLOWED_HOSTS, middleware, cookies, SECURE_*, CSP, password validators, DRF,
CORS, database TLS, logging), the Procfile, runtime, requirements and
.gitignore, secrets in the tree and in git history, and raw SQL built from
strings. Settings come from manage.py's DJANGO_SETTINGS_MODULE (its
production.py sibling when split), star imports followed; values read from the
environment are judged by their default, values computed at run time are
reported as "cannot tell".

Each finding Parapet can enforce at the edge prints the config that does it;
--write-config FILE merges that config into FILE (a diff is printed; the file
is written only with --yes, or after asking on a terminal).

Exit status: 1 when a finding failed at or above --fail-on (default high), 2
for bad usage, 0 otherwise.
`

// isTerminal reports whether f is a terminal: a character device other
// than /dev/null.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

// reportFlags are the output flags audit and scan share.
type reportFlags struct {
	format, failOn string
	verbose        bool
}

func (r *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.format, "format", "text", "output `format`: text, json or sarif")
	fs.StringVar(&r.failOn, "fail-on", "high", "exit 1 when a finding of this `severity` or above fails: high, medium, low or none")
	fs.BoolVar(&r.verbose, "verbose", false, "list passing checks too (text)")
}

// write renders rep and returns the exit status.
func (r *reportFlags) write(rep *findings.Report, stdout io.Writer) (int, error) {
	min, err := findings.ParseSeverity(r.failOn)
	if err != nil {
		return 2, err
	}
	switch r.format {
	case "text":
		colour := false
		if f, ok := stdout.(*os.File); ok && isTerminal(f) && os.Getenv("NO_COLOR") == "" {
			colour = true
		}
		rep.Text(stdout, colour, r.verbose)
	case "json":
		if err := rep.JSON(stdout); err != nil {
			return 1, err
		}
	case "sarif":
		if err := rep.SARIF(stdout, version); err != nil {
			return 1, err
		}
	default:
		return 2, fmt.Errorf("--format %q: want text, json or sarif", r.format)
	}
	if rep.Failed(min) {
		return 1, nil
	}
	return 0, nil
}

// parseWithPositional parses flags that may come before or after one
// positional argument.
func parseWithPositional(fs *flag.FlagSet, cmdUsage string, args []string, stdout, stderr io.Writer) ([]string, int) {
	var pos []string
	for {
		if code := parseFlags(fs, cmdUsage, args, stdout, stderr); code >= 0 {
			return nil, code
		}
		if fs.NArg() == 0 {
			return pos, -1
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

func cmdAudit(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parapet audit", flag.ContinueOnError)
	var rf reportFlags
	rf.register(fs)
	settings := fs.String("settings", "", "audit this settings `MODULE` (e.g. mysite.settings.production) instead of manage.py's")
	noHistory := fs.Bool("no-history", false, "do not search git history for secrets")
	writeConfig := fs.String("write-config", "", "merge the config that enforces the findings into `FILE` (parapet.yaml): prints a diff")
	yes := fs.Bool("yes", false, "with --write-config: write without asking")
	pos, code := parseWithPositional(fs, auditUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "parapet audit: one project directory, got %q\n", pos)
		return 2
	}
	root := "."
	if len(pos) == 1 {
		root = pos[0]
	}
	rep, err := audit.Run(root, audit.Options{Settings: *settings, NoHistory: *noHistory})
	if err != nil {
		fmt.Fprintf(stderr, "parapet audit: %v\n", err)
		return 2
	}
	status, err := rf.write(rep, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "parapet audit: %v\n", err)
		return status
	}
	if *writeConfig != "" {
		// With json/sarif on stdout, the diff goes to stderr.
		w := stdout
		if rf.format != "text" {
			w = stderr
		}
		if err := writeConfigDiff(*writeConfig, rep.Enforcements(), *yes, stdin, w); err != nil {
			fmt.Fprintf(stderr, "parapet audit: %v\n", err)
			return 1
		}
	}
	return status
}

// writeConfigDiff merges changes into the config file, prints the diff and
// writes it with yes (or when the user agrees on a terminal).
func writeConfigDiff(path string, changes []findings.Change, yes bool, stdin io.Reader, w io.Writer) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(changes) == 0 {
		fmt.Fprintf(w, "\n%s: nothing to add (no finding Parapet enforces)\n", path)
		return nil
	}
	merged, err := findings.MergeConfig(old, changes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	diff := findings.UnifiedDiff(path, path, string(old), string(merged))
	if diff == "" {
		fmt.Fprintf(w, "\n%s already has the config that enforces these findings\n", path)
		return nil
	}
	// The merged file must pass parapet check before it replaces anything.
	tmp, err := os.CreateTemp("", "parapet-audit-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(merged); err != nil {
		return err
	}
	tmp.Close()
	if _, err := loadAndBuildEnv(tmp.Name(), nil); err != nil {
		return fmt.Errorf("the merged config does not pass parapet check (not written): %w", err)
	}
	fmt.Fprintf(w, "\nConfig that enforces these findings at the edge:\n%s", diff)
	if !yes {
		f, ok := stdin.(*os.File)
		if !ok || !isTerminal(f) {
			fmt.Fprintf(w, "not written: run again with --yes to write %s\n", path)
			return nil
		}
		fmt.Fprintf(w, "Write %s? [y/N] ", path)
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			fmt.Fprintln(w, "not written")
			return nil
		}
	}
	if err := writeFileAtomic(path, merged); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s\n", path)
	return nil
}
