package detect

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// typicalGET is a Django page view as a browser sends it: cookies,
// a query string, the usual headers.
func typicalGET() *http.Request {
	r := httptest.NewRequest("GET", "http://www.example.com/blog/2025/03/union-station-reopens/?utm_source=newsletter&utm_medium=email&page=2", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
	r.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Referer", "https://www.example.com/blog/")
	r.Header.Set("Cookie", "csrftoken=AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY; sessionid=.eJxVjEEOwiAQRe_C2hCgA1iX7j0DGZhBqgaS0q6Md2-TdKHb_957bxFwXUpYO89hInEVWpx-t4jpyXUH9MB6bzK1usxTlLsiD9rlrRG_rof7d1Cwl612YAk8RgCvEVWOqJVnm8aotHODTYMBpBzT2ZvMYAdMiCMrY9kbS158vtiQN-A:1rz")
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	return r
}

// form2KB is a 2 KB urlencoded form POST (a comment with a CSRF token).
func form2KB() string {
	v := url.Values{
		"csrfmiddlewaretoken": {"AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY"},
		"name":                {"Siobhán O'Brien"},
		"email":               {"siobhan@example.ie"},
		"subject":             {"Question about the new timetable"},
		"comment":             {strings.Repeat("I'd like to know whether the union station stop is served on Sundays - thanks! ", 22)},
	}
	return v.Encode()
}

func formPOST(body string) *http.Request {
	r := typicalGET()
	r.Method = "POST"
	r.URL.RawQuery = ""
	r.RequestURI = "/comments/"
	r.URL.Path = "/comments/"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.ContentLength = int64(len(body))
	r.Body = io.NopCloser(strings.NewReader(body))
	return r
}

func benchStage(b *testing.B, yaml string) *Stage {
	b.Helper()
	if yaml == "off" {
		return nil
	}
	return stageFromYAML(b, yaml)
}

// BenchmarkDetect measures the stage on a typical GET and a 2 KB form
// POST (the body read by the upstream after inspection, as the proxy
// does), against the same request with detection off, in one run:
//
//	go test -run '^$' -bench Detect -benchmem -benchtime 1s ./internal/detect/
func BenchmarkDetect(b *testing.B) {
	body := form2KB()
	if len(body) < 1900 || len(body) > 2200 {
		b.Fatalf("form is %d bytes, want about 2 KB", len(body))
	}
	for _, cfg := range []struct{ name, yaml string }{
		{"off", "off"},
		{"on-goregexp", "goregexp"}, // first: built before RE2 is registered
		{"on-goregexp-rxprefilter", "goregexp-prefilter"},
		{"on-re2", ""}, // the default: New registers RE2
		{"on-re2-noanalyzer", "detection:\n  analyzer: false\n"}, // the CRS alone: what the analyzer costs
		{"on-re2-noprofile", "detection:\n  django_profile: false\n"},
	} {
		var s *Stage
		switch cfg.yaml {
		case "off":
		case "goregexp", "goregexp-prefilter":
			if re2Registered() {
				b.Logf("skipping %s: RE2 was registered by an earlier test (run with -run '^$')", cfg.name)
				continue
			}
			c := config.Default()
			if cfg.yaml == "goregexp-prefilter" {
				c.Detection.Directives = "SecRxPreFilter On"
			}
			var err error
			if s, err = build(c); err != nil {
				b.Fatal(err)
			}
		default:
			s = benchStage(b, cfg.yaml)
		}
		n := 0
		for _, req := range []struct {
			name string
			make func() *http.Request
		}{
			{"GET", typicalGET},
			// The same GET with query values never seen before (a search
			// box, an id): @rx cannot answer them from memory.
			{"GETnew", func() *http.Request {
				n++
				r := typicalGET()
				r.URL.RawQuery = fmt.Sprintf("q=union+station+timetable+%d&page=%d&utm_source=newsletter-%d", n, n, n)
				r.RequestURI = r.URL.Path + "?" + r.URL.RawQuery
				return r
			}},
			{"POST2KB", func() *http.Request { return formPOST(body) }},
		} {
			b.Run(req.name+"/detect-"+cfg.name, func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b)()
				for b.Loop() {
					r := req.make()
					if s != nil {
						in := &decision.Info{ID: nextRequestID()}
						if d := s.Check(r.Context(), r, in); d.Decided() {
							b.Fatalf("blocked: %s", d.Reason)
						}
					}
					_, _ = io.Copy(io.Discard, r.Body)
				}
			})
		}
	}
}

