// Package runtime owns Parapet's lifecycle: it loads and validates the
// config, pins the settings that need a restart, builds a chain, swaps it
// in (which activates it) and retires what the old chain used; it opens
// the listeners, serves until its context ends and drains. cmd/parapet
// parses flags and calls Serve; SIGHUP, reload.watch and the admin API
// all reload through the same Runtime.
package runtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/harden"
	"github.com/parapet-waf/parapet/internal/proxy"
	"github.com/parapet-waf/parapet/internal/sendtimeout"
	"github.com/parapet-waf/parapet/internal/sidecar"
	"github.com/parapet-waf/parapet/internal/waf"
)

// Options are what Serve needs besides the config.
type Options struct {
	// Version is reported in metrics, logs and the admin API's status.
	Version string
	// Stdout receives the log lines; Stderr the config errors.
	Stdout, Stderr io.Writer
	// App is the sidecar command to start (nil: edge mode).
	App *sidecar.Plan
	// Environ is the environment config reloads read (nil: os.Environ).
	Environ func() []string
	// FeedClient is the HTTP client the feeds (access-rule feeds, the
	// crawler ranges) fetch with; nil: one with a 60 s timeout that
	// honours HTTPS_PROXY and HTTP_PROXY. Tests give one that only dials
	// loopback.
	FeedClient *http.Client
	// Setup, when set, runs once the runtime is built and before it
	// serves: the place to add sinks and routes (the admin API, the
	// dashboard). An error stops Serve.
	Setup func(rt *Runtime) error
}

// Runtime is one running Parapet: its chain, shared parts, sinks and
// routes. Its methods are safe for concurrent use.
type Runtime struct {
	opts    Options
	log     *slog.Logger
	level   *slog.LevelVar
	logOut  *events.BufferedWriter
	deps    *waf.Deps
	handler *waf.Handler
	proxy   *proxy.Proxy
	metrics *events.Metrics
	sinks   events.Multi
	started time.Time
	ctx     context.Context
	id      string // this instance (InstanceID)

	listeners []*listener // private listeners Setup asked for
	routes    []waf.Route // routes Setup added

	// execPagesWarned: a failure to drop the executable's pages from
	// RSS was warned about (afterBuild); later ones are logged at debug.
	execPagesWarned atomic.Bool

	mu      sync.Mutex     // serialises applies (reloads, live changes)
	fileCfg *config.Config // the config as loaded, before any overlay
	overlay Overlay
}

// Overlay changes a loaded config before it is built: live changes made
// through the admin API (live rules, mode overrides) are applied by one.
// It must not modify file; it returns the config to build.
type Overlay func(file *config.Config) *config.Config

// Logger is the runtime's logger.
func (rt *Runtime) Logger() *slog.Logger { return rt.log }

// Deps are the parts every chain shares (store, feeds, geo).
func (rt *Runtime) Deps() *waf.Deps { return rt.deps }

// Handler is the public listener's handler.
func (rt *Runtime) Handler() *waf.Handler { return rt.handler }

// Metrics is the Prometheus registry the runtime exports.
func (rt *Runtime) Metrics() *events.Metrics { return rt.metrics }

// Version is the running version.
func (rt *Runtime) Version() string { return rt.opts.Version }

// Context ends when the runtime stops serving: the lifetime of what a
// Setup starts.
func (rt *Runtime) Context() context.Context { return rt.ctx }

// InstanceID names this running process, the same everywhere it is
// named: the admin API's status ("instances seen", the heartbeat in the
// shared store), the events' instance field and the Redis event stream.
// It is the Heroku dyno (or the host name), the pid and a random suffix:
// a restarted dyno is another instance.
func (rt *Runtime) InstanceID() string { return rt.id }

// Started is when the runtime started.
func (rt *Runtime) Started() time.Time { return rt.started }

// Config is the config serving now (the overlay applied).
func (rt *Runtime) Config() *config.Config { return rt.handler.Chain().Config() }

// FileConfig is the config as loaded from the file and environment.
func (rt *Runtime) FileConfig() *config.Config {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.fileCfg
}

// Emit sends a happening (config reloaded, an admin change) to every
// sink the requests' events go to.
func (rt *Runtime) Emit(ctx context.Context, e *events.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	rt.sinks.Emit(ctx, e)
}

// AddSink adds a sink for every event. Call it from Options.Setup.
func (rt *Runtime) AddSink(s events.Sink) { rt.sinks = append(rt.sinks, s) }

// Handle adds a route Parapet serves itself on the public listener,
// whatever chain is installed. Call it from Options.Setup.
func (rt *Runtime) Handle(r waf.Route) { rt.routes = append(rt.routes, r) }

