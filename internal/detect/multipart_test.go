package detect

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/spool"
)

const mpSQLi = "1' UNION SELECT username, password FROM auth_user--"

func mpField(name, value string) string {
	return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

func mpRequest(body []byte, chunked bool) *http.Request {
	r := browserRequest("POST", "/upload/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	if chunked {
		r.ContentLength = -1
	}
	return r
}

// bigFile is a file part of n random bytes, none a '-' (a "--B" in the
// content would be a separator).
func bigFile(n int) string {
	data := make([]byte, n)
	rand.Read(data)
	for i, c := range data {
		if c == '-' {
			data[i] = '+'
		}
	}
	return "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n" + string(data) + "\r\n"
}

// The multipart bypasses of issue #15 (items 1 and 2): fields only Django
// sees, or a field behind a file past the old inspection limit. Each is
// blocked; with rule 200003 (strict multipart) removed, by the SQL
// injection rules themselves, which proves the field is inspected.
func TestMultipartFieldsDjangoSeesAreInspected(t *testing.T) {
	bodies := map[string]string{
		"part after the closing delimiter": mpField("title", "hello") + "--B--\r\n" + mpField("q", mpSQLi) + "--B--\r\n",
		"boundary plus a character inside a file": "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--Bx\r\n" +
			"Content-Disposition: form-data; name=\"q\"\r\n\r\n" + mpSQLi + "\r\n--B--\r\n",
		"field after a 3 MB file":   bigFile(3<<20) + mpField("q", mpSQLi) + "--B--\r\n",
		"field name in name*":       "--B\r\nContent-Disposition: form-data; name*=utf-8''%71\r\n\r\n" + mpSQLi + "\r\n--B--\r\n",
		"attachment disposition":    "--B\r\nContent-Disposition: attachment; name=\"q\"\r\n\r\n" + mpSQLi + "\r\n--B--\r\n",
		"base64 field":              "--B\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMScgVU5JT04gU0VMRUNUIHVzZXJuYW1lLCBwYXNzd29yZCBGUk9NIGF1dGhfdXNlci0t\r\n--B--\r\n",
		"field before the boundary": "Content-Disposition: form-data; name=\"q\"\r\n\r\n" + mpSQLi + "\r\n--B--\r\n",
	}
	for _, yaml := range []string{"", "detection:\n  directives: SecRuleRemoveById 200003 922120\n"} {
		s := stageFromYAML(t, yaml)
		for name, body := range bodies {
			for _, chunked := range []bool{false, true} {
				r := mpRequest([]byte(body), chunked)
				d := s.Check(r.Context(), r, info())
				if !d.Decided() {
					t.Errorf("%s (chunked %v, %q): passed: %+v", name, chunked, yaml, d)
				} else if yaml != "" && d.RuleID != "detect-sqli" {
					t.Errorf("%s (chunked %v) without 200003: %s %s, want detect-sqli", name, chunked, d.RuleID, d.Reason)
				}
			}
		}
	}
}

// A body an RFC 7578 parser reads differently from Django raises
// MULTIPART_STRICT_ERROR: rule 200003 refuses it, saying how.
func TestMultipartStrictErrorSaysWhy(t *testing.T) {
	s := stageFromYAML(t, "")
	for body, why := range map[string]string{
		mpField("title", "hello") + "--B--\r\n" + mpField("comment", "nice") + "--B--\r\n": "a part after the closing delimiter",
		// Bare LF line ends: Django reads no part (no CRLFCRLF header end).
		strings.ReplaceAll(mpField("title", "hello")+"--B--\r\n", "\r\n", "\n"): "a part Django skips",
	} {
		r := mpRequest([]byte(body), false)
		d := s.Check(r.Context(), r, info())
		if !d.Decided() || d.Status != 400 || !slices.Contains(d.Rules, "200003") || !strings.Contains(d.Reason, why) {
			t.Errorf("%q: %+v", body, d)
		}
	}
}

// What Django would read in a way Parapet cannot follow is refused with
// 400 and the reason, whatever the rules say (the CRS's own content type
// and charset rules, which run first, are removed here).
func TestMultipartAmbiguityRefused(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  directives: SecRuleRemoveById 920420 920480 920620\n")
	for _, c := range []struct {
		name, ct, body, reason string
		header                 http.Header
	}{
		{"skipped part longer than Django's header window", "multipart/form-data; boundary=B",
			"--B\r\nContent-Disposition: form-data\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n" + mpField("q", "1") + "--B--\r\n", "Django would read on", nil},
		{"UTF-16 form", "multipart/form-data; boundary=B; charset=utf-16", mpField("q", "1") + "--B--\r\n", "charset", nil},
		{"UTF-16 urlencoded form", "application/x-www-form-urlencoded; charset=utf-16", "q\x00=\x001\x00", "charset", nil},
		{"cp037 urlencoded form", "application/x-www-form-urlencoded; charset=cp037", "\x98~\xf1", "charset", nil},
		{"two Content-Types", "multipart/form-data; boundary=B", mpField("q", "1") + "--B--\r\n", "more than one Content-Type",
			http.Header{"Content-Type": {"multipart/form-data; boundary=B", "multipart/form-data; boundary=C"}}},
		{"media type Django does not parse", "multipart/form-datax; boundary=B", mpField("q", "1") + "--B--\r\n", "not one Django parses", nil},
	} {
		r := browserRequest("POST", "/upload/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", c.ct)
		for k, v := range c.header {
			r.Header[k] = v
		}
		d := s.Check(r.Context(), r, info())
		if !d.Decided() || d.Status != 400 || d.RuleID != RuleBadBody || !strings.Contains(d.Reason, c.reason) {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
}

// An upload with text fields passes, arrives byte for byte (from memory
// or from the temporary file past multipart_limit), and the rules see its
// fields and file names as Django will.
func TestMultipartUploadInspectedAndReplayed(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  multipart_limit: 64KB\n")
	var seen map[string][]string
	s.observe = func(tx types.Transaction) {
		v := tx.(plugintypes.TransactionState).Variables()
		seen = map[string][]string{
			"ARGS_POST:title":  v.ArgsPost().Get("title"),
			"FILES":            v.Files().Get(""),
			"FILES_NAMES":      v.FilesNames().Get(""),
			"MULTIPART_NAME":   v.MultipartName().Get("file"),
			"PART_HEADERS":     v.MultipartPartHeaders().Get("file"),
			"STRICT":           {v.MultipartStrictError().Get()},
			"ARGS_POST:tags":   v.ArgsPost().Get("tags"),
			"FILES_SIZES:a.pn": v.FilesSizes().Get("a.png"),
		}
	}
	for _, size := range []int{1 << 10, 1 << 20} {
		body := []byte(mpField("title", "Holiday in Dún Laoghaire") +
			strings.Replace(bigFile(size), "big.bin", "a.png", 1) +
			mpField("tags", "sea") + mpField("tags", "harbour") + "--B--\r\n")
		for _, chunked := range []bool{false, true} {
			r := mpRequest(body, chunked)
			in := info()
			if d := s.Check(r.Context(), r, in); d.Decided() || d.RuleID != "" || len(in.Tags) > 0 {
				t.Fatalf("%d-byte upload: %+v %v", size, d, in.Tags)
			}
			if _, isSpool := r.Body.(*spool.Body); !isSpool {
				t.Fatalf("body is %T, want the spool", r.Body)
			}
			got, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if !bytes.Equal(got, body) {
				t.Fatalf("%d-byte upload replayed %d bytes, sent %d", size, len(got), len(body))
			}
			want := map[string]string{
				"ARGS_POST:title": "[Holiday in Dún Laoghaire]", "FILES": "[a.png]", "FILES_NAMES": "[file]", "MULTIPART_NAME": "[file]",
				"STRICT": "[]", "ARGS_POST:tags": "[sea harbour]",
			}
			for k, w := range want {
				if g := strings.Join(seen[k], " "); "["+g+"]" != w {
					t.Errorf("%d-byte upload: %s = [%s], want %s", size, k, g, w)
				}
			}
			if h := strings.Join(seen["PART_HEADERS"], "|"); !strings.Contains(h, `Content-Disposition: form-data; name="file"; filename="a.png"`) {
				t.Errorf("part headers %q", h)
			}
		}
	}
}

// A body the upload checks spooled is read from their spool, not spooled
// again.
func TestMultipartReadsAnEarlierSpool(t *testing.T) {
	s := stageFromYAML(t, "")
	body := mpField("title", "hi") + mpField("q", mpSQLi) + "--B--\r\n"
	sp := spool.New(1 << 10)
	sp.Write([]byte(body))
	r := mpRequest(nil, false)
	b := sp.Body()
	r.Body, r.ContentLength = b, int64(len(body))
	if d := s.Check(r.Context(), r, info()); d.RuleID != "detect-sqli" {
		t.Fatalf("%+v", d)
	}
	r = mpRequest(nil, false)
	sp = spool.New(1 << 10)
	sp.Write([]byte(mpField("title", "hi") + "--B--\r\n"))
	b = sp.Body()
	r.Body, r.ContentLength = b, sp.Len()
	if d := s.Check(r.Context(), r, info()); d.Decided() || r.Body != io.ReadCloser(b) || !b.Unread() {
		t.Fatalf("%+v: body %T unread %v", d, r.Body, b.Unread())
	}
}

// Limits: text over body_limit follows body_over_limit (413 by default);
// a chunked body is read no further than limits.max_body_bytes; with
// multipart_over_limit: reject, a body over multipart_limit is refused;
// in monitor mode it passes whole.
func TestMultipartLimits(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  body_limit: 4KB\n")
	r := mpRequest([]byte(bigFile(64<<10)+mpField("essay", strings.Repeat("y", 6<<10))+"--B--\r\n"), true)
	if d := s.Check(r.Context(), r, info()); d.Status != 413 || !strings.Contains(d.Reason, "form fields") {
		t.Fatalf("6 KB field after a file: %+v", d)
	}
	// Many small parts count too: names and headers are inspected.
	r = mpRequest([]byte(strings.Repeat(mpField("a", ""), 200)+"--B--\r\n"), false)
	if d := s.Check(r.Context(), r, info()); d.Status != 413 {
		t.Fatalf("200 empty fields: %+v", d)
	}

	s = stageFromYAML(t, "limits:\n  max_body_bytes: 1MB\n")
	r = mpRequest([]byte(bigFile(2<<20)+"--B--\r\n"), true)
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.Status != 413 {
		t.Fatalf("chunked body over max_body_bytes: %+v", d)
	}

	body := []byte(bigFile(100<<10) + mpField("q", "1") + "--B--\r\n")
	s = stageFromYAML(t, "detection:\n  multipart_limit: 64KB\n  multipart_over_limit: reject\n")
	for _, chunked := range []bool{false, true} {
		r = mpRequest(body, chunked)
		if d := s.Check(r.Context(), r, info()); !d.Decided() || d.Status != 413 || !strings.Contains(d.Reason, "multipart_limit") {
			t.Fatalf("chunked %v: %+v", chunked, d)
		}
	}
	s = stageFromYAML(t, "detection:\n  mode: monitor\n  multipart_limit: 64KB\n  multipart_over_limit: reject\n")
	for _, chunked := range []bool{false, true} {
		r = mpRequest(body, chunked)
		d := s.Check(r.Context(), r, info())
		if d.Decided() || d.RuleID != RuleBodyTooLarge || d.Mode != decision.Monitor {
			t.Fatalf("monitor, chunked %v: %+v", chunked, d)
		}
		if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, body) {
			t.Fatalf("monitor, chunked %v: replayed %d bytes of %d", chunked, len(got), len(body))
		}
	}
}

// Nothing over a limit passes uninspected by default: a JSON body over
// body_limit is refused (413), like a form.
func TestJSONOverLimitRefusedByDefault(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  body_limit: 4KB\n")
	for _, chunked := range []bool{false, true} {
		body := `{"comment": "` + strings.Repeat("x", 8<<10) + `"}`
		r := browserRequest("POST", "/api/echo/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if chunked {
			r.ContentLength = -1
		}
		if d := s.Check(r.Context(), r, info()); !d.Decided() || d.Status != 413 {
			t.Fatalf("chunked %v: %+v", chunked, d)
		}
	}
}

// A rule that picks the body processor (ctl:requestBodyProcessor) is
// followed: multipart for another type reads the body as Django would (and
// refuses what Django would not parse as multipart); another processor
// for a multipart body gets its raw bytes.
func TestMultipartBodyProcessorChosenByARule(t *testing.T) {
	s := stageFromYAML(t, `detection:
  directives: |
    SecRule REQUEST_FILENAME "@beginsWith /as-multipart/" "id:9100001,phase:1,pass,nolog,ctl:requestBodyProcessor=MULTIPART"
    SecRule REQUEST_FILENAME "@beginsWith /as-json/" "id:9100002,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
`)
	r := browserRequest("POST", "/as-multipart/", strings.NewReader(mpField("q", mpSQLi)+"--B--\r\n"))
	r.Header.Set("Content-Type", "text/plain")
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.Status != 400 || d.RuleID != RuleBadBody {
		t.Errorf("text/plain read as multipart: %+v", d)
	}
	r = browserRequest("POST", "/as-json/", strings.NewReader(mpField("q", "1")+"--B--\r\n"))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	if d := s.Check(r.Context(), r, info()); !d.Decided() || !slices.Contains(d.Rules, "200002") {
		t.Errorf("multipart read as JSON: %+v", d)
	}
	r = browserRequest("POST", "/as-json/", strings.NewReader(`{"q": "`+mpSQLi+`"}`))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
	if d := s.Check(r.Context(), r, info()); d.RuleID != "detect-sqli" {
		t.Errorf("JSON sent as multipart, read as JSON: %+v", d)
	}
}
