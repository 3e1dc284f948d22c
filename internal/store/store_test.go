package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// stores returns the implementations under test: memory, and Redis on a
// real redis-server started for the test.
func stores(t *testing.T) map[string]Store {
	t.Helper()
	mem, err := NewMemory(context.Background(), MemoryOptions{MaxKeys: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	srv := testenv.StartRedis(t)
	rs, err := NewRedis(RedisOptions{URL: srv.URL(), Prefix: "test:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return map[string]Store{"memory": mem, "redis": rs}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]Limit{
		"5/minute burst 5":   {5, time.Minute, 5},
		"100/hour":           {100, time.Hour, 100},
		"10/s burst 1":       {10, time.Second, 1},
		"1000/day":           {1000, 24 * time.Hour, 1000},
		"30/10s":             {30, 10 * time.Second, 30},
		"1/m":                {1, time.Minute, 1},
		"5/minute  burst 20": {5, time.Minute, 20},
	} {
		got, err := ParseLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "5", "five/minute", "0/minute", "5/fortnight", "5/minute burst", "5/minute burst 0", "5/minute bust 5", "-1/s"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) accepted", bad)
		}
	}
}

func TestGCRAArithmetic(t *testing.T) {
	l := Limit{Rate: 5, Period: time.Minute, Burst: 5}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var tat int64
	for i := 0; i < 5; i++ {
		var r Result
		r, tat = gcra(now, tat, l)
		if !r.Allowed || r.Remaining != 4-i {
			t.Fatalf("request %d: %+v", i+1, r)
		}
	}
	r, tat2 := gcra(now, tat, l)
	if r.Allowed || r.RetryAfter != 12*time.Second || tat2 != tat {
		t.Fatalf("6th request: %+v", r)
	}
	// One interval later exactly one more fits.
	now += int64(12 * time.Second)
	if r, tat = gcra(now, tat, l); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("after 12s: %+v", r)
	}
	if r, _ = gcra(now, tat, l); r.Allowed {
		t.Fatalf("second after 12s: %+v", r)
	}
}

func TestStores(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			key := "gcra:" + name
			l := Limit{Rate: 10, Period: time.Second, Burst: 3} // 100ms interval
			for i := 0; i < 3; i++ {
				r, err := s.GCRA(ctx, key, l)
				if err != nil || !r.Allowed {
					t.Fatalf("request %d: %+v %v", i+1, r, err)
				}
			}
			r, err := s.GCRA(ctx, key, l)
			if err != nil || r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > 100*time.Millisecond {
				t.Fatalf("4th request: %+v %v", r, err)
			}
			time.Sleep(r.RetryAfter + 10*time.Millisecond)
			if r, err = s.GCRA(ctx, key, l); err != nil || !r.Allowed {
				t.Fatalf("after waiting: %+v %v", r, err)
			}

			for i := int64(1); i <= 3; i++ {
				if n, err := s.Incr(ctx, "ctr", 1, 150*time.Millisecond); err != nil || n != i {
					t.Fatalf("incr %d: %d %v", i, n, err)
				}
			}
			time.Sleep(200 * time.Millisecond)
			if n, err := s.Incr(ctx, "ctr", 5, time.Second); err != nil || n != 5 {
				t.Fatalf("new window: %d %v", n, err)
			}

			if ok, err := s.SetNX(ctx, "nonce", []byte("x"), 150*time.Millisecond); !ok || err != nil {
				t.Fatalf("first SetNX: %v %v", ok, err)
			}
			if ok, err := s.SetNX(ctx, "nonce", []byte("y"), time.Second); ok || err != nil {
				t.Fatalf("replayed SetNX: %v %v", ok, err)
			}
			if v, ok, err := s.Get(ctx, "nonce"); !ok || err != nil || string(v) != "x" {
				t.Fatalf("Get: %q %v %v", v, ok, err)
			}
			time.Sleep(200 * time.Millisecond)
			if ok, err := s.SetNX(ctx, "nonce", []byte("z"), time.Second); !ok || err != nil {
				t.Fatalf("SetNX after expiry: %v %v", ok, err)
			}

			until := time.Now().Add(time.Hour).Truncate(time.Second)
			if err := s.AddBan(ctx, Ban{Key: "198.51.100.7", Action: "block", Reason: "404 storm", Source: "auto", Created: time.Now().Truncate(time.Second), Until: until}); err != nil {
				t.Fatal(err)
			}
			if err := s.AddBan(ctx, Ban{Key: "2001:db8::/64", Action: "challenge", Reason: "by hand", Until: time.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			b, ok, err := s.Banned(ctx, "198.51.100.7")
			if err != nil || !ok || b.Reason != "404 storm" || !b.Until.Equal(until) {
				t.Fatalf("Banned: %+v %v %v", b, ok, err)
			}
			if _, ok, _ := s.Banned(ctx, "198.51.100.8"); ok {
				t.Fatal("unbanned address reported banned")
			}
			list, err := s.Bans(ctx)
			if err != nil || len(list) != 2 || list[0].Key != "2001:db8::/64" || list[1].Key != "198.51.100.7" {
				t.Fatalf("Bans: %+v %v", list, err)
			}
			if removed, err := s.RemoveBan(ctx, "198.51.100.7"); !removed || err != nil {
				t.Fatalf("RemoveBan: %v %v", removed, err)
			}
			if removed, _ := s.RemoveBan(ctx, "198.51.100.7"); removed {
				t.Fatal("second RemoveBan found a ban")
			}
			if _, ok, _ := s.Banned(ctx, "198.51.100.7"); ok {
				t.Fatal("removed ban still in force")
			}
		})
	}
}

