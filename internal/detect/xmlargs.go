package detect

import (
	"bytes"
	"encoding/xml"
	"io"
	"maps"
	"strings"
	"unicode/utf8"
)

// Bounds of addXMLArgs besides maxJSONArgs: how deep element names nest
// and how long they grow (deeper or longer, an element's fields take its
// parent's name: its text is still read), how many entities a DOCTYPE may
// declare, how long one entity's replacement text may grow, how deep
// entity references nest, and how much text all references to entities
// may add (the longest replacement is cut to fit).
const (
	maxXMLNameLen   = 256
	maxXMLEntities  = 256
	maxXMLEntityLen = 64 << 10
	maxXMLEntityRef = 16
	maxXMLExpansion = 1 << 20
)

// addXMLArgs adds the text of each element and the value of each
// attribute of a body that starts as markup (startsAsMarkup; UTF-8 text:
// UTF-16 bodies are refused for their NULs) to args, decoded as an XML
// parser decodes them (ElementTree, defusedxml, DRF's XMLParser): named
// and numeric character references, CDATA sections, and the internal
// general entities a DOCTYPE declares (<!ENTITY name "value">, which
// expat expands). The form reading Coraza gives such a body splits it at
// each '&', so a payload written with character references (&#39;, &#32;)
// is cut into harmless pieces there.
//
// Fields are named by the element's path ("xml.request.q") and
// "@attribute" ("xml.request.q@id"); an element's text is its character
// data outside its children, joined. HTML-ish input is read leniently
// (Strict off: unquoted attribute values made of name characters, HTML
// auto-closing and entities); a malformed document (one expat refuses too)
// keeps what was read before the error. The walk is iterative and bounded like
// addJSONArgs.
func addXMLArgs(args adder, body []byte) {
	body = bytes.TrimLeft(body, "\xef\xbb\xbf \t\r\n")
	if len(body) == 0 || body[0] != '<' || !startsAsMarkup(body[:min(len(body), 512)]) {
		return
	}
	if len(body) > 1 && body[1] == 0 {
		return // UTF-16 without a byte order mark
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity // shared: copied before a DOCTYPE's entities are added
	d.CharsetReader = xmlCharsetReader

	type open struct {
		key  string
		text strings.Builder
	}
	var stack []*open
	added := 0
	add := func(k, v string) {
		if added < maxJSONArgs && strings.TrimSpace(v) != "" {
			args.Add(k, v)
			added++
		}
	}
	for added < maxJSONArgs {
		tok, err := d.Token()
		if err != nil {
			break // io.EOF or a syntax error: keep what came before
		}
		switch t := tok.(type) {
		case xml.StartElement:
			key := "xml"
			if len(stack) > 0 {
				key = stack[len(stack)-1].key
			}
			if len(key)+1+len(t.Name.Local) <= maxXMLNameLen {
				key += "." + t.Name.Local
			}
			stack = append(stack, &open{key: key})
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue // a namespace declaration, not data
				}
				add(key+"@"+a.Name.Local, a.Value)
			}
		case xml.EndElement:
			if len(stack) > 0 {
				e := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				add(e.key, e.text.String())
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.Directive:
			if len(stack) == 0 {
				declared := declareXMLEntities(t, body[min(int(d.InputOffset()), len(body)):])
				if len(declared) > 0 {
					entity := make(map[string]string, len(d.Entity)+len(declared))
					maps.Copy(entity, d.Entity)
					maps.Copy(entity, declared)
					d.Entity = entity
				}
			}
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		add(stack[i].key, stack[i].text.String()) // open when the input ended or broke
	}
}

// xmlCharsetReader reads a body whose XML declaration names another
// encoding than UTF-8. expat reads only single-byte encodings besides its
// own (Python's pyexpat refuses multi-byte ones), and only those that keep
// ASCII where the declaration is: the body is read as Latin-1, which
// keeps ASCII as it is.
func xmlCharsetReader(label string, input io.Reader) (io.Reader, error) {
	if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "utf8") {
		return input, nil
	}
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return bytes.NewReader(out), nil
}

