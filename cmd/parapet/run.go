package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/sidecar"
	"github.com/parapet-waf/parapet/internal/visibility"
	"github.com/parapet-waf/parapet/internal/waf"
)

// loadAndBuild loads the config and builds a chain from it, so that `check`
// refuses exactly what `run` and a reload would refuse. Feeds are checked
// for their settings but not downloaded.
func loadAndBuild(file string) (*config.Config, error) {
	return loadAndBuildEnv(file, os.Environ())
}

// loadAndBuildEnv is loadAndBuild with the environment given. Every
// problem is reported in one pass: the chain is built from what loaded
// even when the file or the environment had problems (the parts with
// problems at their defaults), and both lists are returned together.
func loadAndBuildEnv(file string, environ []string) (*config.Config, error) {
	cfg, loadErr := config.LoadAll(file, environ)
	if cfg == nil {
		return nil, loadErr
	}
	buildErr := buildForCheck(cfg, loadErr != nil)
	if loadErr == nil && buildErr == nil {
		return cfg, nil
	}
	var all config.Errors
	for _, err := range []error{loadErr, buildErr} {
		var es config.Errors
		switch {
		case err == nil:
		case errors.As(err, &es):
			all = append(all, es...)
		default:
			all = append(all, &config.Error{Reason: err.Error()})
		}
	}
	return nil, all.Sorted()
}

// buildForCheck builds a chain from cfg and throws it away. When cfg
// already has problems (loadFailed), a builder that cannot cope with a
// value validation refused is not reported as a crash: the problems found
// so far are.
func buildForCheck(cfg *config.Config, loadFailed bool) (err error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if loadFailed {
		defer func() {
			if recover() != nil {
				err = nil
			}
		}()
	}
	_, err = waf.Build(cfg, waf.NewDeps(ctx, cfg.FeedCacheDir, slog.New(slog.DiscardHandler)))
	return err
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
