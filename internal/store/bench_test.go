package store

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMemoryStore1MKeys fills a memory store with one million
// distinct clients' buckets and reports the heap it holds per key and in
// all (MB). Each iteration is one fill.
func BenchmarkMemoryStore1MKeys(b *testing.B) {
	const n = 1_000_000
	l := Limit{Rate: 5, Period: time.Minute, Burst: 5}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "rl:rl-login|" + strconv.Itoa(10+i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255) + ".1"
	}
	ctx := context.Background()
	var perKey, total float64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, _ := NewMemory(ctx, MemoryOptions{MaxKeys: n})
		for _, k := range keys {
			m.GCRA(ctx, k, l)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := m.Len() // shards fill unevenly: a few keys are evicted early
		if held < n*99/100 {
			b.Fatalf("%d keys held", held)
		}
		total = float64(after.HeapAlloc - before.HeapAlloc)
		perKey = total / float64(held)
		runtime.KeepAlive(m)
		m.Close()
	}
	b.ReportMetric(perKey, "B/key")
	b.ReportMetric(total/(1<<20), "MiB")
}

// BenchmarkMemoryGCRA is one decision on a store already holding 1M keys.
func BenchmarkMemoryGCRA(b *testing.B) {
	const n = 1 << 20
	m, _ := NewMemory(context.Background(), MemoryOptions{MaxKeys: n})
	defer m.Close()
	l := Limit{Rate: 5, Period: time.Minute, Burst: 5}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "rl:x|" + strconv.Itoa(i)
		m.GCRA(context.Background(), keys[i], l)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.GCRA(context.Background(), keys[i&(n-1)], l)
	}
}
