package detect

// Review 10: a hostile look at review 9's fixes: addXMLArgs (XML bodies
// read as an XML parser reads them, internal DTD entities expanded) and
// surrogateEscapesPaired (lone \uD800-\uDFFF escapes read as \uFFFD).
//
// Each test failed on the tree it was written against.

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// xmlRefs writes every character of s as a numeric character reference
// (&#39;), so the form reading Coraza gives an XML body (split at each
// '&') sees nothing of it, while any XML parser decodes it.
func xmlRefs(s string) string {
	var b strings.Builder
	for _, c := range s {
		b.WriteString("&#" + itoa(int(c)) + ";")
	}
	return b.String()
}

const review10SQLi = "1' UNION SELECT password FROM auth_user--"

// review10XMLAPI is the config README asks of an XML API: the two XSS
// rules that an XML declaration, a DOCTYPE and a namespaced root trip on
// the form reading of the body (941100/941130) excluded on its path. The
// SQL injection rules still run there.
const review10XMLAPI = "detection:\n  exclusions:\n    - {rule_ids: [\"941100\", \"941130\"], paths: [/api/xml/]}\n"

// review10Blocked sends body under each XML-ish Content-Type and reports
// every one that is not blocked.
func review10Blocked(t *testing.T, s *Stage, name, body string) {
	t.Helper()
	for _, ct := range []string{"application/xml", "text/xml", "application/octet-stream"} {
		expectBlocked(t, s, "POST", "/api/xml/", ct, body, fmt.Sprintf("%s (%s, %d bytes)", name, ct, len(body)))
	}
}

// TestReview10EntityExpansionWorkIsUnbounded: finding 1 (HIGH, a stall).
// expandXMLEntities bounds what an expansion writes (limit) and how deep
// it nests (16), not how many references it follows: entities whose
// replacement text is empty write nothing, so 16 references per level,
// 7 levels deep, are 16^7 = 268 million steps for one entity, and
// declareXMLEntities expands every declared entity, referenced or not,
// before any rule runs (the verdict does not matter). Measured: 6 levels
// (512 bytes) 1.2 s, each level 16 times more: 7 levels ~20 s, 9 levels
// hours, 15 levels (a 1 KB body) never ends; the loop never looks at the
// request's context, and each such request holds an inspection slot and a
// core. expat expands nothing that is not referenced, and counts the work
// of what is (its billion-laughs protection).
func TestReview10EntityExpansionWorkIsUnbounded(t *testing.T) {
	var dtd strings.Builder
	dtd.WriteString(`<!DOCTYPE r [<!ENTITY e0 "">`)
	for i := 1; i <= 6; i++ {
		dtd.WriteString(`<!ENTITY e` + itoa(i) + ` "` + strings.Repeat("&e"+itoa(i-1)+";", 16) + `">`)
	}
	dtd.WriteString(`]><r>x</r>`)
	body := dtd.String()
	start := time.Now()
	_ = addXMLArgs(argsMap{}, []byte(body), false)
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("addXMLArgs took %v on a %d-byte body (each level more: x16)", d, len(body))
	}
}

