package edge

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// FuzzGuards parses arbitrary request lines and Host headers the way the
// server does and runs the edge guards on them: never a panic, and a
// request that passes has a path that is valid UTF-8 without control
// bytes and a Host the allowed hosts accept.
func FuzzGuards(f *testing.F) {
	for _, s := range [][2]string{
		{"/articles/?page=2", "www.example.com"},
		{"/a%00b", "example.com"},
		{"/caf%e9", "EXAMPLE.com:8443"},
		{"*", "example.com"},
		{"http://evil.example/x", "example.com"},
		{"/%c0%af", "[::1]:80"},
		{"//x/../../etc/passwd", "example.com@evil"},
	} {
		f.Add(s[0], s[1], "GET")
	}
	g := New(config.Edge{AllowedHosts: []string{"example.com", ".example.org", "[::1]"},
		AllowedMethods: []string{"GET", "POST", "OPTIONS"}}, config.Default().Limits, config.Default().WebSockets)
	f.Fuzz(func(t *testing.T, target, host, method string) {
		raw := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server answers 400 before any guard runs
		}
		d := g.Check(context.Background(), r, &decision.Info{Scheme: "http"})
		if d.Decided() {
			if d.Status < 300 || d.Status > 499 {
				t.Fatalf("guard answered %d", d.Status)
			}
			return
		}
		p := r.URL.Path
		if !utf8.ValidString(p) || strings.ContainsFunc(p, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			t.Fatalf("path %q passed the guards", p)
		}
		if !g.HostAllowed(r.Host) {
			t.Fatalf("host %q passed but is not allowed", r.Host)
		}
	})
}
