package harden

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/decision"
)

// FuzzHardenCookie hardens arbitrary Set-Cookie lines from the app: the
// cookie's name and value are never changed, no line break is added (no
// header injection), and a session cookie that Go can parse comes out
// HttpOnly, Secure over HTTPS, and with a SameSite.
func FuzzHardenCookie(f *testing.F) {
	for _, s := range []string{
		"sessionid=abc123; Path=/; Max-Age=1209600",
		"sessionid=abc; secure; HttpOnly; SameSite=None",
		"csrftoken=x; expires=Wed, 21 Oct 2015 07:28:00 GMT",
		"session_2=\"quoted; value\"; Path=/",
		"sessionidfoo=1;;;; =; Max-Age=-1",
		"=novalue",
		"sessionid=a\x00b; Path=/\xff",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	s := stage(f, "harden:\n  cookies:\n    - name: 'session*'\n      secure: true\n      http_only: true\n      same_site: Strict\n      max_age_cap: 1h\n")
	f.Fuzz(func(t *testing.T, line string, https bool) {
		out := s.hardenCookie(line, https, &decision.Info{})
		if strings.ContainsAny(out, "\r\n") && !strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line break added: %q -> %q", line, out)
		}
		before, err1 := http.ParseSetCookie(line)
		after, err2 := http.ParseSetCookie(out)
		if err1 != nil {
			return
		}
		if err2 != nil {
			t.Fatalf("hardening made a parseable cookie unparseable: %q -> %q: %v", line, out, err2)
		}
		if after.Name != before.Name || after.Value != before.Value {
			t.Fatalf("cookie changed: %q=%q -> %q=%q", before.Name, before.Value, after.Name, after.Value)
		}
		if !strings.HasPrefix(before.Name, "session") {
			if out != line {
				t.Fatalf("a cookie no rule covers was changed: %q -> %q", line, out)
			}
			return
		}
		if !after.HttpOnly || (https && !after.Secure) || after.SameSite == http.SameSiteDefaultMode && before.SameSite == http.SameSiteDefaultMode {
			t.Fatalf("session cookie not hardened (https %v): %q -> %q (%+v)", https, line, out, after)
		}
	})
}

// FuzzCSPReport parses arbitrary report bodies (both report formats):
// never a panic, and a recorded document URI never keeps its query or
// fragment (they may hold tokens).
func FuzzCSPReport(f *testing.F) {
	f.Add(`{"csp-report":{"document-uri":"https://a.example/p?token=1","violated-directive":"script-src","blocked-uri":"inline"}}`)
	f.Add(`[{"type":"csp-violation","body":{"documentURL":"https://a.example/#x","effectiveDirective":"img-src","blockedURL":"https://evil/"}}]`)
	f.Add(`{"csp-report":null}`)
	f.Add(`[{"type":"other"}, 1, "x"]`)
	f.Fuzz(func(t *testing.T, body string) {
		vs, err := Parse(strings.NewReader(body))
		if err != nil {
			return
		}
		for _, v := range vs {
			if strings.ContainsAny(v.DocumentURI, "?#") {
				t.Fatalf("document URI keeps its query or fragment: %q", v.DocumentURI)
			}
			if v.Directive == "" && v.BlockedURI == "" {
				t.Fatalf("empty violation recorded from %q", body)
			}
		}
	})
}
