package formdata

import (
	"strings"
	"unicode/utf8"
)

// htmlUnescape is Python's html.unescape, which Django applies to every
// uploaded file's name: numeric and named character references, named
// ones also without their semicolon when the HTML5 table has them so
// (the longest such prefix of a longer name).
func htmlUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '&' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if n, repl, ok := charref(s[i+1:]); ok {
			b.WriteString(repl)
			i += 1 + n
			continue
		}
		b.WriteByte('&')
		i++
	}
	return b.String()
}

// charref matches Python's
// &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) at the start of
// s (after the '&'), returning the length matched and its replacement.
func charref(s string) (int, string, bool) {
	if strings.HasPrefix(s, "#") {
		hex := len(s) > 1 && (s[1] == 'x' || s[1] == 'X')
		start := 1
		if hex {
			start = 2
		}
		i := start
		for i < len(s) && (isDigit(s[i]) || hex && isHexLetter(s[i])) {
			i++
		}
		if i == start {
			return 0, "", false // "&#" or "&#x" without digits: not a reference
		}
		digits := s[start:i]
		if i < len(s) && s[i] == ';' {
			i++
		}
		return i, numericCharref(digits, hex), true
	}
	// A name: up to 32 characters, none of \t \n \f space < & # ;
	i, count := 0, 0
	for i < len(s) && count < 32 {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\t' || r == '\n' || r == '\f' || r == ' ' || r == '<' || r == '&' || r == '#' || r == ';' {
			break
		}
		i += size
		count++
	}
	if count == 0 {
		return 0, "", false
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	name := s[:i]
	if v, ok := html5[name]; ok {
		return i, v, true
	}
	// The longest prefix of at least two characters in the table.
	var ends []int
	for j := range name {
		if j > 0 {
			ends = append(ends, j)
		}
	}
	for k := len(ends) - 1; k >= 1; k-- { // prefixes of len(name)-1 down to 2 characters
		if v, ok := html5[name[:ends[k]]]; ok {
			return i, v + name[ends[k]:], true
		}
	}
	return i, "&" + name, true
}

// numericCharref is the character a numeric reference stands for.
func numericCharref(digits string, hex bool) string {
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 8 {
		return "\uFFFD" // beyond 0x10FFFF whatever the digits
	}
	num := 0
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var v int
		switch {
		case isDigit(c):
			v = int(c - '0')
		case 'a' <= c && c <= 'f':
			v = int(c-'a') + 10
		default:
			v = int(c-'A') + 10
		}
		if hex {
			num = num*16 + v
		} else {
			num = num*10 + v
		}
	}
	if r, ok := invalidCharrefs[num]; ok {
		return r
	}
	if 0xD800 <= num && num <= 0xDFFF || num > 0x10FFFF {
		return "\uFFFD"
	}
	if invalidCodepoints[num] {
		return ""
	}
	return string(rune(num))
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isHexLetter(c byte) bool { return 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
