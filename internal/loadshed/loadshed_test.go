package loadshed

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/store"
	"github.com/parapet-waf/parapet/internal/testenv"
)

func newController(t *testing.T, st store.Store, cfg config.UnderAttack) (*Controller, *Stage) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := NewController(ctx, st, store.NewGuard(true, nil), &Meter{}, nil, time.Hour) // ticks driven by the test
	c.Configure(cfg)
	return c, NewStage(c, cfg)
}

func hit(s *Stage, n int, path string, cleared bool) (last decision.Decision) {
	for i := 0; i < n; i++ {
		r := httptest.NewRequest("GET", path, nil)
		last = s.Check(r.Context(), r, &decision.Info{Cleared: cleared})
	}
	return last
}

// The request rate switches the mode on for every instance sharing the
// store; it stays on while the rate is above half the threshold, and goes
// off calm_for after that.
func TestUnderAttackHysteresisSharedByInstances(t *testing.T) {
	st, err := store.NewMemory(context.Background(), store.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.UnderAttack{RequestRate: 100, CalmFor: 300 * time.Millisecond, ExemptPaths: []string{"/webhooks/"}}
	a, sa := newController(t, st, cfg)
	b, sb := newController(t, st, cfg)
	ctx := context.Background()
	// Each round is one second on the shared per-second counter; both
	// instances report into the same second.
	second := time.Now().Truncate(time.Second)
	round := func() { second = second.Add(time.Second) }
	tick := func(c *Controller) { c.evaluate(ctx, second, time.Second) }

	hit(sa, 80, "/", false)
	round()
	tick(a)
	tick(b)
	if a.On() || b.On() {
		t.Fatal("on below the threshold")
	}
	if d := hit(sa, 1, "/", false); d.Decided() {
		t.Fatalf("challenged while off: %+v", d)
	}
	hit(sa, 90, "/", false) // 91 + 60 = 151 requests in a second, over two instances
	hit(sb, 60, "/", false)
	round()
	tick(a)
	tick(b)
	if a.On() || !b.On() {
		t.Fatalf("instance a %v, b %v: b, reporting second, sees the total", a.On(), b.On())
	}
	tick(a) // a follows at its next tick (reads the shared flag)
	if !a.On() || !b.On() {
		t.Fatalf("instance a %v, b %v: both should be on", a.On(), b.On())
	}
	if d := hit(sb, 1, "/", false); d.Action != decision.Challenge || d.RuleID != RuleUnderAttack {
		t.Fatalf("not challenged under attack: %+v", d)
	}
	if d := hit(sb, 1, "/", true); d.Decided() {
		t.Fatalf("a client with clearance was challenged: %+v", d)
	}
	if d := hit(sb, 1, "/webhooks/stripe/", false); d.Decided() {
		t.Fatalf("exempt path challenged: %+v", d)
	}
	// Still above half the threshold: stays on past calm_for.
	for i := 0; i < 3; i++ {
		time.Sleep(150 * time.Millisecond)
		hit(sa, 60, "/", false)
		round()
		tick(a)
		tick(b)
		if !a.On() || !b.On() {
			t.Fatalf("switched off at 60/s (above half of 100/s), round %d", i)
		}
	}
	// Calm: off once calm_for has passed.
	round()
	tick(a)
	if !a.On() {
		t.Fatal("off at once, without waiting calm_for")
	}
	time.Sleep(350 * time.Millisecond)
	round()
	tick(a)
	tick(b)
	if a.On() || b.On() {
		t.Fatal("still on after calm_for")
	}
	if a.Flips() != 2 {
		t.Fatalf("flips %d, want on and off", a.Flips())
	}
}

func TestUnderAttackFromUpstreamMeasuresAndConfig(t *testing.T) {
	st, _ := store.NewMemory(context.Background(), store.MemoryOptions{})
	defer st.Close()
	c, _ := newController(t, st, config.UnderAttack{UpstreamLatency: 50 * time.Millisecond, UpstreamConcurrency: 3, CalmFor: time.Minute})
	done := c.meter.Start()
	time.Sleep(80 * time.Millisecond)
	done()
	c.evaluate(context.Background(), time.Now(), time.Second)
	if !c.On() || !strings.HasPrefix(c.currentReason(), "upstream latency") {
		t.Fatalf("slow upstream: on=%v %q", c.On(), c.currentReason())
	}

	st2, _ := store.NewMemory(context.Background(), store.MemoryOptions{})
	defer st2.Close()
	c2, _ := newController(t, st2, config.UnderAttack{UpstreamConcurrency: 3, CalmFor: time.Minute})
	var dones []func()
	for i := 0; i < 4; i++ {
		dones = append(dones, c2.meter.Start())
	}
	for _, d := range dones {
		d()
	}
	c2.evaluate(context.Background(), time.Now(), time.Second)
	if !c2.On() {
		t.Fatal("4 concurrent upstream requests over a cap of 3 did not switch it on")
	}

	st3, _ := store.NewMemory(context.Background(), store.MemoryOptions{})
	defer st3.Close()
	c3, s3 := newController(t, st3, config.UnderAttack{Enabled: true, CalmFor: time.Minute})
	if !c3.On() || hit(s3, 1, "/", false).Action != decision.Challenge {
		t.Fatal("under_attack.enabled is not on")
	}
	c3.Configure(config.UnderAttack{CalmFor: time.Minute}) // reloaded with it off
	c3.evaluate(context.Background(), time.Now(), time.Second)
	if c3.On() {
		t.Fatal("still on after the config turned it off")
	}
}

func TestGate(t *testing.T) {
	g := NewGate(2, 1, 100*time.Millisecond)
	r1, ok1 := g.Acquire(context.Background())
	_, ok2 := g.Acquire(context.Background())
	if !ok1 || !ok2 {
		t.Fatal("free slots refused")
	}
	// The queue holds one waiter, who gets the slot released in time.
	var wg sync.WaitGroup
	wg.Add(1)
	var queued bool
	go func() {
		defer wg.Done()
		var rel func()
		rel, queued = g.Acquire(context.Background())
		if queued {
			rel()
		}
	}()
	time.Sleep(20 * time.Millisecond)
	if _, ok := g.Acquire(context.Background()); ok {
		t.Fatal("admitted past slots and queue")
	}
	r1()
	wg.Wait()
	if !queued {
		t.Fatal("queued request not admitted after a release")
	}
	// A waiter whose time runs out is refused.
	start := time.Now()
	_, okA := g.Acquire(context.Background())
	_, okB := g.Acquire(context.Background())
	if !okA || okB || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("timeout: a=%v b=%v after %v", okA, okB, time.Since(start))
	}
	if g.Refused() != 2 {
		t.Fatalf("refused %d", g.Refused())
	}
	if NewGate(0, 10, time.Second) != nil {
		t.Fatal("max_concurrent 0 should mean no gate")
	}
}

