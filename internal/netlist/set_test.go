package netlist

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// naiveContains is the reference: ip is in the set when any prefix holds it.
func naiveContains(prefixes []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// edges are the addresses around a prefix: its first and last address and
// the ones just outside.
func edges(p netip.Prefix) []netip.Addr {
	first := p.Masked().Addr()
	bs := first.AsSlice()
	for i := range bs { // set the host bits
		host := max(0, min(8, (i+1)*8-p.Bits()))
		bs[i] |= byte(1<<host - 1)
	}
	last, _ := netip.AddrFromSlice(bs)
	out := []netip.Addr{first, last}
	if prev := first.Prev(); prev.IsValid() {
		out = append(out, prev)
	}
	if next := last.Next(); next.IsValid() {
		out = append(out, next)
	}
	return out
}

// The range table answers exactly what the list of prefixes says, at the
// edges of every prefix, for random addresses, for overlapping, nested and
// adjacent prefixes, v4-mapped addresses and sets combined with AddSet.
func TestSetMatchesPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fixed := []string{"0.0.0.0/0", "255.255.255.255/32", "10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16",
		"192.0.2.0/25", "192.0.2.128/25", "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "2001:db8::/64",
		"2001:db8:0:1::/64", "::ffff:198.51.100.0/120"}
	for round := range 40 {
		var prefixes []netip.Prefix
		if round%10 == 0 {
			for _, s := range fixed[:1+r.IntN(len(fixed))] {
				p, err := ParseEntry(s)
				if err != nil {
					t.Fatal(err)
				}
				if r.IntN(2) == 0 || s == "0.0.0.0/0" || s == "::/0" {
					if r.IntN(3) != 0 {
						continue // the whole space only sometimes
					}
				}
				prefixes = append(prefixes, p)
			}
		}
		for range r.IntN(300) {
			if r.IntN(4) == 0 {
				var b [16]byte
				b[0], b[1], b[2] = 0x20, 0x01, byte(r.IntN(4))
				for j := 3; j < 16; j++ {
					b[j] = byte(r.IntN(4))
				}
				prefixes = append(prefixes, netip.PrefixFrom(netip.AddrFrom16(b), 20+r.IntN(109)).Masked())
				continue
			}
			a := netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(4)), byte(r.IntN(256))})
			prefixes = append(prefixes, netip.PrefixFrom(a, r.IntN(33)%33).Masked())
		}
		// Half the prefixes go in directly, half through a second set.
		var b, b2 Builder
		for i, p := range prefixes {
			if i%2 == 0 || round%2 == 0 {
				b.Add(p)
			} else {
				b2.Add(p)
			}
		}
		b.AddSet(b2.Build())
		set := b.Build()
		var probes []netip.Addr
		for _, p := range prefixes {
			probes = append(probes, edges(p)...)
		}
		for range 500 {
			probes = append(probes, netip.AddrFrom4([4]byte{byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(4)), byte(r.IntN(256))}))
		}
		for _, ip := range probes {
			if got, want := set.Contains(ip), naiveContains(prefixes, ip); got != want {
				t.Fatalf("round %d: Contains(%s) = %v, want %v (%d prefixes)", round, ip, got, want, len(prefixes))
			}
			if ip.Is4() {
				mapped := netip.AddrFrom16(ip.As16())
				if got, want := set.Contains(mapped), naiveContains(prefixes, ip); got != want {
					t.Fatalf("round %d: Contains(%s) = %v, want %v", round, mapped, got, want)
				}
			}
		}
	}
}

func TestSetLenCountsDistinctPrefixes(t *testing.T) {
	var b Builder
	for _, s := range []string{"192.0.2.0/24", "192.0.2.7/24", "192.0.2.0/25", "2001:db8::/32", "2001:db8::1/32", "::ffff:192.0.2.0/120"} {
		p, err := ParseEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(p)
	}
	if n := b.Build().Len(); n != 3 {
		t.Errorf("Len = %d, want 3 (192.0.2.0/24, 192.0.2.0/25, 2001:db8::/32)", n)
	}
	var empty Builder
	s := empty.Build()
	if s.Len() != 0 || s.Contains(netip.MustParseAddr("192.0.2.1")) || s.Contains(netip.MustParseAddr("::1")) {
		t.Errorf("empty set: Len %d", s.Len())
	}
}

// Overlaps agrees with the reference (any prefix of the set overlaps p:
// one holds the other) on random sets and prefixes of both families, and
// finds an allow-listed address inside a banned /64.
func TestSetOverlaps(t *testing.T) {
	var b Builder
	allow := netip.MustParsePrefix("2001:db8::5/128")
	b.Add(allow)
	b.Add(netip.MustParsePrefix("192.0.2.128/25"))
	s := b.Build()
	for p, want := range map[string]bool{
		"2001:db8::/64": true, "2001:db8::5/128": true, "2001:db8::/32": true, "2001:db8:0:1::/64": false, "2001:db8::6/127": false,
		"192.0.2.0/24": true, "192.0.2.0/25": false, "192.0.2.200/32": true, "0.0.0.0/0": true, "::ffff:192.0.2.0/120": true,
	} {
		if got := s.Overlaps(netip.MustParsePrefix(p)); got != want {
			t.Errorf("Overlaps(%s) = %v, want %v", p, got, want)
		}
	}
	if (*Set)(nil).Overlaps(netip.MustParsePrefix("::/0")) {
		t.Error("nil set overlaps")
	}
	rng := rand.New(rand.NewPCG(7, 9))
	randPrefix := func() netip.Prefix {
		if rng.IntN(2) == 0 {
			a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
			return netip.PrefixFrom(a, 14+rng.IntN(19)).Masked()
		}
		var b16 [16]byte
		b16[0], b16[1], b16[7], b16[15] = 0x20, 0x01, byte(rng.IntN(4)), byte(rng.IntN(256))
		return netip.PrefixFrom(netip.AddrFrom16(b16), 56+rng.IntN(73)).Masked()
	}
	for round := 0; round < 200; round++ {
		var b Builder
		var ps []netip.Prefix
		for i := rng.IntN(20); i > 0; i-- {
			p := randPrefix()
			ps = append(ps, p)
			b.Add(p)
		}
		s := b.Build()
		for i := 0; i < 50; i++ {
			q := randPrefix()
			want := false
			for _, p := range ps {
				if p.Overlaps(q) {
					want = true
				}
			}
			if got := s.Overlaps(q); got != want {
				t.Fatalf("set %v: Overlaps(%s) = %v, want %v", ps, q, got, want)
			}
		}
	}
}
