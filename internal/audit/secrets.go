package audit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/findings"
	"github.com/parapet-waf/parapet/internal/pyparse"
)

type secretPattern struct {
	name string
	re   *regexp.Regexp
	// only applies to files whose base name matches (nil: all).
	only *regexp.Regexp
}

var secretPatterns = []secretPattern{
	{name: "AWS access key id", re: regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{name: "AWS secret access key", re: regexp.MustCompile(`(?i)aws.{0,20}(secret|key).{0,20}['"=:\s]\s*['"]?([0-9a-zA-Z/+]{40})\b`)},
	{name: "private key", re: regexp.MustCompile(`-----BEGIN (RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----`)},
	{name: "GitHub token", re: regexp.MustCompile(`\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{60,}`)},
	{name: "Slack token", re: regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`)},
	{name: "Stripe live key", re: regexp.MustCompile(`\b[sr]k_live_[0-9a-zA-Z]{20,}`)},
	{name: "Google API key", re: regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{name: "SendGrid API key", re: regexp.MustCompile(`\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b`)},
	{name: "database URL with a password", re: regexp.MustCompile(`\b(postgres(ql)?|mysql|redis|rediss|amqps?|mongodb(\+srv)?)://[^:\s/'"@]+:([^@\s'"/]+)@[^\s'"]+`)},
	{name: "secret in an env file", re: regexp.MustCompile(`(?i)^\s*(export\s+)?[A-Z0-9_]*(SECRET|TOKEN|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY)[A-Z0-9_]*\s*=\s*['"]?([^\s'"#]{8,})`),
		only: regexp.MustCompile(`^\.env(\..*)?$|\.env$`)},
}

// placeholder values that are not secrets.
var placeholder = regexp.MustCompile(`(?i)^(password|passwd|pass|postgres|secret|changeme|change-me|example|xxx+|\*+|\$\{?[A-Z_]+\}?|<[^>]*>|your[-_a-z]*|test|dummy|fake)$`)

type secretHit struct {
	kind, file string
	line       int
	value      string
}

// scanSecrets finds the patterns in one file's text.
func scanSecrets(file string, r io.Reader, emit func(secretHit)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	base := filepath.Base(file)
	for sc.Scan() {
		line++
		text := sc.Text()
		for _, p := range secretPatterns {
			if p.only != nil && !p.only.MatchString(base) {
				continue
			}
			m := p.re.FindStringSubmatch(text)
			if m == nil {
				continue
			}
			value := m[0]
			if len(m) > 1 && m[len(m)-1] != "" {
				value = m[len(m)-1]
			}
			if placeholder.MatchString(value) || strings.HasPrefix(value, "$") {
				continue
			}
			emit(secretHit{kind: p.name, file: file, line: line, value: value})
		}
	}
}

// redact shows the start of a secret only.
func redact(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", 8) + fmt.Sprintf(" (%d characters)", len(s))
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	counts := map[rune]float64{}
	n := 0.0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := c / n
		h -= p * math.Log2(p)
	}
	return h
}

// tokenLike is a string that could be a key: no spaces or dots (module
// paths), letters and digits both.
var tokenLike = regexp.MustCompile(`^(?:[A-Za-z0-9+/=_\-!@#$%^&*~]*[0-9][A-Za-z0-9+/=_\-!@#$%^&*~]*[A-Za-z]|[A-Za-z0-9+/=_\-!@#$%^&*~]*[A-Za-z][A-Za-z0-9+/=_\-!@#$%^&*~]*[0-9])[A-Za-z0-9+/=_\-!@#$%^&*~]*$`)

// notSecretName are settings whose names sound secret but hold class paths.
var notSecretName = regexp.MustCompile(`_(VALIDATORS|HASHERS|BACKENDS?|CLASSES|CLASS|FIELD|URL|NAME|PATH|LENGTH|AGE|TIMEOUT)$`)

var secretName = regexp.MustCompile(`(?i)(SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH_?KEY|DSN)`)

func (a *auditor) checkSecrets(noHistory bool) {
	found := 0
	seen := map[string]bool{}
	report := func(r *findings.Rule, h secretHit, suffix string) {
		k := h.file + "\x00" + h.value
		if seen[k] {
			return
		}
		seen[k] = true
		found++
		a.rep.Add(r, findings.Fail, h.file, h.line, "%s: %s%s", h.kind, redact(h.value), suffix)
	}
	_ = filepath.WalkDir(a.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != a.root && (skipDir(d.Name()) || exists(filepath.Join(p, "pyvenv.cfg"))) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() > 1<<20 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
			return nil // binary
		}
		rel, _ := filepath.Rel(a.root, p)
		scanSecrets(rel, bytes.NewReader(b), func(h secretHit) { report(rSecretsTree, h, "") })
		return nil
	})
	// High-entropy strings assigned to secret-sounding names in settings.
	for _, file := range a.s.Files {
		m := a.s.Parsed[file]
		for _, st := range m.Body {
			name, value := "", pyparse.Expr(nil)
			switch st := st.(type) {
			case *pyparse.Assign:
				if n, ok := st.Targets[0].(*pyparse.Name); ok {
					name, value = n.ID, st.Value
				}
			case *pyparse.AnnAssign:
				if n, ok := st.Target.(*pyparse.Name); ok {
					name, value = n.ID, st.Value
				}
			}
			if value == nil || name == "SECRET_KEY" || !secretName.MatchString(name) || notSecretName.MatchString(name) {
				continue
			}
			walkExprs([]pyparse.Stmt{&pyparse.ExprStmt{X: value}}, func(x pyparse.Expr) {
				c, ok := x.(*pyparse.Const)
				if !ok || c.Kind != "str" || len(c.Str) < 16 || entropy(c.Str) < 3.5 || !tokenLike.MatchString(c.Str) {
					return
				}
				report(rSecretsTree, secretHit{kind: "high-entropy string assigned to " + name, file: file, line: c.Line, value: c.Str}, "")
			})
		}
	}
	if found == 0 {
		a.rep.Add(rSecretsTree, findings.Pass, "", 0, "no key, token or password patterns in the working tree")
	}
	if noHistory {
		a.rep.Notes = append(a.rep.Notes, "git history not searched (--no-history)")
		return
	}
	a.checkHistory(report)
}

