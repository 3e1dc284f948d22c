package store

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// TripAfter is how many store calls in a row must fail before the guard
// opens its circuit (and store.on_error applies to every request, not
// only to those whose own call failed). One failure is not enough: a
// single command can time out under a GC pause or on a pooled connection
// the server has just closed, and with on_error open one tripped guard
// lifts bans and rate limits for everyone for a retry interval. Three in a
// row, with no success in between, is what a store that is really gone
// looks like: a dead Redis refuses connections at once, a hung one times
// every command out, and under load the three come within one timeout.
const TripAfter = 3

// Guard carries out store.on_error when the store cannot be reached:
// decisions fail open (let requests through) or closed (refuse them). It
// logs loudly, but at most once per interval, not per request, and logs
// again when the store answers again. Once TripAfter calls in a row have
// failed it is a circuit breaker: requests do not wait on the store, one
// call per retry interval tries it again.
//
// A caller's own cancellation (its client hung up: context.Canceled) is
// not a store failure and is not counted; the stores run their calls
// under context.WithoutCancel with a timeout of their own, so only the
// store's own timeouts and errors reach the guard.
type Guard struct {
	failOpen bool
	log      *slog.Logger
	every    time.Duration
	retry    time.Duration
	errors   atomic.Int64
	run      atomic.Int64 // failures in a row since the last success
	down     atomic.Bool
	lastLog  atomic.Int64
	lastWarn atomic.Int64
	lastTry  atomic.Int64
}

// NewGuard returns a guard; failOpen is store.on_error == "open".
func NewGuard(failOpen bool, log *slog.Logger) *Guard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Guard{failOpen: failOpen, log: log, every: 10 * time.Second, retry: 500 * time.Millisecond}
}

// Skip reports whether a caller should not use the store now (its circuit
// is open and it failed less than the retry interval ago) and decide by
// FailOpen at once. One caller per interval is let through to try it
// again.
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
// (fail open). The TripAfter-th failure in a row opens the circuit. An
// error that is the caller's own cancellation (context.Canceled) is not
// counted: the client is gone, and nothing is said about the store.
func (g *Guard) Failed(op string, err error) bool {
	if errors.Is(err, context.Canceled) {
		return g.failOpen
	}
	g.errors.Add(1)
	now := time.Now().UnixNano()
	if g.run.Add(1) < TripAfter && !g.down.Load() {
		last := g.lastWarn.Load()
		if now-last >= int64(g.every) && g.lastWarn.CompareAndSwap(last, now) {
			g.log.Warn("store call failed; this request is decided by store.on_error, others still use the store", "op", op, "error", err.Error(), "errors_total", g.errors.Load())
		}
		return g.failOpen
	}
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

// OK records a successful store call; the first after the circuit opened
// logs that the store is back.
func (g *Guard) OK() {
	if g.run.Load() != 0 {
		g.run.Store(0)
	}
	if g.down.Load() && g.down.CompareAndSwap(true, false) {
		g.lastLog.Store(0)
		g.log.Warn("store reachable again: rate limits and bans enforced", "errors_total", g.errors.Load())
	}
}

// Errors is the number of store errors seen (the store-error metric until
// Prometheus metrics exist).
func (g *Guard) Errors() int64 { return g.errors.Load() }

// Down reports whether the circuit is open: the last TripAfter or more
// store calls failed.
func (g *Guard) Down() bool { return g.down.Load() }
