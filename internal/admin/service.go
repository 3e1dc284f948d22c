// Package admin is Parapet's admin API (JSON under /_parapet/api/): the
// status, bans, live rules, under-attack mode and config reloads, for the
// CLI and the dashboard. It is off (404) unless admin.token or
// admin.tokens is set; requests carry "Authorization: Bearer <token>" or
// the dashboard's session cookie (changes made with the cookie also carry
// X-CSRF-Token). Every change is an event of kind admin naming the
// token's actor; live changes persist (see package live) and survive a
// restart.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/live"
	"github.com/parapet-waf/parapet/internal/runtime"
	"github.com/parapet-waf/parapet/internal/store"
	"github.com/parapet-waf/parapet/internal/waf"
)

// PathPrefix is where the admin API is served on the public listener.
const PathPrefix = "/_parapet/api/"

// Options are the parts of the admin API other packages provide.
type Options struct {
	// Events serves GET /_parapet/api/events and Stats GET
	// /_parapet/api/stats (package eventlog), behind the API's auth. Nil:
	// 501 until they are wired.
	Events, Stats http.Handler
	// Private are handlers served beside the API on admin.listen, by path
	// prefix ending in "/" (the prefix without its slash too), while an
	// admin token is set: the dashboard. Without admin.listen the caller
	// registers them on the public port itself.
	Private map[string]http.Handler
}

// Service is the admin API of one runtime.
type Service struct {
	rt      *runtime.Runtime
	log     *slog.Logger
	st      store.Store
	guard   *store.Guard
	persist backend
	opts    Options
	id      string // this instance, in status
	fails   prometheus.Counter
	mux     *http.ServeMux

	mu    sync.Mutex // serialises changes
	state live.State // applied now
	saved []byte     // the persisted form last read or written
}

// Setup returns a runtime.Options.Setup that loads the live state, applies
// it to every build, and (when an admin token is set) serves the API on
// admin.listen or the public port under PathPrefix.
func Setup(opts Options) func(rt *runtime.Runtime) error {
	return func(rt *runtime.Runtime) error {
		_, err := New(rt, opts)
		return err
	}
}

// New wires the admin API into rt (call it from runtime.Options.Setup).
func New(rt *runtime.Runtime, opts Options) (*Service, error) {
	cfg := rt.FileConfig()
	st, guard, err := rt.Deps().OpenStore(cfg)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Service{rt: rt, log: rt.Logger(), st: st, guard: guard, opts: opts, id: rt.InstanceID()}
	if cfg.Store.Type == "redis" {
		s.persist = redisBackend{st: st}
	} else {
		s.persist = fileBackend{path: StateFile(cfg)}
	}
	raw, err := s.persist.load(rt.Context())
	if err != nil {
		return nil, fmt.Errorf("admin: live changes: %w", err)
	}
	state, err := live.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("admin: live changes in %s: %w", s.persist, err)
	}
	s.state, s.saved = state, raw
	rt.SetOverlay(overlayOf(state, s.log))
	if n := len(state.Rules) + len(state.Modes); n > 0 {
		s.log.Info("admin: live changes applied", "from", s.persist.String(), "rules", len(state.Rules), "mode_overrides", len(state.Modes))
	}
	if ua := rt.Deps().UnderAttack(); ua != nil {
		ua.OnChange(func(on bool, reason string) {
			msg := "under-attack mode off"
			if on {
				msg = "under-attack mode on: " + reason
			}
			rt.Emit(rt.Context(), &events.Event{Kind: events.KindUnderAttack, Message: msg})
		})
		if u := state.UnderAttack; u != nil && time.Until(u.Until) > 0 {
			if err := ua.Force(rt.Context(), true, u.Reason, time.Until(u.Until)); err != nil {
				s.log.Warn("admin: cannot restore under-attack mode", "error", err)
			}
		}
	}
	go s.follow(rt.Context())

	// Mounted even without a token: /_parapet/api/ is Parapet's, and
	// answers 404 until a token is set (a reload can set one).
	s.fails = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parapet_admin_auth_failures_total",
		Help: "Requests to the admin API with a wrong token or session (each is also logged, without the token).",
	})
	if err := rt.Metrics().Register(s.fails); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	if _, err := store.ParseLimit(cfg.Admin.FailLimit); err != nil {
		return nil, config.Errors{cfg.Errorf("admin.fail_limit", "%v", err)}
	}
	s.mux = s.routes()
	if cfg.Admin.Listen != "" {
		rt.Listen("admin API", cfg.Admin.Listen, s.privateHandler())
	} else {
		rt.Handle(waf.Route{Path: PathPrefix, Prefix: true, Serve: s.serveRoute})
	}
	return s, nil
}

