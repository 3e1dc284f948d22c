package detect

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzCheck: whatever the URI, content type and body, the stage answers
// without panicking, a refusal is a 4xx, and a request it lets through
// still carries its body byte for byte.
func FuzzCheck(f *testing.F) {
	s := stageFromYAML(f, "detection:\n  body_limit: 2KB\n  multipart_limit: 4KB\n")
	f.Add("POST", "/comments/?a=1", "application/x-www-form-urlencoded", []byte("name=O%27Brien&c=caf%C3%A9"))
	f.Add("PUT", "/api/", "application/json", []byte(`{"a":[1,{"b":null}],"c":"\u00e9"}`))
	f.Add("POST", "/upload/", "multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--X--\r\n"))
	f.Add("POST", "/%zz?%%", "multipart/form-data; boundary=", []byte("--\r\n"))
	f.Add("POST", "/upload/", "multipart/form-data; boundary=X", []byte("--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X--\r\n--X\r\nContent-Disposition: form-data; name*=utf-8''q\r\nContent-Transfer-Encoding: base64\r\n\r\nMQ==\r\n--Xx--X--"))
	f.Add("GET", "/?q=%3Cscript%3E", "", []byte(nil))
	f.Add("PATCH", "/x", "application/json", []byte(`{"a":`))
	f.Fuzz(func(t *testing.T, method, uri, contentType string, body []byte) {
		if !validMethod(method) {
			return
		}
		r := &http.Request{Method: method, RequestURI: uri, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "www.example.com", Body: http.NoBody}
		if u, err := url.ParseRequestURI(uri); err == nil {
			r.URL = u
		} else {
			r.URL = &url.URL{Path: "/"}
		}
		r.Header.Set("User-Agent", "Mozilla/5.0")
		r.Header.Set("Accept", "*/*")
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if len(body) > 0 {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		d := s.Check(r.Context(), r, info())
		if d.Decided() {
			if d.Status < 400 || d.Status > 499 {
				t.Fatalf("refused with status %d: %+v", d.Status, d)
			}
			return
		}
		got, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("body not replayed intact: %d of %d bytes (%v)", len(got), len(body), err)
		}
	})
}

func validMethod(m string) bool {
	return m != "" && len(m) < 12 && strings.Trim(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == ""
}

// FuzzCheckResponse: whatever the upstream answers (status, content
// type, encoding, a body that is not what its encoding says), response
// inspection does not panic, a replaced response is a 5xx page, a
// passing body reaches the client byte for byte, and the request's
// transaction is closed.
func FuzzCheckResponse(f *testing.F) {
	s := stageFromYAML(f, "detection:\n  responses:\n    enabled: true\n    body_limit: 2KB\n")
	f.Add(200, "text/html; charset=utf-8", "", []byte("<p>You have an error in your SQL syntax; check the manual</p>"))
	f.Add(500, "application/json", "gzip", []byte("\x1f\x8b\x08\x00garbage"))
	f.Add(204, "", "", []byte(nil))
	f.Add(200, "text/plain;;=", "br", []byte("\xce\xb2\x00"))
	f.Add(302, "TEXT/HTML", "deflate", []byte("\x00\x01"))
	f.Fuzz(func(t *testing.T, status int, contentType, encoding string, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := browserRequest("GET", "/", nil).WithContext(ctx)
		inf := info()
		if d := s.Check(ctx, r, inf); d.Decided() {
			t.Fatalf("a plain GET refused: %+v", d)
		}
		res := upstreamResponse(r, status, "", "", body)
		res.Header["Content-Type"] = []string{contentType}
		res.Header["Content-Encoding"] = []string{encoding}
		if err := s.CheckResponse(ctx, res, inf); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if inf.Final.Decided() {
			if res.StatusCode < 500 {
				t.Fatalf("replaced with status %d", res.StatusCode)
			}
		} else if res.StatusCode != status || !bytes.Equal(got, body) {
			t.Fatalf("passing response changed: %d, %d of %d bytes", res.StatusCode, len(got), len(body))
		}
		if n := s.out.open.Load(); n != 0 {
			t.Fatalf("%d transactions held", n)
		}
	})
}

// FuzzAddXMLArgs: whatever the body, addXMLArgs returns without
// panicking, within its bounds.
func FuzzAddXMLArgs(f *testing.F) {
	f.Add([]byte("<?xml version='1.0'?><r a='&#39;'><q>1&#39;&#32;x<![CDATA[<y>]]></q></r>"))
	f.Add([]byte(`<!DOCTYPE r [<!ENTITY a "&#38;#39;&b;"><!ENTITY b "&a;"><!ENTITY % p "x">]><r>&a;&b;</r>`))
	f.Add([]byte("<p>a<br>b&nbsp;<img src=x onerror=alert(1)></p"))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"latin1\"?><r>\xe9</r>"))
	f.Add([]byte("\ufeff<r><a>x</b></r>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := argsMap{}
		_ = addXMLArgs(m, body, len(body)%2 == 0)
		n := 0
		for k, v := range m {
			n += len(v)
			if len(k) > maxXMLNameLen+1+len(body) {
				t.Fatalf("a name of %d bytes", len(k))
			}
		}
		if n > maxJSONArgs {
			t.Fatalf("%d fields", n)
		}
	})
}
