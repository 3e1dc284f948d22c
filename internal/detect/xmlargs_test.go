package detect

import (
	"strings"
	"testing"
)

// XML bodies are read as an XML parser reads them: character references,
// CDATA and declared entities decoded, attributes kept, each element's
// text a field named by its path.
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
		{"entities", `<!DOCTYPE r [<!ENTITY a "&#38;#39; UNION"><!ENTITY b "1&a; SELECT &c;"><!ENTITY c 'x&lt;'><!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY % p "y">]><r t="&b;">&b;&e;&nbsp;</r>`,
			map[string]string{"xml.r": "1' UNION SELECT x<&e;\u00a0", "xml.r@t": "1' UNION SELECT x<"}},
		{"recursive entities", `<!DOCTYPE r [<!ENTITY a "&b;1"><!ENTITY b "&a;2">]><r>&a;</r>`,
			map[string]string{"xml.r": "&a;21"}},
		{"declared encoding", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r>caf\xe9&#39;</r>",
			map[string]string{"xml.r": "café'"}},
		{"malformed: what came before the error", "<r><a>1&#39; OR 1=1--</a><b>x</b><c>y\xffz</c><d>after</d></r>",
			map[string]string{"xml.r.a": "1' OR 1=1--", "xml.r.b": "x"}},
		{"unclosed", "<r><q>x&#39; OR 1=1", map[string]string{"xml.r.q": "x' OR 1=1"}},
		{"HTML-ish", "<p>a<br>b&nbsp;&#39;<img src=x onerror=\"alert(1)\"></p>",
			map[string]string{"xml.p": "ab\u00a0'", "xml.p.img@src": "x", "xml.p.img@onerror": "alert(1)"}},
	} {
		m := argsMap{}
		addXMLArgs(m, []byte(c.body))
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
		addXMLArgs(m, []byte(body))
		if len(m) != 0 {
			t.Errorf("%q added %q", body, m)
		}
	}
}

// addXMLArgs is bounded: maxJSONArgs fields, names at most maxXMLNameLen,
// and entity expansion (a billion laughs) at most maxXMLExpansion in all.
func TestAddXMLArgsBounds(t *testing.T) {
	m := argsMap{}
	addXMLArgs(m, []byte("<r>"+strings.Repeat("<a b='1'>x</a>", 3000)+"</r>"))
	n := 0
	for _, v := range m {
		n += len(v)
	}
	if n != maxJSONArgs {
		t.Errorf("%d fields, want %d", n, maxJSONArgs)
	}
	m = argsMap{}
	addXMLArgs(m, []byte(strings.Repeat("<abcdefgh>", 5000)+"deep&#39;"))
	for k := range m {
		if len(k) > maxXMLNameLen {
			t.Errorf("a name of %d bytes", len(k))
		}
	}
	if len(m) == 0 {
		t.Errorf("deep text lost")
	}
	var dtd strings.Builder
	dtd.WriteString(`<!DOCTYPE r [<!ENTITY l0 "lol">`)
	for i := 1; i < 20; i++ {
		dtd.WriteString("<!ENTITY l" + itoa(i) + " \"" + strings.Repeat("&l"+itoa(i-1)+";", 10) + "\">")
	}
	dtd.WriteString("]><r>" + strings.Repeat("&l19;", 5000) + "</r>")
	m = argsMap{}
	addXMLArgs(m, []byte(dtd.String()))
	if got := len(strings.Join(m["xml.r"], "")); got > maxXMLExpansion+5000*5 {
		t.Errorf("billion laughs: %d bytes", got)
	}
}
