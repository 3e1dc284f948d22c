package loadshed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/scope"
	"github.com/parapet-waf/parapet/internal/store"
)

// RuleUnderAttack is the rule id of challenges made by under-attack mode.
const RuleUnderAttack = "under-attack"

// Store keys shared by all instances.
const (
	keyOn    = "ua:on"    // present while under attack; value: why
	keyUntil = "ua:until" // present while switched on by hand; value: RFC 3339 end
	keyRate  = "ua:rps:"  // + unix second: requests all instances saw then
)

// Controller decides whether under-attack mode is on. It lives for the
// process (across config reloads, which Configure it again): once a tick
// it adds this instance's request count to the shared per-second counter,
// measures the upstream, switches the shared flag on when a threshold is
// passed and keeps it on while any measure stays above half its threshold;
// the flag expires calm_for after the last time it was kept on. Every
// instance reads the flag, so they switch together.
type Controller struct {
	st       store.Store
	guard    *store.Guard
	log      *slog.Logger
	meter    *Meter
	tick     time.Duration
	cfg      atomic.Pointer[config.UnderAttack]
	requests atomic.Int64
	on       atomic.Bool
	flips    atomic.Int64
	reason   atomic.Pointer[string]
	lastRate atomic.Int64
	notify   atomic.Pointer[func(on bool, reason string)]
}

// OnChange sets a function called (from the controller's goroutine or
// the caller of Force) every time the mode switches on or off.
func (c *Controller) OnChange(f func(on bool, reason string)) { c.notify.Store(&f) }

// ErrHeldByConfig is Force's error when under_attack.enabled holds the
// mode on: only the config can switch it off.
var ErrHeldByConfig = errors.New("under_attack.enabled is true in the config: set it to false and reload to switch the mode off")

// Force switches under-attack mode by hand on every instance sharing
// the store: on for d (reason says who and why), or off now. Load that
// passes a threshold can switch it on again; under_attack.enabled keeps
// it on (ErrHeldByConfig).
func (c *Controller) Force(ctx context.Context, on bool, reason string, d time.Duration) error {
	if on {
		until := time.Now().Add(d).UTC().Format(time.RFC3339)
		if err := c.st.Set(ctx, keyOn, []byte(reason), d); err != nil {
			return err
		}
		if err := c.st.Set(ctx, keyUntil, []byte(until), d); err != nil {
			return err
		}
		c.set(true, reason)
		return nil
	}
	if c.cfg.Load().Enabled {
		return ErrHeldByConfig
	}
	// The store has no delete: a value that expires at once.
	for _, k := range []string{keyOn, keyUntil} {
		if err := c.st.Set(ctx, k, nil, time.Millisecond); err != nil {
			return err
		}
	}
	c.set(false, reason)
	return nil
}

// State reports whether the mode is on, why, and until when when it was
// switched on by hand (zero otherwise).
func (c *Controller) State(ctx context.Context) (on bool, reason string, until time.Time) {
	on = c.on.Load()
	if !on {
		return false, "", time.Time{}
	}
	if v, ok, err := c.st.Get(ctx, keyUntil); err == nil && ok {
		until, _ = time.Parse(time.RFC3339, string(v))
	}
	return true, c.currentReason(), until
}

// NewController starts a controller that runs until ctx ends.
func NewController(ctx context.Context, st store.Store, guard *store.Guard, meter *Meter, log *slog.Logger, tick time.Duration) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{st: st, guard: guard, log: log, meter: meter, tick: tick}
	c.cfg.Store(&config.UnderAttack{CalmFor: 2 * time.Minute})
	go c.loop(ctx)
	return c
}

// Configure installs new settings.
func (c *Controller) Configure(cfg config.UnderAttack) { c.configure(&cfg) }

func (c *Controller) configure(cfg *config.UnderAttack) {
	c.cfg.Store(cfg)
	if cfg.Enabled {
		c.set(true, byConfig)
	}
}

// On reports whether under-attack mode is on.
func (c *Controller) On() bool { return c.on.Load() }

// Flips is how many times the mode switched on or off (metric).
func (c *Controller) Flips() int64 { return c.flips.Load() }

// Rate is the request rate (all instances) measured at the last tick.
func (c *Controller) Rate() int64 { return c.lastRate.Load() }

func (c *Controller) loop(ctx context.Context) {
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.evaluate(ctx, now, c.tick)
		}
	}
}

