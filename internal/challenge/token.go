package challenge

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Errors a clearance cookie or challenge token is refused with. They say
// why for logs; clients only ever see "not cleared".
var (
	// ErrMalformed: not a value Parapet made (wrong length, bad encoding).
	ErrMalformed = errors.New("malformed")
	// ErrExpired: the value's lifetime is over.
	ErrExpired = errors.New("expired")
	// ErrPolicy: made under another challenge policy (the config changed).
	ErrPolicy = errors.New("issued under another challenge policy")
	// ErrSignature: forged, or presented by another client (IP prefix or
	// User-Agent differs from the one it was issued to).
	ErrSignature = errors.New("bad signature (forged, or another client's)")
)

const macSize = sha256.Size

// Signer signs and verifies clearance cookies and challenge tokens with
// HMAC-SHA256. Every value is bound to the client (IP prefix and a hash of
// the User-Agent) and to the policy version, without carrying either: the
// MAC covers them, so a value moved to another client or kept across a
// policy change fails. Safe for concurrent use.
type Signer struct {
	policy [8]byte
	v4bits int
	pool   sync.Pool // of hash.Hash (HMAC keyed with the secret)
}

// NewSigner returns a signer for secret and policy version (a hash of the
// challenge config) that binds IPv4 clients to their own address.
func NewSigner(secret []byte, policy [8]byte) *Signer {
	return NewSignerPrefix(secret, policy, 32)
}

// NewSignerPrefix is NewSigner binding IPv4 clients to their /ipv4Bits
// network instead (challenge.ipv4_prefix, 16 to 32).
func NewSignerPrefix(secret []byte, policy [8]byte, ipv4Bits int) *Signer {
	if ipv4Bits <= 0 || ipv4Bits > 32 {
		ipv4Bits = 32
	}
	key := append([]byte(nil), secret...)
	s := &Signer{policy: policy, v4bits: ipv4Bits}
	s.pool.New = func() any { return hmac.New(sha256.New, key) }
	return s
}

// Client is what a value is bound to: the client's network (its IPv4
// address, or the /ipv4Bits around it; its IPv6 /64) and its User-Agent.
type Client struct {
	IP        netip.Addr
	UserAgent string
}

// Binding is the network a value issued to c is bound to.
func (s *Signer) Binding(c Client) netip.Prefix {
	ip := c.IP.Unmap()
	bits := 64
	if ip.Is4() {
		bits = s.v4bits
	}
	p, err := ip.Prefix(bits)
	if err != nil { // invalid address: bind to "no address"
		return netip.Prefix{}
	}
	return p
}

// prefix returns the 16-byte form of the client's binding and its length.
func (s *Signer) prefix(c Client) ([16]byte, byte) {
	p := s.Binding(c)
	if !p.IsValid() {
		return [16]byte{}, 0
	}
	return p.Addr().As16(), byte(p.Bits())
}

// mac computes the tag over domain, body and the client binding into out.
func (s *Signer) mac(out []byte, domain byte, body []byte, c Client) []byte {
	h := s.pool.Get().(hash.Hash)
	h.Reset()
	pfx, bits := s.prefix(c)
	var hdr [1 + 8 + 16 + 1]byte
	hdr[0] = domain
	copy(hdr[1:9], s.policy[:])
	copy(hdr[9:25], pfx[:])
	hdr[25] = bits
	h.Write(hdr[:])
	ua := sha256.Sum256([]byte(c.UserAgent))
	h.Write(ua[:])
	h.Write(body)
	out = h.Sum(out)
	s.pool.Put(h)
	return out
}

const (
	domainClearance byte = 'C'
	domainToken     byte = 'T'
)

// b64 is strict: the unused low bits of the last character must be zero, so
// each signed value has exactly one spelling (a value with other bits
// there would otherwise decode to the same bytes and verify).
var b64 = base64.RawURLEncoding.Strict()

// clearance cookie: base64url(exp[8] | policy[8] | mac[32]).
const clearanceLen = 8 + 8 + macSize

// Clearance returns a clearance cookie value for c valid until exp.
func (s *Signer) Clearance(c Client, exp time.Time) string {
	var buf [clearanceLen]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(exp.Unix()))
	copy(buf[8:16], s.policy[:])
	s.mac(buf[16:16], domainClearance, buf[:16], c)
	return b64.EncodeToString(buf[:])
}

