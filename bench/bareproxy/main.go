// Command bareproxy is the benchmark's baseline: a bare
// httputil.ReverseProxy with nothing else, tuned only to keep upstream
// connections alive as any production proxy would.
//
// With -spin and -garbage it also does a fixed amount of busy work per
// request, allocating short-lived objects, before proxying: a stand-in
// for attack detection's CPU and garbage that shows what any work of that
// size adds to the latency tail on this machine (bench/README.md).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "upstream URL")
	spin := flag.Duration("spin", 0, "busy work per request, calibrated at start (e.g. 250us)")
	garbage := flag.Int("garbage", 0, "bytes of short-lived 64-byte objects allocated per request")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		log.Fatalf("bad -upstream %q", *upstream)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 256}
	var h http.Handler = rp
	if *spin > 0 || *garbage > 0 {
		w := &work{iterations: calibrate(*spin), objects: *garbage / 64}
		h = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.do()
			rp.ServeHTTP(rw, r)
		})
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(os.Stdout, ln.Addr().String())
	log.Fatal(http.Serve(ln, h))
}

// work is the busy work done per request.
type work struct {
	iterations int
	objects    int
	sink       atomic.Uint64 // keeps the work from being optimized away; never read
}

type object struct {
	next *object
	_    [56]byte
}

func (w *work) do() {
	var head *object
	for i := 0; i < w.objects; i++ {
		head = &object{next: head}
	}
	x := spinFor(w.iterations)
	if head != nil {
		x++
	}
	w.sink.Add(x)
}

// spinFor runs n rounds of a multiply-add the compiler cannot remove.
func spinFor(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// calibrate returns how many rounds of spinFor take d, from the fastest
// of a few timed runs (the slower ones were interrupted).
func calibrate(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	const n = 1 << 20
	var runs []time.Duration
	var x uint64
	for i := 0; i < 7; i++ {
		start := time.Now()
		x += spinFor(n)
		runs = append(runs, time.Since(start))
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	rounds := int(float64(n) * float64(d) / float64(runs[0]))
	log.Printf("bareproxy: %v of busy work is %d rounds (checksum bit %d)", d, rounds, x&1)
	return rounds
}
