package challenge

import (
	"net/netip"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary cookie and token values to the parsers: they
// must never panic, and nothing but a value the signer made verifies.
func FuzzParse(f *testing.F) {
	s := NewSigner([]byte("fuzz secret fuzz secret fuzz sec"), policyA)
	c := Client{IP: netip.MustParseAddr("192.0.2.1"), UserAgent: "fuzz"}
	good := s.Clearance(c, t0.Add(time.Hour))
	tok := s.Sign(Token{Kind: KindPoW, Difficulty: 4, Expires: t0.Add(time.Hour), Return: "/x"}, c)
	f.Add(good)
	f.Add(tok)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		if err := s.VerifyClearance(v, c, t0); err == nil && v != good {
			t.Fatalf("forged clearance %q accepted", v)
		}
		got, err := s.Open(v, c, t0)
		if err == nil {
			if v != tok {
				t.Fatalf("forged token %q accepted", v)
			}
			if !SafeReturn(got.Return) {
				t.Fatalf("unsafe return path %q", got.Return)
			}
		}
	})
}
