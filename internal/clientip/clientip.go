// Package clientip computes the real client address and scheme of a
// request from the connection peer and the forwarding headers of trusted
// proxies only.
//
// The rule: if the peer is not a trusted proxy, it is the client and every
// forwarding header is ignored. If it is, X-Forwarded-For is read from the
// right: the first hop not inside a trusted range is the client. The
// leftmost entry is never taken on trust, since the client writes it.
// X-Forwarded-Proto is read the same way, as one list over all its lines
// in order: its last value is the nearest trusted proxy's (one that adds
// its own line after the client's included); the values left of it are
// not believed.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// maxHops caps how many X-Forwarded-For entries are examined.
const maxHops = 64

// SpecError reports a trusted_proxies entry that is not a CIDR, an address
// or a preset.
type SpecError struct {
	Index  int
	Value  string
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("trusted_proxies[%d]: %s", e.Index, e.Reason)
}

// Presets are named groups of trusted proxies.
var presets = map[string][]string{
	"loopback": {"127.0.0.0/8", "::1/128"},
	"private":  {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "127.0.0.0/8", "::1/128"},
}

// Resolver computes the real client address and scheme. Build it once with
// New; it is safe for concurrent use.
type Resolver struct {
	specs    []string
	prefixes []netip.Prefix
	// trustPeer trusts the directly connecting peer whatever its address
	// (the "heroku" preset: the router connects from unpublished addresses).
	trustPeer bool
}

// New parses trusted proxy specs: CIDRs ("10.0.0.0/8"), addresses
// ("127.0.0.1", "::1") and presets: "heroku" (trust the connecting peer,
// and so exactly the hop it appends), "loopback", "private".
func New(specs []string) (*Resolver, error) {
	r := &Resolver{specs: append([]string(nil), specs...)}
	for i, s := range specs {
		s = strings.TrimSpace(s)
		if s == "heroku" {
			r.trustPeer = true
			continue
		}
		if list, ok := presets[s]; ok {
			for _, p := range list {
				r.prefixes = append(r.prefixes, netip.MustParsePrefix(p))
			}
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, &SpecError{Index: i, Value: s, Reason: fmt.Sprintf("%q is not an IP address, CIDR or preset (heroku, loopback, private)", s)}
			}
			r.prefixes = append(r.prefixes, unmapPrefix(p.Masked()))
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, &SpecError{Index: i, Value: s, Reason: fmt.Sprintf("%q is not an IP address, CIDR or preset (heroku, loopback, private)", s)}
		}
		a = a.Unmap()
		r.prefixes = append(r.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return r, nil
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// String returns the specs the resolver was built from.
func (r *Resolver) String() string { return strings.Join(r.specs, ",") }

// Trusts reports whether addr is inside a trusted range (the "heroku"
// preset's peer trust is not an address range and is not counted).
func (r *Resolver) Trusts(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range r.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Result is what Resolve found.
type Result struct {
	// IP is the client address (the zero Addr if the peer is unparsable).
	IP netip.Addr
	// Scheme is "http" or "https" as the client used it.
	Scheme string
	// Trusted says the peer was a trusted proxy, so its headers were used.
	Trusted bool
	// SchemeFromProxy says Scheme came from the trusted proxy's
	// X-Forwarded-Proto.
	SchemeFromProxy bool
	// ReportedByRange says the hop that reported IP (the nearest trusted
	// hop to the client) is inside a trusted address range, rather than
	// the peer trusted only by the "heroku" preset: what that proxy adds
	// of its own (a CDN's CF-Connecting-IP) may be believed.
	ReportedByRange bool
}

// Resolve computes the client of req from r.RemoteAddr and every
// X-Forwarded-For and X-Forwarded-Proto line.
func (r *Resolver) Resolve(req *http.Request) Result {
	return r.ResolveParts(req.RemoteAddr, req.Header.Values("X-Forwarded-For"), req.Header.Values("X-Forwarded-Proto"), req.TLS != nil)
}

// ResolveParts is Resolve over raw parts: the X-Forwarded-For and
// X-Forwarded-Proto header lines in the order received.
func (r *Resolver) ResolveParts(remoteAddr string, xff, xfp []string, tls bool) Result {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	peer, _ := parseHop(remoteAddr)
	trusted := peer.IsValid() && (r.trustPeer || r.Trusts(peer))
	if !trusted {
		return Result{IP: peer, Scheme: scheme}
	}
	res := Result{IP: peer, Scheme: scheme, Trusted: true}
	// reporter is whether the nearest trusted hop so far is trusted by
	// its address.
	reporter := r.Trusts(peer)
	res.ReportedByRange = reporter // no hops: the peer speaks for itself
	switch s := lastValue(xfp); {
	case strings.EqualFold(s, "https"):
		res.Scheme, res.SchemeFromProxy = "https", true
	case strings.EqualFold(s, "http"):
		res.Scheme, res.SchemeFromProxy = "http", true
	}
	// Walk the hops from the right without allocating: the header lines
	// in reverse, each line's comma-separated entries in reverse.
	hops := 0
	for li := len(xff) - 1; li >= 0; li-- {
		rest := xff[li]
		for {
			entry := rest
			i := strings.LastIndexByte(rest, ',')
			if i >= 0 {
				entry, rest = rest[i+1:], rest[:i]
			}
			if entry = strings.TrimSpace(entry); entry != "" {
				hops++
				addr, ok := parseHop(entry)
				if !ok || hops > maxHops {
					return res // garbage: keep the nearest hop we could believe (and who reported it)
				}
				res.IP = addr
				res.ReportedByRange = reporter
				if !r.Trusts(addr) {
					return res
				}
				reporter = true
			}
			if i < 0 {
				break
			}
		}
	}
	return res
}

// lastValue returns the rightmost non-empty comma-separated value over
// the lines, trimmed.
func lastValue(lines []string) string {
	for li := len(lines) - 1; li >= 0; li-- {
		rest := lines[li]
		for rest != "" {
			v := rest
			if i := strings.LastIndexByte(rest, ','); i >= 0 {
				v, rest = rest[i+1:], rest[:i]
			} else {
				rest = ""
			}
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}

// parseHop parses one address as found in RemoteAddr or X-Forwarded-For:
// "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]:443", "2001:db8::1", optionally
// in double quotes. IPv4-mapped IPv6 addresses are unmapped.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Zone() == "" && a.Is6() {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
