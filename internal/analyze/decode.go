package analyze

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// view is one decoded form of a value and the decodings that made it.
type view struct {
	s   string
	via string
}

// minBase64 is the shortest value tried as base64 (6 bytes of text).
const minBase64 = 8

// decoder is one way an application may decode a value.
type decoder struct {
	name string
	// decode returns the decoded value, or ok false when it does not
	// apply (nothing to decode, or the result is not text).
	decode func(s string, place Place) (string, bool)
}

// decoders are tried in this order on each view, breadth first: a view
// made by one decoder is itself decoded, up to maxDepth decodings and
// maxViews views in all.
var decoders = []decoder{
	{"url", urlDecode},
	{"plus", plusDecode},
	{"base64", base64Decode},
	{"hex", hexDecode},
	{"jwt", jwtDecode},
	{"sqlcomment", sqlCommentStrip},
	{"html", htmlDecode},
	{"js", jsUnescape},
	{"fold", foldDecode},
	{"concat", concatJoin},
	{"strip", stripInWordTags},
}

// decodeViews appends to out the value as received and its decoded
// forms: at most maxViews, each at most maxDepth decodings deep, each
// distinct. The decoded bytes are bounded by the views' count and the
// value's (bounded) length: no decoding makes a value longer.
func decodeViews(v string, place Place, out []view) []view {
	out = append(out, view{s: v})
	for i := 0; i < len(out) && len(out) < maxViews; i++ {
		cur := out[i]
		if strings.Count(cur.via, ">")+1 > maxDepth && cur.via != "" {
			continue
		}
		for _, d := range decoders {
			if len(out) == maxViews {
				break
			}
			s, ok := d.decode(cur.s, place)
			if !ok || s == "" || s == cur.s || seen(out, s) {
				continue
			}
			via := d.name
			if cur.via != "" {
				via = cur.via + ">" + d.name
			}
			out = append(out, view{s: s, via: via})
		}
	}
	return out
}

func seen(vs []view, s string) bool {
	for _, v := range vs {
		if v.s == s {
			return true
		}
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// urlDecode decodes %XX and IIS's %uXXXX escapes (the value as received
// was URL-decoded once already: this is the second, or third, round an
// application may apply), then turns overlong UTF-8 forms of ASCII into
// ASCII (%c0%ae is a dot to some decoders).
func urlDecode(s string, _ Place) (string, bool) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return overlong(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	changed := false
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 < len(s) {
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(h<<4 | l)
				i += 2
				changed = true
				continue
			}
		}
		if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			var r rune
			ok := true
			for _, x := range []byte(s[i+2 : i+6]) {
				d, good := unhex(x)
				ok = ok && good
				r = r<<4 | rune(d)
			}
			if ok {
				b.WriteRune(r)
				i += 5
				changed = true
				continue
			}
		}
		b.WriteByte(c)
	}
	if !changed {
		return overlong(s)
	}
	out, _ := overlong(b.String())
	return out, true
}

// overlong rewrites overlong UTF-8 encodings of ASCII characters (two
// bytes C0/C1 xx, three bytes E0 80-81 xx) as the characters.
func overlong(s string) (string, bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError })
	if i < 0 {
		return s, false
	}
	var b []byte
	changed := false
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case (c == 0xc0 || c == 0xc1) && j+1 < len(s) && s[j+1]&0xc0 == 0x80:
			b = append(b, (c&0x1f)<<6|s[j+1]&0x3f)
			j++
			changed = true
		case c == 0xe0 && j+2 < len(s) && s[j+1]&0xe0 == 0x80 && s[j+2]&0xc0 == 0x80 && s[j+1] <= 0x81:
			b = append(b, (s[j+1]&0x3f)<<6|s[j+2]&0x3f)
			j += 2
			changed = true
		default:
			b = append(b, c)
		}
	}
	if !changed {
		return s, false
	}
	return string(b), true
}

// plusDecode reads '+' as a space, as a form decoder does, in a value
// that has no space (one that does was decoded already).
func plusDecode(s string, _ Place) (string, bool) {
	if !strings.Contains(s, "+") || strings.Contains(s, " ") {
		return "", false
	}
	return strings.ReplaceAll(s, "+", " "), true
}

