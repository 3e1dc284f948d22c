package detect

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// A raw upload of the binary type it claims (DRF's FileUploadParser,
// fetch(url, {body: file})) passes and arrives whole; text sent under a
// binary type is still read as text, and a file's bytes as the form
// QueryDict(request.body) makes of them.
func TestRawUploadsOfTheirTypePass(t *testing.T) {
	s := stageFromYAML(t, "")
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte("\x00\x10JFIF\x01\x02\xfe\x00&\x9a=\x00"), 50000)...)
	attackJPEG := append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10}, "JFIF&q=1' UNION SELECT password FROM auth_user--&\xfe\x00"...)
	binary := append([]byte("\x00\x01\x02"), bytes.Repeat([]byte{0xfe, 0xff, 0x00}, 300000)...)
	for _, c := range []struct {
		name, ct string
		body     []byte
		blocked  bool
	}{
		{"1 MB JPEG", "image/jpeg", jpeg, false},
		{"a JPEG whose bytes QueryDict reads as an attack", "image/jpeg", attackJPEG, true},
		{"binary octet-stream", "application/octet-stream", binary, false},
		{"a small PNG", "image/png", []byte("\x89PNG\r\n\x1a\nIHDR"), false},
		{"JSON sent as image/png", "image/png", []byte(`{"q":"1' UNION SELECT password FROM auth_user--"}`), true},
		{"text sent as octet-stream", "application/octet-stream", []byte(`q=1' UNION SELECT password FROM auth_user--`), true},
		{"JPEG magic under another type", "text/plain", jpeg[:4096], true},
	} {
		r := browserRequest("PUT", "/api/avatar/", bytes.NewReader(c.body))
		r.Header.Set("Content-Type", c.ct)
		d := s.Check(r.Context(), r, info())
		if d.Decided() != c.blocked {
			t.Errorf("%s: %+v, want blocked %v", c.name, d, c.blocked)
			continue
		}
		if !c.blocked {
			if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, c.body) {
				t.Errorf("%s: the app would get %d bytes of %d", c.name, len(got), len(c.body))
			}
		}
	}
}

// The bounds past which a file-like body is not read as a form are the
// app's DATA_UPLOAD_MAX_MEMORY_SIZE and DATA_UPLOAD_MAX_NUMBER_FIELDS, as
// configured: an app that raises them (or sets None, 0) reads larger
// bodies with QueryDict(request.body), and Parapet inspects them.
func TestFileFormBoundsFollowDjangoSettings(t *testing.T) {
	attack := "\xff=1&q=1%27+UNION+SELECT+password+FROM+auth_user--&"
	manyFields := attack + strings.Repeat("&", 1500)
	large := attack + strings.Repeat("\xfe", 3<<20)
	for _, c := range []struct {
		yaml, body string
		blocked    bool
	}{
		{"", manyFields, false},
		{"", large, false},
		{"detection: {data_upload_max_number_fields: 2000}\n", manyFields, true},
		{"detection: {data_upload_max_number_fields: 0}\n", manyFields, true},
		{"detection: {data_upload_max_memory_size: 4MB}\n", large, true},
		{"detection: {data_upload_max_memory_size: 0}\n", large, true},
		{"detection: {data_upload_max_memory_size: 1MB}\n", large, false},
	} {
		s := stageFromYAML(t, c.yaml)
		r := browserRequest("PUT", "/api/items/1/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", "application/octet-stream")
		if d := s.Check(r.Context(), r, info()); d.Decided() != c.blocked {
			t.Errorf("%q, %d bytes: %+v, want blocked %v", c.yaml, len(c.body), d, c.blocked)
		}
	}
}

// readFileBody reads a file-like body's fields as Django 3.2's
// QueryDict(request.body) does (the expected values are Django's, but
// for the names no view asks for, which are left out): decoded as UTF-8,
// else as ISO-8859-1; '+' and %XX decoded; a field without '=' has an
// empty value; empty fields skipped.
func TestFileFormReadAsQueryDict(t *testing.T) {
	s := stageFromYAML(t, "")
	for body, want := range map[string][]fileField{
		"\xff=1&q=caf\xe9+au+lait&x%5B0%5D=%41b&&n":              {{"q", "café au lait"}, {"x[0]", "Ab"}, {"n", ""}},
		"\x89PNG\r\n\x1a\n\x00=&form-0-title=a%2Bb=c&q=\x00\xe9": {{"form-0-title", "a+b=c"}, {"q", "\x00é"}},
		"q=\xc3\xa9&\x00=1": {{"q", "é"}},
	} {
		r := browserRequest("PUT", "/api/items/1/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/octet-stream")
		d, f := s.readFileBody(r)
		if d.RuleID != "" || f == nil {
			t.Errorf("%q: %+v %v", body, d, f)
			continue
		}
		if fmt.Sprint(f.fields) != fmt.Sprint(want) {
			t.Errorf("%q: %q, Django reads %q", body, f.fields, want)
		}
		if got, _ := io.ReadAll(r.Body); string(got) != body {
			t.Errorf("%q: replayed %q", body, got)
		}
	}
}