// The log says why the mode switched: a config that turns it off is not
// "load calmed down" (which read as the end of an attack nobody saw), and
// a load that keeps it on after the config turned it off says so.
func TestUnderAttackLogSaysWhy(t *testing.T) {
	var logs testenv.Buffer
	newLogged := func(cfg config.UnderAttack) *Controller {
		st, _ := store.NewMemory(context.Background(), store.MemoryOptions{})
		t.Cleanup(func() { st.Close() })
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		c := NewController(ctx, st, store.NewGuard(true, nil), &Meter{}, slog.New(slog.NewTextHandler(&logs, nil)), time.Hour)
		c.Configure(cfg)
		return c
	}
	ctx := context.Background()
	second := time.Now().Truncate(time.Second)
	tick := func(c *Controller) { // each tick its own second of the shared counter
		second = second.Add(time.Second)
		c.evaluate(ctx, second, time.Second)
	}

	c := newLogged(config.UnderAttack{Enabled: true, RequestRate: 100, CalmFor: time.Minute})
	c.requests.Add(60) // above half the threshold: no reason to stay on once the config says off
	tick(c)
	c.Configure(config.UnderAttack{RequestRate: 100, CalmFor: time.Minute})
	c.requests.Add(60)
	tick(c)
	if c.On() {
		t.Fatal("still on after the config turned it off")
	}
	out := logs.String()
	if !strings.Contains(out, "under-attack mode on: under_attack.enabled is true in the config") ||
		!strings.Contains(out, "under-attack mode off: under_attack.enabled is now false in the config") || strings.Contains(out, "calmed down") {
		t.Fatalf("config on, then off:\n%s", out)
	}

	// Turned off in the config while the load is over the threshold: on,
	// because of the load, and off when the load has calmed down.
	logs = testenv.Buffer{}
	c = newLogged(config.UnderAttack{Enabled: true, RequestRate: 100, CalmFor: 50 * time.Millisecond})
	c.Configure(config.UnderAttack{RequestRate: 100, CalmFor: 50 * time.Millisecond})
	c.requests.Add(500)
	tick(c)
	if !c.On() || !strings.HasPrefix(c.currentReason(), "request rate") {
		t.Fatalf("over the rate after the config turned it off: on %v, reason %q", c.On(), c.currentReason())
	}
	time.Sleep(100 * time.Millisecond)
	tick(c)
	out = logs.String()
	if c.On() || !strings.Contains(out, "under_attack.enabled is now false in the config, but the load keeps the mode on") ||
		!strings.Contains(out, "under-attack mode off: load calmed down") || strings.Contains(out, "mode off: under_attack.enabled") {
		t.Fatalf("on %v, log:\n%s", c.On(), out)
	}
}

// Switched on by hand, the mode is on at once here and, through the
// store, on the next tick of another instance; it ends at its time, or
// when switched off, unless the config holds it on.
func TestUnderAttackForcedByHand(t *testing.T) {
	st, err := store.NewMemory(context.Background(), store.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, stage := newController(t, st, config.UnderAttack{CalmFor: time.Minute})
	b, _ := newController(t, st, config.UnderAttack{CalmFor: time.Minute})
	var changes []string
	a.OnChange(func(on bool, reason string) {
		changes = append(changes, strings.TrimSpace(map[bool]string{true: "on " + reason, false: "off"}[on]))
	})
	ctx := context.Background()
	if err := a.Force(ctx, true, "by alice", 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := hit(stage, 1, "/", false); d.Action != decision.Challenge || !strings.Contains(d.Reason, "by alice") {
		t.Fatalf("forced on: %+v", d)
	}
	if on, reason, until := a.State(ctx); !on || reason != "by alice" || until.IsZero() {
		t.Fatalf("state: %v %q %v", on, reason, until)
	}
	b.evaluate(ctx, time.Now(), time.Second)
	if !b.On() {
		t.Fatal("another instance did not follow")
	}
	time.Sleep(200 * time.Millisecond)
	b.evaluate(ctx, time.Now(), time.Second)
	if b.On() {
		t.Fatal("still on after its time")
	}
	if err := a.Force(ctx, false, "off", 0); err != nil || a.On() {
		t.Fatalf("off: %v %v", err, a.On())
	}
	if len(changes) != 2 || changes[0] != "on by alice" || changes[1] != "off" {
		t.Fatalf("changes %q", changes)
	}
	held, _ := newController(t, st, config.UnderAttack{Enabled: true, CalmFor: time.Minute})
	if err := held.Force(ctx, false, "off", 0); err != ErrHeldByConfig {
		t.Fatalf("off while the config holds it on: %v", err)
	}
}
