package netlist

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParsePlainTorCSV(t *testing.T) {
	plain := "# blocklist\n192.0.2.1\n198.51.100.0/24 ; a comment\n\n2001:db8::/32 trailing note\n10.0.0.300\n192.0.2.77/24\n"
	p, err := ParseList(strings.NewReader(plain), ParseOptions{Source: "block.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Set.Len() != 4 || p.Bad != 1 || p.Errors[0].Error() != `block.txt:6: "10.0.0.300" is not an IP address or CIDR` {
		t.Fatalf("len %d bad %d errs %v", p.Set.Len(), p.Bad, p.Errors)
	}
	for ip, want := range map[string]bool{"192.0.2.1": true, "192.0.2.2": true /* 192.0.2.77/24 masked */, "198.51.100.9": true, "2001:db8:1::1": true, "203.0.113.1": false, "::ffff:198.51.100.9": true} {
		if got := p.Set.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Contains(%s) = %v", ip, got)
		}
	}
	tor := "ExitNode 0011\nPublished 2024-01-01 00:00:00\nExitAddress 185.220.101.1 2024-01-01 00:00:00\nLastStatus x\n185.220.101.2\n"
	p, _ = ParseList(strings.NewReader(tor), ParseOptions{Format: FormatTor})
	if p.Set.Len() != 2 || p.Bad != 0 {
		t.Fatalf("tor: %d %d %v", p.Set.Len(), p.Bad, p.Errors)
	}
	csv := "network,provider\n203.0.113.0/24,acme\nbogus,x\n"
	p, err = ParseList(strings.NewReader(csv), ParseOptions{Format: FormatCSV, CSVColumn: "network", Source: "dc.csv"})
	if err != nil || p.Set.Len() != 1 || p.Bad != 1 || p.Errors[0].Line != 3 {
		t.Fatalf("csv: %v %+v", err, p)
	}
	rng := "start,end,name\n192.0.2.0,192.0.2.255,a\n10.0.0.1,10.0.0.2,b\n"
	p, err = ParseList(strings.NewReader(rng), ParseOptions{Format: FormatCSV, CSVColumn: "start,end"})
	if err != nil || !p.Set.Contains(netip.MustParseAddr("192.0.2.200")) || !p.Set.Contains(netip.MustParseAddr("10.0.0.2")) || p.Set.Contains(netip.MustParseAddr("10.0.0.3")) {
		t.Fatalf("csv ranges: %v", err)
	}
	if _, err := ParseList(strings.NewReader(csv), ParseOptions{Format: FormatCSV, CSVColumn: "cidr"}); err == nil {
		t.Fatal("missing column accepted")
	}
}

func TestLoadFileRefusesBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow.txt")
	os.WriteFile(path, []byte("192.0.2.1\nnope\n"), 0o600)
	_, err := LoadFile(path, FormatPlain)
	if err == nil || !strings.Contains(err.Error(), path+`:2: "nope" is not an IP address or CIDR`) {
		t.Fatalf("got %v", err)
	}
}

// feedServer serves a list that the test can change, counting requests.
type feedServer struct {
	*httptest.Server
	body atomic.Value
	hits atomic.Int64
}