// base64Decode decodes a value that is base64 or base64url as a whole
// (padding optional), or the payload of a data: URL, when what it
// decodes to is text: an application that decodes a state token or a
// "data" field gets that text.
func base64Decode(s string, _ Place) (string, bool) {
	if i := strings.Index(s, ";base64,"); i >= 0 {
		s = s[i+len(";base64,"):]
	}
	s = strings.TrimSpace(s)
	if len(s) < minBase64 {
		return "", false
	}
	url, std := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '+' || c == '/' || c == ' ': // a '+' in a query or form arrives as a space
			std = true
		case c == '-' || c == '_':
			url = true
		case c == '=' && i >= len(s)-2:
		default:
			return "", false
		}
	}
	if url && std {
		return "", false
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	if strings.IndexByte(s, ' ') >= 0 {
		s = strings.ReplaceAll(s, " ", "+")
	}
	s = strings.TrimRight(s, "=")
	if len(s)%4 == 1 {
		return "", false
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, []byte(s))
	if err != nil || !isText(out[:n]) {
		return "", false
	}
	return string(out[:n]), true
}

// minHex is the shortest value tried as hex-encoded text (8 bytes).
const minHex = 16

// hexDecode decodes a value that is hex as a whole (an even number of
// hex digits, "0x" or "\x" before each byte allowed) when it decodes to
// text: an application that hex-decodes a "data" or "payload" field gets
// that text. Hashes and ids decode to bytes that are not text.
func hexDecode(s string, _ Place) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < minHex {
		return "", false
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if strings.HasPrefix(s, `\x`) {
		s = strings.ReplaceAll(s, `\x`, "")
	}
	if len(s)%2 != 0 {
		return "", false
	}
	letters := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters = true
		default:
			return "", false
		}
	}
	if !letters {
		return "", false // a number
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		h, _ := unhex(s[2*i])
		l, _ := unhex(s[2*i+1])
		out[i] = h<<4 | l
	}
	if !isText(out) {
		return "", false
	}
	return string(out), true
}

// jwtDecode decodes a JSON Web Token (three base64url segments, the
// first a JSON header: "eyJ" is the encoding of `{"`), alone or after
// "Bearer ": the header and the claims, as the JSON array
// [header, claims] so that each claim is judged as a value (json.go).
// An unsigned token ("alg": "none") is the usual carrier: the server
// trusts claims it never checked.
func jwtDecode(s string, _ Place) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	if !strings.HasPrefix(s, "eyJ") {
		return "", false
	}
	head, rest, ok := strings.Cut(s, ".")
	if !ok {
		return "", false
	}
	claims, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sig, '.') >= 0 {
		return "", false
	}
	var parts [2][]byte
	for i, seg := range []string{head, claims} {
		seg = strings.TrimRight(seg, "=")
		b, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil || !isText(b) {
			return "", false
		}
		parts[i] = b
	}
	return "[" + string(parts[0]) + "," + string(parts[1]) + "]", true
}

// sqlCommentStrip removes the inline comments (/* ... */, not MySQL's
// executable /*! ... */) that split a keyword ("UN/**/ION SEL/**/ECT"):
// the form a filter that drops comments hands to the database. A comment
// between two pieces that make a SQL keyword joins them; any other
// comment stands for a space, as the database reads it.
func sqlCommentStrip(s string, _ Place) (string, bool) {
	i := strings.Index(s, "/*")
	if i < 0 || !strings.Contains(s[i:], "*/") {
		return "", false
	}
	out := make([]byte, 0, len(s))
	joined := false
	for i >= 0 {
		end := strings.Index(s[i+2:], "*/")
		if end < 0 || strings.HasPrefix(s[i:], "/*!") {
			break
		}
		out = append(out, s[:i]...)
		s = s[i+2+end+2:]
		w := len(out)
		for w > 0 && isASCIILetter(out[w-1]) {
			w--
		}
		n := 0
		for n < len(s) && isASCIILetter(s[n]) {
			n++
		}
		if w < len(out) && n > 0 && sqlKeywords[asciiLower(string(out[w:])+s[:n])] {
			joined = true
		} else {
			out = append(out, ' ')
		}
		i = strings.Index(s, "/*")
	}
	if !joined {
		return "", false // comments as spaces: libinjection reads them so already
	}
	out = append(out, s...)
	return string(out), true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// sqlKeywords are the words an injection splits with comments to get
// past a filter that looks for them.
var sqlKeywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`union select from where insert update delete drop into values and or not null
	order group having limit offset sleep benchmark waitfor delay exec execute declare table database schema
	concat char information_schema version user substring ascii case when then else end like load_file outfile
	copy program pg_sleep extractvalue updatexml`) {
		sqlKeywords[w] = true
	}
}

