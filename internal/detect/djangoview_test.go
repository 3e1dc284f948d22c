package detect

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// parseCookie reads Cookie headers exactly as Django 3.2's parse_cookie
// does (run here on the same headers through Debian's Python).
func TestParseCookieMatchesDjango(t *testing.T) {
	testenv.RequireDjango(t)
	headers := []string{
		"a=1; b=2",
		`q="1\047 \125NION \123ELECT"`,
		`q="a\"b\\c"; r="\400\377\060"`,
		"q=\u00a0\"x\\073y\"\u00a0",
		"q= \u2003v\u3000 ; =empty; novalue; ;;",
		"q=\x1cv\x1f; k=\"unterminated",
		`q="x\"`,
		`q="\"`,
		`q=""`,
		"q=a,b=c; d=e",
		"q=caf\xe9; r=\xff\xfe",
		"dup=1; dup=2",
		`q="\12\1234\7"`,
	}
	py := exec.Command(testenv.Python, "-c", `
import json, sys
from django.http.cookie import parse_cookie
out = []
for h in json.load(sys.stdin):
    out.append(sorted(parse_cookie(h.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')).items()))
json.dump(out, sys.stdout)
`)
	// Python decodes the header bytes as Django does; headers go through
	// JSON as text, so invalid UTF-8 is sent replaced on both sides.
	in := make([]string, len(headers))
	for i, h := range headers {
		in[i] = strings.ToValidUTF8(h, "\uFFFD")
	}
	b, _ := json.Marshal(in)
	py.Stdin = strings.NewReader(string(b))
	out, err := py.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want [][][2]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, h := range in {
		got := map[string]string{}
		for _, kv := range parseCookie(h) {
			got[kv[0]] = kv[1] // the last wins, as in Django's dict
		}
		if len(got) != len(want[i]) {
			t.Errorf("%q: got %q, Django %q", h, got, want[i])
			continue
		}
		for _, kv := range want[i] {
			if got[kv[0]] != kv[1] {
				t.Errorf("%q: %q = %q, Django %q", h, kv[0], got[kv[0]], kv[1])
			}
		}
	}
}

// Cookie lines with nothing to decode cost nothing; decoded values are
// added only where they differ from the plain reading.
func TestDjangoCookiesOnlyWhatDiffers(t *testing.T) {
	if got := djangoCookies([]string{"sessionid=abc; csrftoken=def"}); got != nil {
		t.Fatalf("plain cookies: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { djangoCookies([]string{"sessionid=abc; csrftoken=def"}) }); n != 0 {
		t.Fatalf("plain cookies allocate %v times", n)
	}
	got := djangoCookies([]string{`a=1; q="x\073y"`})
	if len(got) != 1 || got[0] != [2]string{"q", "x;y"} {
		t.Fatalf("escaped cookie: %q", got)
	}
	got = djangoCookies([]string{"q=1 UNION SELECT a", "b FROM t"})
	if len(got) != 1 || got[0] != [2]string{"q", "1 UNION SELECT a,b FROM t"} {
		t.Fatalf("split lines: %q", got)
	}
}

type argsMap map[string][]string

func (m argsMap) Add(k, v string) { m[k] = append(m[k], v) }

// JSON bodies are flattened as Coraza's JSON processor names them, with
// escapes decoded; bodies that are not JSON add nothing.
func TestAddJSONArgs(t *testing.T) {
	m := argsMap{}
	addJSONArgs(m, []byte("\ufeff {\"q\":\"x'\\tOR\\tTRUE--\",\"a\":[1,{\"b\":\"\\u0027\"}],\"n\":null}"))
	for k, v := range map[string]string{"json.q": "x'\tOR\tTRUE--", "json.a.0": "1", "json.a.1.b": "'", "json.n": ""} {
		if len(m[k]) != 1 || m[k][0] != v {
			t.Errorf("%s = %q, want %q (all %q)", k, m[k], v, m)
		}
	}
	m = argsMap{}
	addJSONArgs(m, []byte("q=1&r=2"))
	if len(m) != 0 {
		t.Errorf("a form added %q", m)
	}
}

// json.loads(request.body) reads UTF-16 and UTF-32 by itself
// (json.detect_encoding, BOM or not): such a body is read as that JSON,
// and under application/octet-stream it is text, not a binary file
// (TestReview4JSONInUTF16AndUTF32ReachesJSONLoads in e2e: it reached the
// view uninspected).
func TestReview4WideJSONIsReadAsJSONLoadsReadsIt(t *testing.T) {
	const body = `{"q": "x' OR 1=1--", "k": "\u00e9\ud83d\ude00"}`
	want := "x' OR 1=1--"
	units := utf16.Encode([]rune(body))
	enc := func(unit int, big bool, bom bool) []byte {
		var b []byte
		if bom {
			if unit == 2 {
				b = appendUnit(b, 2, big, 0xFEFF)
			} else {
				b = appendUnit(b, 4, big, 0xFEFF)
			}
		}
		if unit == 2 {
			for _, u := range units {
				b = appendUnit(b, 2, big, uint32(u))
			}
			return b
		}
		for _, r := range body {
			b = appendUnit(b, 4, big, uint32(r))
		}
		return b
	}
	for _, c := range []struct {
		name     string
		unit     int
		big, bom bool
	}{{"utf-16-le", 2, false, false}, {"utf-16-be", 2, true, false}, {"utf-16 BOM le", 2, false, true}, {"utf-16 BOM be", 2, true, true},
		{"utf-32-le", 4, false, false}, {"utf-32-be", 4, true, false}, {"utf-32 BOM le", 4, false, true}, {"utf-32 BOM be", 4, true, true}} {
		b := enc(c.unit, c.big, c.bom)
		m := argsMap{}
		addJSONArgs(m, b)
		if len(m["json.q"]) != 1 || m["json.q"][0] != want || len(m["json.k"]) != 1 || m["json.k"][0] != "\u00e9\U0001F600" {
			t.Errorf("%s: args %q", c.name, m)
		}
		r := httptest.NewRequest("POST", "/", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/octet-stream")
		if binaryBody(r) {
			t.Errorf("%s under application/octet-stream: taken for a binary file", c.name)
		}
	}
	for _, bin := range [][]byte{{0, 1, 2, 3, 4, 5}, {0, 0, 1, 2, 3, 4, 5, 6}, []byte("\x89PNG\r\n\x1a\n\x00\x00")} {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(bin))
		r.Header.Set("Content-Type", "application/octet-stream")
		if !binaryBody(r) {
			t.Errorf("%q: not a binary file", bin)
		}
	}
}

func appendUnit(b []byte, unit int, big bool, v uint32) []byte {
	switch {
	case unit == 2 && big:
		return binary.BigEndian.AppendUint16(b, uint16(v))
	case unit == 2:
		return binary.LittleEndian.AppendUint16(b, uint16(v))
	case big:
		return binary.BigEndian.AppendUint32(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, v)
}
