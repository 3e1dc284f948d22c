// Package loadshed keeps the app alive under load: a cap on concurrent
// upstream requests with a short bounded queue, and under-attack mode,
// which challenges every client without clearance while the request rate
// or the app's latency or concurrency is past a threshold (with
// hysteresis), shared across instances through the store.
package loadshed

import (
	"context"
	"sync/atomic"
	"time"
)

// Meter measures the upstream: requests in flight (and the peak since the
// last Sample) and their average duration. One Meter lives for the
// process, across config reloads.
type Meter struct {
	inflight atomic.Int64
	peak     atomic.Int64
	latSum   atomic.Int64
	latN     atomic.Int64
}

// Start records a request sent upstream; call the returned func when its
// response is done.
func (m *Meter) Start() func() {
	n := m.inflight.Add(1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			break
		}
	}
	start := time.Now()
	return func() {
		m.inflight.Add(-1)
		m.latSum.Add(int64(time.Since(start)))
		m.latN.Add(1)
	}
}

// InFlight is the number of requests at the upstream now.
func (m *Meter) InFlight() int64 { return m.inflight.Load() }

// Sample returns the peak concurrency and the average latency of the
// requests finished since the previous Sample, and starts a new period.
func (m *Meter) Sample() (peak int64, avg time.Duration) {
	peak = m.peak.Swap(m.inflight.Load())
	sum, n := m.latSum.Swap(0), m.latN.Swap(0)
	if n > 0 {
		avg = time.Duration(sum / n)
	}
	return peak, avg
}

// Gate admits at most max requests to the upstream at once; up to queue
// more wait at most timeout for a slot. Past that they are refused, so the
// app (gunicorn's workers) never gets more than it can serve.
type Gate struct {
	slots   chan struct{}
	queue   int64
	timeout time.Duration
	waiting atomic.Int64
	refused atomic.Int64
}

// NewGate returns a gate, or nil when max is 0 (no cap).
func NewGate(max, queue int, timeout time.Duration) *Gate {
	if max <= 0 {
		return nil
	}
	return &Gate{slots: make(chan struct{}, max), queue: int64(queue), timeout: timeout}
}

// Acquire waits for a slot. ok is false when the queue is full, the wait
// timed out or ctx ended; otherwise call release when the upstream is done.
func (g *Gate) Acquire(ctx context.Context) (release func(), ok bool) {
	select {
	case g.slots <- struct{}{}:
		return g.release, true
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		g.refused.Add(1)
		return nil, false
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.timeout)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release, true
	case <-t.C:
	case <-ctx.Done():
	}
	g.refused.Add(1)
	return nil, false
}

func (g *Gate) release() { <-g.slots }

// Max is the cap.
func (g *Gate) Max() int { return cap(g.slots) }

// Refused is the number of requests turned away with 503 (metric).
func (g *Gate) Refused() int64 { return g.refused.Load() }