// isText reports whether b reads as text: valid UTF-8 with at most one
// control character in twenty (tabs and line breaks are text).
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	bad := 0
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			bad++
		}
	}
	return bad*20 <= len(b)
}

// htmlDecode decodes HTML character references as a browser does in
// text and attribute values: numeric ones with or without the closing
// semicolon and with any number of leading zeros, and the named ones
// attacks use. In a value that holds markup, only inside its tags (the
// attribute values a browser decodes before it acts on them): the text
// between tags is shown as text, so "&lt;script&gt;" in a rich-text
// <pre><code> block is an escaped code sample, what a blog stores. A
// value without markup is decoded whole (an application that unescapes
// it gets the markup).
func htmlDecode(s string, _ Place) (string, bool) {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return "", false
	}
	if strings.IndexByte(s, '<') >= 0 {
		if _, markup := stripTags(s); markup {
			return htmlDecodeInTags(s)
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	changed := false
	for ; i < len(s); i++ {
		c := s[i]
		if c != '&' || i+2 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if r, n := charRef(s[i+1:]); n > 0 {
			b.WriteRune(r)
			i += n
			changed = true
			continue
		}
		b.WriteByte(c)
	}
	if !changed {
		return "", false
	}
	return b.String(), true
}

// htmlDecodeInTags decodes the character references inside the tags of
// s (from a '<' that opens a tag to its '>'), not the text between them.
func htmlDecodeInTags(s string) (string, bool) {
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); {
		lt := strings.IndexByte(s[i:], '<')
		if lt < 0 {
			b.WriteString(s[i:])
			break
		}
		lt += i
		b.WriteString(s[i:lt])
		end := strings.IndexByte(s[lt:], '>')
		if end < 0 {
			end = len(s) - lt - 1
		}
		tag := s[lt : lt+end+1]
		if d, ok := htmlDecode(tag[1:], Arg); ok && strings.IndexByte(tag[1:], '<') < 0 {
			b.WriteByte('<')
			b.WriteString(d)
			changed = true
		} else {
			b.WriteString(tag)
		}
		i = lt + end + 1
	}
	if !changed {
		return "", false
	}
	return b.String(), true
}

// namedRefs are the named character references worth decoding: markup
// characters and the punctuation HTML5 gave names to.
var namedRefs = map[string]rune{
	"lt": '<', "gt": '>', "quot": '"', "apos": '\'', "amp": '&', "nbsp": ' ', "colon": ':', "lpar": '(', "rpar": ')',
	"sol": '/', "bsol": '\\', "tab": '\t', "newline": '\n', "equals": '=', "semi": ';', "comma": ',', "period": '.',
	"excl": '!', "num": '#', "dollar": '$', "percnt": '%', "plus": '+', "lsqb": '[', "rsqb": ']', "lcub": '{',
	"rcub": '}', "lbrack": '[', "rbrack": ']', "lbrace": '{', "rbrace": '}', "grave": '`', "hat": '^',
	"lowbar": '_', "quest": '?', "commat": '@', "verbar": '|', "vert": '|', "ast": '*', "midast": '*',
}

// charRef decodes the reference at the start of s (after the '&') and
// returns the character and the bytes it used (0: none).
func charRef(s string) (rune, int) {
	if s[0] == '#' {
		i, base := 1, 10
		if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
			i, base = 2, 16
		}
		start := i
		var r rune
		for ; i < len(s) && i-start < 16; i++ {
			d, ok := unhex(s[i])
			if !ok || base == 10 && d > 9 {
				break
			}
			r = r*rune(base) + rune(d)
			if r > utf8.MaxRune {
				r = utf8.RuneError
			}
		}
		if i == start {
			return 0, 0
		}
		if i < len(s) && s[i] == ';' {
			i++
		}
		if r == 0 {
			r = utf8.RuneError
		}
		return r, i
	}
	i := 0
	for i < len(s) && i < 10 && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == 0 {
		return 0, 0
	}
	r, ok := namedRefs[asciiLower(s[:i])]
	if !ok {
		return 0, 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	return r, i
}

