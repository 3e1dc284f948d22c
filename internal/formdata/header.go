package formdata

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"
)

// param is a header parameter's value as Django's parse_header leaves it:
// bytes, or (for name*=charset'lang'value, RFC 2231) a decoded string.
type param struct {
	raw     []byte
	str     string
	decoded bool // str holds the value (an RFC 2231 parameter)
}

// truthy is Python's truth of the value: not empty.
func (p param) truthy() bool {
	if p.decoded {
		return p.str != ""
	}
	return len(p.raw) > 0
}

// header is one parsed line of a part's header block: its name (the text
// before the first colon, lower-cased: Django lower-cases the whole first
// segment), its main value (lower-cased too) and its parameters.
type header struct {
	name   string
	value  string
	params map[string]param
	dup    bool // a parameter given twice (name and name* count as one)
}

// errLine is a header line Django's parser raises ValueError on: it
// skips the line.
var errLine = errors.New("unparsable header line")

// errUnsupported is a parameter Django decodes with a codec Parapet does
// not implement (or one Python does not know, which makes Django fail).
var errUnsupported = errors.New("RFC 2231 parameter in a charset Parapet does not decode")

// parseHeaderLine is Django 3.2's parse_header followed by the split on
// the first colon of parse_boundary_stream's _parse_header.
func parseHeaderLine(line []byte) (header, error) {
	key, params, dup, err := parseHeader(line)
	if err != nil {
		return header{}, err
	}
	name, value, ok := strings.Cut(key, ":")
	if !ok {
		return header{}, errLine
	}
	return header{name: name, value: value, params: params, dup: dup}, nil
}

// parseHeader is django.http.multipartparser.parse_header: the first
// segment (lower-cased) and the parameters. Later parameters replace
// earlier ones of the same name (dup reports one); "name*" becomes "name",
// decoded when the whole parameter holds exactly two apostrophes.
func parseHeader(line []byte) (key string, params map[string]param, dup bool, err error) {
	plist := parseHeaderParams(line)
	if !isASCII(plist[0]) {
		return "", nil, false, errLine // .decode('ascii')
	}
	params = map[string]param{}
	for _, p := range plist[1:] {
		i := bytes.IndexByte(p, '=')
		if i < 0 {
			continue
		}
		nameBytes := bytes.ToLower(pyStripBytes(p[:i]))
		if !isASCII(nameBytes) {
			return "", nil, false, errLine
		}
		name := string(nameBytes)
		hasEncoding := false
		if strings.HasSuffix(name, "*") {
			name = name[:len(name)-1]
			if bytes.Count(p, []byte("'")) == 2 {
				hasEncoding = true
			}
		}
		value := pyStripBytes(p[i+1:])
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
			value = bytes.ReplaceAll(value, []byte(`\\`), []byte(`\`))
			value = bytes.ReplaceAll(value, []byte(`\"`), []byte(`"`))
		}
		if _, ok := params[name]; ok {
			dup = true
		}
		if !hasEncoding {
			params[name] = param{raw: value}
			continue
		}
		pieces := bytes.Split(value, []byte("'"))
		if len(pieces) != 3 {
			return "", nil, false, errLine // encoding, lang, value = value.split(b"'")
		}
		if !utf8.Valid(pieces[2]) || !utf8.Valid(pieces[0]) {
			return "", nil, false, errLine // .decode() is strict UTF-8
		}
		s, err := unquote(string(pieces[2]), string(pieces[0]))
		if err != nil {
			return "", nil, false, err
		}
		params[name] = param{str: s, decoded: true}
	}
	return strings.ToLower(string(plist[0])), params, dup, nil
}

// parseHeaderParams is Django's _parse_header_params on b';' + line: the
// segments between semicolons, a semicolon after an odd number of double
// quotes (escaped or not) being part of a segment; each segment stripped
// of ASCII whitespace.
func parseHeaderParams(line []byte) [][]byte {
	var plist [][]byte
	s := line
	first := true
	for first || len(s) > 0 && s[0] == ';' {
		if !first {
			s = s[1:]
		}
		first = false
		end := bytes.IndexByte(s, ';')
		for end > 0 && bytes.Count(s[:end], []byte(`"`))%2 == 1 {
			next := bytes.IndexByte(s[end+1:], ';')
			if next < 0 {
				end = -1
				break
			}
			end += 1 + next
		}
		if end < 0 {
			end = len(s)
		}
		plist = append(plist, pyStripBytes(s[:end]))
		s = s[end:]
	}
	return plist
}

// cgiParseHeader is Python's cgi.parse_header, which Django uses for the
// request's Content-Type (its media type and charset): like Django's own
// parse_header, except that escaped quotes do not count when looking for
// the semicolons, the media type is not lower-cased and no parameter is
// decoded.
func cgiParseHeader(line string) (string, map[string]string) {
	var parts []string
	s := ";" + line
	for len(s) > 0 && s[0] == ';' {
		s = s[1:]
		end := strings.IndexByte(s, ';')
		for end > 0 && (strings.Count(s[:end], `"`)-strings.Count(s[:end], `\"`))%2 != 0 {
			next := strings.IndexByte(s[end+1:], ';')
			if next < 0 {
				end = -1
				break
			}
			end += 1 + next
		}
		if end < 0 {
			end = len(s)
		}
		parts = append(parts, strings.TrimFunc(s[:end], pyIsSpace))
		s = s[end:]
	}
	params := map[string]string{}
	for _, p := range parts[1:] {
		i := strings.IndexByte(p, '=')
		if i < 0 {
			continue
		}
		name := strings.ToLower(strings.TrimFunc(p[:i], pyIsSpace))
		value := strings.TrimFunc(p[i+1:], pyIsSpace)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
			value = strings.ReplaceAll(value, `\\`, `\`)
			value = strings.ReplaceAll(value, `\"`, `"`)
		}
		params[name] = value
	}
	return parts[0], params
}

// unquote is Python's urllib.parse.unquote(s, encoding) (errors
// "replace"): %XX escapes in runs of ASCII decoded with the charset.
// Without a % the charset is not even looked up.
func unquote(s, charset string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	c, ok := lookupCharset(charset)
	if !ok {
		return "", errUnsupported
	}
	var out strings.Builder
	for len(s) > 0 {
		// A run of ASCII, then a run of anything else (kept as it is).
		i := 0
		for i < len(s) && s[i] < 0x80 {
			i++
		}
		out.WriteString(c.decode(UnquoteToBytes(s[:i])))
		s = s[i:]
		j := 0
		for j < len(s) && s[j] >= 0x80 {
			j++
		}
		out.WriteString(s[:j])
		s = s[j:]
	}
	return out.String(), nil
}

// UnquoteToBytes is urllib.parse.unquote_to_bytes: %XX with two hex
// digits becomes the byte, anything else stays.
func UnquoteToBytes(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, ok := Unhex(s[i+1]); ok {
				if lo, ok := Unhex(s[i+2]); ok {
					b = append(b, hi<<4|lo)
					i += 2
					continue
				}
			}
		}
		b = append(b, s[i])
	}
	return b
}

// Unhex is the value of the hexadecimal digit c (either case); ok is
// false when c is not one.
func Unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// pyStripBytes is Python's bytes.strip(): ASCII whitespace.
func pyStripBytes(b []byte) []byte {
	return bytes.TrimFunc(b, func(r rune) bool { return r < 0x80 && isASCIISpace(byte(r)) })
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