var requestIDs atomic.Uint64

// nextRequestID is a request id as the chain gives each request: unique
// (the @rx operator remembers a miss once a value comes back in another
// request).
func nextRequestID() string { return "bench-" + strconv.FormatUint(requestIDs.Add(1), 10) }

// reportCPU, deferred at the start of a benchmark, reports the process's
// CPU time (user and system, all threads: the garbage collector's work
// too) per operation as cpu-ns/op. On a machine shared with other work it
// moves less than ns/op, which counts time spent waiting for a core.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestBuildTimeAndMemory reports what building the stage costs (at
// start-up and on every reload) and the memory it keeps, with Go's regexp
// and with RE2, and checks that reloads do not pile up memory. Run it
// alone for clean numbers: go test -run BuildTime -v ./internal/detect/
func TestBuildTimeAndMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures (meaningless under the race detector)")
	}
	measure := func(name string, build func(*config.Config) (*Stage, error)) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rss := rssKB()
		start := time.Now()
		s, err := build(config.Default())
		if err != nil {
			t.Fatal(err)
		}
		elapsed := time.Since(start)
		r := typicalGET()
		s.Check(r.Context(), r, &decision.Info{ID: "m"}) // first request (lazy set-up)
		first := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		t.Logf("%s: build %v (with first request %v), Go heap kept %.1f MB, RSS grew %.1f MB",
			name, elapsed.Round(time.Millisecond), first.Round(time.Millisecond),
			float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), float64(rssKB()-rss)/1024)
		start = time.Now()
		if _, err := build(config.Default()); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: second build (a reload): %v", name, time.Since(start).Round(time.Millisecond))
		runtime.KeepAlive(s)

		// Reloads do not pile up memory: twenty more builds, each replacing
		// the last (in-flight requests aside, nothing keeps an old one).
		// Measured from the heap after five warm-up reloads, so caches
		// that fill once (bounded memos, shared automata) do not count;
		// a kept rule set is ~10 MB, twenty of them ~200 MB.
		reload := func(n int) {
			for i := 0; i < n; i++ {
				if s, err = build(config.Default()); err != nil {
					t.Fatal(err)
				}
				r := typicalGET()
				s.Check(r.Context(), r, &decision.Info{ID: "m"})
			}
		}
		reload(5)
		runtime.GC()
		runtime.ReadMemStats(&before)
		reload(20)
		runtime.GC()
		runtime.ReadMemStats(&after)
		grew := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		t.Logf("%s: heap after 20 reloads grew %.1f MB", name, grew)
		if name == "re2" && grew > 8 { // the engine Parapet ships
			t.Errorf("%s: 20 reloads kept %.1f MB more heap: old rule sets are not released", name, grew)
		}
	}
	if !re2Registered() {
		measure("go-regexp", build)
	}
	measure("re2", New)
}