// SetOverlay installs the overlay every build applies to the loaded
// config (live changes). Call it from Options.Setup.
func (rt *Runtime) SetOverlay(o Overlay) { rt.overlay = o }

// ConfigHash identifies the serving config (secrets masked, overlay
// applied): two instances with the same hash enforce the same rules.
func (rt *Runtime) ConfigHash() string {
	out, err := rt.Config().YAML()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(out)
	return hex.EncodeToString(sum[:8])
}

// Serve runs Parapet with cfg until ctx ends (or the sidecar app dies),
// then drains, and returns the process's exit status. It is shared by
// run, sidecar mode and demo.
func Serve(ctx context.Context, cfg *config.Config, opts Options) int {
	if opts.Environ == nil {
		opts.Environ = os.Environ
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	stderr := opts.Stderr
	rt := &Runtime{opts: opts, level: new(slog.LevelVar), started: time.Now(), fileCfg: cfg, ctx: ctx, id: instanceID(os.Getenv)}
	rt.level.Set(parseLevel(cfg.Log.Level))
	rt.logOut = events.NewBufferedWriter(opts.Stdout, 64<<10, 10*time.Millisecond)
	defer rt.logOut.Close()
	rt.log = slog.New(slog.NewJSONHandler(rt.logOut, &slog.HandlerOptions{Level: rt.level}))
	log := rt.log

	ApplyGC(cfg, os.Getenv, log)
	rt.deps = waf.NewDepsClient(ctx, cfg.FeedCacheDir, opts.FeedClient, log)
	defer rt.deps.Close() // the memory store writes its last bans to the ban file
	rt.metrics = events.NewMetrics(opts.Version)
	rt.sinks = events.Multi{events.LineSink{W: rt.logOut, Level: rt.level}, rt.metrics}
	if opts.Setup != nil {
		if err := opts.Setup(rt); err != nil {
			fmt.Fprintf(stderr, "parapet: %v\n", err)
			return 1
		}
	}
	chain, err := waf.Build(rt.compose(cfg), rt.deps)
	if err != nil {
		printConfigError(stderr, err)
		return 1
	}
	// The first build of the detection rules allocates several times what
	// it keeps: collected and given back to the OS now, the process
	// starts serving at its working size instead of holding that as RSS.
	afterBuild(log, &rt.execPagesWarned)
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
	up, err := config.ParseUpstream(cfg.Upstream)
	if err != nil {
		printConfigError(stderr, cfg.Errorf("upstream", "%v", err))
		return 1
	}
	var handler *waf.Handler
	rt.proxy = proxy.New(up, proxy.Options{
		ConnectTimeout:        cfg.Timeouts.UpstreamConnect,
		ResponseHeaderTimeout: cfg.Timeouts.UpstreamResponseHeader,
		RequestIDHeader:       cfg.RequestIDHeader,
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			handler.ProxyError(w, r, status, err)
		},
		ModifyResponse: func(resp *http.Response) error { return handler.ModifyResponse(resp) },
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ResponseBuffer: responseBuffer(cfg.Limits.ResponseBufferBytes), ResponseBufferTotal: int64(cfg.Limits.ResponseBufferTotal),
		ResponseBufferPerClient: int64(cfg.Limits.ResponseBufferPerClient), ClientKey: waf.ProxyClientKey,
	})
	// The handler emits to the runtime's sinks as they are when it
	// emits: Setup may add more.
	handler = waf.NewHandler(chain, rt.proxy, sinkFunc(func(ctx context.Context, e *events.Event) { rt.sinks.Emit(ctx, e) }), log)
	rt.handler = handler
	if err := rt.metrics.Register(waf.NewCollector(handler, rt.deps)); err != nil {
		log.Error("cannot register metrics", "error", err)
		return 1
	}
	if cfg.Metrics.Token != "" {
		// On the public listener behind the token, past the bans and
		// limits like everything Parapet serves; without a token the path
		// is the app's.
		handler.Handle(waf.MetricsRoute(cfg.Metrics.Path, cfg.Metrics.Token, rt.metrics.Handler("")))
		handler.Handle(waf.CSPViolationsRoute(cfg.Metrics.Token, handler))
	}
	for _, r := range rt.routes {
		handler.Handle(r)
	}

	addr := listenAddr(cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("cannot listen", "addr", addr, "error", err)
		return 1
	}
	// timeouts.send on the connection: a client that takes nothing for
	// that long is cut off; keep-alive responses share one deadline.
	ln = sendtimeout.Listen(ln, cfg.Timeouts.Send)
	srv := &http.Server{
		Handler:           handler,
		ConnState:         sendtimeout.ConnState,
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		ReadTimeout:       cfg.Timeouts.Read,
		WriteTimeout:      cfg.Timeouts.Write,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    int(cfg.Limits.MaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("parapet listening", "addr", ln.Addr().String(), "upstream", cfg.Masked().Upstream, "version", opts.Version, "sidecar", opts.App != nil)
	rt.Emit(ctx, &events.Event{Kind: events.KindConfig, Message: "config loaded from " + configSource(cfg) + "; serving on " + ln.Addr().String()})

	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	if cfg.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			log.Error("cannot listen for metrics", "addr", cfg.Metrics.Listen, "error", err)
			_ = ln.Close()
			return 1
		}
		log.Info("metrics listening", "addr", mln.Addr().String(), "path", cfg.Metrics.Path)
		go serveMetrics(serveCtx, mln, cfg.Metrics.Path, rt.metrics, waf.CSPViolations(handler))
	}
	for _, l := range rt.listeners {
		l := l
		if err := l.start(serveCtx, log); err != nil {
			log.Error("cannot listen", "what", l.name, "addr", l.addr, "error", err)
			_ = ln.Close()
			return 1
		}
	}

	var kid *proxy.Child
	if app := opts.App; app != nil {
		for _, n := range app.Notes {
			log.Info("sidecar: "+n, "upstream", cfg.Upstream)
		}
		// Not ready before serving starts: WaitReady, in its goroutine,
		// could otherwise mark it so only after the first requests (queued
		// on the open listener) were proxied to a socket not there yet, 502.
		rt.proxy.SetReady(false)
		kid, err = proxy.StartChild(app.Argv, app.Env, os.Stdout, os.Stderr)
		if err != nil {
			log.Error("cannot start upstream command", "error", err)
			_ = ln.Close()
			return 1
		}
		log.Info("upstream command started", "pid", kid.Pid(), "command", app.Argv[0])
		go func() {
			start := time.Now()
			if rt.proxy.WaitReady(serveCtx, 50*time.Millisecond) == nil {
				log.Info("upstream ready", "after_ms", time.Since(start).Milliseconds())
			}
		}()
	}

	reloads := make(chan os.Signal, 1)
	signal.Notify(reloads, syscall.SIGHUP)
	defer signal.Stop(reloads)
	go rt.reloadLoop(serveCtx, reloads)

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
		log.Error("upstream command exited unexpectedly; stopping so the platform restarts the dyno",
			"status", kid.Describe(), "exit_code", kid.ExitCode())
		if code := kid.ExitCode(); code > 0 {
			return code
		}
		return 1
	default:
	}
	if err != nil {
		log.Error("server stopped", "error", err)
	} else {
		log.Info("drained; stopping")
	}
	if kid != nil {
		kid.Stop(syscall.SIGTERM, 30*time.Second)
		log.Info("upstream command stopped", "status", kid.Describe())
		return kid.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// sinkFunc adapts a function to events.Sink.
type sinkFunc func(ctx context.Context, e *events.Event)

func (f sinkFunc) Emit(ctx context.Context, e *events.Event) { f(ctx, e) }

// listener is a private listener a Setup asked for (the admin API's).
type listener struct {
	name, addr string
	h          http.Handler
}

func (l *listener) start(ctx context.Context, log *slog.Logger) error {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return err
	}
	log.Info(l.name+" listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: l.h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 5 * time.Minute}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// Listen serves h on its own address (a private listener, like
// admin.listen) from when serving starts until it ends. Call it from
// Options.Setup.
func (rt *Runtime) Listen(name, addr string, h http.Handler) {
	rt.listeners = append(rt.listeners, &listener{name: name, addr: addr, h: h})
}

// Sidecar reports whether Parapet started the app itself.
func (rt *Runtime) Sidecar() bool { return rt.opts.App != nil }

// instanceID makes a runtime's InstanceID.
func instanceID(getenv func(string) string) string {
	host, _ := os.Hostname()
	if d := getenv("DYNO"); d != "" {
		host = d
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func configSource(cfg *config.Config) string {
	if cfg.File() == "" {
		return "defaults and environment"
	}
	return cfg.File()
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

// responseBuffer maps limits.response_buffer_bytes (0: off) to the
// proxy's option (negative: off).
func responseBuffer(n config.ByteSize) int64 {
	if n == 0 {
		return -1
	}
	return int64(n)
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

// printConfigError prints a refused config, one problem a line.
func printConfigError(w io.Writer, err error) {
	fmt.Fprintln(w, "parapet: config refused:")
	var es interface{ Unwrap() []error }
	if errors.As(err, &es) {
		for _, e := range es.Unwrap() {
			fmt.Fprintf(w, "  %v\n", e)
		}
		return
	}
	fmt.Fprintf(w, "  %v\n", err)
}
