// Package netlist holds IP address sets (IPv4 and IPv6 prefixes in a bart
// prefix table), their parsing from inline lists, files and feed formats,
// and feeds: named lists fetched from a URL or file, refreshed on a
// schedule, with the last good copy cached on disk.
package netlist

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// Set is an immutable set of IPv4 and IPv6 prefixes, safe for concurrent
// lookups. The zero of *Set (nil) contains nothing.
type Set struct {
	table *bart.Lite
	n     int
}

// Contains reports whether ip is inside any prefix of the set.
func (s *Set) Contains(ip netip.Addr) bool {
	if s == nil || !ip.IsValid() {
		return false
	}
	return s.table.Lookup(ip.Unmap())
}

// Len is the number of prefixes added (duplicates counted once).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Builder collects prefixes into a Set.
type Builder struct {
	table *bart.Lite
	n     int
}

// Add adds a prefix (masked; IPv4-mapped prefixes are unmapped).
func (b *Builder) Add(p netip.Prefix) {
	if b.table == nil {
		b.table = new(bart.Lite)
	}
	p = normalize(p)
	if !b.table.Get(p) {
		b.n++
	}
	b.table.Insert(p)
}

// AddSet adds every prefix of s.
func (b *Builder) AddSet(s *Set) {
	if s == nil {
		return
	}
	for p := range s.table.All() {
		b.Add(p)
	}
}

// Build returns the set. The builder must not be used afterwards.
func (b *Builder) Build() *Set {
	if b.table == nil {
		b.table = new(bart.Lite)
	}
	return &Set{table: b.table, n: b.n}
}

func normalize(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		bits := p.Bits() - 96
		if bits < 0 {
			bits = 0
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
	}
	return p.Masked()
}

// ParseEntry parses one list entry: an address ("192.0.2.1", "2001:db8::1")
// or a CIDR ("192.0.2.0/24", "2001:db8::/32"). Host bits are masked off.
func ParseEntry(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		return normalize(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
