package formdata

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

type readPart struct {
	name, file, value string
	isFile            bool
}

// readAll reads every part: fields' values, files' contents.
func readAll(t *testing.T, ct, body string) ([]readPart, error) {
	t.Helper()
	r, err := NewReader(strings.NewReader(body), ct)
	if err != nil {
		return nil, err
	}
	var out []readPart
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		rp := readPart{name: p.Name, file: p.FileName, isFile: p.IsFile}
		if p.IsFile {
			b, err := io.ReadAll(p.File())
			if err != nil {
				return out, err
			}
			rp.value = string(b)
		} else if rp.value, err = p.Value(1 << 20); err != nil {
			return out, err
		}
		out = append(out, rp)
	}
}

func TestReadsWhatDjangoReads(t *testing.T) {
	sqli := "1' UNION SELECT password FROM users--"
	for _, c := range []struct {
		name, ct, body string
		want           []readPart
	}{
		{"a browser's form", ctB, fieldPart("title", "Holiday") + filePart("photo", "sea.jpg", "\xff\xd8\xff") + "--B--\r\n",
			[]readPart{{name: "title", value: "Holiday"}, {name: "photo", file: "sea.jpg", value: "\xff\xd8\xff", isFile: true}}},
		// Issue #15 1(a): Django reads on after the closing delimiter.
		{"part after the closing delimiter", ctB, fieldPart("a", "1") + "--B--\r\n" + fieldPart("q", sqli) + "--B--\r\n",
			[]readPart{{name: "a", value: "1"}, {name: "q", value: sqli}}},
		// Issue #15 1(b): "--Bx" inside a file ends it, and "x" starts
		// the next part's header block.
		{"boundary and a character inside a file", ctB, filePart("f", "a.txt", "hello\r\n--Bx\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n"+sqli) + "--B--\r\n",
			[]readPart{{name: "f", file: "a.txt", value: "hello", isFile: true}, {name: "q", value: sqli}}},
		{"separator mid-line", ctB, fieldPart("a", "one--Btwo") + "--B--\r\n",
			[]readPart{{name: "a", value: "one"}}},
		{"preamble with a header block", ctB, "Content-Disposition: form-data; name=\"q\"\r\n\r\n" + sqli + "\r\n--B--\r\n",
			[]readPart{{name: "q", value: sqli}}},
		{"header case and any disposition type", ctB, "--B\r\nCONTENT-DISPOSITION: attachment; NAME=\"Q\"\r\n\r\nv\r\n--B--\r\n",
			[]readPart{{name: "Q", value: "v"}}},
		{"last parameter wins, name* decoded", ctB, "--B\r\nContent-Disposition: form-data; name=\"a\"; name*=utf-8''%71\r\n\r\nv\r\n--B--\r\n",
			[]readPart{{name: "q", value: "v"}}},
		{"last Content-Disposition wins", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.php\"\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nv\r\n--B--\r\n",
			[]readPart{{name: "q", value: "v"}}},
		{"filename* replaces filename", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.jpg\"; filename*=utf-8''shell.php\r\n\r\n<?php\r\n--B--\r\n",
			[]readPart{{name: "f", file: "shell.php", value: "<?php", isFile: true}}},
		{"file name unescaped and cut", ctB, filePart("f", "..&#47;..\\x.ph&#112;", "x") + "--B--\r\n",
			[]readPart{{name: "f", file: "x.php", value: "x", isFile: true}}},
		{"empty file name is a field", ctB, filePart("f", "", "v") + "--B--\r\n",
			[]readPart{{name: "f", value: "v"}}},
		{"LF-only lines have no header block", ctB, strings.ReplaceAll(fieldPart("q", sqli)+"--B--\r\n", "\r\n", "\n"), nil},
		{"base64 field", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: Base64\r\n\r\nMScgT1IgMT0x\r\n--B--\r\n",
			[]readPart{{name: "q", value: "1' OR 1=1"}}},
		{"base64 field Python-style", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==QUJD\r\n--B--\r\n",
			[]readPart{{name: "q", value: "A"}}},
		{"bad base64 field kept raw", ctB, "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJDQ\r\n--B--\r\n",
			[]readPart{{name: "q", value: "QUJDQ"}}},
		{"latin-1 request charset", "multipart/form-data; boundary=B; charset=latin-1", fieldPart("caf\xe9", "\xe9t\xe9") + "--B--\r\n",
			[]readPart{{name: "café", value: "été"}}},
		{"invalid UTF-8 replaced", ctB, fieldPart("a", "x\xe2\x82y\xff") + "--B--\r\n",
			[]readPart{{name: "a", value: "x\ufffdy\ufffd"}}},
		{"no name, skipped", ctB, "--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n" + fieldPart("a", "1") + "--B--\r\n",
			[]readPart{{name: "a", value: "1"}}},
	} {
		got, err := readAll(t, c.ct, c.body)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: part %d is %+v, want %+v", c.name, i, got[i], c.want[i])
			}
		}
	}
}

