package waf

import (
	"net/http"
	"reflect"
	"testing"
)

// Underscore fields go; fields a Connection header names go, except the
// forwarding fields; Connection keeps only close, keep-alive and upgrade.
func TestSanitizeHeaders(t *testing.T) {
	cases := []struct {
		name       string
		in, want   http.Header
		underscore bool
	}{
		{"browser", http.Header{"Connection": {"keep-alive"}, "Accept": {"*/*"}},
			http.Header{"Connection": {"keep-alive"}, "Accept": {"*/*"}}, false},
		{"underscores", http.Header{"X_forwarded_for": {"6.6.6.6"}, "Script_name": {"/x"}, "X-Forwarded-For": {"1.2.3.4"}},
			http.Header{"X-Forwarded-For": {"1.2.3.4"}}, true},
		{"connection names fields", http.Header{"Connection": {"X-Country, close", "Cookie , Upgrade"}, "X-Country": {"FR"}, "Cookie": {"a=b"}, "Upgrade": {"websocket"}},
			http.Header{"Connection": {"close, Upgrade"}, "Upgrade": {"websocket"}}, false},
		{"forwarding fields stay", http.Header{"Connection": {"X-Forwarded-For, x-request-id, X-Forwarded-Proto, Forwarded, X-Real-IP, X-Forwarded-Host"}, "X-Forwarded-For": {"1.2.3.4"}, "X-Request-Id": {"r1"}},
			http.Header{"X-Forwarded-For": {"1.2.3.4"}, "X-Request-Id": {"r1"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := sanitizeHeaders(tc.in, "X-Request-Id")
			if !reflect.DeepEqual(tc.in, tc.want) || u != tc.underscore {
				t.Fatalf("got %v (underscore %v), want %v (%v)", tc.in, u, tc.want, tc.underscore)
			}
		})
	}
}

// A client cannot have the proxy remove a header Parapet set by naming
// it in Connection: the app gets the country Parapet computed.
func TestConnectionCannotStripParapetsHeaders(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "trusted_proxies: [loopback]\ngeo:\n  country_header: X-Country\n")
	resp, _ := get(t, p.URL+"/", "X-Forwarded-For", "8.8.8.8", "Connection", "X-Country, X-Forwarded-For, X-Real-Ip, X-Request-Id")
	r, _ := up.last()
	if resp.StatusCode != 200 || r.Header.Get("X-Country") != "US" || r.Header.Get("X-Forwarded-For") != "8.8.8.8" ||
		r.Header.Get("X-Real-Ip") != "8.8.8.8" || r.Header.Get("X-Request-Id") != resp.Header.Get("X-Request-Id") {
		t.Fatalf("%d; upstream got X-Country %q, X-Forwarded-For %q, X-Real-Ip %q, X-Request-Id %q (response's %q)", resp.StatusCode,
			r.Header.Get("X-Country"), r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Real-Ip"), r.Header.Get("X-Request-Id"), resp.Header.Get("X-Request-Id"))
	}
}

// BenchmarkSanitizeHeaders is what the header pass adds to every request
// (a browser's dozen fields, nothing to drop).
func BenchmarkSanitizeHeaders(b *testing.B) {
	h := http.Header{
		"User-Agent": {"Mozilla/5.0"}, "Accept": {"text/html"}, "Accept-Language": {"en-GB"}, "Accept-Encoding": {"gzip, br"},
		"Cookie": {"sessionid=abc"}, "Referer": {"https://x/"}, "Connection": {"keep-alive"}, "Sec-Fetch-Site": {"same-origin"},
		"Sec-Fetch-Mode": {"navigate"}, "Sec-Fetch-Dest": {"document"}, "Upgrade-Insecure-Requests": {"1"}, "Cache-Control": {"max-age=0"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if sanitizeHeaders(h, "X-Request-Id") {
			b.Fatal("dropped a field")
		}
	}
}