// Member keeps the first max distinct members of a set for its window:
// known members stay in, new ones past the bound are refused, and the set
// starts over when the window ends.
func TestStoresMember(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := func(m string) bool {
				t.Helper()
				ok, err := s.Member(ctx, "tokens:"+name, m, 3, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			for _, m := range []string{"a", "b", "a", "c", "b"} {
				if !in(m) {
					t.Fatalf("%q refused below the bound", m)
				}
			}
			if in("d") || in("e") {
				t.Fatal("a fourth member admitted into a set of at most 3")
			}
			if !in("a") || !in("c") {
				t.Fatal("a member refused after the set filled")
			}
			if ok, err := s.Member(ctx, "tokens:other-"+name, "d", 3, time.Second); !ok || err != nil {
				t.Fatalf("another set: %v %v", ok, err)
			}
			// A set starts over when its window ends.
			short := func(m string) bool {
				ok, err := s.Member(ctx, "short:"+name, m, 1, 100*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !short("a") {
				t.Fatal("first member of a new set refused")
			}
			time.Sleep(150 * time.Millisecond)
			if !short("b") {
				t.Fatal("the set did not start over after its window")
			}
		})
	}
}

// Many goroutines share one limit: exactly the burst gets through.
func TestGCRAConcurrent(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := Limit{Rate: 20, Period: time.Hour, Burst: 20}
			var mu sync.Mutex
			allowed := 0
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 25; i++ {
						r, err := s.GCRA(context.Background(), "shared", l)
						if err != nil {
							t.Error(err)
							return
						}
						if r.Allowed {
							mu.Lock()
							allowed++
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			if allowed != 20 {
				t.Fatalf("%d of 200 allowed, want 20", allowed)
			}
		})
	}
}

// The memory store never holds more than MaxKeys, however many clients.
func TestMemoryBounded(t *testing.T) {
	m, err := NewMemory(context.Background(), MemoryOptions{MaxKeys: 6400})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l := Limit{Rate: 5, Period: time.Minute, Burst: 5}
	for i := 0; i < 200_000; i++ {
		m.GCRA(context.Background(), fmt.Sprintf("ip:%d", i), l)
	}
	if n := m.Len(); n > 6400 || n < 6000 {
		t.Fatalf("%d keys held, bound 6400", n)
	}
	// The most recent clients are the ones kept.
	if r, _ := m.GCRA(context.Background(), "ip:199999", Limit{Rate: 1, Period: time.Hour, Burst: 1}); r.Allowed {
		t.Fatal("a recent client's bucket was evicted")
	}
}

