package clientip

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	cases := []struct {
		name    string
		trusted []string
		peer    string
		xff     []string
		xfp     string
		tls     bool
		ip      string
		scheme  string
	}{
		{"untrusted peer, spoofed headers ignored", nil, "203.0.113.5:4000", []string{"1.1.1.1"}, "https", false, "203.0.113.5", "http"},
		{"untrusted peer over TLS", []string{"10.0.0.0/8"}, "203.0.113.5:4000", []string{"1.1.1.1"}, "http", true, "203.0.113.5", "https"},
		{"heroku: rightmost hop is the client", []string{"heroku"}, "10.1.2.3:5000", []string{"6.6.6.6, 203.0.113.7"}, "https", false, "203.0.113.7", "https"},
		{"heroku: any peer address is the router", []string{"heroku"}, "172.20.0.9:5000", []string{"198.51.100.1"}, "http", false, "198.51.100.1", "http"},
		{"heroku: no XFF means the peer", []string{"heroku"}, "10.1.2.3:5000", nil, "", false, "10.1.2.3", "http"},
		{"heroku plus a CDN in front", []string{"heroku", "192.0.2.0/24"}, "10.1.2.3:5000", []string{"6.6.6.6, 198.51.100.9, 192.0.2.10"}, "https", false, "198.51.100.9", "https"},
		{"two trusted proxies", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.8, 10.0.0.2"}, "", false, "203.0.113.8", "http"},
		{"all hops trusted: leftmost", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"10.9.9.9, 10.0.0.2"}, "", false, "10.9.9.9", "http"},
		{"garbage before an untrusted hop: nearest trusted", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"203.0.113.1, bogus, 10.0.0.2"}, "", false, "10.0.0.2", "http"},
		{"garbage as the only hop: the peer", []string{"loopback"}, "127.0.0.1:1", []string{"unknown"}, "", false, "127.0.0.1", "http"},
		{"ports and brackets", []string{"loopback"}, "[::1]:8080", []string{"[2001:db8::5]:443"}, "", false, "2001:db8::5", "http"},
		{"ipv4 with port", []string{"loopback"}, "127.0.0.1:1", []string{"198.51.100.4:5555"}, "", false, "198.51.100.4", "http"},
		{"quoted entry", []string{"loopback"}, "127.0.0.1:1", []string{`"198.51.100.4"`}, "", false, "198.51.100.4", "http"},
		{"ipv6 hop", []string{"loopback"}, "127.0.0.1:1", []string{"2001:db8::1"}, "", false, "2001:db8::1", "http"},
		{"ipv4-mapped peer and hop", []string{"127.0.0.1"}, "[::ffff:127.0.0.1]:9", []string{"::ffff:198.51.100.3"}, "", false, "198.51.100.3", "http"},
		{"several XFF lines read as one list", []string{"10.0.0.0/8"}, "10.0.0.1:1", []string{"6.6.6.6, 198.51.100.2", "10.0.0.7"}, "", false, "198.51.100.2", "http"},
		{"empty entries skipped", []string{"loopback"}, "127.0.0.1:1", []string{"198.51.100.2, , "}, "", false, "198.51.100.2", "http"},
		{"XFP: rightmost value", []string{"loopback"}, "127.0.0.1:1", nil, "http, https", false, "127.0.0.1", "https"},
		{"XFP garbage falls back", []string{"loopback"}, "127.0.0.1:1", nil, "javascript", true, "127.0.0.1", "https"},
		{"XFP upper case", []string{"loopback"}, "127.0.0.1:1", nil, "HTTPS", false, "127.0.0.1", "https"},
		{"private preset", []string{"private"}, "192.168.1.1:1", []string{"8.8.8.8"}, "", false, "8.8.8.8", "http"},
		{"unparsable peer is untrusted", []string{"heroku"}, "@", []string{"8.8.8.8"}, "https", false, "invalid IP", "http"},
		// Repeated X-Forwarded-Proto lines are read like X-Forwarded-For's:
		// one list over the lines in order, the nearest hop's value last.
		{"XFP lines: the last line's value", []string{"loopback"}, "127.0.0.1:1", nil, "https|http", false, "127.0.0.1", "http"},
		{"XFP lines: the last value of the last line", []string{"loopback"}, "127.0.0.1:1", nil, "http|http, https", false, "127.0.0.1", "https"},
		{"XFP lines: empty values skipped", []string{"loopback"}, "127.0.0.1:1", nil, "http|https, ", false, "127.0.0.1", "https"},
		{"XFF and XFP lines read alike", []string{"heroku"}, "10.1.2.3:5000", []string{"6.6.6.6", "203.0.113.7"}, "https|http", false, "203.0.113.7", "http"},
		{"XFP lines from an untrusted peer", nil, "203.0.113.5:4000", []string{"1.1.1.1", "2.2.2.2"}, "https|https", false, "203.0.113.5", "http"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			got := r.ResolveParts(tc.peer, tc.xff, lines(tc.xfp), tc.tls)
			if got.IP.String() != tc.ip || got.Scheme != tc.scheme {
				t.Fatalf("got %s %s, want %s %s", got.IP, got.Scheme, tc.ip, tc.scheme)
			}
		})
	}
}

// lines splits "a|b" into header lines; "" is no line.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}