// What Django would read in a way that depends on what Parapet cannot
// know is refused with a reason.
func TestRefusesWhatItCannotFollow(t *testing.T) {
	long := strings.Repeat("x", 2000)
	for _, c := range []struct{ name, ct, body, reason string }{
		{"skipped part longer than Django's header window", ctB, "--B\r\nContent-Disposition: form-data\r\n\r\n" + long + "\r\n--B--\r\n", "Django would read on from inside it"},
		{"long epilogue", ctB, fieldPart("a", "1") + "--B--\r\n" + long, "Django would read on from inside it"},
		{"UTF-16 request charset", "multipart/form-data; boundary=B; charset=utf-16", fieldPart("a", "1"), "charset"},
		{"unicode_escape name", ctB, "--B\r\nContent-Disposition: form-data; name*=unicode_escape''%5Cx71\r\n\r\nv\r\n--B--\r\n", "charset"},
		{"media type Django does not parse", "Multipart/Form-Data; boundary=B", fieldPart("a", "1"), "is not one Django parses"},
		{"no boundary", "multipart/form-data", fieldPart("a", "1"), "boundary"},
		{"boundary too long", "multipart/form-data; boundary=" + strings.Repeat("b", 202), fieldPart("a", "1"), "boundary"},
		{"too many parts", ctB, strings.Repeat("--B", MaxParts+1), "parts"},
		{"base64 file Django decodes by chunks", ctB, "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==iVBORw0K\r\n--B--\r\n", "base64"},
	} {
		_, err := readAll(t, c.ct, c.body)
		var fe *Error
		if !errors.As(err, &fe) || !strings.Contains(fe.Reason, c.reason) {
			t.Errorf("%s: %v, want a refusal saying %q", c.name, err, c.reason)
		}
	}
}