// declareXMLEntities is the internal general entities a DOCTYPE
// declares (<!ENTITY name "value"> or 'value'), with their
// replacement text as a parser reads it where they are referenced:
// character references decoded, and references to the predefined and the
// other declared entities expanded (nested at most maxXMLEntityRef deep,
// each at most maxXMLEntityLen long). rest is the body after the DOCTYPE:
// when its references would add more than maxXMLExpansion in all, every
// replacement is cut to fit. Parameter entities, external entities
// (SYSTEM, PUBLIC) and anything not written plainly are left out.
func declareXMLEntities(dir xml.Directive, rest []byte) map[string]string {
	s := string(dir)
	if len(s) < 7 || !strings.EqualFold(s[:7], "DOCTYPE") {
		return nil
	}
	open := strings.IndexByte(s, '[')
	if open < 0 {
		return nil
	}
	s = s[open+1:]
	raw := map[string]string{}
	var order []string
	for len(order) < maxXMLEntities {
		i := strings.Index(s, "<!ENTITY")
		if i < 0 {
			break
		}
		s = s[i+len("<!ENTITY"):]
		t := strings.TrimLeft(s, " \t\r\n")
		if len(t) == len(s) || strings.HasPrefix(t, "%") {
			continue // not a declaration, or a parameter entity
		}
		n := 0
		for n < len(t) && !strings.ContainsRune(" \t\r\n\"'>", rune(t[n])) {
			n++
		}
		name := t[:n]
		t = strings.TrimLeft(t[n:], " \t\r\n")
		if name == "" || len(t) == 0 || t[0] != '"' && t[0] != '\'' {
			continue // SYSTEM or PUBLIC: external
		}
		end := strings.IndexByte(t[1:], t[0])
		if end < 0 {
			break
		}
		value := t[1 : 1+end]
		s = t[1+end+1:]
		if _, seen := raw[name]; seen {
			continue // the first declaration binds
		}
		raw[name] = decodeXMLCharRefs(value)
		order = append(order, name)
	}
	if len(order) == 0 {
		return nil
	}
	final := map[string]string{}
	budget := maxXMLExpansion // all the replacement texts together
	for _, name := range order {
		final[name] = expandXMLEntities(name, raw, min(budget, maxXMLEntityLen))
		budget -= len(final[name])
	}
	// What the references in the document would add in all.
	refs, total := 0, 0
	for _, name := range order {
		if c := bytes.Count(rest, []byte("&"+name+";")); c > 0 {
			refs += c
			total += c * len(final[name])
		}
	}
	limit := maxXMLEntityLen
	if total > maxXMLExpansion {
		limit = maxXMLExpansion / refs
	}
	for _, name := range order {
		if v := final[name]; len(v) > limit {
			final[name] = strings.ToValidUTF8(v[:limit], "")
		}
	}
	return final
}

// expandXMLEntities is the replacement text of the entity name: its
// value (character references already decoded) with the predefined
// entities and character references it holds decoded and the references
// to the declared entities (raw) expanded, iteratively, nested at most
// maxXMLEntityRef deep and at most limit long. An unknown or recursive
// reference is kept as written.
func expandXMLEntities(name string, raw map[string]string, limit int) string {
	type frame struct {
		name string
		rest string
	}
	stack := []frame{{name, raw[name]}}
	var b strings.Builder
	for len(stack) > 0 && b.Len() < limit {
		f := &stack[len(stack)-1]
		i := strings.IndexByte(f.rest, '&')
		if i < 0 {
			b.WriteString(f.rest)
			stack = stack[:len(stack)-1]
			continue
		}
		b.WriteString(f.rest[:i])
		f.rest = f.rest[i:]
		j := strings.IndexByte(f.rest, ';')
		if j < 0 {
			b.WriteString(f.rest)
			stack = stack[:len(stack)-1]
			continue
		}
		ref := f.rest[:j+1]
		f.rest = f.rest[j+1:]
		if d := decodeXMLCharRefs(ref); d != ref {
			b.WriteString(d) // a character reference in the replacement text
			continue
		}
		n := ref[1 : len(ref)-1]
		if r, ok := xmlPredefined[n]; ok {
			b.WriteString(r)
			continue
		}
		v, ok := raw[n]
		recursive := false
		for _, g := range stack {
			recursive = recursive || g.name == n
		}
		if !ok || recursive || len(stack) >= maxXMLEntityRef {
			b.WriteString(ref)
			continue
		}
		stack = append(stack, frame{n, v})
	}
	s := b.String()
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "")
	}
	return s
}

var xmlPredefined = map[string]string{"lt": "<", "gt": ">", "amp": "&", "apos": "'", "quot": "\""}

// decodeXMLCharRefs decodes the character references (&#39;, &#x27;) in
// s, as a parser does in an entity's value when it reads the declaration;
// the rest is kept as written.
func decodeXMLCharRefs(s string) string {
	if !strings.Contains(s, "&#") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "&#")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexByte(s, ';')
		if r, ok := xmlCharRef(s[2:max(j, 2)]); j > 2 && ok {
			b.WriteRune(r)
			s = s[j+1:]
			continue
		}
		b.WriteString("&#")
		s = s[2:]
	}
}

// xmlCharRef is the character of a reference's digits ("39", "x27").
func xmlCharRef(d string) (rune, bool) {
	base := 10
	if strings.HasPrefix(d, "x") {
		base, d = 16, d[1:]
	}
	if d == "" || len(d) > 8 {
		return 0, false
	}
	var n rune
	for _, c := range d {
		var v rune
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case base == 16 && 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case base == 16 && 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		n = n*rune(base) + v
	}
	if n > utf8.MaxRune || !utf8.ValidRune(n) || n == 0 {
		return 0, false
	}
	return n, true
}