// TestReview10ExpansionCapEscapes: finding 2 (HIGH, memory and CPU).
// The 1 MB expansion bound (maxXMLExpansion, gone with the fix) was meant
// to bound what references add in all, but:
//   - declareXMLEntities counts the references in body[d.InputOffset():],
//     and when the XML declaration names another encoding, InputOffset
//     counts the bytes xmlCharsetReader wrote (each Latin-1 byte above
//     0x7F is two), so "rest" starts that many bytes late: references in
//     those bytes are not counted and encoding/xml expands each of them in
//     full (64 KB). 3,000 bytes of "é" and 1,000 references: a 6 KB body
//     allocates 191 MB; at the 128 KB body_limit, gigabytes;
//   - each <!DOCTYPE> (encoding/xml returns every one before the root) gets
//     a fresh 1 MB budget and its own count: 400 DOCTYPEs of ~250 bytes
//     each with 15 references: a 130 KB body, 154 MB.
//
// Then every CRS rule runs over those fields.
func TestReview10ExpansionCapEscapes(t *testing.T) {
	nest := `<!ENTITY x "xxxxxxxxxxxxxxxx"><!ENTITY x16 "` + strings.Repeat("&x;", 16) +
		`"><!ENTITY x256 "` + strings.Repeat("&x16;", 16) + `"><!ENTITY x4k "` + strings.Repeat("&x256;", 16) +
		`"><!ENTITY a "` + strings.Repeat("&x4k;", 16) + `">`
	latin := `<?xml version="1.0" encoding="ISO-8859-1"?><!--` + strings.Repeat("\xe9", 3000) + `--><!DOCTYPE r [` + nest + `]><r>` +
		strings.Repeat("&a;", 1000) + "</r>"
	var many strings.Builder
	for k := 0; many.Len() < 100<<10; k++ {
		many.WriteString(`<!DOCTYPE r [` + strings.ReplaceAll(nest, "ENTITY a ", "ENTITY k"+itoa(k)+" ") + `]>`)
	}
	many.WriteString("<r>")
	for k := 0; many.Len() < 127<<10; k++ {
		many.WriteString(strings.Repeat("&k"+itoa(k)+";", 15))
	}
	many.WriteString("</r>")
	for name, body := range map[string]string{"Latin-1 offset": latin, "one budget per DOCTYPE": many.String()} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := argsMap{}
		_ = addXMLArgs(m, []byte(body), false)
		runtime.ReadMemStats(&after)
		added := 0
		for _, vs := range m {
			for _, v := range vs {
				added += len(v)
			}
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; added > 1<<20 || alloc > 8<<20 {
			t.Errorf("%s: a %d-byte body: fields of %d MB, %d MB allocated", name, len(body), added>>20, alloc>>20)
		}
	}
}

// TestReview10EntityCutDropsThePayload: finding 3 (HIGH, bypass). What
// declareXMLEntities cuts, expat keeps, so the payload in an entity is
// read by ElementTree and by no rule:
//   - the length (default config): an entity longer than maxXMLEntityLen
//     (64 KB) is cut, so a payload after 64 KB of padding is gone
//     ("xxx...x1' UNION SELECT ...": the padding only lengthens the string
//     the quote closes);
//   - the reference count (default config): "&a;" written 900 times in a
//     processing instruction (bytes.Count counts it, expat expands none)
//     cuts every entity to 1 MB/901 = 1,163 bytes;
//   - the budget (an XML API's config: more than one declaration trips
//     941100): the first entities declared use up maxXMLExpansion in all,
//     nobody references them, and every entity declared after is "";
//   - the nesting (same): a chain of 20 entities stops at 16 levels and
//     the reference is kept as written ("&e4;").
//
// expat 2.5 reads each (64 KB is far below its 8 MB amplification
// threshold):
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<!DOCTYPE r [<!ENTITY e0 \"1&#39; UNION\">" + b"".join(b"<!ENTITY e%d \"&e%d;\">" % (i, i-1) for i in range(1, 20)) + b"]><r><q>&e19;</q></r>").find("q").text)'
//
// The payload is written with character references, which the form
// reading of the body cuts apart.
func TestReview10EntityCutDropsThePayload(t *testing.T) {
	payload := xmlRefs(review10SQLi)
	s := stageFromYAML(t, "")
	review10Blocked(t, s, "control", `<!DOCTYPE r [<!ENTITY a "`+payload+`">]><r><q>&a;</q></r>`)
	review10Blocked(t, s, "after 64 KB of padding",
		`<!DOCTYPE r [<!ENTITY a "&#120;`+strings.Repeat("x", 64<<10)+payload+`">]><r><q>&a;</q></r>`)
	review10Blocked(t, s, "references counted in a PI",
		`<!DOCTYPE r [<!ENTITY a "&#120;`+strings.Repeat("x", 1200)+payload+`">]><r><?x `+strings.Repeat("&a;", 900)+`?><q>&a;</q></r>`)

	api := stageFromYAML(t, review10XMLAPI)
	review10Blocked(t, api, "control (XML API)", `<!DOCTYPE r [<!ENTITY a "`+payload+`">]><r><q>&a;</q></r>`)
	var budget strings.Builder
	budget.WriteString(`<!DOCTYPE r [<!ENTITY p0 "xxxxxxxxxxxxxxxx">`)
	for i := 1; i <= 3; i++ {
		budget.WriteString(`<!ENTITY p` + itoa(i) + ` "` + strings.Repeat("&p"+itoa(i-1)+";", 16) + `">`)
	}
	for i := 0; i < 16; i++ {
		budget.WriteString(`<!ENTITY b` + itoa(i) + ` "&p3;">`)
	}
	budget.WriteString(`<!ENTITY a "` + payload + `">]><r><q>&a;</q></r>`)
	review10Blocked(t, api, "budget used up by entities nobody references (XML API)", budget.String())
	var chain strings.Builder
	chain.WriteString(`<!DOCTYPE r [<!ENTITY e0 "` + payload + `">`)
	for i := 1; i < 20; i++ {
		chain.WriteString(`<!ENTITY e` + itoa(i) + ` "&e` + itoa(i-1) + `;">`)
	}
	chain.WriteString(`]><r><q>&e19;</q></r>`)
	review10Blocked(t, api, "nested 20 deep (XML API)", chain.String())
}