// overlayOf is the runtime overlay applying state; a state that no longer
// decodes is logged and left out.
func overlayOf(state live.State, log *slog.Logger) runtime.Overlay {
	return func(file *config.Config) *config.Config {
		cfg, _, err := state.Apply(file)
		if err != nil {
			log.Error("admin: a live rule no longer decodes; left out", "error", err)
		}
		return cfg
	}
}

// StateFile is where the live changes of a server run with cfg and the
// memory store are kept: admin.state_file, else beside the config file,
// else parapet-state.json in the feed cache directory.
func StateFile(cfg *config.Config) string {
	switch {
	case cfg.Admin.StateFile != "":
		return cfg.Admin.StateFile
	case cfg.File() != "":
		return strings.TrimSuffix(cfg.File(), filepath.Ext(cfg.File())) + ".state.json"
	}
	dir := cfg.FeedCacheDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "parapet-feeds")
	}
	return filepath.Join(dir, "parapet-state.json")
}

// change applies edit to a copy of the state, builds and swaps in the
// result, and persists it. A build that fails returns its error and
// changes nothing.
func (s *Service) change(ctx context.Context, edit func(*live.State) error) (live.State, map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.state.Clone()
	if err := edit(&next); err != nil {
		return next, nil, err
	}
	_, where, err := next.Apply(s.rt.FileConfig())
	if err == nil {
		err = s.rt.ApplyOverlay(overlayOf(next, s.log))
	}
	if err != nil {
		return next, where, err
	}
	raw := next.Encode()
	if err := s.persist.save(ctx, raw); err != nil {
		// Serving, but not kept: go back so what runs is what is kept.
		_ = s.rt.ApplyOverlay(overlayOf(s.state, s.log))
		return next, where, fmt.Errorf("cannot keep the change (%s): %w", s.persist, err)
	}
	s.state, s.saved = next, raw
	return next, where, nil
}

// follow applies the live changes other instances make (Redis) or that
// another process wrote to the state file, once a second, and records
// this instance's heartbeat.
func (s *Service) follow(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if hb, ok := s.st.(*store.Redis); ok {
			_ = hb.Heartbeat(ctx, s.id, time.Now())
		}
		// Read under the lock: a change made between the read and the
		// comparison would otherwise be undone by the older copy.
		s.mu.Lock()
		raw, err := s.persist.load(ctx)
		if err == nil && string(raw) != string(s.saved) {
			state, err := live.Decode(raw)
			if err == nil {
				if err = s.rt.ApplyOverlay(overlayOf(state, s.log)); err == nil {
					s.state = state
					s.log.Info("admin: live changes from another instance applied", "rules", len(state.Rules))
				}
			}
			if err != nil {
				s.log.Error("admin: live changes from another instance refused", "error", err)
			}
			s.saved = raw // not retried until it changes again
		}
		s.mu.Unlock()
	}
}

// backend keeps the live state.
type backend interface {
	load(ctx context.Context) ([]byte, error)
	save(ctx context.Context, raw []byte) error
	String() string
}

// fileBackend keeps the state in a JSON file, written atomically.
type fileBackend struct{ path string }

func (f fileBackend) String() string { return f.path }

func (f fileBackend) load(context.Context) ([]byte, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (f fileBackend) save(_ context.Context, raw []byte) error {
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".parapet-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.path)
}

// redisBackend keeps the state under one key shared by every instance.
type redisBackend struct{ st store.Store }

const redisStateKey = "admin:live"

func (r redisBackend) String() string { return "redis key " + redisStateKey }

func (r redisBackend) load(ctx context.Context) ([]byte, error) {
	v, ok, err := r.st.Get(ctx, redisStateKey)
	if err != nil || !ok {
		return nil, err
	}
	return v, nil
}

func (r redisBackend) save(ctx context.Context, raw []byte) error {
	return r.st.Set(ctx, redisStateKey, raw, 0) // no expiry
}
