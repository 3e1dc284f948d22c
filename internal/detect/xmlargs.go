package detect

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"strings"
	"unicode/utf8"
)

// maxXMLNameLen bounds how long addXMLArgs' field names grow (deeper or
// longer, an element's fields take its parent's name: its text is still
// read).
const maxXMLNameLen = 256

// maxXMLFields is how many of an XML body's values addXMLArgs adds as
// fields of their own; the values after them go into one field,
// "xml.rest", one a line. CRS 920380 refuses a request with more than
// 1000 arguments (Django's form field limit, which a view's XML parser
// does not have): a sitemap or a feed of a few hundred entries must not
// reach it, and no value may go unread.
const maxXMLFields = 500

// errXMLEntities and errXMLUnreadable are addXMLArgs' refusals.
var (
	errXMLEntities   = errors.New("an XML body declaring entities (<!ENTITY): refused, as defusedxml refuses it")
	errXMLUnreadable = errors.New("an XML body the inspection cannot read as an XML parser would")
)

// addXMLArgs adds the text of each element and the value of each
// attribute of a body that starts as markup (startsAsMarkup; UTF-8 text:
// UTF-16 bodies are refused for their NULs) to args, decoded as an XML
// parser decodes them (ElementTree, defusedxml, DRF's XMLParser): named
// and numeric character references and CDATA sections. The form reading
// Coraza gives such a body splits it at each '&', so a payload written
// with character references (&#39;, &#32;) is cut into harmless pieces
// there.
//
// Fields are named by the element's path ("xml.request.q") and
// "@attribute" ("xml.request.q@id"); an element's text is its character
// data outside its children, joined. Every attribute is read, namespace
// declarations too; past maxXMLFields, the rest of the values share one
// field.
//
// Two kinds of body are refused (an error) instead of read, because what
// the rules would see could differ from what a parser gives the view:
//   - a body declaring entities (<!ENTITY anywhere in it): expat expands
//     internal entities, and a parser's expansion (markup inside an
//     entity, nested references, its billion-laughs limits) is more than
//     an inspection should redo; defusedxml, which DRF's XMLParser uses,
//     refuses such a body too (forbid_entities);
//   - a body that encoding/xml cannot read to its end when it claims to
//     be XML (an XML Content-Type, xmlType, or an <?xml declaration or a
//     <!DOCTYPE in it): expat may read on where Go stops (XML 1.1,
//     spaced attributes in the declaration), and what follows would not
//     be inspected; so is such a body with no element, or with a DOCTYPE
//     that has an internal subset ([...]), whose end Go finds by counting
//     '<', '>' and quotes even inside processing instructions, where
//     expat does not (the document after it read as part of it).
//
// Any other markup (an HTML fragment sent as text) is read leniently
// (Strict off, HTML entities) as far as it goes. The walk is iterative
// and bounded like addJSONArgs.
func addXMLArgs(args adder, body []byte, xmlType bool) error {
	body = bytes.TrimLeft(body, "\xef\xbb\xbf \t\r\n")
	if len(body) == 0 || body[0] != '<' || !startsAsMarkup(body[:min(len(body), 512)]) {
		return nil
	}
	if len(body) > 1 && body[1] == 0 {
		return nil // UTF-16 without a byte order mark
	}
	if bytes.Contains(body, []byte("<!ENTITY")) {
		return errXMLEntities
	}
	claimsXML := xmlType || bytes.HasPrefix(body, []byte("<?xml")) || bytes.Contains(body, []byte("<!DOCTYPE"))
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = xmlCharsetReader

	type open struct {
		key  string
		text strings.Builder
	}
	var stack []*open
	added := 0
	var rest strings.Builder // the values past maxXMLFields, one field
	add := func(k, v string) {
		switch {
		case strings.TrimSpace(v) == "":
		case added < maxXMLFields:
			args.Add(k, v)
			added++
		default:
			rest.WriteString(v)
			rest.WriteByte('\n')
		}
	}
	var readErr error
	elements := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err != io.EOF && claimsXML || err == io.EOF && claimsXML && elements == 0 {
				readErr = errXMLUnreadable
			}
			break
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(t, []byte("DOCTYPE")) && bytes.IndexByte(t, '[') >= 0 {
				// An internal subset: encoding/xml finds its end by
				// counting '<', '>' and quotes, even inside processing
				// instructions, where expat does not; the document after
				// it could be read as part of it.
				readErr = errXMLUnreadable
			}
		case xml.StartElement:
			elements++
			key := "xml"
			if len(stack) > 0 {
				key = stack[len(stack)-1].key
			}
			if len(key)+1+len(t.Name.Local) <= maxXMLNameLen {
				key += "." + t.Name.Local
			}
			stack = append(stack, &open{key: key})
			for _, a := range t.Attr {
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
		}
	}
	for i := len(stack) - 1; i >= 0; i-- {
		add(stack[i].key, stack[i].text.String()) // open when the input ended or broke
	}
	if rest.Len() > 0 {
		args.Add("xml.rest", rest.String())
	}
	return readErr
}

// isXMLType reports whether the Content-Type ct names XML:
// application/xml, text/xml or a type with the +xml suffix.
func isXMLType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	mt = strings.ToLower(mt)
	return mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml")
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
