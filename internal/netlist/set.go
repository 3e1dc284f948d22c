// Package netlist holds IP address sets (IPv4 and IPv6 prefixes, frozen
// into flat, pointer-free range tables), their parsing from inline lists,
// files and feed formats, and feeds: named lists fetched from a URL or
// file, refreshed on a schedule, with the last good copy cached on disk.
package netlist

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Set is an immutable set of IPv4 and IPv6 prefixes, safe for concurrent
// lookups. The zero of *Set (nil) contains nothing.
//
// The prefixes are merged into sorted, disjoint address ranges held in
// flat arrays of integers. A million prefixes take about 13 MB and, as the
// arrays hold no pointers, cost the garbage collector nothing to trace; a
// pointer-based prefix trie of the same list (bart: 40 MB) made every
// collection walk it, which cost several percent of Parapet's CPU under
// load. Lookups are a table step and a short binary search.
type Set struct {
	v4 ranges4
	v6 ranges6
	n  int
}

// ranges4 are IPv4 ranges [lo[i], hi[i]], sorted, disjoint and not
// adjacent; block[k] is the first range whose lo is at or after k<<16, so
// a lookup only searches the ranges starting in its /16.
type ranges4 struct {
	lo, hi []uint32
	block  []uint32 // 1<<16 + 1 entries, or nil when there are no ranges
}

// u128 is an IPv6 address as two integers.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next is a+1 (wrapping at the top of the space).
func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

// ranges6 are IPv6 ranges, sorted, disjoint and not adjacent.
type ranges6 struct{ lo, hi []u128 }

// Contains reports whether ip is inside any prefix of the set.
func (s *Set) Contains(ip netip.Addr) bool {
	if s == nil || !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return s.v4.contains(addr4(ip))
	}
	return s.v6.contains(addr6(ip))
}

// Overlaps reports whether any address of the prefix p is in the set
// (p's address need not be: a ban of 2001:db8::/64 overlaps an allow list
// holding 2001:db8::5).
func (s *Set) Overlaps(p netip.Prefix) bool {
	if s == nil || !p.IsValid() {
		return false
	}
	p = normalize(p)
	if p.Addr().Is4() {
		lo := addr4(p.Addr())
		hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
		// The first range ending at or after lo (ranges are sorted and
		// disjoint, so their ends are sorted too) overlaps if it starts
		// by hi.
		r := &s.v4
		i, _ := slices.BinarySearch(r.hi, lo)
		return i < len(r.lo) && r.lo[i] <= hi
	}
	lo := addr6(p.Addr())
	hi := last6(lo, uint8(p.Bits()))
	r := &s.v6
	i, _ := slices.BinarySearchFunc(r.hi, lo, func(h, x u128) int { return h.cmp(x) })
	return i < len(r.lo) && r.lo[i].cmp(hi) <= 0
}

func (r *ranges4) contains(x uint32) bool {
	if len(r.lo) == 0 {
		return false
	}
	k := x >> 16
	from, to := int(r.block[k]), int(r.block[k+1])
	// The last range starting at or before x: in this /16 block, or the
	// last one before it (a range can span blocks).
	i := from
	for lo, hi := from, to; lo < hi; {
		m := int(uint(lo+hi) >> 1)
		if r.lo[m] <= x {
			i, lo = m+1, m+1
		} else {
			hi = m
		}
	}
	i--
	return i >= 0 && r.hi[i] >= x
}

func (r *ranges6) contains(x u128) bool {
	// The first range starting after x; the one before it is the candidate.
	i, _ := slices.BinarySearchFunc(r.lo, x, func(lo, x u128) int {
		if lo.cmp(x) <= 0 {
			return -1
		}
		return 1
	})
	i--
	return i >= 0 && r.hi[i].cmp(x) >= 0
}

