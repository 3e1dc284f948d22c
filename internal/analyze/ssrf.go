package analyze

import (
	"net/netip"
	"strconv"
	"strings"
)

// ssrfSchemes are URL schemes a server-side fetcher should never be
// handed: they reach files, or speak raw protocols to internal services
// (gopher:// and dict:// write arbitrary bytes to Redis or memcached).
var ssrfSchemes = map[string]bool{
	"gopher": true, "dict": true, "file": true, "ldap": true, "ldapi": true, "tftp": true, "jar": true,
	"netdoc": true, "expect": true, "php": true, "phar": true, "sftp": true, "smb": true,
}

// metadataHosts are cloud instance metadata services by name.
var metadataHosts = map[string]bool{
	"metadata.google.internal": true, "metadata": true, "metadata.goog": true, "instance-data": true,
	"instance-data.ec2.internal": true, "metadata.azure.com": true, "metadata.packet.net": true,
	"metadata.platformequinix.com": true,
}

// ssrf judges URLs aimed at internal services: raw-protocol schemes, the
// cloud metadata address in any spelling (decimal, hex, octal, short,
// IPv6-mapped) or by name, and loopback or private addresses spelled so
// no person would type them. A plain http://localhost or
// http://10.0.0.5 is Medium (developers do type those).
func ssrf(t *text, _ Place) Finding {
	s := strings.TrimSpace(t.s)
	i := strings.Index(s, "://")
	if i < 0 {
		if strings.HasPrefix(s, "//") {
			return judgeURL(s)
		}
		return Finding{}
	}
	var best Finding
	for i > 0 {
		start := i
		for start > 0 && isSchemeByte(s[start-1]) {
			start--
		}
		if start < i {
			f := judgeURL(s[start:])
			if start > 0 && f.Confidence > Low {
				// A URL inside text: one level less than a value that is one.
				f.Confidence--
			}
			if f.better(best) {
				best = f
			}
		}
		next := strings.Index(s[i+3:], "://")
		if next < 0 {
			break
		}
		i += 3 + next
	}
	return best
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-'
}

// judgeURL judges the URL at the start of u.
func judgeURL(u string) Finding {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		if !strings.HasPrefix(u, "//") {
			return Finding{}
		}
		scheme, rest = "", u[2:]
	}
	scheme = asciiLower(scheme)
	if ssrfSchemes[scheme] {
		return Finding{Confidence: High, Why: scheme + ":// URL"}
	}
	if scheme != "" && scheme != "http" && scheme != "https" && scheme != "ftp" && scheme != "ws" && scheme != "wss" {
		return Finding{}
	}
	host := urlHost(rest)
	f := judgeHost(host)
	// "http://evil#@169.254.169.254/": a validator that reads the URL
	// as the standard does sees evil; a client that takes the host
	// after the last '@' before the first '/' goes to the other one.
	if end := strings.IndexByte(rest, '/'); end != 0 {
		auth := rest
		if end > 0 {
			auth = rest[:end]
		}
		if strings.ContainsAny(auth, "#?\\") && strings.IndexByte(auth, '@') >= 0 {
			if g := judgeHost(urlHost(auth[strings.LastIndexByte(auth, '@')+1:])); g.Confidence >= Medium {
				g.Confidence, g.Why = High, g.Why+" behind a "+string(auth[strings.IndexAny(auth, "#?\\")])+" and @"
				return g
			}
		}
	}
	return f
}

// clusterHosts are the names of a cluster's internal services:
// Kubernetes' API server and service DNS, Docker's host.
var clusterHosts = map[string]bool{"kubernetes": true, "kubernetes.default": true, "kubernetes.default.svc": true,
	"host.docker.internal": true, "gateway.docker.internal": true, "kubernetes.docker.internal": true}

// judgeHost judges a URL's host.
func judgeHost(host string) Finding {
	if host == "" {
		return Finding{}
	}
	if clusterHosts[host] || strings.HasSuffix(host, ".svc.cluster.local") || strings.HasSuffix(host, ".svc") ||
		strings.HasSuffix(host, ".cluster.local") {
		return Finding{Confidence: High, Why: "cluster-internal service"}
	}
	if metadataHosts[host] {
		return Finding{Confidence: High, Why: "cloud metadata host"}
	}
	addr, unusual, ok := parseHostAddr(host)
	if !ok {
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return Finding{Confidence: Medium, Why: "loopback host"}
		}
		return Finding{}
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
		unusual = true
	}
	switch {
	case isMetadataAddr(addr):
		return Finding{Confidence: High, Why: "cloud metadata address"}
	case addr.IsLoopback() || addr.IsUnspecified() || addr.IsPrivate() || addr.IsLinkLocalUnicast():
		if unusual {
			return Finding{Confidence: High, Why: "internal address in an unusual spelling"}
		}
		return Finding{Confidence: Medium, Why: "internal address"}
	}
	return Finding{}
}