// TestReview10DecoderStopsWhereExpatReads: finding 4 (HIGH, bypass).
// encoding/xml stops (a syntax error: addXMLArgs keeps what came before)
// on documents expat reads to the end, so a payload after the point of
// the error is read by ElementTree and by nobody in Parapet:
//
//   - a processing instruction in the internal subset (legal there;
//     default config): encoding/xml scans a DOCTYPE counting '<', '>' and
//     quotes, so "<?x ' ?>" opens a quote that never closes (the rest of
//     the body becomes the directive); "<?x > ?>" ends the DOCTYPE early
//     and leaves the declarations after it out;
//
//   - version="1.1" (an XML API's config: any XML declaration trips
//     941100): encoding/xml refuses any version but 1.0, expat reads 1.1
//     and 2.0;
//
//   - encoding = "ISO-8859-1" with white space around '=' (XML allows it;
//     encoding/xml's procInst does not see the declaration, reads UTF-8
//     and stops at the first Latin-1 byte).
//
//     /usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<!DOCTYPE r [<!ENTITY z \"&#32;\"><?x \x27 ?>]><r><q>1&#39;&#32;UNION</q></r>").find("q").text)'
//     /usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<?xml version=\"1.1\"?><r><q>1&#39;&#32;UNION</q></r>").find("q").text)'
func TestReview10DecoderStopsWhereExpatReads(t *testing.T) {
	payload := xmlRefs(review10SQLi)
	q := "<r><q>" + payload + "</q></r>"
	s := stageFromYAML(t, "")
	review10Blocked(t, s, "control", `<!DOCTYPE r [<!ENTITY z "&#32;">]>`+q)
	review10Blocked(t, s, "a PI with a quote in the DTD", `<!DOCTYPE r [<!ENTITY z "&#32;"><?x ' ?>]>`+q)

	api := stageFromYAML(t, review10XMLAPI)
	review10Blocked(t, api, "control (XML API)", `<?xml version="1.0"?>`+q)
	review10Blocked(t, api, "a PI with '>' in the DTD (XML API)", `<!DOCTYPE r [<?x > ?><!ENTITY a "`+payload+`">]><r><q>&a;</q></r>`)
	review10Blocked(t, api, "version 1.1 (XML API)", `<?xml version="1.1"?>`+q)
	review10Blocked(t, api, "version 2.0 (XML API)", `<?xml version='2.0' encoding='UTF-8'?>`+q)
	review10Blocked(t, api, "encoding = with spaces (XML API)", `<?xml version="1.0" encoding = "ISO-8859-1"?><r><n>caf`+"\xe9"+`</n><q>`+payload+`</q></r>`)
}