// checkHistory searches every commit's added lines (git log -p --all).
func (a *auditor) checkHistory(report func(*findings.Rule, secretHit, string)) {
	git, err := exec.LookPath("git")
	if err != nil {
		a.rep.Notes = append(a.rep.Notes, "git history not searched: git is not installed")
		return
	}
	top, err := exec.Command(git, "-C", a.root, "rev-parse", "--show-toplevel").Output()
	absRoot, _ := filepath.Abs(a.root)
	absRoot, _ = filepath.EvalSymlinks(absRoot)
	topDir, _ := filepath.EvalSymlinks(strings.TrimSpace(string(top)))
	if err != nil || topDir != absRoot {
		a.rep.Notes = append(a.rep.Notes, "git history not searched: the project directory is not the root of a git repository")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, git, "-C", a.root, "log", "-p", "--all", "--no-color", "--no-ext-diff", "--unified=0", "--format=commit %H")
	out, err := cmd.StdoutPipe()
	if err != nil {
		a.rep.Notes = append(a.rep.Notes, "git history not searched: "+err.Error())
		return
	}
	if err := cmd.Start(); err != nil {
		a.rep.Notes = append(a.rep.Notes, "git history not searched: "+err.Error())
		return
	}
	before := len(a.rep.Findings)
	sc := bufio.NewScanner(io.LimitReader(out, 512<<20))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	commit, file, line := "", "", 0
	for sc.Scan() {
		t := sc.Text()
		switch {
		case strings.HasPrefix(t, "commit "):
			commit = strings.TrimPrefix(t, "commit ")
		case strings.HasPrefix(t, "+++ "):
			file = strings.TrimPrefix(strings.TrimPrefix(t, "+++ "), "b/")
		case strings.HasPrefix(t, "@@ "):
			// @@ -a,b +c,d @@
			if i := strings.Index(t, " +"); i >= 0 {
				f := strings.Fields(t[i+2:])[0]
				n, _ := strconv.Atoi(strings.SplitN(f, ",", 2)[0])
				line = n
			}
		case strings.HasPrefix(t, "+") && file != "" && file != "/dev/null":
			short := commit
			if len(short) > 12 {
				short = short[:12]
			}
			scanSecrets(file, strings.NewReader(t[1:]), func(h secretHit) {
				h.line = line
				report(rSecretsHistory, h, " (added in commit "+short+")")
			})
			line++
		}
	}
	_ = cmd.Wait()
	if ctx.Err() != nil {
		a.rep.Notes = append(a.rep.Notes, "git history search stopped after 2 minutes")
	}
	if len(a.rep.Findings) == before {
		a.rep.Add(rSecretsHistory, findings.Pass, "", 0, "no key, token or password patterns added in any commit")
	}
}
