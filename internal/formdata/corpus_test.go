package formdata

import (
	"encoding/base64"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// oddCase is a body that RFC 7578 parsers and Django may read
// differently.
type oddCase struct {
	name, ct, body string
}

const ctB = "multipart/form-data; boundary=B"

func fieldPart(name, value string) string {
	return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

func filePart(name, filename, content string) string {
	return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n"
}

// oddCases are the hand-written corpus: each kind of oddity the issue
// names, and Django's quirks found reading its parser.
func oddCases() []oddCase {
	sqli := "1' UNION SELECT password FROM users--"
	long := strings.Repeat("x", 3000)
	cases := []oddCase{
		{"plain", ctB, fieldPart("a", "1") + filePart("f", "a.txt", "hello") + "--B--\r\n"},
		{"no trailing CRLF", ctB, fieldPart("a", "1") + "--B--"},
		{"part after closing delimiter", ctB, fieldPart("a", "1") + "--B--\r\n" + fieldPart("q", sqli) + "--B--\r\n"},
		{"boundary plus a character in a file", ctB, filePart("f", "a.txt", "hello\r\n--Bx\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n"+sqli) + "--B--\r\n"},
		{"boundary mid-line", ctB, fieldPart("a", "one--Btwo") + "--B--\r\n"},
		{"boundary mid-line with headers after", ctB, fieldPart("a", "one--B\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n"+sqli) + "--B--\r\n"},
		{"LF only", ctB, strings.ReplaceAll(fieldPart("a", "1")+fieldPart("q", sqli)+"--B--\n", "\r\n", "\n")},
		{"LF only, CRLFCRLF later", ctB, "--B\nContent-Disposition: form-data; name=\"a\"\n\nvalue\r\n\r\nmore\r\n--B--"},
		{"LF before boundary", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\n--B--"},
		{"CR before boundary", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r--B--"},
		{"CRCRLF before boundary", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\r\n--B--"},
		{"header name case", ctB, "--B\r\nCONTENT-DISPOSITION: FORM-DATA; NAME=\"Q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header space before colon", ctB, "--B\r\nContent-Disposition : form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"attachment disposition", ctB, "--B\r\nContent-Disposition: attachment; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"no disposition type", ctB, "--B\r\nContent-Disposition: name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"name*", ctB, "--B\r\nContent-Disposition: form-data; name*=utf-8''%71\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"name* latin-1", ctB, "--B\r\nContent-Disposition: form-data; name*=iso-8859-1''caf%E9\r\n\r\nv\r\n--B--\r\n"},
		{"name* quoted", ctB, "--B\r\nContent-Disposition: form-data; name*=\"utf-8'en'%71\"\r\n\r\nv\r\n--B--\r\n"},
		{"name* without apostrophes", ctB, "--B\r\nContent-Disposition: form-data; name*=q%20x\r\n\r\nv\r\n--B--\r\n"},
		{"name* three apostrophes", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"; name*=utf-8'x'y'q\r\n\r\nv\r\n--B--\r\n"},
		{"name* unknown charset no percent", ctB, "--B\r\nContent-Disposition: form-data; name*=klingon''q\r\n\r\nv\r\n--B--\r\n"},
		{"name* unknown charset", ctB, "--B\r\nContent-Disposition: form-data; name*=klingon''%71\r\n\r\nv\r\n--B--\r\n"},
		{"name* utf-16", ctB, "--B\r\nContent-Disposition: form-data; name*=utf-16''%71%00\r\n\r\nv\r\n--B--\r\n"},
		{"name* bad percent", ctB, "--B\r\nContent-Disposition: form-data; name*=utf-8''%7%zz%C3%A9%C3\r\n\r\nv\r\n--B--\r\n"},
		{"name* then name", ctB, "--B\r\nContent-Disposition: form-data; name*=utf-8''q; name=\"a\"\r\n\r\nv\r\n--B--\r\n"},
		{"filename*", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.jpg\"; filename*=utf-8''shell.php\r\n\r\n<?php\r\n--B--\r\n"},
		{"filename* first", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename*=utf-8''shell.php; filename=\"a.jpg\"\r\n\r\n<?php\r\n--B--\r\n"},
		{"filename* empty", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.jpg\"; filename*=utf-8''\r\n\r\ndata\r\n--B--\r\n"},
		{"duplicate name", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"duplicate disposition", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"disposition file then field", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"bad second disposition", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Disposition: form-data; n\xffme=\"a\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"no name", ctB, "--B\r\nContent-Disposition: form-data\r\n\r\n" + sqli + "\r\n" + fieldPart("a", "1") + "--B--\r\n"},
		{"no name long", ctB, "--B\r\nContent-Disposition: form-data\r\n\r\n" + long + "\r\n" + fieldPart("a", "1") + "--B--\r\n"},
		{"no disposition", ctB, "--B\r\nContent-Type: text/plain\r\n\r\n" + sqli + "\r\n" + fieldPart("a", "1") + "--B--\r\n"},
		{"empty name", ctB, fieldPart("", sqli) + "--B--\r\n"},
		{"name with spaces", ctB, fieldPart("  q \t", sqli) + "--B--\r\n"},
		{"name with semicolon", ctB, "--B\r\nContent-Disposition: form-data; name=\"a;b\"\r\n\r\nv\r\n--B--\r\n"},
		{"name with escaped quote", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\\\"b;c\"\r\n\r\nv\r\n--B--\r\n"},
		{"name unquoted", ctB, "--B\r\nContent-Disposition: form-data; name=q\r\n\r\nv\r\n--B--\r\n"},
		{"name single quotes", ctB, "--B\r\nContent-Disposition: form-data; name='q'\r\n\r\nv\r\n--B--\r\n"},
		{"param name case", ctB, "--B\r\nContent-Disposition: form-data; NaMe=\"q\"; FileName=\"x.txt\"\r\n\r\nv\r\n--B--\r\n"},
		{"epilogue text", ctB, fieldPart("a", "1") + "--B--\r\nThis is the epilogue.\r\n"},
		{"epilogue headers", ctB, fieldPart("a", "1") + "--B--\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli},
		{"epilogue long", ctB, fieldPart("a", "1") + "--B--\r\n" + long + "\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli},
		{"preamble", ctB, "This is a preamble.\r\n" + fieldPart("a", "1") + "--B--\r\n"},
		{"preamble headers", ctB, "Content-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n" + fieldPart("a", "1") + "--B--\r\n"},
		{"no boundary in body", ctB, "Content-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli},
		{"empty part", ctB, "--B\r\n\r\n\r\n" + fieldPart("a", "1") + "--B--\r\n"},
		{"adjacent separators", ctB, "--B--B--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--B--\r\n"},
		{"unclosed", ctB, fieldPart("a", "1") + "--B\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli},
		{"unclosed header", ctB, fieldPart("a", "1") + "--B\r\nContent-Disposition: form-data; name=\"q\""},
		{"whitespace after boundary", ctB, "--B  \t\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B  \r\n--B--\r\n"},
		{"value ends in CRLFCRLF", ctB, fieldPart("a", "x\r\n\r\n") + "--B--\r\n"},
		{"empty value no CRLF", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n--B--\r\n"},
		{"header block at 1024", ctB, "--B\r\nX-Pad: " + strings.Repeat("p", 1000) + "\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header block just inside 1024", ctB, "--B\r\nX-Pad: " + strings.Repeat("p", 1024-2-7-2-42-4) + "\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header block straddling 1024", ctB, "--B\r\nX-Pad: " + strings.Repeat("p", 1024-2-7-2-42-3) + "\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"long value", ctB, fieldPart("a", strings.Repeat("long value ", 20000)) + fieldPart("q", sqli) + "--B--\r\n"},
		{"long line no CRLF", ctB, fieldPart("a", strings.Repeat("y", 200000)) + "--B--\r\n"},
		{"base64 field", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(sqli)) + "\r\n--B--\r\n"},
		{"base64 field upper case", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding:  BASE64 \r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(sqli)) + "\r\n--B--\r\n"},
		{"base64 field bad", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMScg VU5J T04=!QUJ\r\n--B--\r\n"},
		{"base64 field padding mid", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==QUJD\r\n--B--\r\n"},
		{"base64 field odd", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQU=J=D==\r\n--B--\r\n"},
		{"base64 field five", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJDQ\r\n--B--\r\n"},
		{"base64 file", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nrest of the image")) + "\r\n--B--\r\n"},
		{"base64 file lines", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrap(base64.StdEncoding.EncodeToString([]byte(long)), 76) + "\r\n--B--\r\n"},
		{"base64 file padding mid", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==QUJD\r\n--B--\r\n"},
		{"base64 file truncated", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJDQ\r\n--B--\r\n"},
		{"quoted-printable field", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n1=27 UNION\r\n--B--\r\n"},
		{"filename empty is a field", ctB, filePart("f", "", sqli) + "--B--\r\n"},
		{"filename path", ctB, filePart("f", "../../etc/passwd", "x") + filePart("g", "C:\\dir\\a.php", "y") + "--B--\r\n"},
		{"filename dot dot", ctB, filePart("f", "..", "x") + fieldPart("a", "1") + "--B--\r\n"},
		{"filename slash", ctB, filePart("f", "dir/", "x") + "--B--\r\n"},
		{"filename dot dot long", ctB, filePart("f", "..", long) + fieldPart("a", "1") + "--B--\r\n"},
		{"filename entities", ctB, filePart("f", "a&#47;shell.ph&#112;", "x") + filePart("g", "x&amp;y&ampz&notin;&notit;&#1;&#x110000;&#128;&#0;.jpg", "y") + "--B--\r\n"},
		{"filename entities long", ctB, filePart("f", "&"+strings.Repeat("a", 40)+";&aacute&Aacute;x&#00000000000065;&#xD800;", "x") + "--B--\r\n"},
		{"filename non-ASCII", ctB, filePart("f", "café.jpg", "x") + "--B--\r\n"},
		{"filename invalid UTF-8", ctB, filePart("f", "caf\xe9\xe2\x82.jpg", "x") + "--B--\r\n"},
		{"value invalid UTF-8", ctB, fieldPart("a", "x\xff\xe2\x82y\xed\xa0\x80z\xf0\x9f\x98") + "--B--\r\n"},
		{"name invalid UTF-8", ctB, fieldPart("n\xc3", "v") + "--B--\r\n"},
		{"part content-type charset", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header without colon", ctB, "--B\r\nnonsense\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header non-ASCII", ctB, "--B\r\nX-\xff: y\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header non-ASCII value", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\xc3\xa9\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header folded", ctB, "--B\r\nContent-Disposition: form-data;\r\n name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n"},
		{"header bare LF inside", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\nX: y\"\r\n\r\nv\r\n--B--\r\n"},
		{"many fields", ctB, strings.Repeat(fieldPart("a", "1"), 500) + "--B--\r\n"},
		{"file with boundary-like lines", ctB, filePart("f", "a.txt", "--BB\r\n--B-\r\n-- B\r\n") + "--B--\r\n"},
		{"separator split across 64KB", ctB, filePart("f", "a.bin", strings.Repeat("z", 65536-100)) + fieldPart("q", sqli) + "--B--\r\n"},
	}
	// Boundaries and Content-Types.
	for _, c := range []struct{ ct, b string }{
		{"multipart/form-data;boundary=B", "B"},
		{"multipart/form-data; boundary=\"B\"", "B"},
		{"multipart/form-data; BOUNDARY=B", "B"},
		{"multipart/form-data; boundary=A; boundary=B", "B"},
		{"multipart/form-data; boundary=\"a b;c\"", "a b;c"},
		{"multipart/form-data; boundary=a'b\"c", "a'b\"c"},
		{"multipart/form-data; boundary=\"a\\\"b\"", "a\"b"},
		{"multipart/form-data; boundary*=utf-8''B", "B"},
		{"multipart/form-data; boundary*=utf-8''%42", "B"},
		{"multipart/form-data; boundary=" + strings.Repeat("b", 201), strings.Repeat("b", 201)},
		{"multipart/form-data; boundary=" + strings.Repeat("b", 202), strings.Repeat("b", 202)},
		{"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
		{"multipart/form-data; boundary=-", "-"},
		{"multipart/form-data; boundary=B; charset=utf-8", "B"},
		{"multipart/form-data; boundary=B; charset=UTF8", "B"},
		{"multipart/form-data; boundary=B; charset=latin-1", "B"},
		{"multipart/form-data; boundary=B; charset=\"iso-8859-1\"", "B"},
		{"multipart/form-data; boundary=B; charset=us-ascii", "B"},
		{"multipart/form-data; boundary=B; charset=utf-16", "B"},
		{"multipart/form-data; boundary=B; charset=cp037", "B"},
		{"multipart/form-data; boundary=B; charset=nonsense", "B"},
		{"multipart/form-data; charset=latin1; boundary=B", "B"},
		{"Multipart/Form-Data; boundary=B", "B"},
		{"multipart/form-data boundary=B", "B"},
		{"multipart/form-datax; boundary=B", "B"},
		{"multipart/form-data; boundary=", ""},
		{"multipart/form-data", "B"},
		{"multipart/mixed; boundary=B", "B"},
	} {
		sep := "--" + c.b
		body := strings.ReplaceAll(fieldPart("a", "1")+fieldPart("q", "caf\xe9 \xc3\xa9 "+sqli)+filePart("f", "\xe9t\xc3\xa9.txt", "x")+"--B--\r\n", "--B", sep)
		cases = append(cases, oddCase{"content-type " + c.ct, c.ct, body})
	}
	return cases
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\r\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

// mutate returns a variant of body: a few random edits of the kinds that
// make parsers disagree.
func mutate(rng *rand.Rand, body string) string {
	edits := []func(string) string{
		func(s string) string { return replaceNth(rng, s, "\r\n", "\n") },
		func(s string) string { return replaceNth(rng, s, "\r\n", "\r") },
		func(s string) string { return replaceNth(rng, s, "\r\n", "\r\n\r\n") },
		func(s string) string { return replaceNth(rng, s, "--B", "--B--") },
		func(s string) string { return replaceNth(rng, s, "--B", "--Bx") },
		func(s string) string { return replaceNth(rng, s, "--B", "x--B") },
		func(s string) string { return replaceNth(rng, s, "--B", "") },
		func(s string) string { return replaceNth(rng, s, "\r\n--B", "") },
		func(s string) string { return replaceNth(rng, s, "name=", "NAME=") },
		func(s string) string { return replaceNth(rng, s, "name=", "name*=utf-8''") },
		func(s string) string { return replaceNth(rng, s, "name=\"", "name=\"x\"; name=\"") },
		func(s string) string { return replaceNth(rng, s, "Content-Disposition", "content-disposition") },
		func(s string) string { return replaceNth(rng, s, "Content-Disposition: form-data; ", "") },
		func(s string) string { return replaceNth(rng, s, "filename=\"", "filename=\"../") },
		func(s string) string { return replaceNth(rng, s, "filename=", "filename*=utf-8''") },
		func(s string) string {
			return replaceNth(rng, s, "\r\n\r\n", "\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		},
		func(s string) string { return replaceNth(rng, s, "\"", "") },
		func(s string) string { return replaceNth(rng, s, ";", "") },
		func(s string) string { return replaceNth(rng, s, "; ", ";\r\n ") },
		func(s string) string {
			i := rng.Intn(len(s) + 1)
			return s[:i] + "--B" + s[i:]
		},
		func(s string) string { // cut
			return s[:rng.Intn(len(s)+1)]
		},
		func(s string) string { // duplicate a slice
			i := rng.Intn(len(s) + 1)
			j := i + rng.Intn(len(s)-i+1)
			return s[:j] + s[i:j] + s[j:]
		},
		func(s string) string { // delete a slice
			i := rng.Intn(len(s) + 1)
			j := i + rng.Intn(min(len(s)-i, 20)+1)
			return s[:i] + s[j:]
		},
		func(s string) string { // insert a byte
			i := rng.Intn(len(s) + 1)
			const bytes = "\r\n-B\"; =&*'x\x00\xff"
			return s[:i] + string([]byte{bytes[rng.Intn(len(bytes))]}) + s[i:]
		},
		func(s string) string { // append a part after the end
			return s + fieldPart("z", "appended")
		},
	}
	n := 1 + rng.Intn(3)
	for range n {
		body = edits[rng.Intn(len(edits))](body)
	}
	return body
}

func replaceNth(rng *rand.Rand, s, old, repl string) string {
	n := strings.Count(s, old)
	if n == 0 {
		return s
	}
	k := rng.Intn(n)
	i := 0
	for range k + 1 {
		j := strings.Index(s[i:], old)
		if k == 0 {
			return s[:i+j] + repl + s[i+j+len(old):]
		}
		i += j + len(old)
		k--
	}
	return s
}

// TestDjangoParity runs the corpus (hand-written odd bodies and thousands
// of variants) through Reader and through the real Django parser: where
// Parapet does not refuse a body Django parses, both must see the same
// fields and files, byte for byte.
func TestDjangoParity(t *testing.T) {
	d := realDjango(t)
	var total, refused, failed int
	check := func(name, ct, body string) {
		total++
		r, f := compare(t, d, name, ct, []byte(body))
		if r {
			refused++
		}
		if f {
			failed++
		}
	}
	cases := oddCases()
	for _, c := range cases {
		check(c.name, c.ct, c.body)
	}
	// Django reads the body in 64 KB chunks: separators, header blocks and
	// parts it skips, each falling across a chunk's end.
	for delta := -12; delta <= 12; delta++ {
		head := "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n"
		pad := strings.Repeat("z", 65536+delta-len(head))
		check(fmt.Sprintf("separator at 64KB%+d", delta), ctB, head+pad+"\r\n"+fieldPart("q", "v")+"--B--\r\n")
		check(fmt.Sprintf("skipped part at 64KB%+d", delta), ctB, head+pad[:len(pad)-300]+"\r\n--B\r\nContent-Disposition: form-data\r\n\r\n"+strings.Repeat("s", 500)+"\r\n"+fieldPart("q", "v")+"--B--\r\n")
		check(fmt.Sprintf("header block at 64KB%+d", delta), ctB, head+pad[:len(pad)-30]+"\r\n"+fieldPart("q", "v")+"--B--\r\n")
		check(fmt.Sprintf("end at 64KB%+d", delta), ctB, head+pad+"\r\n--B")
	}
	variants := 3000
	if testing.Short() {
		variants = 300
	}
	rng := rand.New(rand.NewSource(15))
	for i := range variants {
		c := cases[rng.Intn(len(cases))]
		if len(c.body) > 100000 {
			continue
		}
		check(fmt.Sprintf("variant %d of %q", i, c.name), c.ct, mutate(rng, c.body))
	}
	t.Logf("%d bodies: Parapet refused %d, Django failed on %d", total, refused, failed)
}

// TestDjangoParityRefusesLittle: bodies as browsers and HTTP libraries
// send them are read, not refused.
func TestRefusesNoOrdinaryBody(t *testing.T) {
	for _, c := range oddCases()[:2] {
		if _, refused, err := parapet(c.ct, []byte(c.body)); refused || err != nil {
			t.Errorf("%s: refused=%v err=%v", c.name, refused, err)
		}
	}
}
