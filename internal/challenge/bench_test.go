package challenge

import (
	"crypto/sha256"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// Baseline: one SHA-256 of a User-Agent, the least a bound verify must do.
func BenchmarkBaselineSHA256UA(b *testing.B) {
	ua := []byte(alice.UserAgent)
	for b.Loop() {
		sha256.Sum256(ua)
	}
}

// Clearance verification on every request of a cleared client.
func BenchmarkVerifyClearance(b *testing.B) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"), policyA)
	v := s.Clearance(alice, t0.Add(1e9))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.VerifyClearance(v, alice, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyClearanceParallel(b *testing.B) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"), policyA)
	v := s.Clearance(alice, t0.Add(1e9))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.VerifyClearance(v, alice, t0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// Verifying a proof of work is one SHA-256; the browser does 2^difficulty.
func BenchmarkVerifyPoW(b *testing.B) {
	nonce := [16]byte{1, 2, 3}
	ans := SolvePoW(nonce, 16)
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyPoW(nonce, ans, 16) {
			b.Fatal("refused")
		}
	}
}

// The clearance check as the chain runs it: read the cookie from the
// request, verify it, mark the request cleared.
func BenchmarkClearedRequest(b *testing.B) {
	cfg := config.Default()
	c, err := New(cfg, Options{Secret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/shop/", nil)
	r.Header.Set("User-Agent", alice.UserAgent)
	r.Header.Set("Cookie", "sessionid=abc; csrftoken=def; "+cfg.Challenge.CookieName+"="+c.Signer().Clearance(alice, time.Now().Add(time.Hour)))
	b.ReportAllocs()
	for b.Loop() {
		info := decision.Info{ClientIP: alice.IP}
		if !c.Cleared(r, &info) {
			b.Fatal("not cleared")
		}
	}
}