// jsUnescape decodes JavaScript and JSON string escapes (\uXXXX,
// \u{X...}, \xXX, octal, \n and the like).
func jsUnescape(s string, _ Place) (string, bool) {
	i := strings.IndexByte(s, '\\')
	if i < 0 || i == len(s)-1 {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	changed := false
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		n := s[i+1]
		switch {
		case n == 'u' && i+2 < len(s) && s[i+2] == '{':
			end := strings.IndexByte(s[i+3:], '}')
			if r, ok := hexRune(s[i+3 : i+3+max(end, 0)]); ok && end > 0 {
				b.WriteRune(r)
				i += 3 + end
				changed = true
				continue
			}
		case n == 'u' && i+5 < len(s):
			if r, ok := hexRune(s[i+2 : i+6]); ok {
				// A surrogate pair is two escapes.
				if r >= 0xd800 && r < 0xdc00 && i+11 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
					if lo, ok := hexRune(s[i+8 : i+12]); ok && lo >= 0xdc00 && lo < 0xe000 {
						b.WriteRune((r-0xd800)<<10 | (lo - 0xdc00) + 0x10000)
						i += 11
						changed = true
						continue
					}
				}
				b.WriteRune(r)
				i += 5
				changed = true
				continue
			}
		case n == 'x' && i+3 < len(s):
			if r, ok := hexRune(s[i+2 : i+4]); ok {
				b.WriteRune(r)
				i += 3
				changed = true
				continue
			}
		case n >= '0' && n <= '7':
			j, r := i+1, rune(0)
			for j < len(s) && j < i+4 && s[j] >= '0' && s[j] <= '7' {
				r = r*8 + rune(s[j]-'0')
				j++
			}
			if r > 0 {
				b.WriteRune(r)
				i = j - 1
				changed = true
				continue
			}
		case n == 'n' || n == 'r' || n == 't' || n == '\'' || n == '"' || n == '\\' || n == '/' || n == '`':
			switch n {
			case 'n':
				n = '\n'
			case 'r':
				n = '\r'
			case 't':
				n = '\t'
			}
			b.WriteByte(n)
			i++
			changed = true
			continue
		}
		b.WriteByte(c)
	}
	if !changed {
		return "", false
	}
	return b.String(), true
}

func hexRune(h string) (rune, bool) {
	if h == "" || len(h) > 6 {
		return 0, false
	}
	var r rune
	for i := 0; i < len(h); i++ {
		d, ok := unhex(h[i])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, r <= utf8.MaxRune
}

// foldDecode maps characters that stand for ASCII to it: full-width
// forms, circled and parenthesized letters, small forms, mathematical
// letters and digits, and removes NUL bytes (UTF-16 text read as bytes,
// "<scr\x00ipt>").
func foldDecode(s string, _ Place) (string, bool) {
	hasNUL := strings.IndexByte(s, 0) >= 0
	fold := false
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xe2 && s[i] < 0xf8 {
			fold = true
			break
		}
	}
	if !hasNUL && !fold {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s))
	changed := false
	for _, r := range s {
		if r == 0 {
			changed = true
			continue
		}
		m := foldRune(r)
		if m != r {
			changed = true
		}
		b.WriteRune(m)
	}
	if !changed {
		return "", false
	}
	return b.String(), true
}

// smallForms maps U+FE50..FE6B (small punctuation) to ASCII.
var smallForms = [...]rune{',', ',', '.', 0, ';', ':', '?', '!', '-', '(', ')', '{', '}', '[', ']', '#', '&', '*', '+', '-', '<', '>', '=', 0, '\\', '$', '%', '@'}

