package audit

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/findings"
)

type expectation struct {
	rule, status, file string
	line               int
}

func (e expectation) String() string {
	return fmt.Sprintf("%s %s at %s:%d", e.rule, e.status, e.file, e.line)
}

// expectations reads the fixture's "# expect: rule status, rule status"
// comments: each names a finding the audit must report on that line.
func expectations(t *testing.T, root string) []expectation {
	t.Helper()
	var out []expectation
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".py") {
			return nil
		}
		f, _ := os.Open(p)
		defer f.Close()
		rel, _ := filepath.Rel(root, p)
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			_, spec, ok := strings.Cut(sc.Text(), "# expect: ")
			if !ok {
				continue
			}
			for _, item := range strings.Split(spec, ",") {
				fields := strings.Fields(item)
				st := strings.ReplaceAll(fields[1], "-", " ")
				out = append(out, expectation{rule: fields[0], status: st, file: rel, line: n})
			}
		}
		return nil
	})
	return out
}

// copyTree copies a fixture into a temporary directory (the tests add
// what must not be committed to Parapet's repository: .env, git history).
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func has(rep *findings.Report, e expectation) bool {
	for _, f := range rep.Findings {
		if f.Rule.ID == e.rule && string(f.Status) == e.status && filepath.ToSlash(f.File) == filepath.ToSlash(e.file) && f.Line == e.line {
			return true
		}
	}
	return false
}

func dump(rep *findings.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "  %s %s %s:%d %s\n", f.Rule.ID, f.Status, f.File, f.Line, f.Message)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

func checkExpectations(t *testing.T, rep *findings.Report, want []expectation) {
	t.Helper()
	missing := 0
	for _, e := range want {
		if !has(rep, e) {
			t.Errorf("missing finding: %v", e)
			missing++
		}
	}
	if missing > 0 {
		t.Logf("findings:\n%s", dump(rep))
	}
}

// gitInit makes root a git repository with everything committed.
func gitInit(t *testing.T, root string) func(args ...string) {
	t.Helper()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-qm", "start")
	return git
}

func requireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs git")
		}
		t.Skip("git not installed")
	}
}

func TestGoodProjectPassesEveryRule(t *testing.T) {
	requireGit(t)
	root := copyTree(t, "testdata/good")
	gitInit(t, root)
	rep, err := Run(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		seen[f.Rule.ID] = true
		if f.Status != findings.Pass {
			t.Errorf("%s %s at %s:%d: %s", f.Rule.ID, f.Status, f.File, f.Line, f.Message)
		}
	}
	for _, r := range Rules {
		if !seen[r.ID] {
			t.Errorf("rule %s reported nothing", r.ID)
		}
	}
	if rep.Failed(findings.Low) {
		t.Error("Failed(low) on a project that passes")
	}
}

func TestBadProjectFailsEveryRuleAtItsLine(t *testing.T) {
	root := copyTree(t, "testdata/bad")
	// What is not committed to Parapet's repository: a .env with a secret
	// (.gitignore does not name it), and a token committed then deleted.
	if err := os.WriteFile(filepath.Join(root, ".env"), []byte("DJANGO_SECRET_KEY=n0t-a-real-key-but-long-enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := "ghp_" + strings.Repeat("a1B2c3D4e5", 3) + "F6g7H8"
	requireGit(t)
	git := gitInit(t, root)
	os.WriteFile(filepath.Join(root, "deploy.sh"), []byte("#!/bin/sh\n# deploy\nexport GITHUB_TOKEN="+token+"\n"), 0o755)
	git("add", "deploy.sh")
	git("commit", "-qm", "deploy script")
	git("rm", "-q", "deploy.sh")
	git("commit", "-qm", "oops")
	rep, err := Run(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := expectations(t, root)
	want = append(want,
		expectation{"procfile-server", "fail", "Procfile", 1},
		expectation{"requirements-pinned", "fail", "requirements.txt", 1},
		expectation{"requirements-pinned", "fail", "requirements.txt", 2},
		expectation{"requirements-pinned", "fail", "requirements.txt", 3},
		expectation{"env-gitignored", "fail", ".gitignore", 0},
		expectation{"python-runtime", "warn", "", 0},
		expectation{"secrets-in-tree", "fail", ".env", 1},
	)
	want = append(want, expectation{"secrets-in-history", "fail", "deploy.sh", 3})
	checkExpectations(t, rep, want)
	// Every rule fails or warns somewhere, and nothing else is reported
	// (no pass, no finding the fixture does not mark).
	wanted := map[expectation]bool{}
	for _, e := range want {
		e.file = filepath.ToSlash(e.file)
		wanted[e] = true
	}
	bad := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Status == findings.Fail || f.Status == findings.Warn {
			bad[f.Rule.ID] = true
		}
		if f.Status == findings.Pass || f.Status == findings.Unknown {
			t.Errorf("%s %s at %s:%d: %s", f.Rule.ID, f.Status, f.File, f.Line, f.Message)
		}
		if !wanted[expectation{f.Rule.ID, string(f.Status), filepath.ToSlash(f.File), f.Line}] {
			t.Errorf("unexpected finding: %s %s at %s:%d: %s", f.Rule.ID, f.Status, f.File, f.Line, f.Message)
		}
	}
	for _, r := range Rules {
		if !bad[r.ID] {
			t.Errorf("rule %s found nothing wrong in the project that breaks every item", r.ID)
		}
	}
	for _, f := range rep.Findings {
		if strings.Contains(f.Message, token) || strings.Contains(f.Message, "hunter2hunter2") {
			t.Errorf("a secret printed whole: %s", f.Message)
		}
	}
	if !rep.Failed(findings.High) {
		t.Error("Failed(high) is false")
	}
}

func TestSplitSettingsFollowed(t *testing.T) {
	root := copyTree(t, "testdata/split")
	rep, err := Run(root, Options{NoHistory: true})
	if err != nil {
		t.Fatal(err)
	}
	checkExpectations(t, rep, expectations(t, root))
	notes := strings.Join(rep.Notes, "\n")
	if !strings.Contains(notes, filepath.Join("splitsite", "settings", "production.py")) || !strings.Contains(notes, filepath.Join("splitsite", "settings", "base.py")) {
		t.Errorf("notes do not say which settings were read: %s", notes)
	}
	for _, f := range rep.Findings {
		if strings.HasSuffix(f.File, "dev.py") {
			t.Errorf("dev settings audited: %s %s:%d", f.Rule.ID, f.File, f.Line)
		}
	}
	// WhiteNoise inserted by production.py into base.py's list.
	if !has(rep, expectation{"whitenoise", "pass", filepath.Join("splitsite", "settings", "production.py"), 13}) {
		t.Errorf("MIDDLEWARE.insert not followed:\n%s", dump(rep))
	}
	// --settings picks another module.
	rep, err = Run(root, Options{NoHistory: true, Settings: "splitsite.settings.dev"})
	if err != nil {
		t.Fatal(err)
	}
	if !has(rep, expectation{"debug-off", "fail", filepath.Join("splitsite", "settings", "dev.py"), 3}) {
		t.Errorf("--settings dev:\n%s", dump(rep))
	}
}
