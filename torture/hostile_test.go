package torture

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostile is one malformed or abusive request and the answer it must get.
type hostile struct {
	name string
	raw  string
	want int
}

func hostileRequests() []hostile {
	manyHeaders := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "X-H%d: v\r\n", i)
		}
		return b.String()
	}
	get := func(target, headers string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: a\r\n" + headers + "\r\n"
	}
	return []hostile{
		{"10k headers", get("/", manyHeaders(10000)), 431},
		{"1 MB header line", get("/", "X-Big: "+strings.Repeat("a", 1<<20)+"\r\n"), 431},
		{"1 MB cookie", get("/", "Cookie: a="+strings.Repeat("b", 1<<20)+"\r\n"), 431},
		{"1 MB request line", get("/"+strings.Repeat("a", 1<<20), ""), 431},
		{"10 KB URI", get("/"+strings.Repeat("a", 10<<10), ""), 414},
		{"NUL in header value", get("/", "X-A: a\x00b\r\n"), 400},
		{"NUL in header name", get("/", "X-\x00A: b\r\n"), 400},
		{"NUL in request line", get("/a\x00b", ""), 400},
		{"NUL percent-encoded in path", get("/a%00b", ""), 400},
		{"invalid UTF-8 raw in path", get("/caf\xe9", ""), 400},
		{"invalid UTF-8 encoded in path", get("/caf%e9/%ff%fe", ""), 400},
		{"overlong UTF-8 slash in path", get("/%c0%af..%c0%af/etc/passwd", ""), 400},
		{"control byte in path", get("/a\x01b", ""), 400},
		{"bad percent escape", get("/%zz", ""), 400},
		{"no leading slash", get("abc", ""), 400},
		{"asterisk target on GET", get("*", ""), 400},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"bad version", "GET / HTTP/9.9\r\nHost: a\r\n\r\n", 505},
		{"lowercase method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 405},
		{"garbage method", "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"header without colon", get("/", "NoColon\r\n"), 400},
		{"header name with space", get("/", "X A: b\r\n"), 400},
		{"binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 400},
	}
}

// Malformed and oversized requests get a 4xx (or the HTTP/1.1 505 for an
// unknown version) and never reach the app; the process never crashes,
// and its memory stays bounded while 8 clients send the biggest of them
// (1 MB header lines, 10k headers) 400 times over.
func TestHostileInputGets4xxWithBoundedMemory(t *testing.T) {
	up := newRawUpstream(t)
	p := startParapet(t, up.URL(), nil)
	probes := hostileRequests()
	for _, h := range probes {
		statuses := rawResponses(t, p.addr, h.raw, 1, 3*time.Second)
		if len(statuses) == 0 || statuses[0] != h.want {
			t.Errorf("%s: answers %v, want %d", h.name, statuses, h.want)
		}
	}
	if got := up.requests(); len(got) != 0 {
		t.Errorf("hostile requests reached the app: %+v", got)
	}
	p.mustBeAlive(t)

	// A warm-up round, then the flood: peak RSS may not grow by more
	// than 64 MB however many oversized requests arrive (each is cut off
	// at limits.max_header_bytes, 32 KB by default).
	big := []string{probes[0].raw, probes[1].raw, probes[2].raw, probes[3].raw}
	flood := func(rounds int) {
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < rounds; i++ {
					statuses := rawResponses(t, p.addr, big[(w+i)%len(big)], 1, 5*time.Second)
					if len(statuses) != 1 || statuses[0] != 431 {
						t.Errorf("flood request %d: answers %v, want 431", i, statuses)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	flood(5)
	_, before := p.memKB(t)
	flood(50)
	_, after := p.memKB(t)
	t.Logf("peak RSS %d KB before the flood, %d KB after 400 oversized requests", before, after)
	if after-before > 64<<10 {
		t.Errorf("peak RSS grew by %d KB during the flood", after-before)
	}
	p.mustBeAlive(t)
	if code, _ := p.get(t, "/after-the-flood"); code != 200 {
		t.Errorf("a normal request after the flood got %d", code)
	}
}

// Bytes 0x80-0xFF in a header value (obs-text, invalid UTF-8) are allowed
// by HTTP (RFC 9110 section 5.5) and old clients send Latin-1: they are
// forwarded unchanged, neither refused nor mangled, and crash nothing.
// (NUL and other control bytes in a header are refused: see above.)
func TestObsTextHeaderValuesPassUnchanged(t *testing.T) {
	up := newRawUpstream(t)
	p := startParapet(t, up.URL(), nil)
	value := "caf\xe9 \xff\xfe r\xc3\xa9sum\xc3\xa9"
	statuses := rawResponses(t, p.addr, "GET /menu/ HTTP/1.1\r\nHost: a\r\nX-Latin: "+value+"\r\nConnection: close\r\n\r\n", 1, 3*time.Second)
	if len(statuses) != 1 || statuses[0] != 200 {
		t.Fatalf("answers %v, want 200", statuses)
	}
	got := up.requests()
	if len(got) != 1 || got[0].Header.Get("X-Latin") != value {
		t.Fatalf("the app got %+v, want X-Latin %q byte for byte", got, value)
	}
	p.mustBeAlive(t)
}