// evaluate measures the last period (elapsed long) and switches.
func (c *Controller) evaluate(ctx context.Context, now time.Time, elapsed time.Duration) {
	cfg := c.cfg.Load()
	n := c.requests.Swap(0)
	rate := int64(float64(n) / elapsed.Seconds())
	if cfg.RequestRate > 0 {
		// Every instance adds its count to the same second's counter.
		sec := strconv.FormatInt(now.Unix(), 10)
		total, err := c.st.Incr(ctx, keyRate+sec, rate, 10*time.Second)
		if err != nil {
			c.guard.Failed("under-attack", err)
		} else if total > rate {
			rate = total
		}
	}
	c.lastRate.Store(rate)
	peak, lat := c.meter.Sample()
	var hot, warm []string
	check := func(name string, v, limit int64, unit string) {
		if limit <= 0 {
			return
		}
		if v > limit {
			hot = append(hot, fmt.Sprintf("%s %d%s > %d%s", name, v, unit, limit, unit))
		}
		if v > limit/2 {
			warm = append(warm, name)
		}
	}
	check("request rate", rate, int64(cfg.RequestRate), "/s")
	check("upstream latency", lat.Milliseconds(), cfg.UpstreamLatency.Milliseconds(), "ms")
	check("upstream concurrency", peak, int64(cfg.UpstreamConcurrency), "")

	if cfg.Enabled {
		c.set(true, byConfig)
		return
	}
	reason := ""
	switch {
	case len(hot) > 0:
		reason = strings.Join(hot, ", ")
	case len(warm) > 0 && c.on.Load() && c.currentReason() != byConfig:
		reason = c.currentReason() // on by load, still above half a threshold: stay on
	}
	if reason != "" {
		if err := c.st.Set(ctx, keyOn, []byte(reason), cfg.CalmFor); err != nil {
			c.guard.Failed("under-attack", err)
			c.set(true, reason) // at least this instance defends itself
			return
		}
	}
	v, ok, err := c.st.Get(ctx, keyOn)
	if err != nil {
		c.guard.Failed("under-attack", err)
		return
	}
	c.guard.OK()
	c.set(ok, string(v))
}

func (c *Controller) currentReason() string {
	if r := c.reason.Load(); r != nil {
		return *r
	}
	return "load"
}

// byConfig is the reason of a mode switched on by under_attack.enabled.
const byConfig = "under_attack.enabled"

// set switches the mode and says why in the log: the load, or the config.
// While it stays on, the reason follows the latest measure.
func (c *Controller) set(on bool, reason string) {
	prev := c.currentReason()
	if c.on.Load() == on {
		if on && reason != prev {
			c.reason.Store(&reason)
			if prev == byConfig {
				c.log.Warn("UNDER ATTACK: under_attack.enabled is now false in the config, but the load keeps the mode on", "reason", reason)
			}
		}
		return
	}
	c.reason.Store(&reason)
	c.on.Store(on)
	c.flips.Add(1)
	if f := c.notify.Load(); f != nil {
		defer (*f)(on, reason)
	}
	switch {
	case on && reason == byConfig:
		c.log.Warn("under-attack mode on: under_attack.enabled is true in the config; challenging every client without clearance")
	case on:
		c.log.Warn("UNDER ATTACK: challenging every client without clearance", "reason", reason)
	case prev == byConfig:
		c.log.Info("under-attack mode off: under_attack.enabled is now false in the config")
	default:
		c.log.Warn("under-attack mode off: load calmed down")
	}
}

// Stage is the under-attack stage of one chain.
type Stage struct {
	c      *Controller
	cfg    *config.UnderAttack
	exempt scope.Exempt
}

// NewStage returns the stage that counts requests for c and, while c is
// on, challenges clients without clearance. Building it changes nothing:
// the chain configures c with its settings when it is activated (swapped
// in), so a chain built by a reload that is then refused changes nothing.
func NewStage(c *Controller, cfg config.UnderAttack) *Stage {
	return &Stage{c: c, cfg: &cfg, exempt: scope.NewExempt(cfg.ExemptPaths)}
}

// Activate configures the controller with this stage's settings; the
// chain calls it when it starts serving.
func (s *Stage) Activate() { s.c.configure(s.cfg) }

// Name implements decision.Stage.
func (s *Stage) Name() string { return "under-attack" }

// Check implements decision.Stage.
func (s *Stage) Check(_ context.Context, r *http.Request, info *decision.Info) decision.Decision {
	s.c.requests.Add(1)
	if !s.c.on.Load() || info.Cleared {
		return decision.Pass
	}
	if s.exempt.Covers(r.URL.Path) {
		return decision.Pass
	}
	return decision.Decision{Action: decision.Challenge, RuleID: RuleUnderAttack, Reason: "under-attack mode: " + s.c.currentReason()}
}