// VerifyClearance checks a clearance cookie value for c at now; the MAC
// is compared in constant time.
func (s *Signer) VerifyClearance(value string, c Client, now time.Time) error {
	if len(value) != b64.EncodedLen(clearanceLen) || !isB64(value) {
		return ErrMalformed
	}
	var buf [clearanceLen]byte
	if n, err := b64.Decode(buf[:], []byte(value)); err != nil || n != clearanceLen {
		return ErrMalformed
	}
	var want [macSize]byte
	if !hmac.Equal(s.mac(want[:0], domainClearance, buf[:16], c), buf[16:]) {
		if [8]byte(buf[8:16]) != s.policy {
			return ErrPolicy
		}
		return ErrSignature
	}
	if int64(binary.BigEndian.Uint64(buf[:8])) < now.Unix() {
		return ErrExpired
	}
	return nil
}

// Kind is the kind of a challenge.
type Kind byte

// The challenge kinds.
const (
	KindPoW       Kind = 'p'
	KindCaptcha   Kind = 'c'
	KindTurnstile Kind = 't'
	KindHCaptcha  Kind = 'h'
)

// ParseKind maps the config's kind names.
func ParseKind(s string) (Kind, bool) {
	switch s {
	case "pow", "":
		return KindPoW, true
	case "captcha":
		return KindCaptcha, true
	case "turnstile":
		return KindTurnstile, true
	case "hcaptcha":
		return KindHCaptcha, true
	}
	return 0, false
}

// String is the config's name of the kind.
func (k Kind) String() string {
	switch k {
	case KindPoW:
		return "pow"
	case KindCaptcha:
		return "captcha"
	case KindTurnstile:
		return "turnstile"
	case KindHCaptcha:
		return "hcaptcha"
	}
	return "unknown"
}

// Token is one served challenge: a random nonce, what solves it and where
// the client goes afterwards. It travels signed and bound to the client.
type Token struct {
	Kind       Kind
	Difficulty uint8
	// Post marks a challenge that interrupted a form submission.
	Post    bool
	Expires time.Time
	Nonce   [16]byte
	// Return is the same-site path (and query) to go to after passing.
	Return string
}

// MaxReturn caps the return path carried in a token.
const MaxReturn = 2048

// token layout: ver | kind | difficulty | flags | exp[8] | nonce[16] | return | mac[32]
const tokenHead = 4 + 8 + 16
const tokenVersion = 1

// Sign encodes and signs t for client c.
func (s *Signer) Sign(t Token, c Client) string {
	ret := t.Return
	if len(ret) > MaxReturn || !SafeReturn(ret) {
		ret = "/"
	}
	buf := make([]byte, tokenHead, tokenHead+len(ret)+macSize)
	buf[0] = tokenVersion
	buf[1] = byte(t.Kind)
	buf[2] = t.Difficulty
	if t.Post {
		buf[3] = 1
	}
	binary.BigEndian.PutUint64(buf[4:12], uint64(t.Expires.Unix()))
	copy(buf[12:28], t.Nonce[:])
	buf = append(buf, ret...)
	buf = s.mac(buf, domainToken, buf, c)
	return b64.EncodeToString(buf)
}

// Open verifies a token for client c at now and decodes it.
func (s *Signer) Open(value string, c Client, now time.Time) (Token, error) {
	var t Token
	if len(value) > b64.EncodedLen(tokenHead+MaxReturn+macSize) || !isB64(value) {
		return t, ErrMalformed
	}
	buf, err := b64.DecodeString(value)
	if err != nil || len(buf) < tokenHead+macSize || buf[0] != tokenVersion {
		return t, ErrMalformed
	}
	body, tag := buf[:len(buf)-macSize], buf[len(buf)-macSize:]
	var want [macSize]byte
	if !hmac.Equal(s.mac(want[:0], domainToken, body, c), tag) {
		return t, ErrSignature
	}
	t.Kind = Kind(body[1])
	t.Difficulty = body[2]
	t.Post = body[3]&1 != 0
	t.Expires = time.Unix(int64(binary.BigEndian.Uint64(body[4:12])), 0)
	copy(t.Nonce[:], body[12:28])
	t.Return = string(body[tokenHead:])
	if !SafeReturn(t.Return) {
		return t, ErrMalformed
	}
	if t.Expires.Before(now) {
		return t, ErrExpired
	}
	return t, nil
}

// isB64 reports whether v holds only base64url characters (the decoder
// would skip newlines, letting one value be written several ways).
func isB64(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// SafeReturn reports whether p is a same-site path: it starts with one
// "/" (not "//" or "/\", which browsers read as another host) and holds
// no control characters or backslashes.
func SafeReturn(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' {
			return false
		}
	}
	return true
}
