package waf

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/denypage"
	"github.com/parapet-waf/parapet/internal/loadshed"
	"github.com/parapet-waf/parapet/internal/ratelimit"
	"github.com/parapet-waf/parapet/internal/store"
)

// floodDeps are the flood-defense parts that outlive a reload: the store
// (opened from the first config; store.* needs a restart), its error
// guard, the upstream meter and the under-attack controller.
type floodDeps struct {
	mu    sync.Mutex
	ctx   context.Context
	log   *slog.Logger
	dir   string // the feed cache directory: the default home of the ban file
	st    store.Store
	guard *store.Guard
	meter *loadshed.Meter
	ua    *loadshed.Controller
}

// OpenStore opens the store cfg.Store describes (the first call wins:
// later configs use the same store).
func (d *Deps) OpenStore(cfg *config.Config) (store.Store, *store.Guard, error) {
	f := &d.flood
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st != nil {
		return f.st, f.guard, nil
	}
	sc := cfg.Store
	if sc.BanFile == "" {
		sc.BanFile = filepath.Join(f.dir, "bans.json")
	}
	st, err := OpenStore(f.ctx, sc, f.log)
	if err != nil {
		return nil, nil, err
	}
	f.st = st
	f.guard = store.NewGuard(cfg.Store.OnError == "open", f.log)
	f.meter = &loadshed.Meter{}
	f.ua = loadshed.NewController(f.ctx, st, f.guard, f.meter, f.log, time.Second)
	return f.st, f.guard, nil
}

// UnderAttack is the under-attack controller (nil before the store is
// opened by the first Build or OpenStore).
func (d *Deps) UnderAttack() *loadshed.Controller {
	d.flood.mu.Lock()
	defer d.flood.mu.Unlock()
	return d.flood.ua
}

// OpenStore opens the store a config section describes (its ban_file
// resolved, see BanFile).
func OpenStore(ctx context.Context, cfg config.Store, log *slog.Logger) (store.Store, error) {
	if cfg.Type == "redis" {
		return store.NewRedis(store.RedisOptions{URL: cfg.URL, TLSSkipVerify: cfg.TLSSkipVerify, Prefix: cfg.KeyPrefix, Timeout: cfg.Timeout})
	}
	return store.NewMemory(ctx, store.MemoryOptions{MaxKeys: cfg.MaxKeys, MaxBans: cfg.MaxBans, BanFile: cfg.BanFile, Log: log})
}

// BanFile is where the memory store of a server run with cfg keeps bans:
// store.ban_file, or bans.json in the feed cache directory.
func BanFile(cfg *config.Config) string {
	if cfg.Store.BanFile != "" {
		return cfg.Store.BanFile
	}
	return filepath.Join(feedCacheDir(cfg.FeedCacheDir), "bans.json")
}

// Close flushes and closes the store (bans written to the ban file).
func (d *Deps) Close() error {
	d.flood.mu.Lock()
	defer d.flood.mu.Unlock()
	if d.flood.st == nil {
		return nil
	}
	return d.flood.st.Close()
}

// flood is one chain's flood-defense stages.
type flood struct {
	bans    *ratelimit.Bans
	limiter *ratelimit.Limiter
	own     *ratelimit.Limiter // limits on Parapet's own routes (routes.go)
	autoBan *ratelimit.AutoBan
	ua      *loadshed.Controller
	meter   *loadshed.Meter
	gate    *loadshed.Gate
	guard   *store.Guard
	uaStage *loadshed.Stage
}

// buildFlood provisions the bans, under-attack and rate-limit stages, in
// that order (a banned client costs one lookup; under attack, challenges
// come before any rate-limit bookkeeping).
func buildFlood(cfg *config.Config, deps *Deps) (*flood, []decision.Stage, error) {
	st, guard, err := deps.OpenStore(cfg)
	if err != nil {
		key := "store.ban_file"
		if cfg.Store.Type == "redis" {
			key = "store.url"
		}
		return nil, nil, config.Errors{cfg.Errorf(key, "%v", err)}
	}
	rd := ratelimit.Deps{Store: st, Guard: guard, Log: deps.flood.log}
	f := &flood{bans: ratelimit.NewBans(rd), ua: deps.flood.ua, meter: deps.flood.meter, guard: guard}
	if f.limiter, err = ratelimit.New(cfg, rd, f.bans); err != nil {
		return nil, nil, err
	}
	if f.own, err = ratelimit.NewOwn(cfg, rd, f.bans, ownLimits(cfg)); err != nil {
		return nil, nil, err
	}
	f.autoBan = ratelimit.NewAutoBan(cfg.AutoBan, rd, f.bans)
	f.gate = loadshed.NewGate(cfg.UpstreamLimit.MaxConcurrent, cfg.UpstreamLimit.Queue, cfg.UpstreamLimit.QueueTimeout)
	f.uaStage = loadshed.NewStage(f.ua, cfg.UnderAttack)
	return f, []decision.Stage{f.bans, f.uaStage, f.limiter}, nil
}

// upstream sends the request to the app through the concurrency cap,
// measuring it for under-attack mode; past the cap's queue it answers 503.
// serve calls done once the app has finished answering (a response
// buffered for a slow client is finished before the client has read it):
// the slot and the measurement end there.
func (f *flood) upstream(c *Chain, w http.ResponseWriter, r *http.Request, info *decision.Info, serve func(done func())) {
	if f.gate == nil {
		serve(f.meter.Start())
		return
	}
	release, ok := f.gate.Acquire(r.Context())
	if !ok {
		info.Final = decision.Decision{Action: decision.Block, Status: http.StatusServiceUnavailable, RuleID: "upstream-busy",
			Reason: fmt.Sprintf("over upstream_limit.max_concurrent (%d) and its queue", f.gate.Max()), RetryAfter: 2 * time.Second}
		c.pages.Write(w, r, denypage.Page{Status: http.StatusServiceUnavailable, Reason: "upstream-busy", RequestID: info.ID, RetryAfter: 2 * time.Second})
		return
	}
	measured := f.meter.Start()
	serve(func() {
		measured()
		release()
	})
}

// observe feeds the request's outcome to automatic bans.
func (f *flood) observe(ctx context.Context, r *http.Request, info *decision.Info, status int) {
	if f.autoBan != nil {
		f.autoBan.Observe(ctx, r, info, status)
	}
}

// Flood exposes the chain's flood-defense counters and under-attack state
// (exported as Prometheus metrics by Collector).
func (c *Chain) Flood() FloodStats {
	f := c.flood
	s := FloodStats{UnderAttack: f.ua.On(), UnderAttackFlips: f.ua.Flips(), RateLimitHits: f.limiter.Hits() + f.own.Hits(), BansMade: f.bans.Made(), BanRefused: f.bans.Refused(), StoreErrors: f.guard.Errors()}
	if f.gate != nil {
		s.UpstreamRefused = f.gate.Refused()
	}
	return s
}

// FloodStats are flood-defense counters: under-attack and store errors
// since the process started, the others since the chain was built (a
// reload starts them again).
type FloodStats struct {
	UnderAttack      bool  // under-attack mode is on now
	UnderAttackFlips int64 // times it switched on or off
	RateLimitHits    int64 // requests over a rate limit
	BansMade         int64 // bans this chain made (rate-limit rules with action ban, auto-bans)
	BanRefused       int64 // requests refused because of a ban
	UpstreamRefused  int64 // 503s from upstream_limit
	StoreErrors      int64 // failed store calls (store.on_error applied)
}

func feedCacheDir(dir string) string {
	if dir == "" {
		return filepath.Join(os.TempDir(), "parapet-feeds")
	}
	return dir
}
