package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Build stamps, set by `make dist` and `make build` with
// -ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>"
// (date is the commit's time, so two builds of one commit are identical).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// buildInfo returns the version, commit and date of this binary: the
// stamps when set, else what the Go toolchain recorded (the module
// version of `go install ...@v1.2.3`, the VCS revision and time of a
// build from a checkout).
func buildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v, c, d
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if c == "" {
				c = s.Value
			}
		case "vcs.time":
			if d == "" {
				d = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && commit == "" && c != "" {
		c += "-dirty"
	}
	return v, c, d
}

// versionLine is what `parapet version` and `parapet --version` print.
func versionLine() string {
	v, c, d := buildInfo()
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return fmt.Sprintf("parapet %s (commit %s, date %s, %s %s/%s)\n", v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