// TestReview10HTMLAutoCloseInXML: finding 5 (HIGH, bypass; default
// config). addXMLArgs sets d.AutoClose = xml.HTMLAutoClose, so
// encoding/xml closes link, param, img, input, meta, br, hr, ... as soon
// as anything but their end tag follows; the real end tag then matches
// nothing, encoding/xml (Strict off) closes every open element up to the
// root and stops ("unexpected end element"). Every element after the
// first </link> or </param> is lost. An RSS item has <link>URL</link>
// before its <description>; an XML-RPC call wraps each argument in
// <param> (xmlrpc.client.loads and SimpleXMLRPCDispatcher read them all):
//
//	/usr/bin/python3 -c 'import xmlrpc.client as x; print(x.loads(b"<methodCall><methodName>search</methodName><params><param><value><string>ok</string></value></param><param><value><string>1&#39;&#32;UNION&#32;SELECT&#32;password&#32;FROM&#32;auth_user--</string></value></param></params></methodCall>"))'
func TestReview10HTMLAutoCloseInXML(t *testing.T) {
	s := stageFromYAML(t, "")
	payload := xmlRefs(review10SQLi)
	review10Blocked(t, s, "control", `<methodCall><methodName>search</methodName><params><value><string>`+payload+`</string></value></params></methodCall>`)
	review10Blocked(t, s, "XML-RPC, second param",
		`<methodCall><methodName>search</methodName><params><param><value><string>ok</string></value></param>`+
			`<param><value><string>`+payload+`</string></value></param></params></methodCall>`)
	review10Blocked(t, s, "RSS description after link",
		`<rss><channel><item><title>a</title><link>http://example.com/</link><description>`+payload+`</description></item></channel></rss>`)
}

// TestReview10EntityDeclaredTextually: finding 6 (MEDIUM, bypass; an XML
// API's config: more than one declaration trips 941100 by default).
// declareXMLEntities looks for "<!ENTITY" anywhere in the DOCTYPE and the
// first declaration of a name binds, so one written where expat declares
// nothing (inside a parameter entity's value that is never referenced,
// or inside a processing instruction) binds the name to a harmless value;
// expat binds it to the real declaration after:
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<!DOCTYPE r [<!ENTITY % p \"<!ENTITY a \x27x\x27>\"><!ENTITY a \"1&#39;&#32;UNION\">]><r><q>&a;</q></r>").find("q").text)'
func TestReview10EntityDeclaredTextually(t *testing.T) {
	api := stageFromYAML(t, review10XMLAPI)
	payload := xmlRefs(review10SQLi)
	review10Blocked(t, api, "in a parameter entity's value",
		`<!DOCTYPE r [<!ENTITY % p "<!ENTITY a 'x'>"><!ENTITY a "`+payload+`">]><r><q>&a;</q></r>`)
	review10Blocked(t, api, "in a processing instruction",
		`<!DOCTYPE r [<?x <!ENTITY a "x">?><!ENTITY a "`+payload+`">]><r><q>&a;</q></r>`)
}

