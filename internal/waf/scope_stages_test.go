package waf

import (
	"net/http"
	"strconv"
	"testing"
)

// One scope, one meaning in every stage that takes the full scope: an
// access rule and a rate-limit rule with the same hosts, paths,
// path_regex, methods and except_paths cover the same requests. paths
// and path_regex are one list (any of them), HEAD follows GET (and, for
// these restricting rules, OPTIONS), except_paths are taken out.
func TestAccessAndRateLimitRulesShareOneScope(t *testing.T) {
	const spec = `hosts: [.example.com]
    paths: [/a/]
    path_regex: ['^/b/\d+/$']
    methods: [GET]
    except_paths: [/a/open/]`
	up := newUpstream(t, nil)
	base := "trusted_proxies: [loopback]\ndetection: {enabled: false}\n"
	access := startParapet(t, up.URL, base+"rate_limits: {defaults: false}\nrules:\n  - id: scoped\n    status: 451\n    "+spec+"\n")
	limited := startParapet(t, up.URL, base+"rate_limits:\n  defaults: false\n  rules:\n  - id: scoped\n    limit: 1/hour burst 1\n    "+spec+"\n")
	cases := []struct {
		method, host, path string
		covered            bool
	}{
		{"GET", "www.example.com", "/a/x", true},
		{"HEAD", "www.example.com", "/a/x", true},
		{"OPTIONS", "www.example.com", "/a/x", true},
		{"POST", "www.example.com", "/a/x", false},
		{"GET", "www.example.com", "/b/12/", true},     // path_regex alone
		{"GET", "www.example.com", "/b/x/", false},     // neither
		{"GET", "www.example.com", "/a/open/x", false}, // excepted
		{"GET", "www.example.com", "/a//x", true},      // another spelling of /a/x
		{"GET", "example.com", "/a/x", true},
		{"GET", "example.org", "/a/x", false}, // another host
	}
	for i, c := range cases {
		send := func(p *parapet, ip string) int {
			req, _ := http.NewRequest(c.method, p.URL+c.path, nil)
			req.Host = c.host
			req.Header.Set("X-Forwarded-For", ip)
			resp, _ := do(t, req)
			return resp.StatusCode
		}
		ip := "192.0.2." + strconv.Itoa(10+i)
		if got := send(access, ip) == 451; got != c.covered {
			t.Errorf("access rule, %s %s%s: covered %v, want %v", c.method, c.host, c.path, got, c.covered)
		}
		send(limited, ip)
		if got := send(limited, ip) == 429; got != c.covered {
			t.Errorf("rate limit, %s %s%s: covered %v, want %v", c.method, c.host, c.path, got, c.covered)
		}
	}
}
