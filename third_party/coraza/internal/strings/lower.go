// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package strings

import "strings"

const (
	lowBytes  = 0x0101010101010101
	highBytes = 0x8080808080808080
)

// ToLower returns s lower-cased, as strings.ToLower does. Parapet: the
// keys the engine lowers before every collection read and write (rule
// keys, setvar keys, macro keys) are nearly always lower-case already;
// strings.ToLower finds that out a byte at a time, ToLower eight bytes at
// a time, and hands anything else to strings.ToLower.
func ToLower(s string) string {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8]
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		if w&highBytes != 0 || hasUpper(w) {
			return strings.ToLower(s)
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

// hasUpper reports whether one of w's bytes, each below 0x80, is an
// ASCII upper-case letter (0x41-0x5A): a byte b has (b + 0x3F) reach 0x80
// when b >= 0x41, and (b + 0x25) stay below 0x80 when b <= 0x5A; with
// every byte below 0x80, neither sum carries into the next byte.
func hasUpper(w uint64) bool {
	geA := w + (0x80-'A')*lowBytes
	leZ := w + (0x7F-'Z')*lowBytes
	return geA&^leZ&highBytes != 0
}
