package detect

// Review 9: a hostile look at the neighbours of review 8's fix (how an
// application/octet-stream body is told from a file) and at bodies that
// Python reads differently from the readings the rules see: XML in UTF-16
// taken for a file, a JSON escape that gjson swallows after a surrogate,
// and XML character references cut apart by the form reading.
//
// Each test failed on the tree it was written against.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// expectBlocked sends body as method path with the Content-Type ct and
// fails the test, naming what, unless the stage blocks it.
func expectBlocked(t *testing.T, s *Stage, method, path, ct, body, what string) {
	t.Helper()
	r := browserRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	if o := observed(s, r); o.action != decision.Block {
		t.Errorf("%s: %s %v, want blocked", what, o.action, o.rules)
	}
}

func review9Stage(t *testing.T) *Stage {
	t.Helper()
	useRE2()
	s, err := buildWith(config.Default(), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReview9UTF16XMLUnderOctetStream: finding 1. An XML document in
// UTF-16 (with a BOM, or without one: expat tells "<\0?\0" apart by
// itself) sent as application/octet-stream is taken for a file: the sniffed
// head holds NULs, and binaryBody returns at the NUL before it asks
// startsAsMarkup, which does recognise UTF-16 markup. Read as a form, no
// field has an ASCII name (every name holds NULs), so nothing is matched,
// while a view's ElementTree.fromstring(request.body) reads
// <q>1' UNION SELECT password FROM auth_user--</q>:
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring("<order><q>1\x27 UNION SELECT password FROM auth_user--</q></order>".encode("utf-16")).find("q").text)'
func TestReview9UTF16XMLUnderOctetStream(t *testing.T) {
	s := review9Stage(t)
	const doc = `<?xml version="1.0" encoding="UTF-16"?><order><q>1' UNION SELECT password FROM auth_user--</q></order>`
	const bare = `<order><q>1' UNION SELECT password FROM auth_user--</q></order>`
	for name, body := range map[string]string{
		"UTF-16LE with a BOM":            wide("\uFEFF"+doc, 2, false),
		"UTF-16BE with a BOM":            wide("\uFEFF"+doc, 2, true),
		"UTF-16LE without a BOM":         wide(doc, 2, false),
		"UTF-16BE without a BOM":         wide(doc, 2, true),
		"UTF-16LE, no declaration, BOM":  wide("\uFEFF"+bare, 2, false),
		"UTF-16LE, BOM then white space": wide("\uFEFF\r\n  "+bare, 2, false),
	} {
		if !startsAsMarkup([]byte(body)) {
			t.Errorf("%s: startsAsMarkup false (the test assumes it recognises the document)", name)
		}
		expectBlocked(t, s, "PUT", "/api/orders/", "application/octet-stream", body, name)
	}
}

// TestReview9JSONSurrogateSwallowsTheNextEscape: finding 2. gjson (Coraza's
// JSON body processor, and addJSONArgs) decodes a \u escape of a surrogate
// by taking whatever \u escape follows as its pair: "\udc80\u003b" is one
// U+FFFD to the rules, the ';' gone. json.loads keeps the lone surrogate
// and the ';' (Python 3.11: json.loads(b'{"host":
// "127.0.0.1\\udc80\\u003buname -a"}')["host"] == '127.0.0.1\udc80;uname -a').
// Any character can be hidden so; the lone surrogate left in front of it is
// harmless where Python encodes with surrogateescape (a low surrogate
// DC80-DCFF becomes one byte): subprocess and os.system with a shell, file
// names. `subprocess.run("ping -c1 " + host, shell=True)` runs uname.
// application/json keeps 920540 (\uXXXX in a value) off, so nothing else
// sees the escapes. The plain payloads are blocked by the CRS (932235,
// 932260, 932130).
func TestReview9JSONSurrogateSwallowsTheNextEscape(t *testing.T) {
	s := review9Stage(t)
	for _, body := range []string{
		`{"host": "127.0.0.1;uname -a"}`, // the control: blocked before
		`{"host": "127.0.0.1\udc80\u003buname -a"}`,
		`{"host": "127.0.0.1\udcff\u003buname -a"}`,
		`{"host": "127.0.0.1\ud800\u003buname -a"}`, // a high surrogate swallows it too
		`{"host": "127.0.0.1\udc80\u0024(id)"}`,
		`{"host": "127.0.0.1\udc80\u007cid"}`,
		`{"hosts": ["8.8.8.8", "127.0.0.1\udc80\u003buname -a"]}`,
		`{"127.0.0.1\udc80\u003buname -a": 1}`, // a key
	} {
		expectBlocked(t, s, "POST", "/api/ping/", "application/json", body, body)
	}
}

// TestReview9XMLCharacterReferences: finding 3. No rule picks an XML body
// processor (only JSON has one, 200001), so an XML body (application/xml,
// text/xml, or any type) is read as a form: its bytes are split at every
// '&'. A numeric character reference (&#39; for ', &#32; for a space)
// starts with '&', so a payload written with them is cut into pieces that
// hold nothing ("#39;", "#32;UNION", "#32;SELECT", ...), while the XML
// parser a view hands request.body to (ElementTree, defusedxml,
// djangorestframework-xml's XMLParser) decodes them:
//
//	/usr/bin/python3 -c 'import xml.etree.ElementTree as E; print(E.fromstring(b"<search><q>1&#39;&#32;UNION&#32;SELECT&#32;password&#32;FROM&#32;auth_user--</q></search>").find("q").text)'
//
// testdata/detect/attacks.yaml holds the plain forms ("sqli: XML body",
// "rce: XML body", "xss: XML body" with &lt;), which are blocked.
func TestReview9XMLCharacterReferences(t *testing.T) {
	s := review9Stage(t)
	refs := func(s string, all bool) string {
		var b strings.Builder
		for _, c := range s {
			if all || !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
				b.WriteString("&#" + itoa(int(c)) + ";")
			} else {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	for _, c := range []struct{ tag, payload string }{
		{"q", "1' UNION SELECT password FROM auth_user--"},
		{"text", "<img src=x onerror=alert(1)>"},
		{"text", "<script>alert(1)</script>"},
		{"path", "../../../../etc/passwd"},
		{"host", "127.0.0.1;uname -a"},
	} {
		for _, all := range []bool{false, true} {
			body := "<request><" + c.tag + ">" + refs(c.payload, all) + "</" + c.tag + "></request>"
			for _, ct := range []string{"application/xml", "text/xml", "application/octet-stream"} {
				expectBlocked(t, s, "POST", "/api/xml/", ct, body, fmt.Sprintf("%s %.80s", ct, body))
			}
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

// TestReview9JSONWithANulIsAFile: finding 4 (LOW). binaryBody returns at
// the first NUL before it asks startsLikeJSON, so a UTF-8 JSON body with a
// NUL in its first 512 bytes is read only as a form (where no field has an
// ASCII name), although SECURITY.md says a body starting like JSON is read
// as text. Even the plain payload passes. json.loads refuses a raw NUL by
// default, but not with strict=False (which views use to accept raw tabs
// and newlines in strings):
//
//	/usr/bin/python3 -c 'import json; print(json.loads(b"{\"a\": \"\x00\", \"q\": \"1\x27 UNION SELECT password FROM auth_user--\"}", strict=False)["q"])'
func TestReview9JSONWithANulIsAFile(t *testing.T) {
	s := review9Stage(t)
	for _, body := range []string{
		"{\"a\": \"\x00\", \"q\": \"1' UNION SELECT password FROM auth_user--\"}",
		"{\"a\": \"\x00\", " + jsonAttack + "}",
		"[\"\x00\", {\"q\": \"<img src=x onerror=alert(1)>\"}]",
	} {
		expectBlocked(t, s, "PUT", "/api/items/1/", "application/octet-stream", body, fmt.Sprintf("%.70q", body))
	}
}