// urlHost extracts the host of an authority-and-path, lower-cased,
// without userinfo, port and IPv6 brackets.
func urlHost(rest string) string {
	end := strings.IndexAny(rest, "/?#\\")
	if end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if k := strings.IndexByte(rest, ']'); k > 0 {
			return asciiLower(rest[1:k])
		}
		return ""
	}
	if k := strings.LastIndexByte(rest, ':'); k >= 0 {
		rest = rest[:k]
	}
	return strings.TrimSuffix(asciiLower(rest), ".")
}

// parseHostAddr reads a host as an address the way inet_aton and URL
// parsers do: one to four parts, each decimal, octal (leading 0) or hex
// (0x); or IPv6. unusual is true for anything but the dotted-quad
// decimal form.
func parseHostAddr(h string) (netip.Addr, bool, bool) {
	if strings.Contains(h, ":") {
		a, err := netip.ParseAddr(h)
		if err != nil {
			return netip.Addr{}, false, false
		}
		return a, false, true
	}
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false, false
	}
	var vals []uint64
	unusual := len(parts) != 4
	for _, p := range parts {
		if p == "" {
			return netip.Addr{}, false, false
		}
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
			unusual = true
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
			unusual = true
		}
		if p == "" {
			p = "0"
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false, false
		}
		vals = append(vals, v)
	}
	var n uint64
	switch len(vals) {
	case 1:
		n = vals[0]
	case 2:
		n = vals[0]<<24 | vals[1]&0xffffff
	case 3:
		n = vals[0]<<24 | vals[1]<<16 | vals[2]&0xffff
	case 4:
		n = vals[0]<<24 | vals[1]<<16 | vals[2]<<8 | vals[3]
	}
	for _, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false, false
		}
	}
	if n > 0xffffffff {
		return netip.Addr{}, false, false
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), unusual, true
}

// isMetadataAddr: the link-local metadata address of AWS, GCP, Azure
// and others (169.254.169.254), AWS ECS's (169.254.170.2), Alibaba's
// (100.100.100.200), AWS's IPv6 one (fd00:ec2::254).
func isMetadataAddr(a netip.Addr) bool {
	switch a.String() {
	case "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "169.254.169.253":
		return true
	}
	return false
}

// redirect judges an open redirect in a field that says where to go
// next (Django's next, return_to ...): a scheme-relative URL (//host,
// /\host, \\host, with tabs or spaces hidden between), a script URL, or
// a URL whose authority hides its host (https://trusted@evil,
// https:evil). An absolute URL to any host is Medium: the analyzer does
// not know the site's own names.
func redirect(t *text) Finding {
	s := strings.TrimLeft(t.s, " \t\r\n\x00")
	if s == "" {
		return Finding{}
	}
	if scriptScheme(s) {
		return Finding{Confidence: High, Why: "script URL in a return-to field"}
	}
	// Browsers ignore tabs and line breaks in URLs and read \ as /.
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 8; i++ {
		switch c := s[i]; c {
		case '\t', '\n', '\r':
		case '\\':
			b.WriteByte('/')
		default:
			b.WriteByte(c)
		}
	}
	head := b.String()
	if strings.HasPrefix(head, "//") || strings.HasPrefix(head, "/ /") {
		return Finding{Confidence: High, Why: "scheme-relative URL in a return-to field"}
	}
	lc := asciiLower(s)
	for _, scheme := range []string{"http:", "https:"} {
		if !strings.HasPrefix(lc, scheme) {
			continue
		}
		rest := lc[len(scheme):]
		if !strings.HasPrefix(rest, "//") {
			return Finding{Confidence: High, Why: "URL without // in a return-to field"}
		}
		auth := rest[2:]
		if k := strings.IndexAny(auth, "/?#"); k >= 0 {
			auth = auth[:k]
		}
		if strings.ContainsAny(auth, "@\\") {
			return Finding{Confidence: High, Why: "URL with user info in a return-to field"}
		}
		return Finding{Confidence: Medium, Why: "absolute URL in a return-to field"}
	}
	return Finding{}
}
