package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config/configref"
)

// The configuration reference is generated from the schema; this fails
// when a key was added, renamed, re-documented or given a new default
// without `go generate ./internal/config` (make docs), and when a key has
// no doc comment to document it with.
func TestConfigReferenceUpToDate(t *testing.T) {
	keys, err := configref.Keys(".")
	if err != nil {
		t.Fatal(err)
	}
	if missing := configref.Undocumented(keys); len(missing) > 0 {
		t.Errorf("these config keys have no doc comment (the reference needs one): %s", strings.Join(missing, ", "))
	}
	want := configref.Markdown(keys)
	got, err := os.ReadFile("../../docs/CONFIG.md")
	if err != nil {
		t.Fatalf("%v: run go generate ./internal/config", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/CONFIG.md differs from the config schema at line %d:\n  file:   %q\n  schema: %q\nrun go generate ./internal/config (or make docs)", i+1, g, w)
			}
		}
	}
}

// The check for doc comments finds a key whose comment is gone.
func TestConfigReferenceFindsUndocumentedKey(t *testing.T) {
	dir := t.TempDir()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		const doc = "\t// MaxURIBytes caps the request URI (414 past it).\n"
		src = bytes.Replace(src, []byte(doc), nil, 1)
		if err := os.WriteFile(filepath.Join(dir, f), src, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := configref.Keys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(configref.Undocumented(keys), ","); got != "limits.max_uri_bytes" {
		t.Errorf("undocumented keys: %q, want limits.max_uri_bytes", got)
	}
}