// rssKB is the process's resident set size (Linux), 0 elsewhere.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// BenchmarkDetectInFlight runs 2 KB and 64 KB form POSTs from 64
// goroutines at once and reports the peak heap in use above the idle
// baseline per request in flight (an upper bound: garbage not yet
// collected counts too).
func BenchmarkDetectInFlight(b *testing.B) {
	s := stageFromYAML(b, "")
	for _, size := range []int{2 << 10, 64 << 10} {
		word := "I%27d+like+to+know+whether+the+union+station+stop+is+served+on+Sundays+-+thanks%21+"
		body := "csrfmiddlewaretoken=AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY&comment=" + strings.Repeat(word, size/len(word))
		b.Run(strconv.Itoa(size>>10)+"KB", func(b *testing.B) {
			const workers = 64
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			go func() {
				var m runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(2 * time.Millisecond):
					}
					runtime.ReadMemStats(&m)
					if m.HeapInuse > peak.Load() {
						peak.Store(m.HeapInuse)
					}
				}
			}()
			b.SetParallelism(workers / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := formPOST(body)
					if d := s.Check(r.Context(), r, &decision.Info{ID: nextRequestID()}); d.Decided() {
						b.Errorf("blocked: %s", d.Reason)
						return
					}
					_, _ = io.Copy(io.Discard, r.Body)
				}
			})
			close(stop)
			if p := peak.Load(); p > base.HeapInuse {
				b.ReportMetric(float64(p-base.HeapInuse)/workers/1024, "peakKB/inflight")
			}
		})
	}
}

// json10KB is a benign 10 KB JSON API write: a list of records, each a few
// short fields (about 600 values in all, each one a CRS argument).
func json10KB() string {
	words := strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit eiusmod tempor incididunt labore magna aliqua")
	text := func(i, n int) string {
		out := make([]string, n)
		for j := range out {
			out[j] = words[(i*7+j*3)%len(words)]
		}
		return strings.Join(out, " ")
	}
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 10<<10; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":%q,"email":"user%d@example.com","tags":[%q,%q],"note":%q}`, i, text(i, 3), i, words[i%len(words)], words[(i+5)%len(words)], text(i+1, 12))
	}
	b.WriteString(`]}`)
	return b.String()
}

// BenchmarkDetectJSON10KB measures the stage on a 10 KB JSON POST against
// the same request with detection off:
//
//	go test -run '^$' -bench DetectJSON -benchmem ./internal/detect/
func BenchmarkDetectJSON10KB(b *testing.B) {
	body := json10KB()
	for _, name := range []string{"off", "on", "on-nofilter"} {
		var s *Stage
		switch name {
		case "on":
			s = stageFromYAML(b, "")
		case "on-nofilter":
			s = stageWithoutFilter(b, "")
		}
		b.Run("detect-"+name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				r := formPOST(body)
				r.Header.Set("Content-Type", "application/json")
				r.RequestURI, r.URL.Path = "/api/items/", "/api/items/"
				if s != nil {
					if d := s.Check(r.Context(), r, &decision.Info{ID: nextRequestID()}); d.Decided() {
						b.Fatalf("blocked: %s", d.Reason)
					}
				}
				_, _ = io.Copy(io.Discard, r.Body)
			}
		})
	}
}

