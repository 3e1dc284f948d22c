package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// make dist builds the same bytes twice, and the binary says which
// version, commit and date it was built from (stamped from git).
func TestDistIsReproducibleAndStamped(t *testing.T) {
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Require(t, err)
		}
	}
	root := testenv.RepoRoot()
	gitOut := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("git %v: %v (not a checkout)", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	commit := gitOut("rev-parse", "HEAD")
	version := gitOut("describe", "--tags", "--always", "--dirty")
	dist := func() string {
		dir := filepath.Join(t.TempDir(), "dist")
		cmd := exec.Command("make", "-s", "dist", "PLATFORMS=linux/"+runtime.GOARCH, "DIST="+dir)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make dist: %v\n%s", err, out)
		}
		return dir
	}
	a, b := dist(), dist()
	sums, err := os.ReadFile(filepath.Join(a, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(b, "SHA256SUMS"))
	if string(sums) != string(again) {
		t.Fatalf("two builds differ:\n%s\n%s", sums, again)
	}
	bin := "parapet-linux-" + runtime.GOARCH
	for _, f := range []string{bin, "parapet-buildpack.tgz"} {
		if !strings.Contains(string(sums), "  "+f+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", f, sums)
		}
	}
	out, err := exec.Command(filepath.Join(a, bin), "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "parapet " + version + " (commit " + commit + ", date 20"
	if !strings.HasPrefix(string(out), want) {
		t.Fatalf("--version: %q, want it to start with %q", out, want)
	}
	if out, err := exec.Command("file", filepath.Join(a, bin)).Output(); err == nil && !strings.Contains(string(out), "statically linked") {
		t.Errorf("not static: %s", out)
	}
}