// Resolve reads every X-Forwarded-Proto line of a request, like every
// X-Forwarded-For line: a trusted proxy that adds its own line after the
// client's (HAProxy's add-header) is believed, the client's is not.
func TestResolveReadsEveryForwardingLine(t *testing.T) {
	r, _ := New([]string{"loopback"})
	req, _ := http.NewRequest("GET", "http://x/", nil)
	req.RemoteAddr = "127.0.0.1:5000"
	req.Header["X-Forwarded-For"] = []string{"6.6.6.6", "198.51.100.2"}
	req.Header["X-Forwarded-Proto"] = []string{"https", "http"}
	if got := r.Resolve(req); got.IP.String() != "198.51.100.2" || got.Scheme != "http" {
		t.Fatalf("got %s %s, want 198.51.100.2 http: the last line is the trusted proxy's", got.IP, got.Scheme)
	}
}

func TestTooManyHopsStops(t *testing.T) {
	r, _ := New([]string{"10.0.0.0/8"})
	hops := make([]string, 100)
	for i := range hops {
		hops[i] = "10.0.0.5"
	}
	hops[0] = "198.51.100.1"
	got := r.ResolveParts("10.0.0.1:1", []string{strings.Join(hops, ",")}, nil, false)
	if got.IP.String() != "10.0.0.5" {
		t.Fatalf("got %s: past %d hops the walk must stop", got.IP, maxHops)
	}
}

func TestBadSpecsNameTheirIndex(t *testing.T) {
	for i, bad := range [][]string{{"heroku", "10.0.0/8"}, {"nonsense"}, {"127.0.0.1", "::1", "fe80::1%eth0"}} {
		_, err := New(bad)
		var se *SpecError
		if !errors.As(err, &se) || se.Index != len(bad)-1 || !strings.Contains(se.Reason, "not an IP address, CIDR or preset") {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

// FuzzResolveParts checks the invariants on any input: no panic, the
// client is the peer or one of the hops, an untrusted peer is the client.
func FuzzResolveParts(f *testing.F) {
	f.Add("10.0.0.1:1", "6.6.6.6, 203.0.113.7", "https", false)
	f.Add("127.0.0.1:80", "[2001:db8::1]:443, \"1.2.3.4\"", "http, https", true)
	f.Add("@", ",,,", "", false)
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:1.2.3.4,10.0.0.9", "HTTPS", false)
	trusted, _ := New([]string{"10.0.0.0/8", "loopback"})
	heroku, _ := New([]string{"heroku"})
	f.Fuzz(func(t *testing.T, peer, xff, xfp string, tls bool) {
		for _, r := range []*Resolver{trusted, heroku} {
			got := r.ResolveParts(peer, []string{xff}, lines(xfp), tls)
			if got.Scheme != "http" && got.Scheme != "https" {
				t.Fatalf("scheme %q", got.Scheme)
			}
			p, _ := parseHop(peer)
			if got.IP == p {
				continue
			}
			if !got.Trusted {
				t.Fatalf("untrusted peer %q but client %s", peer, got.IP)
			}
			found := false
			for _, h := range strings.Split(xff, ",") {
				if a, ok := parseHop(h); ok && a == got.IP {
					found = true
				}
			}
			if !found {
				t.Fatalf("client %s is neither the peer nor a hop of %q", got.IP, xff)
			}
		}
	})
}

func FuzzNew(f *testing.F) {
	f.Add("heroku,10.0.0.0/8,::1")
	f.Add("private, 1.2.3.4/33")
	f.Fuzz(func(t *testing.T, specs string) {
		r, err := New(strings.Split(specs, ","))
		if (r == nil) == (err == nil) {
			t.Fatalf("want exactly one of resolver and error: %v %v", r, err)
		}
	})
}

func BenchmarkResolveHeroku(b *testing.B) {
	r, _ := New([]string{"heroku"})
	xff := []string{"6.6.6.6, 203.0.113.7"}
	b.ReportAllocs()
	for b.Loop() {
		r.ResolveParts("10.1.2.3:5000", xff, []string{"https"}, false)
	}
}

// A CDN's own client-address headers are believed only when the hop that
// reported the client is trusted by its address: Heroku's router (trusted
// as the peer, whatever its address) passes a client's CF-Connecting-IP
// untouched.
func TestReportedByRange(t *testing.T) {
	cases := []struct {
		name   string
		specs  []string
		peer   string
		xff    []string
		client string
		want   bool
	}{
		{"heroku alone: the router reported the client", []string{"heroku"}, "10.1.2.3:5000", []string{"203.0.113.7"}, "203.0.113.7", false},
		{"heroku alone, spoofed chain", []string{"heroku"}, "10.1.2.3:5000", []string{"192.0.2.10, 203.0.113.7"}, "203.0.113.7", false},
		{"heroku plus a trusted CDN", []string{"heroku", "192.0.2.0/24"}, "10.1.2.3:5000", []string{"198.51.100.9, 192.0.2.10"}, "198.51.100.9", true},
		{"a trusted load balancer reported the client", []string{"10.0.0.0/8"}, "10.1.2.3:5000", []string{"198.51.100.9"}, "198.51.100.9", true},
		{"a trusted CDN connecting directly, no hops", []string{"192.0.2.0/24"}, "192.0.2.10:443", nil, "192.0.2.10", true},
		{"heroku router with no hops", []string{"heroku"}, "10.1.2.3:5000", nil, "10.1.2.3", false},
		{"untrusted peer", []string{"192.0.2.0/24"}, "198.51.100.1:1", []string{"8.8.8.8"}, "198.51.100.1", false},
	}
	for _, c := range cases {
		r, err := New(c.specs)
		if err != nil {
			t.Fatal(err)
		}
		got := r.ResolveParts(c.peer, c.xff, nil, false)
		if got.IP.String() != c.client || got.ReportedByRange != c.want {
			t.Errorf("%s: client %v reported by a trusted range %v, want %s %v", c.name, got.IP, got.ReportedByRange, c.client, c.want)
		}
	}
}