func addr4(ip netip.Addr) uint32 {
	b := ip.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr6(ip netip.Addr) u128 {
	b := ip.As16()
	var a u128
	for i := range 8 {
		a.hi = a.hi<<8 | uint64(b[i])
		a.lo = a.lo<<8 | uint64(b[8+i])
	}
	return a
}

// Len is the number of prefixes added (duplicates counted once; a set
// added with AddSet counts its own Len).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Builder collects prefixes into a Set.
type Builder struct {
	p4   []prefix4
	p6   []prefix6
	sets []*Set
}

type prefix4 struct {
	addr uint32
	bits uint8
}

type prefix6 struct {
	addr u128
	bits uint8
}

// Add adds a prefix (masked; IPv4-mapped prefixes are unmapped).
func (b *Builder) Add(p netip.Prefix) {
	p = normalize(p)
	if p.Addr().Is4() {
		b.p4 = append(b.p4, prefix4{addr4(p.Addr()), uint8(p.Bits())})
		return
	}
	b.p6 = append(b.p6, prefix6{addr6(p.Addr()), uint8(p.Bits())})
}

// AddSet adds every address of s.
func (b *Builder) AddSet(s *Set) {
	if s != nil {
		b.sets = append(b.sets, s)
	}
}

// Build returns the set. The builder must not be used afterwards.
func (b *Builder) Build() *Set {
	s := &Set{}
	slices.SortFunc(b.p4, func(x, y prefix4) int {
		return cmp.Or(cmp.Compare(x.addr, y.addr), cmp.Compare(x.bits, y.bits))
	})
	b.p4 = slices.Compact(b.p4)
	slices.SortFunc(b.p6, func(x, y prefix6) int {
		return cmp.Or(x.addr.cmp(y.addr), cmp.Compare(x.bits, y.bits))
	})
	b.p6 = slices.Compact(b.p6)
	s.n = len(b.p4) + len(b.p6)

	var r4 [][2]uint32
	for _, p := range b.p4 {
		r4 = append(r4, [2]uint32{p.addr, p.addr | uint32(uint64(1)<<(32-p.bits)-1)})
	}
	var r6 [][2]u128
	for _, p := range b.p6 {
		r6 = append(r6, [2]u128{p.addr, last6(p.addr, p.bits)})
	}
	for _, o := range b.sets {
		s.n += o.n
		for i := range o.v4.lo {
			r4 = append(r4, [2]uint32{o.v4.lo[i], o.v4.hi[i]})
		}
		for i := range o.v6.lo {
			r6 = append(r6, [2]u128{o.v6.lo[i], o.v6.hi[i]})
		}
	}
	s.v4 = merge4(r4)
	s.v6 = merge6(r6)
	*b = Builder{}
	return s
}

// last6 is the last address of the prefix addr/bits.
func last6(addr u128, bits uint8) u128 {
	switch {
	case bits == 0:
		return u128{^uint64(0), ^uint64(0)}
	case bits <= 64:
		return u128{addr.hi | (^uint64(0) >> bits), ^uint64(0)}
	default:
		return u128{addr.hi, addr.lo | (^uint64(0) >> (bits - 64))}
	}
}

func merge4(rs [][2]uint32) ranges4 {
	if len(rs) == 0 {
		return ranges4{}
	}
	slices.SortFunc(rs, func(x, y [2]uint32) int { return cmp.Compare(x[0], y[0]) })
	var out ranges4
	cur := rs[0]
	for _, r := range rs[1:] {
		if cur[1] == ^uint32(0) || r[0] <= cur[1]+1 { // overlapping or adjacent
			cur[1] = max(cur[1], r[1])
			continue
		}
		out.lo, out.hi = append(out.lo, cur[0]), append(out.hi, cur[1])
		cur = r
	}
	out.lo, out.hi = append(out.lo, cur[0]), append(out.hi, cur[1])
	out.lo, out.hi = slices.Clip(out.lo), slices.Clip(out.hi)
	out.block = make([]uint32, 1<<16+1)
	i := 0
	for k := range 1 << 16 {
		for i < len(out.lo) && out.lo[i]>>16 < uint32(k) {
			i++
		}
		out.block[k] = uint32(i)
	}
	out.block[1<<16] = uint32(len(out.lo))
	return out
}

func merge6(rs [][2]u128) ranges6 {
	if len(rs) == 0 {
		return ranges6{}
	}
	slices.SortFunc(rs, func(x, y [2]u128) int { return x[0].cmp(y[0]) })
	var out ranges6
	cur := rs[0]
	top := u128{^uint64(0), ^uint64(0)}
	for _, r := range rs[1:] {
		if cur[1] == top || r[0].cmp(cur[1].next()) <= 0 {
			if r[1].cmp(cur[1]) > 0 {
				cur[1] = r[1]
			}
			continue
		}
		out.lo, out.hi = append(out.lo, cur[0]), append(out.hi, cur[1])
		cur = r
	}
	out.lo, out.hi = append(out.lo, cur[0]), append(out.hi, cur[1])
	out.lo, out.hi = slices.Clip(out.lo), slices.Clip(out.hi)
	return out
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
