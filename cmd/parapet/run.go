package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/harden"
	"github.com/parapet-waf/parapet/internal/proxy"
	"github.com/parapet-waf/parapet/internal/sidecar"
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
// then drains. It is shared by run, sidecar mode (app not nil) and demo.
func serve(ctx context.Context, cfg *config.Config, app *sidecar.Plan, stdout, stderr io.Writer) int {
	level := new(slog.LevelVar)
	level.Set(parseLevel(cfg.Log.Level))
	logOut := events.NewBufferedWriter(stdout, 64<<10, 100*time.Millisecond)
	defer logOut.Close()
	logger := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))

	applyRuntime(cfg.Runtime, os.Getenv, logger)
	deps := waf.NewDeps(ctx, cfg.FeedCacheDir, logger)
	defer deps.Close() // the memory store writes its last bans to the ban file
	chain, err := waf.Build(cfg, deps)
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	// The first build of the detection rules allocates some 170 MB that
	// it does not keep (the CRS dictionaries' Aho-Corasick DFAs; reloads
	// reuse them): collected and given back to the OS now, the process
	// starts serving at its working size instead of holding that as RSS.
	debug.FreeOSMemory()
	for _, w := range cfg.Warnings() {
		logger.Warn("config: " + w)
	}
	up, err := config.ParseUpstream(cfg.Upstream)
	if err != nil {
		printConfigError(stderr, cfg.Errorf("upstream", "%v", err))
		return 1
	}
	var handler *waf.Handler
	px := proxy.New(up, proxy.Options{
		ConnectTimeout:        cfg.Timeouts.UpstreamConnect,
		ResponseHeaderTimeout: cfg.Timeouts.UpstreamResponseHeader,
		RequestIDHeader:       cfg.RequestIDHeader,
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			handler.ProxyError(w, r, status, err)
		},
		ModifyResponse: func(resp *http.Response) error { return handler.ModifyResponse(resp) },
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		ResponseBuffer: responseBuffer(cfg.Limits.ResponseBufferBytes), ResponseBufferTotal: int64(cfg.Limits.ResponseBufferTotal),
		ResponseBufferPerClient: int64(cfg.Limits.ResponseBufferPerClient), ClientKey: waf.ProxyClientKey,
	})
	metrics := events.NewMetrics(version)
	handler = waf.NewHandler(chain, px, events.Multi{events.LineSink{W: logOut, Level: level}, metrics}, logger)
	if err := metrics.Register(waf.NewCollector(handler, deps)); err != nil {
		logger.Error("cannot register metrics", "error", err)
		return 1
	}
	if cfg.Metrics.Token != "" {
		// On the public listener behind the token, past the bans and
		// limits like everything Parapet serves; without a token the path
		// is the app's.
		handler.Handle(waf.MetricsRoute(cfg.Metrics.Path, cfg.Metrics.Token, metrics.Handler("")))
		handler.Handle(waf.CSPViolationsRoute(cfg.Metrics.Token, handler))
	}

	addr := listenAddr(cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("cannot listen", "addr", addr, "error", err)
		return 1
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		ReadTimeout:       cfg.Timeouts.Read,
		WriteTimeout:      cfg.Timeouts.Write,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    int(cfg.Limits.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("parapet listening", "addr", ln.Addr().String(), "upstream", cfg.Masked().Upstream, "version", version, "sidecar", app != nil)

	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	if cfg.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			logger.Error("cannot listen for metrics", "addr", cfg.Metrics.Listen, "error", err)
			_ = ln.Close()
			return 1
		}
		logger.Info("metrics listening", "addr", mln.Addr().String(), "path", cfg.Metrics.Path)
		go serveMetrics(serveCtx, mln, cfg.Metrics.Path, metrics, waf.CSPViolations(handler))
	}

	var kid *proxy.Child
	if app != nil {
		for _, n := range app.Notes {
			logger.Info("sidecar: "+n, "upstream", cfg.Upstream)
		}
		// Not ready before serving starts: WaitReady, in its goroutine,
		// could otherwise mark it so only after the first requests (queued
		// on the open listener) were proxied to a socket not there yet, 502.
		px.SetReady(false)
		kid, err = proxy.StartChild(app.Argv, app.Env, os.Stdout, os.Stderr)
		if err != nil {
			logger.Error("cannot start upstream command", "error", err)
			_ = ln.Close()
			return 1
		}
		logger.Info("upstream command started", "pid", kid.Pid(), "command", app.Argv[0])
		go func() {
			start := time.Now()
			if px.WaitReady(serveCtx, 50*time.Millisecond) == nil {
				logger.Info("upstream ready", "after_ms", time.Since(start).Milliseconds())
			}
		}()
	}

	reloads := make(chan os.Signal, 1)
	signal.Notify(reloads, syscall.SIGHUP)
	defer signal.Stop(reloads)
	go reloadLoop(serveCtx, cfg, handler, deps, level, logger, metrics, reloads)

	childDied := make(chan struct{})
	if kid != nil {
		go func() {
			select {
			case <-kid.Done():
				close(childDied)
				stopServing()
			case <-serveCtx.Done():
			}
		}()
	}

	err = proxy.Serve(serveCtx, srv, ln, cfg.Timeouts.Drain)
	select {
	case <-childDied:
		logger.Error("upstream command exited unexpectedly; stopping so the platform restarts the dyno",
			"status", kid.Describe(), "exit_code", kid.ExitCode())
		if code := kid.ExitCode(); code > 0 {
			return code
		}
		return 1
	default:
	}
	if err != nil {
		logger.Error("server stopped", "error", err)
	} else {
		logger.Info("drained; stopping")
	}
	if kid != nil {
		kid.Stop(syscall.SIGTERM, 30*time.Second)
		logger.Info("upstream command stopped", "status", kid.Describe())
		return kid.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

func listenAddr(cfg *config.Config) string {
	if cfg.Listen != "" {
		return cfg.Listen
	}
	return ":8080"
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

// reloadLoop rebuilds the chain on SIGHUP and, with reload.watch, when the
// config file changes. A config that fails is refused and logged; the
// running chain keeps serving.
func reloadLoop(ctx context.Context, cfg *config.Config, h *waf.Handler, deps *waf.Deps, level *slog.LevelVar, log *slog.Logger, metrics *events.Metrics, hup <-chan os.Signal) {
	file := cfg.File()
	var tick <-chan time.Time
	lastMod := modTime(file)
	if file != "" && cfg.Reload.Watch {
		t := time.NewTicker(cfg.Reload.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading config", "file", file)
		case <-tick:
			m := modTime(file)
			if m.Equal(lastMod) {
				continue
			}
			lastMod = m
			log.Info("config file changed: reloading", "file", file)
		}
		metrics.Reloaded(reload(h, deps, level, log))
	}
}

func modTime(file string) time.Time {
	if file == "" {
		return time.Time{}
	}
	st, err := os.Stat(file)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

// pinRestartKeys keeps the settings fixed when the server started (listen
// address, upstream, request id header, timeouts, header size cap) from
// running at their old values, and names those a reload tried to change.
func pinRestartKeys(running, next *config.Config) []string {
	var changed []string
	pin := func(name string, differ bool, keep func()) {
		if differ {
			changed = append(changed, name)
			keep()
		}
	}
	pin("listen", running.Listen != next.Listen, func() { next.Listen = running.Listen })
	pin("upstream", running.Upstream != next.Upstream, func() { next.Upstream = running.Upstream })
	pin("request_id_header", running.RequestIDHeader != next.RequestIDHeader, func() { next.RequestIDHeader = running.RequestIDHeader })
	pin("timeouts", running.Timeouts != next.Timeouts, func() { next.Timeouts = running.Timeouts })
	pin("limits.max_header_bytes", running.Limits.MaxHeaderBytes != next.Limits.MaxHeaderBytes, func() { next.Limits.MaxHeaderBytes = running.Limits.MaxHeaderBytes })
	pin("feed_cache_dir", running.FeedCacheDir != next.FeedCacheDir, func() { next.FeedCacheDir = running.FeedCacheDir })
	pin("metrics", running.Metrics != next.Metrics, func() { next.Metrics = running.Metrics })
	pin("store", running.Store != next.Store, func() { next.Store = running.Store })
	return changed
}

// reload builds a chain from the config file and swaps it in; it reports
// whether the new config was applied.
func reload(h *waf.Handler, deps *waf.Deps, level *slog.LevelVar, log *slog.Logger) bool {
	running := h.Chain().Config()
	cfg, err := config.Load(running.File(), os.Environ())
	if err == nil {
		if cfg.Upstream == "" {
			cfg.Upstream = running.Upstream // sidecar mode took it from the command
		}
		for _, k := range pinRestartKeys(running, cfg) {
			log.Warn("config change needs a restart to take effect; keeping the running value", "key", k)
		}
		var chain *waf.Chain
		chain, err = waf.Build(cfg, deps)
		if err == nil {
			h.Swap(chain)
			chain.RetainFeeds(deps)
			level.Set(parseLevel(cfg.Log.Level))
			applyRuntime(cfg.Runtime, os.Getenv, log)
			log.Info("config reloaded", "file", cfg.File())
			for _, w := range cfg.Warnings() {
				log.Warn("config: " + w)
			}
			return true
		}
	}
	log.Error("config reload refused; the running config keeps serving", "error", err.Error())
	return false
}

// serveMetrics serves the metrics, and the CSP violations at
// harden.ViolationsPath, on their private listener until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, path string, m *events.Metrics, violations http.Handler) {
	mux := http.NewServeMux()
	mux.Handle(path, m.Handler(""))
	if path != harden.ViolationsPath {
		mux.Handle(harden.ViolationsPath, violations)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	_ = srv.Serve(ln)
}

// responseBuffer maps limits.response_buffer_bytes (0: off) to the
// proxy's option (negative: off).
func responseBuffer(n config.ByteSize) int64 {
	if n == 0 {
		return -1
	}
	return int64(n)
}