// TestReview10CharRefsWithLeadingZeros: finding 7 (HIGH, bypass; default
// config). xmlCharRef refuses more than 8 digits, so declareXMLEntities
// keeps "&#00000000000000000039;" in an entity's value as written, and
// encoding/xml inserts an entity's replacement text as it is (it never
// reads references in it again): the rules see
// "1&#00000000000000000039;&#...". The analyzer decodes references of up
// to 16 digits (with 10 it caught this), not 20. expat reads any number of
// leading zeros:
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<!DOCTYPE r [<!ENTITY a \"1&#00000000000000000039;&#32;UNION\">]><r><q>&a;</q></r>").find("q").text)'
func TestReview10CharRefsWithLeadingZeros(t *testing.T) {
	s := stageFromYAML(t, "")
	var dec, hex strings.Builder
	for _, c := range review10SQLi {
		n := itoa(int(c))
		dec.WriteString("&#" + strings.Repeat("0", 20-len(n)) + n + ";")
		h := strconv.FormatInt(int64(c), 16)
		hex.WriteString("&#x" + strings.Repeat("0", 20-len(h)) + h + ";")
	}
	review10Blocked(t, s, "decimal", `<!DOCTYPE r [<!ENTITY a "`+dec.String()+`">]><r><q>&a;</q></r>`)
	review10Blocked(t, s, "in an attribute", `<!DOCTYPE r [<!ENTITY a "`+dec.String()+`">]><r><q v="&a;"/></r>`)
	review10Blocked(t, s, "hexadecimal", `<!DOCTYPE r [<!ENTITY a "`+hex.String()+`">]><r><q>&a;</q></r>`)
}

// TestReview10MarkupInAnEntity: finding 8 (HIGH, bypass; default config).
// encoding/xml inserts an entity's replacement text as characters; expat
// parses it as content (XML 1.0 4.4.3, "included"), so markup in it is
// markup: a processing instruction splitting a keyword is dropped by
// ElementTree and stays in the text the rules see
// ("1' UNI<?x?>ON SEL<?x?>ECT password FROM auth_user--" and
// "<scr<?x?>ipt>ale<?x?>rt(1)</scr<?x?>ipt>" pass; a comment or CDATA
// section there trips 941180, and "127.0.0.1;un<?x?>ame -a" is still
// caught). The quote and spaces are character references (decoded when the
// entity is declared):
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<!DOCTYPE r [<!ENTITY a \"1&#39;&#32;UNI<?x?>ON&#32;SEL<?x?>ECT&#32;password&#32;FROM&#32;auth_user--\">]><r><q>&a;</q></r>").find("q").text)'
func TestReview10MarkupInAnEntity(t *testing.T) {
	s := stageFromYAML(t, "")
	review10Blocked(t, s, "PIs in the replacement text",
		`<!DOCTYPE r [<!ENTITY a "1&#39;&#32;UNI<?x?>ON&#32;SEL<?x?>ECT&#32;password&#32;FROM&#32;auth_user--">]><r><q>&a;</q></r>`)
	review10Blocked(t, s, "xss",
		`<!DOCTYPE r [<!ENTITY a "&#38;#60;scr<?x?>ipt&#38;#62;ale<?x?>rt(1)&#38;#60;/scr<?x?>ipt&#38;#62;">]><r><q>&a;</q></r>`)
}

// TestReview10AttributeInTheXmlnsNamespace: finding 9 (LOW, bypass; an XML
// API's config, where 941130 no longer sees "xmlns:" in the form reading).
// addXMLArgs skips attributes whose name space is "xmlns" as namespace
// declarations, but after Token's translation that is also any attribute
// whose prefix is bound to the URI "xmlns": <r xmlns:a="xmlns"><q
// a:v="..."/>. ElementTree keeps it ('{xmlns}v'), so a view that reads an
// element's attributes whatever their names (elem.attrib.items(), a
// generic XML-to-dict) gets the payload:
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<r xmlns:a=\"xmlns\"><q a:v=\"1&#39;&#32;UNION\">x</q></r>").find("q").attrib)'
func TestReview10AttributeInTheXmlnsNamespace(t *testing.T) {
	api := stageFromYAML(t, review10XMLAPI)
	payload := xmlRefs(review10SQLi)
	review10Blocked(t, api, "control (XML API)", `<r><q v="`+payload+`">x</q></r>`)
	review10Blocked(t, api, "prefix bound to the URI xmlns (XML API)", `<r xmlns:a="xmlns"><q a:v="`+payload+`">x</q></r>`)
}
