package analyze

import "strings"

// Inert reports whether s is data that a browser and the application
// read as inert, on which the rule set's patterns match without meaning:
//
//   - data: URIs of media (an image, a font, audio, video) with their
//     base64 payload, alone (a JSON field) or in CSS
//     ("url(data:image/svg+xml;base64,...)"); the payload is still
//     decoded and judged by the analyzer (an SVG's script);
//   - rich text whose markup is plain formatting and whose code is
//     entity-escaped (a <pre><code>&lt;script ...&gt; sample): the
//     browser shows the escaped code as text;
//   - a GraphQL query document ("query { article(id: 5) { title } }").
//
// What remains of s once the inert parts are set aside must hold no
// finding of the analyzer. A rule-set match on an inert value needs the
// analyzer's agreement, as one on prose does.
func Inert(s string) bool {
	switch {
	case strings.Contains(s, ";base64,"):
		rest, ok := withoutMediaDataURIs(s)
		return ok && inertRest(rest)
	case strings.Contains(s, "&") && strings.Contains(s, "<"):
		return escapedCodeSample(s)
	default:
		return graphQLDocument(s)
	}
}

// inertRest reports whether what is left of a value around its inert
// parts holds nothing that runs: no markup, no shell substitution, no
// script URL, nothing the analyzer finds.
func inertRest(rest string) bool {
	lc := asciiLower(rest)
	for _, w := range []string{"<", ">", "`", "$(", "|", "&&", "javascript:", "vbscript:", "expression(", "@import", "behavior", "binding"} {
		if strings.Contains(lc, w) {
			return false
		}
	}
	return New(All, Arg).Inspect(rest).Confidence < Medium
}

// mediaTypes are the data: URI types a browser renders as media.
var mediaTypes = []string{"image/", "font/", "audio/", "video/", "application/font-", "application/x-font-"}

// withoutMediaDataURIs replaces each data: URI of a media type with a
// base64 payload by the word "data"; ok false when there is none, or a
// data: URI of another type (text/html runs script).
func withoutMediaDataURIs(s string) (string, bool) {
	var b strings.Builder
	found := false
	for {
		i := strings.Index(asciiLower(s), "data:")
		if i < 0 {
			b.WriteString(s)
			break
		}
		head := s[i+5:]
		semi := strings.Index(head, ";base64,")
		if semi < 0 || semi > 80 {
			b.WriteString(s[:i+5])
			s = head
			continue
		}
		mt := asciiLower(head[:semi])
		media := false
		for _, p := range mediaTypes {
			if strings.HasPrefix(mt, p) {
				media = true
			}
		}
		if !media || strings.ContainsAny(mt, " <>\"'()") {
			return "", false
		}
		payload := head[semi+len(";base64,"):]
		n := 0
		for n < len(payload) && (isASCIILetter(payload[n]) || payload[n] >= '0' && payload[n] <= '9' || strings.IndexByte("+/=-_", payload[n]) >= 0) {
			n++
		}
		if n < 4 {
			return "", false
		}
		b.WriteString(s[:i])
		b.WriteString("data")
		s = payload[n:]
		found = true
	}
	return b.String(), found
}

// formattingTags are the tags of rich text that only format it.
var formattingTags = map[string]bool{"p": true, "pre": true, "code": true, "br": true, "b": true, "i": true, "em": true,
	"strong": true, "u": true, "s": true, "ul": true, "ol": true, "li": true, "blockquote": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "span": true, "div": true, "kbd": true, "samp": true, "var": true,
	"tt": true, "small": true, "sub": true, "sup": true, "hr": true, "dl": true, "dt": true, "dd": true, "table": true,
	"thead": true, "tbody": true, "tr": true, "td": true, "th": true, "figure": true, "figcaption": true, "mark": true}

// escapedCodeSample reports rich text made of formatting tags without
// attributes (but class, title, lang), whose text holds entity-escaped
// markup (&lt;), and no raw tag of any other kind.
func escapedCodeSample(s string) bool {
	if !strings.Contains(s, "&lt;") && !strings.Contains(s, "&#60;") && !strings.Contains(s, "&#x3c;") && !strings.Contains(s, "&#x3C;") {
		return false
	}
	tags := 0
	var text strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			text.WriteByte(s[i])
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			return false
		}
		tag := strings.TrimSuffix(strings.TrimPrefix(s[i+1:i+end], "/"), "/")
		fields := strings.Fields(tag)
		if len(fields) == 0 || !formattingTags[asciiLower(fields[0])] {
			return false
		}
		for _, a := range fields[1:] {
			name, _, _ := strings.Cut(asciiLower(a), "=")
			if name != "class" && name != "title" && name != "lang" && name != "dir" {
				return false
			}
		}
		tags++
		text.WriteByte(' ')
		i += end
	}
	return tags > 0 && !strings.ContainsAny(text.String(), "<>")
}

// graphQLDocument reports a GraphQL query document: an operation (query,
// mutation, subscription, fragment, or a bare selection set) of names,
// arguments, variables and selection sets, whose string arguments hold
// no syntax.
func graphQLDocument(s string) bool {
	s = strings.TrimSpace(s)
	lc := asciiLower(s)
	if !(strings.HasPrefix(lc, "query") || strings.HasPrefix(lc, "mutation") || strings.HasPrefix(lc, "subscription") ||
		strings.HasPrefix(lc, "fragment") || strings.HasPrefix(s, "{")) || !strings.HasSuffix(s, "}") || strings.Contains(s, "{{") {
		return false
	}
	if s[0] == '{' && strings.Count(s, "{") < 2 {
		return false // a bare selection set selects into an object: "{id,}" is brace expansion
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' || c == '(' || c == '[':
			depth++
		case c == '}' || c == ')' || c == ']':
			depth--
			if depth < 0 {
				return false
			}
		case isASCIILetter(c) || c >= '0' && c <= '9' || c == '_' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			c == ',' || c == ':' || c == '!' || c == '$' || c == '@' || c == '=' || c == '.' || c == '-':
		case c == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return false
			}
			if lit := s[i+1 : i+1+end]; hasSyntax(lit) && !Text(lit) || strings.IndexByte(lit, '\\') >= 0 {
				return false
			}
			i += end + 1
			if strings.HasPrefix(strings.TrimLeft(s[i+1:], " \t\r\n"), ":") {
				return false // a quoted key: JSON, not GraphQL
			}
		case c == '#':
			// a comment to the end of the line
			nl := strings.IndexByte(s[i:], '\n')
			if nl < 0 {
				return false
			}
			i += nl
		default:
			return false
		}
	}
	return depth == 0
}
