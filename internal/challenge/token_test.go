package challenge

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/testenv"
)

var (
	policyA = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	policyB = [8]byte{8, 7, 6, 5, 4, 3, 2, 1}
	alice   = Client{IP: netip.MustParseAddr("203.0.113.10"), UserAgent: "Mozilla/5.0 Firefox/133.0"}
	t0      = time.Unix(1_800_000_000, 0)
)

func TestClearanceRoundTripAndRefusals(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"), policyA)
	v := s.Clearance(alice, t0.Add(time.Hour))
	if err := s.VerifyClearance(v, alice, t0); err != nil {
		t.Fatalf("fresh clearance refused: %v", err)
	}
	// IPv4 clearances are bound to the address by default; with
	// challenge.ipv4_prefix 24 the same /24 (a carrier NAT pool) keeps it.
	neighbour := alice
	neighbour.IP = netip.MustParseAddr("203.0.113.250")
	if err := s.VerifyClearance(v, neighbour, t0); !errors.Is(err, ErrSignature) {
		t.Fatalf("another address in the /24 with a /32 binding: %v, want %v", err, ErrSignature)
	}
	s24 := NewSignerPrefix([]byte("0123456789abcdef0123456789abcdef"), policyA, 24)
	if err := s24.VerifyClearance(s24.Clearance(alice, t0.Add(time.Hour)), neighbour, t0); err != nil {
		t.Fatalf("same /24 with ipv4_prefix 24 refused: %v", err)
	}
	v6 := Client{IP: netip.MustParseAddr("2001:db8:1:2::10"), UserAgent: alice.UserAgent}
	c6 := s.Clearance(v6, t0.Add(time.Hour))
	if err := s.VerifyClearance(c6, Client{IP: netip.MustParseAddr("2001:db8:1:2:ffff::1"), UserAgent: alice.UserAgent}, t0); err != nil {
		t.Fatalf("same /64 refused: %v", err)
	}
	raw, _ := b64.DecodeString(v)
	raw[3] ^= 1 // the expiry, pushed into the future
	flipped := b64.EncodeToString(raw)
	cases := []struct {
		name   string
		value  string
		client Client
		signer *Signer
		now    time.Time
		want   error
	}{
		{"expired", v, alice, s, t0.Add(2 * time.Hour), ErrExpired},
		{"other /24", v, Client{IP: netip.MustParseAddr("203.0.114.10"), UserAgent: alice.UserAgent}, s, t0, ErrSignature},
		{"other /64", c6, Client{IP: netip.MustParseAddr("2001:db8:1:3::10"), UserAgent: alice.UserAgent}, s, t0, ErrSignature},
		{"other User-Agent", v, Client{IP: alice.IP, UserAgent: "curl/8.0"}, s, t0, ErrSignature},
		{"other policy", v, alice, NewSigner([]byte("0123456789abcdef0123456789abcdef"), policyB), t0, ErrPolicy},
		{"other secret (forged)", v, alice, NewSigner([]byte("another secret, another site...."), policyA), t0, ErrSignature},
		{"expiry edited", flipped, alice, s, t0, ErrSignature},
		{"truncated", v[:len(v)-1], alice, s, t0, ErrMalformed},
		{"empty", "", alice, s, t0, ErrMalformed},
		{"not base64", strings.Repeat("!", len(v)), alice, s, t0, ErrMalformed},
	}
	for _, c := range cases {
		if err := c.signer.VerifyClearance(c.value, c.client, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestTokenRoundTripBindingAndReturnPath(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"), policyA)
	tok := Token{Kind: KindPoW, Difficulty: 12, Post: true, Expires: t0.Add(time.Minute), Nonce: [16]byte{9, 9, 9}, Return: "/cart/?item=3&q=a%20b"}
	v := s.Sign(tok, alice)
	got, err := s.Open(v, alice, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got != tok {
		t.Fatalf("round trip: %+v != %+v", got, tok)
	}
	if _, err := s.Open(v, Client{IP: netip.MustParseAddr("198.51.100.1"), UserAgent: alice.UserAgent}, t0); !errors.Is(err, ErrSignature) {
		t.Errorf("token used from another network: %v", err)
	}
	if _, err := s.Open(v, alice, t0.Add(2*time.Minute)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired token: %v", err)
	}
	// A return path that leaves the site is never signed: it becomes "/".
	for _, evil := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "evil", "/a\r\nLocation: x"} {
		tok.Return = evil
		got, err := s.Open(s.Sign(tok, alice), alice, t0)
		if err != nil || got.Return != "/" {
			t.Errorf("return %q signed as %q (%v)", evil, got.Return, err)
		}
	}
}

// TestTokenHasOneSpelling: the unused low bits of a token's last base64
// character are not a second way to write the same signed value.
func TestTokenHasOneSpelling(t *testing.T) {
	s := NewSigner([]byte("0123456789abcdef0123456789abcdef"), policyA)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tried := 0
	for _, ret := range []string{"/", "/a", "/ab"} { // three lengths: every remainder mod 3
		v := s.Sign(Token{Kind: KindPoW, Difficulty: 4, Expires: t0.Add(time.Hour), Return: ret}, alice)
		if _, err := s.Open(v, alice, t0); err != nil {
			t.Fatalf("return %q: fresh token refused: %v", ret, err)
		}
		head, last := v[:len(v)-1], v[len(v)-1]
		for i := 0; i < len(alphabet); i++ {
			other := head + string(alphabet[i])
			if alphabet[i] == last {
				continue
			}
			tried++
			if _, err := s.Open(other, alice, t0); err == nil {
				t.Errorf("return %q: %q (last character changed) accepted as well as %q", ret, other, v)
			}
		}
	}
	if tried == 0 {
		t.Fatal("nothing tried")
	}
}

func TestPoW(t *testing.T) {
	nonce := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ans := SolvePoW(nonce, 12)
	if !VerifyPoW(nonce, ans, 12) {
		t.Fatalf("own solution %s refused", ans)
	}
	sum := sha256.Sum256([]byte(PoWInput(nonce) + ans))
	if LeadingZeroBits(sum[:]) < 12 {
		t.Fatal("solution does not have 12 zero bits")
	}
	// A harder difficulty than solved is refused (the smallest 12-bit
	// answer is almost never a 24-bit one); so are answers for another
	// nonce and garbage.
	if VerifyPoW(nonce, ans, 24) && LeadingZeroBits(sum[:]) < 24 {
		t.Error("12-bit answer accepted at 24 bits")
	}
	other := nonce
	other[0] = 99
	if VerifyPoW(other, ans, 12) && !VerifyPoW(other, SolvePoW(other, 12), 12) {
		t.Error("verify is not a function of the nonce")
	}
	for _, bad := range []string{"", "-1", "1e3", "12345678901234567890123", "0x10", " 1"} {
		if VerifyPoW(nonce, bad, 1) {
			t.Errorf("answer %q accepted", bad)
		}
	}
}

// The browser's worker (assets/worker.js, run by Node here) finds answers
// Go accepts: proof the hand-written SHA-256 in the JavaScript is right.
func TestWorkerJSSolvesWhatGoVerifies(t *testing.T) {
	node, err := exec.LookPath("node")
	testenv.Require(t, err)
	worker, _ := filepath.Abs("assets/worker.js")
	for _, d := range []int{1, 8, 16} {
		nonce := [16]byte{byte(d), 0xab, 0xcd}
		script := `const w = require(process.argv[1]); process.stdout.write(w.solve(process.argv[2], +process.argv[3]));`
		out, err := exec.Command(node, "-e", script, worker, PoWInput(nonce), string(rune('0'+d/10))+string(rune('0'+d%10))).Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		if !VerifyPoW(nonce, string(out), uint8(d)) {
			t.Errorf("difficulty %d: JS answer %q refused by Go", d, out)
		}
		if want := SolvePoW(nonce, uint8(d)); string(out) != want {
			t.Errorf("difficulty %d: JS found %s, Go %s (both search upward from 0)", d, out, want)
		}
	}
}

func TestMemoryNoncesOnceAndBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryNonces(3)
	now := t0
	m.now = func() time.Time { return now }
	if ok, _ := m.SetNX(ctx, "a", nil, time.Minute); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := m.SetNX(ctx, "a", nil, time.Minute); ok {
		t.Fatal("second claim of the same nonce accepted (replay)")
	}
	for _, k := range []string{"b", "c", "d", "e"} {
		m.SetNX(ctx, k, nil, time.Minute)
	}
	if m.Len() != 3 {
		t.Fatalf("store holds %d keys, bound is 3", m.Len())
	}
	if ok, _ := m.SetNX(ctx, "e", nil, time.Minute); ok {
		t.Fatal("newest key was evicted")
	}
	now = now.Add(2 * time.Minute)
	if ok, _ := m.SetNX(ctx, "e", nil, time.Minute); !ok {
		t.Fatal("expired key still claimed")
	}
	if m.Len() != 1 {
		t.Fatalf("expired keys kept: %d", m.Len())
	}
}

// A nonce claimed again after its expiry keeps its new claim when the old
// one leaves the ring.
func TestMemoryNoncesReclaimAfterExpiry(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryNonces(2)
	now := t0
	m.now = func() time.Time { return now }
	m.SetNX(ctx, "a", nil, time.Minute)
	now = now.Add(2 * time.Minute)
	if ok, _ := m.SetNX(ctx, "a", nil, time.Hour); !ok {
		t.Fatal("expired nonce not claimable")
	}
	m.SetNX(ctx, "b", nil, time.Hour)
	if ok, _ := m.SetNX(ctx, "a", nil, time.Hour); ok {
		t.Fatal("re-claimed nonce lost its claim")
	}
}
