package runtime

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/waf"
)

// ErrNoFile is Reload's error when the running config came from no file.
var ErrNoFile = errors.New("the running config was not loaded from a file (start with --config or PARAPET_CONFIG)")

// reloadLoop reloads on SIGHUP and, with reload.watch, when the config
// file changes, until ctx ends.
func (rt *Runtime) reloadLoop(ctx context.Context, hup <-chan os.Signal) {
	cfg := rt.FileConfig()
	file := cfg.File()
	var tick <-chan time.Time
	lastMod := modTime(file)
	if file != "" && cfg.Reload.Watch {
		t := time.NewTicker(cfg.Reload.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		why := ""
		select {
		case <-ctx.Done():
			return
		case <-hup:
			why = "SIGHUP"
		case <-tick:
			m := modTime(file)
			if m.Equal(lastMod) {
				continue
			}
			lastMod = m
			why = "config file changed"
		}
		rt.log.Info(why+": reloading config", "file", file)
		_ = rt.Reload(ctx, why)
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

// Reload re-reads the config file and the environment, validates and
// builds it and swaps it in. A refused config leaves the running one
// serving; the error is a config.Errors with file, line and reason. why
// says who asked (SIGHUP, the admin API), for the event.
func (rt *Runtime) Reload(ctx context.Context, why string) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	running := rt.fileCfg
	if running.File() == "" && why != "SIGHUP" {
		return ErrNoFile
	}
	cfg, err := config.Load(running.File(), rt.opts.Environ())
	if err == nil {
		if cfg.Upstream == "" {
			cfg.Upstream = running.Upstream // sidecar mode took it from the command
		}
		for _, k := range PinRestartKeys(running, cfg) {
			rt.log.Warn("config change needs a restart to take effect; keeping the running value", "key", k)
		}
		if err = rt.applyLocked(cfg); err == nil {
			rt.fileCfg = cfg
			rt.metrics.Reloaded(true)
			rt.log.Info("config reloaded", "file", cfg.File())
			rt.Emit(ctx, &events.Event{Kind: events.KindConfig, Message: "config reloaded from " + cfg.File() + " (" + why + ")"})
			for _, w := range cfg.Warnings() {
				rt.log.Warn("config: " + w)
			}
			return nil
		}
	}
	rt.metrics.Reloaded(false)
	rt.log.Error("config reload refused; the running config keeps serving", "error", err.Error())
	rt.Emit(ctx, &events.Event{Kind: events.KindConfig, Message: "config reload refused (" + why + "); the running config keeps serving: " + err.Error()})
	return err
}

// ApplyOverlay validates and builds the running file config with
// overlay (a live change) and, if that works, swaps it in and keeps
// overlay for later reloads. A refusal (the config's validation and build
// errors) leaves the running chain and overlay in place.
func (rt *Runtime) ApplyOverlay(overlay Overlay) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	prev := rt.overlay
	rt.overlay = overlay
	cfg := rt.compose(rt.fileCfg)
	err := cfg.Validate()
	if err == nil {
		err = rt.applyLocked(rt.fileCfg)
	}
	if err != nil {
		rt.overlay = prev
	}
	return err
}

// applyLocked is the lifecycle's second half: compose -> build -> swap
// (the handler activates the new chain) -> retire what the old one held.
func (rt *Runtime) applyLocked(file *config.Config) error {
	cfg := rt.compose(file)
	chain, err := waf.Build(cfg, rt.deps)
	if err != nil {
		return err
	}
	rt.handler.Swap(chain)
	chain.RetainFeeds(rt.deps)
	rt.level.Set(parseLevel(cfg.Log.Level))
	ApplyGC(cfg, os.Getenv, rt.log)
	// A build leaves tens of MB of garbage (rule compilation, the value
	// filter's tables) and the old chain once its last request ends; with
	// gc_percent 400 the heap would otherwise grow past it before the next
	// collection, and each reload would add to the RSS the process keeps.
	// Reloads are rare: collect and hand the pages back now, as at start
	// (and warn if little room is left under the memory limit).
	afterBuild(rt.log, &rt.execPagesWarned)
	return nil
}

// compose applies the overlay to a loaded config.
func (rt *Runtime) compose(file *config.Config) *config.Config {
	if rt.overlay == nil {
		return file
	}
	return rt.overlay(file)
}

// PinRestartKeys keeps the settings fixed when the server started (listen
// address, upstream, request id header, timeouts, header size cap, store,
// metrics, admin) at their running values in next, and names those a
// reload tried to change.
func PinRestartKeys(running, next *config.Config) []string {
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
	pin("limits.response_buffer_bytes", running.Limits.ResponseBufferBytes != next.Limits.ResponseBufferBytes, func() { next.Limits.ResponseBufferBytes = running.Limits.ResponseBufferBytes })
	pin("limits.response_buffer_total", running.Limits.ResponseBufferTotal != next.Limits.ResponseBufferTotal, func() { next.Limits.ResponseBufferTotal = running.Limits.ResponseBufferTotal })
	pin("limits.response_buffer_per_client", running.Limits.ResponseBufferPerClient != next.Limits.ResponseBufferPerClient, func() { next.Limits.ResponseBufferPerClient = running.Limits.ResponseBufferPerClient })
	pin("feed_cache_dir", running.FeedCacheDir != next.FeedCacheDir, func() { next.FeedCacheDir = running.FeedCacheDir })
	pin("metrics", running.Metrics != next.Metrics, func() { next.Metrics = running.Metrics })
	pin("store", running.Store != next.Store, func() { next.Store = running.Store })
	pin("admin.listen", running.Admin.Listen != next.Admin.Listen, func() { next.Admin.Listen = running.Admin.Listen })
	pin("admin.host", running.Admin.Host != next.Admin.Host, func() { next.Admin.Host = running.Admin.Host })
	pin("admin.state_file", running.Admin.StateFile != next.Admin.StateFile, func() { next.Admin.StateFile = running.Admin.StateFile })
	return changed
}
