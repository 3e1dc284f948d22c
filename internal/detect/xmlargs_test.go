package detect

import (
	"strings"
	"testing"
)

// XML bodies are read as an XML parser reads them: character references
// and CDATA decoded, attributes kept, each element's text a field named by
// its path.
func TestAddXMLArgs(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       map[string]string
	}{
		{"references", "\ufeff <?xml version='1.0'?><request><q>1&#39;&#32;UNION&#x20;SELECT&amp;x--</q></request>",
			map[string]string{"xml.request.q": "1' UNION SELECT&x--"}},
		{"attributes", `<request xmlns="urn:x" xmlns:p="urn:p"><q id="a&#39;b" p:k='&lt;x&gt;'/></request>`,
			map[string]string{"xml.request.q@id": "a'b", "xml.request.q@k": "<x>"}},
		{"text around children, CDATA, comments", "<r><q>1' UNI<!-- -->ON <b>x</b><![CDATA[SELECT <a>]]></q></r>",
			map[string]string{"xml.r.q": "1' UNION SELECT <a>", "xml.r.q.b": "x"}},
		{"declared encoding", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xe9&#39;</r>",
			map[string]string{"xml.r": "café'"}},
		{"malformed: what came before the error", "<r><a>1&#39; OR 1=1--</a><b>x</b><c>y\xffz</c><d>after</d></r>",
			map[string]string{"xml.r.a": "1' OR 1=1--", "xml.r.b": "x"}},
		{"unclosed", "<r><q>x&#39; OR 1=1", map[string]string{"xml.r.q": "x' OR 1=1"}},
		{"HTML-ish", "<p>a<br>b&nbsp;&#39;<img src=x onerror=\"alert(1)\"></p>",
			map[string]string{"xml.p": "a", "xml.p.br": "b\u00a0'", "xml.p.br.img@src": "x", "xml.p.br.img@onerror": "alert(1)"}},
	} {
		m := argsMap{}
		if err := addXMLArgs(m, []byte(c.body), false); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		for k, v := range c.want {
			if len(m[k]) != 1 || m[k][0] != v {
				t.Errorf("%s: %s = %q, want %q (all %q)", c.name, k, m[k], v, m)
			}
		}
		if c.name == "malformed: what came before the error" {
			if len(m["xml.r.d"]) != 0 {
				t.Errorf("%s: read past the error: %q", c.name, m)
			}
		}
	}
	for _, body := range []string{"q=1&r=%3Cx%3E", `{"q":"<a>&#39;</a>"}`, "plain text &#39;", "", "<", "< a>x</a>",
		"\xff\xfe<\x00r\x00>\x00x\x00<\x00/\x00r\x00>\x00"} {
		m := argsMap{}
		if err := addXMLArgs(m, []byte(body), true); err != nil || len(m) != 0 {
			t.Errorf("%q added %q (%v)", body, m, err)
		}
	}
}

// addXMLArgs is bounded: maxXMLFields fields and one for the rest, names at most maxXMLNameLen,
// and no entity is expanded.
func TestAddXMLArgsBounds(t *testing.T) {
	m := argsMap{}
	_ = addXMLArgs(m, []byte("<r>"+strings.Repeat("<a b='1'>x</a>", 3000)+"</r>"), false)
	n := 0
	for _, v := range m {
		n += len(v)
	}
	if n != maxXMLFields+1 || len(m["xml.rest"]) != 1 || strings.Count(m["xml.rest"][0], "\n") != 6000-maxXMLFields {
		t.Errorf("%d fields, want %d and the rest of the 6,000 values in xml.rest", n, maxXMLFields+1)
	}
	m = argsMap{}
	_ = addXMLArgs(m, []byte(strings.Repeat("<abcdefgh>", 5000)+"deep&#39;"), false)
	for k := range m {
		if len(k) > maxXMLNameLen {
			t.Errorf("a name of %d bytes", len(k))
		}
	}
	if len(m) == 0 {
		t.Errorf("deep text lost")
	}
	// A billion laughs (any entity declaration) is refused, not expanded.
	var dtd strings.Builder
	dtd.WriteString(`<!DOCTYPE r [<!ENTITY l0 "lol">`)
	for i := 1; i < 20; i++ {
		dtd.WriteString("<!ENTITY l" + itoa(i) + " \"" + strings.Repeat("&l"+itoa(i-1)+";", 10) + "\">")
	}
	dtd.WriteString("]><r>" + strings.Repeat("&l19;", 5000) + "</r>")
	m = argsMap{}
	if err := addXMLArgs(m, []byte(dtd.String()), false); err != errXMLEntities || len(m) != 0 {
		t.Errorf("billion laughs: %v, %d fields", err, len(m))
	}
}

// What addXMLArgs refuses: entity declarations anywhere (expat would
// expand them; defusedxml refuses them), and a document that claims to be
// XML (its Content-Type, an <?xml declaration, a DOCTYPE) which
// encoding/xml cannot read to its end. An HTML fragment is read as far as
// it goes.
func TestAddXMLArgsRefuses(t *testing.T) {
	for _, c := range []struct {
		body    string
		xmlType bool
		want    error
	}{
		{`<!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>`, false, errXMLEntities},
		{`<r><?x <!ENTITY a "x">?>&a;</r>`, false, errXMLEntities},
		{"<?xml version=\"1.1\"?><r>x</r>", false, errXMLUnreadable},
		{"<r><q>x&#39; OR 1=1", true, errXMLUnreadable},
		{"<r><a>x</a><c>y\xffz</c></r>", true, errXMLUnreadable},
		{"<!DOCTYPE r><r><a>x</b>", false, errXMLUnreadable},
		{"<r><a>x</b>", false, nil}, // not claiming to be XML: read as far as it goes
		{"<!DOCTYPE a [<?pi < ?>]><a>x</a><?x > ?>", false, errXMLUnreadable},
		{"<?xml version=\"1.0\"?><!-- nothing -->", false, errXMLUnreadable},
		{`<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><html/>`, false, nil},
		{"<r><q>x&#39; OR 1=1", false, nil},
		{"<r><a>x</a><c>y\xffz</c></r>", false, nil},
		{"<?xml version=\"1.0\"?><r>x</r>", true, nil},
	} {
		if got := addXMLArgs(argsMap{}, []byte(c.body), c.xmlType); got != c.want {
			t.Errorf("%q (XML type %v): %v, want %v", c.body, c.xmlType, got, c.want)
		}
	}
	for ct, want := range map[string]bool{"application/xml": true, "text/xml; charset=utf-8": true,
		"application/soap+xml": true, "Application/Atom+XML": true, "application/json": false, "text/plain": false, "": false} {
		if got := isXMLType(ct); got != want {
			t.Errorf("isXMLType(%q) = %v", ct, got)
		}
	}
}