func TestMemoryBansSurviveRestartAndFollowTheFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bans.json")
	ctx := context.Background()
	m, err := NewMemory(ctx, MemoryOptions{BanFile: file, SyncInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m.AddBan(ctx, Ban{Key: "203.0.113.9", Action: "block", Reason: "too many 404", Until: time.Now().Add(time.Hour)})
	m.AddBan(ctx, Ban{Key: "203.0.113.10", Action: "block", Reason: "gone soon", Until: time.Now().Add(5 * time.Millisecond)})
	m.Close() // a restart

	m2, err := NewMemory(ctx, MemoryOptions{BanFile: file, SyncInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if b, ok, _ := m2.Banned(ctx, "203.0.113.9"); !ok || b.Reason != "too many 404" {
		t.Fatalf("ban lost over a restart: %+v %v", b, ok)
	}
	// Another process (parapet ban add/remove) edits the file.
	time.Sleep(10 * time.Millisecond)
	if _, err := (BanFile{Path: file}).Update(time.Now(), func(bans map[string]Ban) {
		delete(bans, "203.0.113.9")
		bans["192.0.2.1"] = Ban{Key: "192.0.2.1", Action: "block", Reason: "cli", Until: time.Now().Add(time.Hour)}
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, gone, _ := m2.Banned(ctx, "203.0.113.9")
		_, added, _ := m2.Banned(ctx, "192.0.2.1")
		if !gone && added {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not pick up the file: 203.0.113.9 banned=%v 192.0.2.1 banned=%v", gone, added)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The server's own new ban is merged into the file, keeping the CLI's.
	m2.AddBan(ctx, Ban{Key: "192.0.2.2", Action: "block", Reason: "auto", Until: time.Now().Add(time.Hour)})
	deadline = time.Now().Add(2 * time.Second)
	for {
		bans, err := (BanFile{Path: file}).Read()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := bans["192.0.2.2"]; ok {
			if _, ok := bans["192.0.2.1"]; !ok {
				t.Fatalf("server's write lost the CLI's ban: %v", bans)
			}
			if _, ok := bans["203.0.113.10"]; ok {
				t.Fatalf("expired ban kept: %v", bans)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server's ban never reached the file")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rediss:// (Heroku's TLS form) really speaks TLS and verifies the
// certificate unless the URL says skip_verify=true (Heroku Redis's
// certificates are self-signed).
func TestRedisTLS(t *testing.T) {
	srv := testenv.StartRedisTLS(t)
	ctx := context.Background()
	try := func(url string, skip ...bool) error {
		rs, err := NewRedis(RedisOptions{URL: url, Timeout: 2 * time.Second, TLSSkipVerify: len(skip) > 0})
		if err != nil {
			return err
		}
		defer rs.Close()
		_, err = rs.GCRA(ctx, "tls", Limit{Rate: 1, Period: time.Second, Burst: 1})
		return err
	}
	if err := try(srv.URL() + "?skip_verify=true"); err != nil {
		t.Fatalf("rediss:// with skip_verify: %v", err)
	}
	if err := try(srv.URL()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate accepted without skip_verify: %v", err)
	}
	// store.tls_skip_verify: the URL as Heroku gives it, the option beside it.
	if err := try(srv.URL(), true); err != nil {
		t.Fatalf("rediss:// with TLSSkipVerify: %v", err)
	}
	if err := try("redis://" + srv.Addr); err == nil {
		t.Fatal("plain text spoken to a TLS port worked")
	}
}

// While the store is down, the guard answers at once for all but one
// caller per retry interval, and says when the store is back. It opens
// only after TripAfter failures in a row.
func TestGuardCircuitBreaker(t *testing.T) {
	g := NewGuard(false, nil)
	if g.Skip() {
		t.Fatal("skipping a healthy store")
	}
	for i := 0; i < TripAfter; i++ {
		if g.Failed("test", ErrUnavailable) {
			t.Fatal("on_error closed let a request through")
		}
		if down := i == TripAfter-1; g.Down() != down || g.Skip() != down {
			t.Fatalf("after %d failures in a row: down=%v, want %v", i+1, g.Down(), down)
		}
	}
	for i := 0; i < 2; i++ {
		if !g.Skip() {
			t.Fatalf("call %d not skipped right after a failure", i+1)
		}
	}
	g.retry = 20 * time.Millisecond
	time.Sleep(30 * time.Millisecond)
	if g.Skip() {
		t.Fatal("no retry after the interval")
	}
	if !g.Skip() {
		t.Fatal("a second caller retried in the same interval")
	}
	g.OK()
	if g.Skip() || g.Down() || g.Errors() != TripAfter {
		t.Fatalf("after recovery: skip=%v down=%v errors=%d", g.Skip(), g.Down(), g.Errors())
	}
}

// Failures with successes in between never open the circuit, and a
// caller's own cancellation is not a store failure at all: a client that
// hangs up, or one whose odd request fails, cannot switch the store off
// for everyone.
func TestGuardTripsOnlyOnFailuresInARow(t *testing.T) {
	g := NewGuard(true, nil)
	for i := 0; i < 100; i++ {
		if !g.Failed("test", fmt.Errorf("%w: redis: %w", ErrUnavailable, context.Canceled)) {
			t.Fatal("on_error open refused a request")
		}
	}
	if g.Down() || g.Errors() != 0 {
		t.Fatalf("cancellations counted: down=%v errors=%d", g.Down(), g.Errors())
	}
	for i := 0; i < 100; i++ {
		for j := 0; j < TripAfter-1; j++ {
			g.Failed("test", ErrUnavailable)
		}
		g.OK()
		if g.Down() || g.Skip() {
			t.Fatalf("round %d: %d failures between successes opened the circuit", i, TripAfter-1)
		}
	}
	if g.Errors() != 100*(TripAfter-1) {
		t.Fatalf("errors counted: %d", g.Errors())
	}
}

// A Redis command is not cut short by its caller's cancellation (a client
// that hung up): it runs to its answer under the store's own timeout.
func TestRedisIgnoresCallerCancellation(t *testing.T) {
	srv := testenv.StartRedis(t)
	rs, err := NewRedis(RedisOptions{URL: srv.URL(), Prefix: "test:"})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rs.AddBan(ctx, Ban{Key: "192.0.2.1", Action: "block", Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("AddBan under a cancelled context: %v", err)
	}
	if _, ok, err := rs.Banned(ctx, "192.0.2.1"); err != nil || !ok {
		t.Fatalf("Banned under a cancelled context: %v %v", ok, err)
	}
	if r, err := rs.GCRA(ctx, "k", Limit{Rate: 1, Period: time.Second, Burst: 1}); err != nil || !r.Allowed {
		t.Fatalf("GCRA under a cancelled context: %+v %v", r, err)
	}
	if _, err := rs.Incr(ctx, "n", 1, time.Minute); err != nil {
		t.Fatalf("Incr under a cancelled context: %v", err)
	}
	if _, err := rs.Member(ctx, "m", "a", 3, time.Minute); err != nil {
		t.Fatalf("Member under a cancelled context: %v", err)
	}
	if _, err := rs.SetNX(ctx, "x", []byte{1}, time.Minute); err != nil {
		t.Fatalf("SetNX under a cancelled context: %v", err)
	}
	// A dead Redis still fails within the store's timeout, whatever the
	// caller's context.
	dead, _ := NewRedis(RedisOptions{URL: "redis://" + testenv.FreeAddr(t), Timeout: 50 * time.Millisecond})
	defer dead.Close()
	start := time.Now()
	if _, _, err := dead.Banned(context.Background(), "192.0.2.1"); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("dead Redis: %v after %v", err, time.Since(start))
	}
}

// ParseLimit never panics, and what it accepts renders back to itself.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"5/minute burst 5", "100/hour", "30/10s", "1/d", "7/1h30m burst 2", "0/s", "9999999999999/ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil {
			return
		}
		if l.Rate <= 0 || l.Burst <= 0 || l.Interval() <= 0 {
			t.Fatalf("%q accepted as %+v", s, l)
		}
		again, err := ParseLimit(l.String())
		if err != nil || again != l {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, l, l.String(), again, err)
		}
	})
}

// Bans made after the server's context ended (while it drains) still
// reach the file on Close.
func TestMemoryCloseWritesLateBans(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bans.json")
	ctx, cancel := context.WithCancel(context.Background())
	m, err := NewMemory(ctx, MemoryOptions{BanFile: file})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(20 * time.Millisecond)
	m.AddBan(context.Background(), Ban{Key: "192.0.2.9", Action: "block", Until: time.Now().Add(time.Hour)})
	m.Close()
	bans, err := (BanFile{Path: file}).Read()
	if err != nil || bans["192.0.2.9"].Key == "" {
		t.Fatalf("late ban lost: %v %v", bans, err)
	}
}

// A flood of new clients fills the buckets' LRU but cannot evict a used
// nonce (which would let it be replayed).
func TestMemoryNoncesSurviveAFloodOfClients(t *testing.T) {
	m, err := NewMemory(context.Background(), MemoryOptions{MaxKeys: 6400})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if ok, _ := m.SetNX(ctx, "nonce:abc", []byte("1"), time.Hour); !ok {
		t.Fatal("fresh nonce refused")
	}
	l := Limit{Rate: 5, Period: time.Minute, Burst: 5}
	for i := 0; i < 100_000; i++ {
		m.GCRA(ctx, fmt.Sprintf("ip:%d", i), l)
		m.Incr(ctx, fmt.Sprintf("ab:%d", i), 1, time.Minute)
	}
	if ok, _ := m.SetNX(ctx, "nonce:abc", []byte("1"), time.Hour); ok {
		t.Fatal("a used nonce was evicted by a flood of clients and accepted again")
	}
	if m.LenOnce() != 1 || m.Len() > 6400 {
		t.Fatalf("once %d, buckets %d", m.LenOnce(), m.Len())
	}
}
