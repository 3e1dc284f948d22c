package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// SECURITY.md names the test that keeps each class of bypass closed: a
// renamed or deleted test must not leave the page pointing at nothing.
func TestSecurityMDNamesRealTests(t *testing.T) {
	root := testenv.RepoRoot()
	doc, err := os.ReadFile(filepath.Join(root, "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`\b(?:Test|Fuzz)[A-Z][A-Za-z0-9]*`).FindAllString(string(doc), -1)
	if len(named) < 20 {
		t.Fatalf("SECURITY.md names %d tests; its table lost its rows?", len(named))
	}
	var sources strings.Builder
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sources.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range named {
		if !strings.Contains(sources.String(), "func "+name+"(") {
			t.Errorf("SECURITY.md names %s, which no test file defines", name)
		}
	}
}