func foldRune(r rune) rune {
	switch {
	case r >= 0xff01 && r <= 0xff5e: // full-width ASCII
		return r - 0xfee0
	case r >= 0x24b6 && r <= 0x24cf: // circled capital letters
		return 'A' + r - 0x24b6
	case r >= 0x24d0 && r <= 0x24e9: // circled small letters
		return 'a' + r - 0x24d0
	case r >= 0x249c && r <= 0x24b5: // parenthesized small letters
		return 'a' + r - 0x249c
	case r >= 0xfe50 && r <= 0xfe6b:
		if m := smallForms[r-0xfe50]; m != 0 {
			return m
		}
	case r >= 0x1d400 && r <= 0x1d6a3: // mathematical letters, 13 styles of 52
		if k := (r - 0x1d400) % 52; k < 26 {
			return 'A' + k
		} else {
			return 'a' + k - 26
		}
	case r >= 0x1d7ce && r <= 0x1d7ff: // mathematical digits
		return '0' + (r-0x1d7ce)%10
	case r >= 0x2460 && r <= 0x2468: // circled digits 1-9
		return '1' + r - 0x2460
	case r >= 0x2474 && r <= 0x247c: // parenthesized digits 1-9
		return '1' + r - 0x2474
	case r >= 0x24f5 && r <= 0x24fd: // double circled digits 1-9
		return '1' + r - 0x24f5
	case r >= 0x2776 && r <= 0x277e: // negative circled digits 1-9
		return '1' + r - 0x2776
	case r >= 0x2780 && r <= 0x2788: // sans-serif circled digits 1-9
		return '1' + r - 0x2780
	case r >= 0x278a && r <= 0x2792: // negative sans-serif circled digits 1-9
		return '1' + r - 0x278a
	case r == 0x24ea || r == 0x24ff || r == 0x1f10b || r == 0x1f10c: // circled and negative circled zero
		return '0'
	case r == 0x3002 || r == 0xff61: // ideographic full stops: IDNA reads them as dots
		return '.'
	case r > 0xff && (r&0xff == '\n' || r&0xff == '\r'):
		// A server that writes a header as Latin-1 keeps the low byte:
		// U+560D becomes a carriage return.
		return r & 0xff
	}
	return r
}

// concatJoin joins string literals concatenated with + (JavaScript,
// Java), & (VBScript) or . (PHP): 'ale'+'rt' reads as 'alert'.
func concatJoin(s string, _ Place) (string, bool) {
	if !strings.ContainsAny(s, "+&.") || !strings.ContainsAny(s, `'"`) || !hasConcat(s) {
		return "", false
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '"' {
			j := i + 1
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			if j < len(s) && (s[j] == '+' || s[j] == '&' || s[j] == '.') {
				k := j + 1
				for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
					k++
				}
				if k < len(s) && s[k] == c {
					i = k
					changed = true
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	if !changed {
		return "", false
	}
	return b.String(), true
}

// hasConcat reports a quote, an operator and the same quote again (with
// spaces between): the join concatJoin undoes.
func hasConcat(s string) bool {
	for i := strings.IndexAny(s, `'"`); i >= 0 && i < len(s); {
		c := s[i]
		j := i + 1
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		if j < len(s) && (s[j] == '+' || s[j] == '&' || s[j] == '.') {
			k := j + 1
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			if k < len(s) && s[k] == c {
				return true
			}
		}
		next := strings.IndexAny(s[i+1:], `'"`)
		if next < 0 {
			return false
		}
		i += 1 + next
	}
	return false
}

// stripInWordTags removes tags that split a word ("o<x>nfocus",
// "alert<b>(1)"), as a sanitizer that strips tags would, leaving the
// word it split ("onfocus").
func stripInWordTags(s string, _ Place) (string, bool) {
	if strings.IndexByte(s, '<') < 0 {
		return "", false
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(s); i++ {
		if s[i] == '<' && i > 0 && isIdentByte(s[i-1]) {
			j := i + 1
			if j < len(s) && s[j] == '/' {
				j++
			}
			k := j
			for k < len(s) && k-j < 16 && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9') {
				k++
			}
			if k > j && k < len(s) && s[k] == '>' && k+1 < len(s) && (isIdentByte(s[k+1]) || s[k+1] == '(') {
				i = k
				changed = true
				continue
			}
		}
		b.WriteByte(s[i])
	}
	if !changed {
		return "", false
	}
	return b.String(), true
}
