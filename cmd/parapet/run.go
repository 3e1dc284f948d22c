package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/sidecar"
	"github.com/parapet-waf/parapet/internal/visibility"
)

// loadAndBuild loads the config and builds a chain from it, so that `check`
// refuses exactly what `run` and a reload would refuse. Feeds are checked
// for their settings but not downloaded.
func loadAndBuild(file string) (*config.Config, error) {
	return loadAndBuildEnv(file, os.Environ())
}

// loadAndBuildEnv is loadAndBuild with the environment given
// (runtime.Check).
func loadAndBuildEnv(file string, environ []string) (*config.Config, error) {
	return runtime.Check(file, environ)
}

func cmdRun(ctx context.Context, args, child []string, stdout, stderr io.Writer) int {
	file, code := configFlag("run", runUsage, args, stdout, stderr)
	if code >= 0 {
		return code
	}
	cfg, err := config.Load(file, os.Environ())
	if err != nil {
		if _, all := loadAndBuild(file); all != nil {
			err = all // every problem, the chain's too, as check reports them
		}
		printConfigError(stderr, err)
		return 1
	}
	var app *sidecar.Plan
	if child != nil {
		plan := sidecar.Plan{Argv: child, Env: os.Environ()}
		if cfg.Upstream == "" {
			// Parapet owns $PORT: the app gets a private address.
			dir, err := os.MkdirTemp("", "parapet-app-")
			if err != nil {
				fmt.Fprintf(stderr, "parapet: %v\n", err)
				return 1
			}
			defer os.RemoveAll(dir)
			if plan, err = sidecar.Prepare(child, os.Environ(), dir, sidecar.FreeLoopbackPort); err != nil {
				fmt.Fprintf(stderr, "parapet: %v\n", err)
				return 2
			}
			cfg.Upstream = plan.Upstream
		}
		app = &plan
	}
	if cfg.Upstream == "" {
		fmt.Fprintln(stderr, "parapet: config refused:\n  upstream: is required (set upstream: in the config or PARAPET_UPSTREAM, or start the app in sidecar mode: parapet -- gunicorn app.wsgi)")
		return 1
	}
	return serve(ctx, cfg, app, stdout, stderr)
}

// serve runs Parapet with cfg until ctx ends (or the sidecar app dies),
// then drains. It is shared by run, sidecar mode (app not nil) and demo;
// the runtime owns the lifecycle.
func serve(ctx context.Context, cfg *config.Config, app *sidecar.Plan, stdout, stderr io.Writer) int {
	return runtime.Serve(ctx, cfg, runtime.Options{Version: version, Stdout: stdout, Stderr: stderr, App: app,
		Setup: visibility.Setup()})
}