// A field after a large file is read without holding the file: the
// reader streams.
func TestStreamsPastLargeFiles(t *testing.T) {
	const size = 64 << 20
	head := "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n\r\n"
	tail := "\r\n" + fieldPart("q", "after the file") + "--B--\r\n"
	body := io.MultiReader(strings.NewReader(head), io.LimitReader(zeros{}, size), strings.NewReader(tail))
	r, err := NewReader(body, ctB)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, err := r.Next()
	if err != nil || !p.IsFile {
		t.Fatalf("first part: %+v %v", p, err)
	}
	if p, err = r.Next(); err != nil || p.Name != "q" {
		t.Fatalf("second part: %+v %v", p, err)
	}
	if v, err := p.Value(100); err != nil || v != "after the file" {
		t.Fatalf("field after the file: %q %v", v, err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("skipping a %d MB file allocated %d bytes", size>>20, grew)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestValueLimit(t *testing.T) {
	r, err := NewReader(strings.NewReader(fieldPart("a", "0123456789")+"--B--\r\n"), ctB)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Value(9); !errors.Is(err, ErrTooLong) {
		t.Fatalf("10-byte value with limit 9: %v", err)
	}
}

// A failing body (a client gone) is an error, not a refusal.
func TestReadErrorsPassThrough(t *testing.T) {
	boom := errors.New("connection reset")
	body := io.MultiReader(strings.NewReader(fieldPart("a", "1")+"--B\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\npartial"), errReader{boom})
	r, err := NewReader(body, ctB)
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		var p *Part
		if p, err = r.Next(); err == nil {
			_, err = p.Value(1 << 20)
		}
	}
	var fe *Error
	if !errors.Is(err, boom) || errors.As(err, &fe) {
		t.Fatalf("got %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// The charset names accepted are the ones Python maps to the codec
// Parapet decodes with.
func TestCharsetNamesMatchPython(t *testing.T) {
	d := realDjango(t)
	want := map[charset]string{utf8Charset: "utf-8", asciiCharset: "ascii", latin1Charset: "iso8859-1"}
	for name, c := range charsets {
		for _, spelling := range []string{name, strings.ToUpper(name), strings.ReplaceAll(name, "_", "-"), strings.ReplaceAll(name, "_", " ")} {
			got, ok := lookupCharset(spelling)
			if !ok || got != c {
				t.Errorf("%q: lookupCharset gives %v %v", spelling, got, ok)
			}
			var reply struct{ Codec *string }
			d.ask(t, map[string]string{"codec": spelling}, &reply)
			if reply.Codec == nil || *reply.Codec != want[c] {
				t.Errorf("%q: Python's codec is %v, Parapet decodes it as %s", spelling, reply.Codec, want[c])
			}
		}
	}
}

// html.unescape as Python does it, on the references Django's file name
// sanitizing meets.
func TestHTMLUnescapeMatchesPython(t *testing.T) {
	d := realDjango(t)
	for _, s := range []string{
		"plain", "a&amp;b", "a&ampb", "&amp", "&amp;", "&AMP;", "&notin;", "&notit;", "&noti", "&not", "&#47;", "&#x2F;", "&#X2f",
		"&#0;", "&#1;", "&#13;", "&#128;", "&#x80;", "&#x9F;", "&#xD800;", "&#x10FFFF;", "&#x110000;", "&#1114112;",
		"&#99999999999999999999;", "&#000000000065;", "&#xFDD0;", "&#xFFFE;", "&#x1FFFF;", "&#;", "&#x;", "&#xg;", "&;", "&", "&&amp;",
		"&" + strings.Repeat("a", 40) + ";", "&aacute", "&Aacute;x", "&acE;", "&NotEqualTilde;", "&ThickSpace;", "&caf\u00e9;",
		"&lt&gt&quot", "&ltx", "&amp_x;", "& amp;", "&am;p", "shell.ph&#112;", "a&#x2f;b", "&#x2f&#x2e;&#46;",
	} {
		var reply struct{ Unescape string }
		d.ask(t, map[string]string{"unescape": s}, &reply)
		if got := htmlUnescape(s); got != reply.Unescape {
			t.Errorf("htmlUnescape(%q) = %q, Python %q", s, got, reply.Unescape)
		}
	}
}

// Bodies as browsers write them have no anomaly; each departure an RFC
// 7578 parser would read differently from Django is named.
func TestAnomalies(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{fieldPart("a", "1") + filePart("f", "a.txt", "x") + "--B--\r\n", ""},
		{fieldPart("a", "1") + "--B--", ""},
		{"preamble\r\n" + fieldPart("a", "1") + "--B--\r\nepilogue\r\n", ""},
		{strings.ReplaceAll(fieldPart("a", "1")+"--B--\r\n", "\r\n", "\n"), "a part Django skips"},
		{fieldPart("a", "1") + "--B--\r\n" + fieldPart("q", "2") + "--B--\r\n", "a part after the closing delimiter"},
		{filePart("f", "a.txt", "x\r\n--Bx\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n2") + "--B--\r\n", "a delimiter followed by more than white space"},
		{fieldPart("a", "one--B\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n2") + "--B--\r\n", "a delimiter in the middle of a line"},
		{"Content-Disposition: form-data; name=\"q\"\r\n\r\n2\r\n--B--\r\n", "a field before the first delimiter"},
		{"--B\r\nContent-Disposition: form-data; name=\"a\"; name*=utf-8''q\r\n\r\n2\r\n--B--\r\n", "given twice"},
		{"--B\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n2\r\n--B--\r\n", "given twice"},
		{"--B\r\nContent-Disposition: form-data\r\n\r\n2\r\n" + fieldPart("a", "1") + "--B--\r\n", "a part Django skips"},
	} {
		r, err := NewReader(strings.NewReader(c.body), ctB)
		if err != nil {
			t.Fatal(err)
		}
		for err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, io.EOF) {
			t.Errorf("%q: %v", c.body, err)
		}
		if got := r.Anomaly(); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%q: anomaly %q, want %q", c.body, got, c.want)
		}
	}
}