// BenchmarkAnalyzerCost measures what the second stage (the analyzer and
// the verdict) adds to the CRS: each iteration sends the same kind of
// request through the stage with the analyzer and through the stage
// without it, alternately, so both see the same machine (a shared
// machine's noise moves both), and reports the median time of each and
// their ratio:
//
//	go test -run '^$' -bench AnalyzerCost -benchtime 2000x ./internal/detect/
func BenchmarkAnalyzerCost(b *testing.B) {
	on := benchStage(b, "")
	off := benchStage(b, "detection:\n  analyzer: false\n")
	body := form2KB()
	n := 0
	for _, req := range []struct {
		name string
		make func() *http.Request
	}{
		{"GET", typicalGET},
		{"GETnew", func() *http.Request {
			n++
			r := typicalGET()
			r.URL.RawQuery = fmt.Sprintf("q=union+station+timetable+%d&page=%d&utm_source=newsletter-%d", n, n, n)
			r.RequestURI = r.URL.Path + "?" + r.URL.RawQuery
			return r
		}},
		{"POST2KB", func() *http.Request { return formPOST(body) }},
		{"POST2KBnew", func() *http.Request {
			n++
			return formPOST(body + "&note=" + strconv.Itoa(n) + "+seats+left+on+the+8%3A15")
		}},
		// A comment never seen before (every comment is): nothing of it
		// is remembered, by the rule set or the analyzer.
		{"POST2KBfresh", func() *http.Request {
			n++
			return formPOST(freshForm(n))
		}},
	} {
		b.Run(req.name, func(b *testing.B) {
			var tOn, tOff []time.Duration
			run := func(s *Stage, r *http.Request) time.Duration {
				start := time.Now()
				if d := s.Check(r.Context(), r, &decision.Info{ID: nextRequestID()}); d.Decided() {
					b.Fatalf("blocked: %s", d.Reason)
				}
				_, _ = io.Copy(io.Discard, r.Body)
				return time.Since(start)
			}
			for i := 0; b.Loop(); i++ {
				// The order alternates too: neither always runs first.
				if i%2 == 0 {
					tOn = append(tOn, run(on, req.make()))
					tOff = append(tOff, run(off, req.make()))
				} else {
					tOff = append(tOff, run(off, req.make()))
					tOn = append(tOn, run(on, req.make()))
				}
			}
			mOn, mOff := median(tOn), median(tOff)
			b.ReportMetric(float64(mOn.Nanoseconds()), "analyzer-ns/op")
			b.ReportMetric(float64(mOff.Nanoseconds()), "crs-only-ns/op")
			b.ReportMetric(float64(mOn)/float64(mOff), "ratio")
		})
	}
}

// freshForm is form2KB with a comment of the same length no request sent
// before.
func freshForm(n int) string {
	var c strings.Builder
	for i := 0; c.Len() < 1750; i++ {
		fmt.Fprintf(&c, "Comment %d, line %d: I'd like to know whether the union station stop is served on Sundays - thanks! ", n, i)
	}
	v := url.Values{
		"csrfmiddlewaretoken": {"AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY"},
		"name":                {"Siobhán O'Brien"},
		"email":               {"siobhan@example.ie"},
		"subject":             {"Question about the new timetable " + strconv.Itoa(n)},
		"comment":             {c.String()},
	}
	return v.Encode()
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// multipart64KB is bench/run.sh's multipart64k body: a text field and a
// 64 KB PNG-like file, as a browser uploads a photo with its title.
func multipart64KB() (contentType string, body []byte) {
	const boundary = "----ParapetBench7MA4YWxkTrZu0gW"
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	content := make([]byte, 64<<10)
	copy(content, "\x89PNG\r\n")
	for i := 6; i < len(content); i++ {
		content[i] = alnum[(i*7919)%len(alnum)]
	}
	var b strings.Builder
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n")
	b.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n")
	b.Write(content)
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return "multipart/form-data; boundary=" + boundary, []byte(b.String())
}

// BenchmarkDetectMultipart measures the stage on a 64 KB upload (a photo
// and its title), the body then read by the upstream as the proxy does:
//
//	go test -run '^$' -bench DetectMultipart -benchmem ./internal/detect/
func BenchmarkDetectMultipart(b *testing.B) {
	s := stageFromYAML(b, "")
	ct, body := multipart64KB()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		r := formPOST("")
		r.RequestURI, r.URL.Path = "/upload/", "/upload/"
		r.Header.Set("Content-Type", ct)
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		r.ContentLength = int64(len(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		in := &decision.Info{ID: nextRequestID()}
		if d := s.Check(r.Context(), r, in); d.Decided() {
			b.Fatalf("blocked: %s", d.Reason)
		}
		if n, _ := io.Copy(io.Discard, r.Body); n != int64(len(body)) {
			b.Fatalf("upstream read %d bytes, want %d", n, len(body))
		}
	}
}
