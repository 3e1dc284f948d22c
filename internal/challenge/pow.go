package challenge

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"strconv"
)

// PoWInput is the string the browser hashes for a nonce: the nonce in hex.
// The solver looks for a decimal counter n such that
// SHA-256(PoWInput(nonce) + n) starts with the token's number of zero bits.
func PoWInput(nonce [16]byte) string { return hex.EncodeToString(nonce[:]) }

// VerifyPoW reports whether answer (a decimal counter, at most 20 digits)
// solves the proof of work for nonce at difficulty leading zero bits.
func VerifyPoW(nonce [16]byte, answer string, difficulty uint8) bool {
	if len(answer) == 0 || len(answer) > 20 {
		return false
	}
	if _, err := strconv.ParseUint(answer, 10, 64); err != nil {
		return false
	}
	var buf [32 + 20]byte
	hex.Encode(buf[:32], nonce[:])
	n := 32 + copy(buf[32:], answer)
	sum := sha256.Sum256(buf[:n])
	return LeadingZeroBits(sum[:]) >= int(difficulty)
}

// LeadingZeroBits counts the zero bits at the start of b.
func LeadingZeroBits(b []byte) int {
	n := 0
	for _, x := range b {
		if x != 0 {
			return n + bits.LeadingZeros8(x)
		}
		n += 8
	}
	return n
}

// SolvePoW finds the smallest counter solving the proof of work: what the
// browser's worker does, for tests and tools.
func SolvePoW(nonce [16]byte, difficulty uint8) string {
	prefix := PoWInput(nonce)
	buf := make([]byte, 0, 64)
	for i := uint64(0); ; i++ {
		buf = strconv.AppendUint(append(buf[:0], prefix...), i, 10)
		sum := sha256.Sum256(buf)
		if LeadingZeroBits(sum[:]) >= int(difficulty) {
			return strconv.FormatUint(i, 10)
		}
	}
}
