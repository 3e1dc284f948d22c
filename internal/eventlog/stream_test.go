package eventlog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parapet-waf/parapet/internal/events"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// Two instances on one real Redis each see the other's events in their
// ring and stats; the stream stays capped; a third instance started later
// is filled from the stream.
func TestStreamTwoInstancesSeeEachOther(t *testing.T) {
	rd := testenv.StartRedis(t)
	open := func(name string) *Log {
		l, err := New(context.Background(), Options{Instance: name, RingSize: 500,
			Stream: &StreamOptions{URL: rd.URL(), Key: "test:events", MaxLen: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a, b := open("a"), open("b")
	now := time.Now()
	for i := 0; i < 50; i++ {
		a.Emit(context.Background(), &events.Event{Time: now, RequestID: fmt.Sprint("a", i), ClientIP: "203.0.113.1", Decision: "block", RuleID: "from-a"})
		b.Emit(context.Background(), &events.Event{Time: now, RequestID: fmt.Sprint("b", i), ClientIP: "203.0.113.2", Decision: "allow"})
	}
	b.Emit(context.Background(), &events.Event{Kind: events.KindAdmin, Time: now, Message: "ban 203.0.113.1", Actor: "ops"})
	waitFor(t, func() bool {
		return len(a.Ring().Query(Filter{IP: mustPrefix("203.0.113.2").IP, Limit: 100}).Events) == 50 &&
			len(b.Ring().Query(Filter{Rule: "from-a", Limit: 100}).Events) == 50 &&
			len(a.Ring().Query(Filter{Kind: "admin"}).Events) == 1
	})
	p := b.Ring().Query(Filter{Rule: "from-a", Limit: 1})
	if p.Events[0].Instance != "a" || p.Events[0].RequestID != "a49" {
		t.Fatalf("b's view of a's newest block: %+v", p.Events[0])
	}
	// Each instance's own events are in its ring once (not read back).
	if n := len(a.Ring().Query(Filter{Rule: "from-a", Limit: 1000}).Events); n != 50 {
		t.Fatalf("a holds its own blocks %d times over 50", n)
	}
	st, _ := b.Stats(context.Background(), time.Hour, 5)
	if st.ByRule["from-a"] != 50 || st.Top.IPs[0].Key != "203.0.113.1" {
		t.Fatalf("b's stats miss a's blocks: %+v", st)
	}
	// A late instance starts with the history.
	c := open("c")
	if n := len(c.Ring().Query(Filter{Limit: 1000}).Events); n != 101 {
		t.Fatalf("late instance backfilled %d events, want 101", n)
	}
	// The stream is capped (MAXLEN ~ trims whole nodes: well under 2x).
	for i := 0; i < 3000; i++ {
		a.Emit(context.Background(), &events.Event{Time: now, Decision: "allow"})
	}
	// The length is read once b has a's last event: the stream then holds
	// all of them (read earlier, a could still be writing: 842 seen in CI).
	a.Emit(context.Background(), &events.Event{Time: now, Decision: "block", RuleID: "last"})
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer rc.Close()
	waitFor(t, func() bool {
		return len(b.Ring().Query(Filter{Rule: "last", Limit: 1}).Events) == 1 &&
			len(b.Ring().Query(Filter{Decision: "allow", Limit: 1000}).Events) == 499 // a ring of 500
	})
	if n, err := rc.XLen(context.Background(), "test:events").Result(); err != nil || n > 1500 || n < 1000 {
		t.Fatalf("stream length %d (%v), want about 1000", n, err)
	}
}

// Redis going away does not block Emit, and events flow again once it is back.
func TestStreamSurvivesRedisRestart(t *testing.T) {
	rd := testenv.StartRedis(t)
	open := func(name string) *Log {
		l, err := New(context.Background(), Options{Instance: name, RingSize: 500,
			Stream: &StreamOptions{URL: rd.URL(), Key: "test:events", MaxLen: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a, b := open("a"), open("b")
	rd.Kill()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			a.Emit(context.Background(), &events.Event{Time: time.Now(), Decision: "allow"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Emit blocked while Redis was down")
	}
	rd.Start()
	waitFor(t, func() bool {
		a.Emit(context.Background(), &events.Event{Time: time.Now(), Decision: "block", RuleID: "after"})
		return len(b.Ring().Query(Filter{Rule: "after"}).Events) > 0
	})
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// usedMemory reads Redis's used_memory.
func usedMemory(t *testing.T, rc *redis.Client) int64 {
	t.Helper()
	info, err := rc.InfoMap(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	return n
}

// The stream shares its Redis with the rate limits and bans: above
// MaxMemoryPercent of maxmemory it stops publishing (reported through
// OnPause and counted), trims itself so the store keeps its room (the
// store's own writes keep working under noeviction), and resumes once
// there is room again; other instances then see events again.
func TestStreamPausesAboveRedisMemoryMark(t *testing.T) {
	rd := testenv.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer rc.Close()
	ctx := context.Background()
	base := usedMemory(t, rc)
	max := base + 4<<20
	if err := rc.ConfigSet(ctx, "maxmemory", fmt.Sprint(max)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var pauses []bool
	open := func(name string, onPause func(bool, int64, int64)) *Log {
		l, err := New(ctx, Options{Instance: name, RingSize: 500,
			Stream: &StreamOptions{URL: rd.URL(), Key: "test:events", MaxLen: 1_000_000, MaxMemoryPercent: 50, OnPause: onPause}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	a := open("a", func(p bool, used, max int64) {
		mu.Lock()
		defer mu.Unlock()
		pauses = append(pauses, p)
	})
	b := open("b", nil)
	paused := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(pauses) > 0 && pauses[len(pauses)-1]
	}
	// Events of about 1.5 KB each, far more than the Redis holds.
	msg := strings.Repeat("x", 1000)
	for i := 0; i < 20000 && !paused(); i++ {
		a.Emit(ctx, &events.Event{Time: time.Now(), Decision: "block", RuleID: "fill", Reason: msg, RequestID: fmt.Sprint(i)})
		if i%500 == 0 {
			time.Sleep(20 * time.Millisecond) // let the publisher keep up, as real traffic would
		}
	}
	waitFor(t, paused)
	if !a.Stream().Paused() {
		t.Fatal("OnPause reported a pause the stream does not")
	}
	for i := 0; i < 2000; i++ {
		a.Emit(ctx, &events.Event{Time: time.Now(), Decision: "block", RuleID: "while-paused"})
	}
	waitFor(t, func() bool { return a.Stream().Skipped() > 0 })
	// The store's writes still succeed: the stream left the room.
	for i := 0; i < 1000; i++ {
		if err := rc.Set(ctx, fmt.Sprint("ratelimit:", i), strings.Repeat("r", 100), time.Minute).Err(); err != nil {
			t.Fatalf("a store write failed after the stream paused (used %d of %d): %v", usedMemory(t, rc), max, err)
		}
	}
	if used := usedMemory(t, rc); used > base+(4<<20)*3/4 {
		t.Fatalf("the stream paused but Redis uses %d of %d bytes", used, max)
	}
	// Room again: publishing resumes (at the next check, a second on)
	// and the other instance sees events again.
	if err := rc.ConfigSet(ctx, "maxmemory", fmt.Sprint(base+64<<20)).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a.Emit(ctx, &events.Event{Time: time.Now(), Decision: "block", RuleID: "after"})
		return !paused() && len(b.Ring().Query(Filter{Rule: "after"}).Events) > 0
	})
	if n := len(b.Ring().Query(Filter{Rule: "while-paused", Limit: 1000}).Events); n != 0 {
		t.Fatalf("b saw %d events published while paused", n)
	}
	if n := len(a.Ring().Query(Filter{Rule: "while-paused", Limit: 1000}).Events); n == 0 {
		t.Fatal("a's own ring lost its events from while the stream was paused")
	}
}
