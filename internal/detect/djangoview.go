package detect

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"

	"github.com/tidwall/gjson"
)

// This file gives the rules the values as Django hands them to a view
// where Coraza reads the request differently: cookie values Django
// unquotes and unescapes, and JSON bodies a view may json.loads whatever
// their Content-Type says. The values are added beside Coraza's own, so
// rules see both readings.

// djangoCookies returns the cookies as django.http.parse_cookie reads the
// Cookie header gunicorn builds from the request's Cookie lines (joined
// with ","), which Django decodes as UTF-8 (invalid bytes replaced): split
// on ";", key and value stripped of Python's white space (Unicode's, NBSP
// and \x1c-\x1f included), quoted values unquoted with their backslash
// and octal escapes decoded (http.cookies._unquote; \ooo is the character
// with that code). Only cookies whose value differs from the
// plain reading Coraza makes of each line are returned; nil (without
// allocating) for the ordinary Cookie header that has nothing to decode.
func djangoCookies(lines []string) [][2]string {
	if len(lines) == 0 || (len(lines) == 1 && !needsDjangoReading(lines[0])) {
		return nil
	}
	var out [][2]string
	for _, kv := range parseCookie(strings.Join(lines, ",")) {
		if !plainReading(lines, kv[0], kv[1]) {
			out = append(out, kv)
		}
	}
	return out
}

// parseCookie is django.http.parse_cookie on the raw header (decoded as
// UTF-8, invalid bytes replaced, as Django's get_str_from_wsgi does), in
// order; for a key given twice, Django keeps the last.
func parseCookie(header string) [][2]string {
	header = strings.ToValidUTF8(header, "\uFFFD")
	var out [][2]string
	for chunk := range strings.SplitSeq(header, ";") {
		key, val, found := strings.Cut(chunk, "=")
		if !found {
			key, val = "", chunk
		}
		key, val = pyStrip(key), pyStrip(val)
		if key == "" && val == "" {
			continue
		}
		out = append(out, [2]string{key, pyUnquote(val)})
	}
	return out
}

// needsDjangoReading reports whether a single Cookie line holds anything
// Django reads differently from a plain split on "; ": quotes, backslashes,
// or bytes Python strips as white space but Coraza keeps.
func needsDjangoReading(line string) bool {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"' || c == '\\':
			return true
		case c < 0x20 || c >= 0x7f:
			return true
		}
	}
	return false
}

// plainReading reports whether some Cookie line carries key=val as
// written (the value Coraza already inspects).
func plainReading(lines []string, key, val string) bool {
	for _, line := range lines {
		for chunk := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(chunk, "=")
			if strings.TrimSpace(k) == key && strings.TrimSpace(v) == val {
				return true
			}
		}
	}
	return false
}

// pyStrip is Python's str.strip(): Unicode white space (Go's
// unicode.IsSpace) and the separators \x1c-\x1f.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// pyUnquote is http.cookies._unquote: a value in double quotes loses them,
// and within it \ooo (octal, first digit 0-3) is that byte and a
// backslash before any other character is that character.
func pyUnquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteRune(rune(s[i+1]-'0')<<6 | rune(s[i+2]-'0')<<3 | rune(s[i+3]-'0'))
			i += 3
			continue
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// adder is the part of a Coraza collection.Map addJSONArgs fills.
type adder interface{ Add(key, value string) }

// maxJSONArgs and maxJSONDepth bound what jsonArgs adds: Coraza's own JSON
// processor's SecArgumentsLimit and its recursion limit.
const (
	maxJSONArgs  = 1000
	maxJSONDepth = 1024
)

// addJSONArgs adds the values of a body that parses as JSON, flattened as
// Coraza's JSON body processor names them ("json.user.name",
// "json.items.0"), to args. It is for bodies Coraza reads as something
// else (their Content-Type is not JSON): a view may still
// json.loads(request.body), and JSON strings carry escapes (\t, \u0027,
// \/) that the form reading never decodes. A body in UTF-16 or UTF-32 is
// read in that encoding, as json.loads on bytes reads it (wideJSONText).
// Bodies that do not start like JSON (after white space and a UTF-8 BOM,
// which json.loads accepts on bytes) are left alone; the walk is iterative
// and bounded.
func addJSONArgs(args adder, body []byte) {
	if text, ok := wideJSONText(body); ok {
		body = text // UTF-16 or UTF-32, which json.loads reads too
	}
	body = bytes.TrimLeft(body, " \t\r\n")
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	body = bytes.TrimLeft(body, " \t\r\n")
	if len(body) == 0 || (body[0] != '{' && body[0] != '[' && body[0] != '"') {
		return // a form or text: no copy made
	}
	s := string(body)
	type item struct {
		key   string
		value gjson.Result
		depth int
	}
	stack := []item{{key: "json", value: gjson.Parse(s)}}
	added := 0
	for len(stack) > 0 && added < maxJSONArgs {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case it.value.IsObject() || it.value.IsArray():
			if it.depth >= maxJSONDepth {
				continue
			}
			i := 0
			it.value.ForEach(func(k, v gjson.Result) bool {
				name := k.String()
				if it.value.IsArray() {
					name = strconv.Itoa(i)
				}
				i++
				stack = append(stack, item{key: it.key + "." + name, value: v, depth: it.depth + 1})
				return len(stack) < 4*maxJSONArgs
			})
		case it.value.Exists():
			args.Add(it.key, it.value.String()) // strings decoded; numbers, booleans, null as written
			added++
		}
	}
}