func newFeedServer(t *testing.T, body string) *feedServer {
	fs := &feedServer{}
	fs.body.Store(body)
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		b := fs.body.Load().(string)
		etag := fmt.Sprintf(`"%x"`, len(b)*31+int(b[0]))
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		fmt.Fprint(w, b)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFeedFetchCacheAndRestartWithoutNetwork(t *testing.T) {
	srv := newFeedServer(t, "185.220.101.1\n185.220.101.2\n")
	cache := t.TempDir()
	cfg := FeedConfig{Name: "tor-exits", URL: srv.URL, Format: "tor"}
	ctx, cancel := context.WithCancel(context.Background())
	f, err := NewFeed(cfg, cache, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first fetch", func() bool { return f.Set().Contains(netip.MustParseAddr("185.220.101.2")) })
	if st := f.Status(); st.Source != "network" || st.Entries != 2 {
		t.Fatalf("status %+v", st)
	}
	cancel()
	srv.Close() // the network goes away; Parapet restarts

	f2, _ := NewFeed(cfg, cache, nil, nil)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	if err := f2.Start(ctx2); err != nil {
		t.Fatal(err)
	}
	if !f2.Set().Contains(netip.MustParseAddr("185.220.101.1")) || f2.Status().Source != "cache" {
		t.Fatalf("restart without network: %+v", f2.Status())
	}
	waitFor(t, "failed refresh recorded", func() bool { return f2.Status().LastError != "" })
	if !f2.Set().Contains(netip.MustParseAddr("185.220.101.1")) {
		t.Fatal("failed refresh dropped the cached list")
	}
}

func TestFeedGarbageKeepsPreviousAnd304(t *testing.T) {
	srv := newFeedServer(t, "192.0.2.1\n")
	f, _ := NewFeed(FeedConfig{Name: "x", URL: srv.URL}, t.TempDir(), nil, nil)
	ctx := context.Background()
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(ctx); err != nil || srv.hits.Load() != 2 || f.Set().Len() != 1 {
		t.Fatalf("304 refresh: %v hits %d", err, srv.hits.Load())
	}
	srv.body.Store("<html>rate limited</html>\n")
	if err := f.Refresh(ctx); err == nil {
		t.Fatal("garbage accepted")
	}
	if !f.Set().Contains(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("garbage replaced the list")
	}
	srv.body.Store("192.0.2.9\nbad line\n")
	if err := f.Refresh(ctx); err != nil || f.Status().Skipped != 1 || !f.Set().Contains(netip.MustParseAddr("192.0.2.9")) {
		t.Fatalf("partial list: %v %+v", err, f.Status())
	}
}

func TestFeedSizeCapAndRefreshLoop(t *testing.T) {
	srv := newFeedServer(t, strings.Repeat("192.0.2.1\n", 1000))
	f, _ := NewFeed(FeedConfig{Name: "big", URL: srv.URL, MaxBytes: 100}, "", nil, nil)
	if err := f.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("size cap: %v", err)
	}
	srv.body.Store("192.0.2.1\n")
	f, _ = NewFeed(FeedConfig{Name: "loop", URL: srv.URL, Refresh: 50 * time.Millisecond}, "", nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Start(ctx)
	waitFor(t, "first", func() bool { return f.Set().Len() == 1 })
	srv.body.Store("198.51.100.0/24\n192.0.2.1\n")
	waitFor(t, "refresh loop", func() bool { return f.Set().Contains(netip.MustParseAddr("198.51.100.5")) })
}

func TestFileFeedAndRegistryReuse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vpn.txt")
	os.WriteFile(path, []byte("203.0.113.0/24\n"), 0o600)
	reg := NewRegistry(context.Background(), "", nil, nil)
	a, err := reg.Feed(FeedConfig{Name: "vpn", File: path})
	if err != nil || !a.Set().Contains(netip.MustParseAddr("203.0.113.4")) {
		t.Fatal(err)
	}
	b, _ := reg.Feed(FeedConfig{Name: "vpn", File: path})
	if a != b {
		t.Fatal("same settings should reuse the running feed")
	}
	c, _ := reg.Feed(FeedConfig{Name: "vpn", File: path, Refresh: time.Minute})
	if c == a {
		t.Fatal("changed settings should start a new feed")
	}
	if _, err := reg.Feed(FeedConfig{Name: "other", File: path}); err != nil {
		t.Fatal(err)
	}
	if len(reg.Statuses()) != 2 {
		t.Fatalf("statuses %v", reg.Statuses())
	}
	reg.Retain(map[string]bool{"vpn": true})
	if st := reg.Statuses(); len(st) != 1 || st[0].Name != "vpn" {
		t.Fatalf("after a reload without it, the feed should stop: %v", st)
	}
	if _, err := NewFeed(FeedConfig{Name: "x"}, "", nil, nil); err == nil {
		t.Fatal("feed without url or file accepted")
	}
}

func randomPrefixes(n int, r *rand.Rand) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		if r.IntN(5) == 0 {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for j := 2; j < 8; j++ {
				b[j] = byte(r.IntN(256))
			}
			out[i] = netip.PrefixFrom(netip.AddrFrom16(b), 32+r.IntN(33)).Masked()
			continue
		}
		a := netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
		out[i] = netip.PrefixFrom(a, 16+r.IntN(17)).Masked()
	}
	return out
}

// BenchmarkIPLookup measures lookups (a mix of hits and misses, v4 and v6)
// in sets of 10k, 100k and 1M prefixes, and reports the set's heap size.
func BenchmarkIPLookup(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("prefixes=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(n)))
			prefixes := randomPrefixes(n, r)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var bld Builder
			for _, p := range prefixes {
				bld.Add(p)
			}
			set := bld.Build()
			runtime.GC()
			runtime.ReadMemStats(&after)
			probes := make([]netip.Addr, 4096)
			for i := range probes {
				if i%2 == 0 {
					probes[i] = prefixes[r.IntN(n)].Addr()
				} else if i%10 == 1 {
					probes[i] = netip.AddrFrom16([16]byte{0x20, 0x01, byte(r.IntN(256)), byte(r.IntN(256)), 15: 0x01})
				} else {
					probes[i] = netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
				}
			}
			i := 0
			for b.Loop() {
				set.Contains(probes[i&4095])
				i++
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "set-MiB")
		})
	}
}

// A CSV feed whose last line opens a quote it never closes (a truncated
// download) is one bad line, not a panic that takes Parapet down.
func TestCSVUnterminatedQuoteIsABadLine(t *testing.T) {
	got, err := ParseList(strings.NewReader("network\n192.0.2.0/24\n\"198.51.100.0/24\n"), ParseOptions{Source: "feed", Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	if got.Bad != 1 || !got.Set.Contains(netip.MustParseAddr("192.0.2.7")) {
		t.Fatalf("bad %d, errors %v", got.Bad, got.Errors)
	}
}

// BenchmarkGCWithSet measures what a loaded set costs the garbage
// collector: the time of one full collection with a 1,000,000-prefix set
// live (Parapet collects every few MB of request garbage, so a set the
// collector must trace costs CPU on every request).
func BenchmarkGCWithSet(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var bld Builder
	for _, p := range randomPrefixes(1_000_000, r) {
		bld.Add(p)
	}
	set := bld.Build()
	runtime.GC()
	for b.Loop() {
		runtime.GC()
	}
	runtime.KeepAlive(set)
}
