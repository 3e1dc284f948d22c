// Package redact hides the secrets an operator's URLs carry (a password in
// the userinfo, API keys in the query) before they are printed or logged.
// It reads the URL's text without parsing it, so a URL that does not parse
// (a '%' in a password not escaped) is redacted all the same.
package redact

import "strings"

// Mask replaces each hidden value.
const Mask = "xxxxx"

// URL returns raw with the userinfo's password and every query parameter's
// value replaced by Mask (names are kept, to tell them apart; a parameter
// without '=' is masked whole), and its fragment masked. The rest is left
// as written.
func URL(raw string) string {
	rest, frag := raw, false
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, frag = rest[:i], true
	}
	var query string
	hasQuery := false
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query, hasQuery = rest[:i], rest[i+1:], true
	}
	var b strings.Builder
	b.Grow(len(raw))
	b.WriteString(password(rest))
	if hasQuery {
		b.WriteByte('?')
		for i, param := range strings.Split(query, "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			switch name, _, hasValue := strings.Cut(param, "="); {
			case hasValue:
				b.WriteString(name + "=" + Mask)
			case param != "":
				b.WriteString(Mask) // a bare token may be the key itself
			}
		}
	}
	if frag {
		b.WriteString("#" + Mask)
	}
	return b.String()
}

// password replaces the password in the authority of s (a URL without
// its query and fragment): what lies between the first ':' and the last
// '@' before the path.
func password(s string) string {
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	} else if strings.HasPrefix(s, "//") {
		start = 2
	}
	auth := s[start:]
	if i := strings.IndexByte(auth, '/'); i >= 0 {
		auth = auth[:i]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return s
	}
	colon := strings.IndexByte(auth[:at], ':')
	if colon < 0 {
		return s
	}
	return s[:start+colon+1] + Mask + s[start+at:]
}
