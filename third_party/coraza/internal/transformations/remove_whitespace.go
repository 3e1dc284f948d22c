// Copyright 2022 Juan Pablo Tosso and the OWASP Coraza contributors
// SPDX-License-Identifier: Apache-2.0

package transformations

import (
	"strings"
	"unicode"
	"unicode/utf8"

	utils "github.com/corazawaf/coraza/v3/internal/strings"
)

// removeWhitespace removes all whitespace characters from input.
func removeWhitespace(data string) (string, bool, error) {
	if out, ok := removeASCIIWhitespace(data); ok {
		return out, len(out) != len(data), nil
	}
	out, changed := removeUnicodeWhitespace(data)
	return out, changed, nil
}

// removeUnicodeWhitespace is removeWhitespaceRunes (strings.Map) without a
// function call per rune: the space runes (unicode.IsSpace) are dropped,
// each byte of invalid UTF-8 becomes U+FFFD as strings.Map writes it, the
// rest is copied; changed reports a dropped space only (strings.Map's
// U+FFFD does not go through the mapping function's flag).
func removeUnicodeWhitespace(data string) (string, bool) {
	var out []byte // nil while the output is data's prefix
	changed := false
	for i := 0; i < len(data); {
		c := data[i]
		size := 1
		var r rune
		if c < utf8RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRuneInString(data[i:])
		}
		switch {
		case r == utf8.RuneError && size == 1:
			if out == nil {
				out = append(make([]byte, 0, 2*len(data)+2), data[:i]...) // room for some U+FFFD
			}
			out = append(out, "\uFFFD"...)
		case unicode.IsSpace(r):
			if out == nil {
				out = append(make([]byte, 0, len(data)), data[:i]...)
			}
			changed = true
		case out != nil:
			out = append(out, data[i:i+size]...)
		}
		i += size
	}
	if out == nil {
		return data, false
	}
	return utils.WrapUnsafe(out), changed
}

// removeASCIIWhitespace is removeWhitespace for an ASCII input (ok false
// for any other): the bytes unicode.IsSpace holds for below 0x80 are
// dropped, without decoding runes or calling a function per rune. (Any
// byte >= 0x80 takes removeWhitespaceRunes: U+0085 and U+00A0 are spaces,
// and strings.Map rewrites invalid UTF-8 as U+FFFD.)
func removeASCIIWhitespace(data string) (string, bool) {
	first := -1
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c >= utf8RuneSelf {
			return "", false
		}
		if first < 0 && asciiSpace[c] {
			first = i
		}
	}
	if first < 0 {
		return data, true
	}
	out := make([]byte, first, len(data)-1)
	copy(out, data[:first])
	for i := first + 1; i < len(data); i++ {
		if c := data[i]; !asciiSpace[c] {
			out = append(out, c)
		}
	}
	return utils.WrapUnsafe(out), true
}

const utf8RuneSelf = 0x80

// asciiSpace holds the bytes below 0x80 unicode.IsSpace reports.
var asciiSpace = [utf8RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// removeWhitespaceRunes is removeWhitespace for any input.
func removeWhitespaceRunes(data string) (string, bool, error) {
	changed := false
	transformedData := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			// if the character is a space, drop it
			changed = true
			return -1
		}
		// else keep it in the string
		return r
	}, data)

	return transformedData, changed, nil
}
