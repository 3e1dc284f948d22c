package ratelimit

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/store"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// BenchmarkBaselineMutexMap is the naive limiter (a counter in a
// mutex-guarded map by client): the yardstick for BenchmarkLimiterMemory.
func BenchmarkBaselineMutexMap(b *testing.B) {
	var mu sync.Mutex
	m := map[string]int64{}
	ips := benchIPs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := ips[i&1023].String()
		mu.Lock()
		m[k]++
		mu.Unlock()
	}
}

// benchConfig is the default Django limits with rl-reads raised so the
// benchmark's clients stay under it (every decision is a full GCRA step).
func benchConfig() *config.Config {
	cfg := config.Default()
	cfg.RateLimits.Rules = []config.RateLimitRule{{ID: "rl-reads", Limit: "1000000/s", Methods: []string{"GET", "HEAD"}}}
	return cfg
}

// BenchmarkLimiterMemory is one rate-limit decision with the default
// Django limits in the memory store: a GET from one of 1,024 clients.
func BenchmarkLimiterMemory(b *testing.B) {
	l, _ := newLimiter(b, benchConfig(), memDeps(b))
	r := httptest.NewRequest("GET", "/articles/42/", nil)
	ips := benchIPs()
	info := &decision.Info{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info.ClientIP = ips[i&1023]
		if d := l.Check(r.Context(), r, info); d.Decided() {
			b.Fatal(d)
		}
	}
}

// BenchmarkLimiterMemoryParallel is the same decision from all cores.
func BenchmarkLimiterMemoryParallel(b *testing.B) {
	l, _ := newLimiter(b, benchConfig(), memDeps(b))
	ips := benchIPs()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/articles/42/", nil)
		info := &decision.Info{}
		i := 0
		for pb.Next() {
			info.ClientIP = ips[i&1023]
			i++
			l.Check(r.Context(), r, info)
		}
	})
}

func benchIPs() []netip.Addr {
	ips := make([]netip.Addr, 1024)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
	}
	return ips
}

// BenchmarkRedisPing is the bare round trip to a local redis-server: the
// yardstick for BenchmarkRedisGCRA.
func BenchmarkRedisPing(b *testing.B) {
	rs := benchRedis(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rs.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisGCRA is one GCRA decision on Redis (the Lua script).
func BenchmarkRedisGCRA(b *testing.B) {
	rs := benchRedis(b)
	ctx := context.Background()
	l := store.Limit{Rate: 1 << 30, Period: time.Second, Burst: 1 << 20}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rs.GCRA(ctx, "bench", l); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRedis(b *testing.B) *store.Redis {
	srv := testenv.StartRedis(b)
	rs, err := store.NewRedis(store.RedisOptions{URL: srv.URL(), Prefix: "bench:"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rs.Close() })
	if err := rs.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkBansMemory is the bans stage's lookup for a client that is not
// banned, with 10,000 bans in force.
func BenchmarkBansMemory(b *testing.B) {
	deps := memDeps(b)
	bans := NewBans(deps)
	for i := 0; i < 10_000; i++ {
		bans.Ban(context.Background(), netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}), "bench", "bench", "block", time.Hour)
	}
	r := httptest.NewRequest("GET", "/", nil)
	ips := benchIPs()
	info := &decision.Info{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info.ClientIP = ips[i&1023]
		if d := bans.Check(r.Context(), r, info); d.Decided() {
			b.Fatal(d)
		}
	}
}
