package store

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Guard carries out store.on_error when the store cannot be reached:
// decisions fail open (let requests through) or closed (refuse them). It
// logs loudly, but at most once per interval, not per request, and logs
// again when the store answers again. While the store is down it is a
// circuit breaker: requests do not wait on it, one call per retry interval
// tries it again.
type Guard struct {
	failOpen bool
	log      *slog.Logger
	every    time.Duration
	retry    time.Duration
	errors   atomic.Int64
	down     atomic.Bool
	lastLog  atomic.Int64
	lastTry  atomic.Int64
}

// NewGuard returns a guard; failOpen is store.on_error == "open".
func NewGuard(failOpen bool, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Guard{failOpen: failOpen, log: log, every: 10 * time.Second, retry: 500 * time.Millisecond}
}

// Skip reports whether a caller should not use the store now (it failed
// less than the retry interval ago) and decide by FailOpen at once. One
// caller per interval is let through to try it again.
func (g *Guard) Skip() bool {
	if !g.down.Load() {
		return false
	}
	now := time.Now().UnixNano()
	last := g.lastTry.Load()
	if now-last < int64(g.retry) {
		return true
	}
	return !g.lastTry.CompareAndSwap(last, now)
}

// FailOpen reports whether decisions fail open.
func (g *Guard) FailOpen() bool { return g.failOpen }

// Failed records a store error and returns whether the request may pass
// (fail open).
func (g *Guard) Failed(op string, err error) bool {
	g.errors.Add(1)
	now := time.Now().UnixNano()
	g.lastTry.Store(now)
	g.down.Store(true)
	last := g.lastLog.Load()
	if now-last >= int64(g.every) && g.lastLog.CompareAndSwap(last, now) {
		policy := "closed: requests that need it are refused with 503"
		if g.failOpen {
			policy = "open: requests pass without rate limits or bans"
		}
		g.log.Error("STORE UNAVAILABLE: failing "+policy, "op", op, "error", err.Error(), "errors_total", g.errors.Load())
	}
	return g.failOpen
}

// OK records a successful store call; the first after failures logs that
// the store is back.
func (g *Guard) OK() {
	if g.down.Load() && g.down.CompareAndSwap(true, false) {
		g.lastLog.Store(0)
		g.log.Warn("store reachable again: rate limits and bans enforced", "errors_total", g.errors.Load())
	}
}

// Errors is the number of store errors seen (the store-error metric until
// Prometheus metrics exist).
func (g *Guard) Errors() int64 { return g.errors.Load() }

// Down reports whether the last store call failed.
func (g *Guard) Down() bool { return g.down.Load() }
