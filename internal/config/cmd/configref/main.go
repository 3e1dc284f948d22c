// Command configref writes the configuration reference, docs/CONFIG.md,
// from the config schema (package configref). Run it from the repository
// root, or through `go generate ./internal/config` or `make docs`:
//
//	go run ./internal/config/cmd/configref [-src internal/config] [-o docs/CONFIG.md]
//
// It refuses to write a reference while a key has no doc comment.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/parapet-waf/parapet/internal/config/configref"
)

func main() {
	src := flag.String("src", "internal/config", "directory of package config's source")
	out := flag.String("o", "docs/CONFIG.md", "file to write (- for standard output)")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "configref:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	keys, err := configref.Keys(src)
	if err != nil {
		return err
	}
	if missing := configref.Undocumented(keys); len(missing) > 0 {
		return fmt.Errorf("these keys have no doc comment in %s: %s", src, strings.Join(missing, ", "))
	}
	md := configref.Markdown(keys)
	if out == "-" {
		_, err = os.Stdout.Write(md)
		return err
	}
	if err := os.WriteFile(out, md, 0o644); err != nil {
		return fmt.Errorf("writing the reference: %w", err)
	}
	return nil
}
