package detect

// Review 8: a hostile look at how a body declared as a file
// (application/octet-stream) is told from text (binaryBody). A body taken
// for a file is read only as QueryDict(request.body) reads it; a view that
// json.loads(request.body) reads more (JSON escapes such as \u0027), so a
// JSON body taken for a file passed JSON-escaped payloads.

import (
	"fmt"
	"strings"
	"testing"
)

// jsonAttack is an attack a view only sees once json.loads decodes the
// escapes: the quote is \u0027 and the spaces \u0020.
const jsonAttack = `"q":"1\u0027\u0020UNION\u0020SELECT\u0020password\u0020FROM\u0020auth_user--"`

func wide(s string, unit int, big bool) string {
	var b []byte
	for _, r := range s {
		for i := 0; i < unit; i++ {
			shift := 8 * i
			if big {
				shift = 8 * (unit - 1 - i)
			}
			b = append(b, byte(uint32(r)>>shift))
		}
	}
	return string(b)
}

// TestReview8JSONWithASurrogateIsJSON: finding 1. Go's utf8.Valid takes
// the UTF-8 encoding of a surrogate (ED A0 80) for invalid, so a JSON body
// holding one in its first 512 bytes was taken for a file; json.loads
// decodes bytes with surrogatepass and reads it (Python 3.11:
// json.loads(b'{"a":"\xed\xa0\x80","q":"1\\u0027 UNION..."}')["q"] is the
// attack).
func TestReview8JSONWithASurrogateIsJSON(t *testing.T) {
	s := stageFromYAML(t, "")
	for _, body := range []string{
		`{` + jsonAttack + `}`, // the control: blocked before the fix too
		`{"a":"` + "\xed\xa0\x80" + `",` + jsonAttack + `}`,
		`{"a":"` + "\xed\xbf\xbf\xed\xb0\x80" + `",` + jsonAttack + `}`,
		`{"pad":"` + strings.Repeat("x", 495) + "\xed\xa0\x80" + `",` + jsonAttack + `}`,
		"\xef\xbb\xbf " + `[{"a":"` + "\xed\xa0\x80" + `",` + jsonAttack + `}]`,
		"\r\n" + `"` + "\xed\xa0\x80" + `1\u0027\u0020UNION\u0020SELECT\u0020password\u0020FROM\u0020auth_user--"`,
	} {
		expectBlocked(t, s, "PUT", "/api/items/1/", "application/octet-stream", body, fmt.Sprintf("%.70q", body))
	}
}

// TestReview8WideJSONAfterWhiteSpace: finding 2. JSON in UTF-16 or UTF-32
// whose first 512 bytes are only white space (256 spaces in UTF-16, or
// more) was taken for a file: the sniffed head did not start like JSON
// and held NULs. json.loads skips the white space and reads it.
func TestReview8WideJSONAfterWhiteSpace(t *testing.T) {
	s := stageFromYAML(t, "")
	for _, c := range []struct {
		name   string
		unit   int
		big    bool
		bom    string
		spaces int
	}{
		{"UTF-16LE, 256 spaces", 2, false, "", 256},
		{"UTF-16LE, 300 spaces", 2, false, "", 300},
		{"UTF-16BE, 1000 tabs and newlines", 2, true, "", 1000},
		{"UTF-16LE with a BOM, 600 spaces", 2, false, "\uFEFF", 600},
		{"UTF-32LE, 128 spaces", 4, false, "", 128},
		{"UTF-32BE, 200 spaces", 4, true, "", 200},
	} {
		ws := strings.Repeat(" ", c.spaces)
		if c.name == "UTF-16BE, 1000 tabs and newlines" {
			ws = strings.Repeat("\t\r\n ", c.spaces/4)
		}
		body := wide(c.bom+ws+`{`+jsonAttack+`}`, c.unit, c.big)
		expectBlocked(t, s, "PUT", "/api/items/1/", "application/octet-stream", body, c.name)
	}
}

// TestReview8LatinXMLIsText: an XML document in ISO-8859-1 (its
// declaration says so; one byte of it is not UTF-8) is text to the XML
// parser a view hands request.body to, not a file.
func TestReview8LatinXMLIsText(t *testing.T) {
	s := stageFromYAML(t, "")
	body := `<?xml version="1.0" encoding="ISO-8859-1"?><order><note>caf` + "\xe9" +
		`</note><q>1' UNION SELECT password FROM auth_user--</q></order>`
	expectBlocked(t, s, "PUT", "/api/items/1/", "application/octet-stream", body, "Latin-1 XML")
}

// TestReview8SniffStillTellsFiles: the fixes read as text only what
// json.loads or an XML parser reads; files still pass as files.
func TestReview8SniffStillTellsFiles(t *testing.T) {
	for body, want := range map[string]bool{
		"\xed\xa0\x80abc":                  false, // surrogatepass UTF-8: text
		"abc\xed\xa0":                      true,  // a whole body cut mid-sequence: not decodable
		"abc\xff":                          true,
		"\xed\x9f\xbf":                     false, // U+D7FF, plain UTF-8
		"\xed\xc0\x80":                     true,
		"{\xff\xfe":                        false, // starts like JSON
		"<?xml version='1.0'?><a>\xe9</a>": false,
		"\x89PNG\r\n\x1a\n\xff":            true,
		wide(strings.Repeat(" ", 300), 2, false) + "\x00\x00\xff\xfe": false, // white space so far: text
		wide("hello", 2, false): true, // UTF-16 text that is not JSON
	} {
		r := browserRequest("PUT", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/octet-stream")
		if got := binaryBody(r); got != want {
			t.Errorf("%.40q: binary %v, want %v", body, got, want)
		}
	}
}
