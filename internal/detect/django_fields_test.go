package detect

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const fieldSQLi = "1' UNION SELECT password FROM auth_user--"

// formOf is a POST form body with the fields in order.
func formOf(target string, pairs ...string) *http.Request {
	v := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		v = append(v, url.QueryEscape(pairs[i])+"="+url.QueryEscape(pairs[i+1]))
	}
	return form(target, strings.Join(v, "&"))
}

func multipartOf(target string, pairs ...string) *http.Request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(pairs); i += 2 {
		_ = mw.WriteField(pairs[i], pairs[i+1])
	}
	_ = mw.Close()
	r := browserRequest("POST", target, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

const goodToken = "AjEaJJ93bgoc81ykQv8tD3HLWFXdrpkRxPsMKiU5QKZJMioC2blLhkzcPOfkIcuY"

// The Django profile's field exclusions apply only where Django reads the
// fields (issue #15 item 13): csrfmiddlewaretoken in POST form bodies,
// the password fields in POST form bodies on the password forms' paths,
// each by its exact name. The same payload anywhere else is an attack.
func TestDjangoFormFieldsScoped(t *testing.T) {
	s := stageFromYAML(t, "")
	noLFI := stageFromYAML(t, "detection:\n  exclusions:\n    - tags: [attack-lfi]\n")
	custom := stageFromYAML(t, "detection:\n  password_paths: ['^/connexion/$']\n")
	off := stageFromYAML(t, "detection:\n  django_profile: false\n")
	for _, c := range []struct {
		name  string
		stage *Stage
		r     func() *http.Request
	}{
		{"csrfmiddlewaretoken in the query string", s, func() *http.Request {
			return browserRequest("GET", "/search/?q=x&csrfmiddlewaretoken="+url.QueryEscape(fieldSQLi), nil)
		}},
		{"csrfmiddlewaretoken in the query string of a form POST", s, func() *http.Request {
			return formOf("/comments/?csrfmiddlewaretoken="+url.QueryEscape(fieldSQLi), "csrfmiddlewaretoken", goodToken, "comment", "hi")
		}},
		{"CSRFMiddlewareToken in a form", s, func() *http.Request {
			return formOf("/comments/", "csrfmiddlewaretoken", goodToken, "CSRFMiddlewareToken", fieldSQLi)
		}},
		{"csrfmiddlewaretoken in JSON", s, func() *http.Request {
			r := browserRequest("POST", "/api/things/", strings.NewReader(`{"csrfmiddlewaretoken": "`+fieldSQLi+`"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{"csrfmiddlewaretoken in a PUT form (Django parses POST only)", s, func() *http.Request {
			r := formOf("/comments/", "csrfmiddlewaretoken", fieldSQLi)
			r.Method = "PUT"
			return r
		}},
		{"Password on a search form", s, func() *http.Request {
			return formOf("/search/", "csrfmiddlewaretoken", goodToken, "Password", fieldSQLi)
		}},
		{"password on a search form", s, func() *http.Request {
			return formOf("/search/", "csrfmiddlewaretoken", goodToken, "password", fieldSQLi)
		}},
		{"password in a search query", s, func() *http.Request {
			return browserRequest("GET", "/search/?password="+url.QueryEscape(fieldSQLi), nil)
		}},
		{"password in the query string of the login", s, func() *http.Request {
			return browserRequest("GET", "/login/?password="+url.QueryEscape(fieldSQLi), nil)
		}},
		{"Password on the login form", s, func() *http.Request { return formOf("/login/", "username", "bob", "Password", fieldSQLi) }},
		{"password beside PASSWORD on the login form", s, func() *http.Request {
			return formOf("/login/", "username", "bob", "password", fieldSQLi, "PASSWORD", "x")
		}},
		{"password on the login form with password in its query string", s, func() *http.Request {
			return formOf("/login/?password=x", "username", "bob", "password", fieldSQLi)
		}},
		{"password in JSON to the login", s, func() *http.Request {
			r := browserRequest("POST", "/login/", strings.NewReader(`{"username": "bob", "password": "`+fieldSQLi+`"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{"password in a body Django does not parse (content type case)", s, func() *http.Request {
			r := formOf("/login/", "username", "bob", "password", fieldSQLi)
			r.Header.Set("Content-Type", "Application/X-WWW-Form-Urlencoded")
			return r
		}},
		{"password1 on a profile form", s, func() *http.Request { return formOf("/accounts/profile/", "password1", fieldSQLi) }},
		{"password on a path that walks out of the login", noLFI, func() *http.Request {
			return formOf("/login/../search/", "username", "bob", "password", fieldSQLi)
		}},
		{"password on /login/ with password_paths moved", custom, func() *http.Request { return formOf("/login/", "password", fieldSQLi) }},
	} {
		if d := c.stage.Check(c.r().Context(), c.r(), info()); !d.Decided() {
			t.Errorf("%s: not blocked", c.name)
		}
	}
	// Where Django reads them, the fields are not inspected (and without
	// the profile the same requests are blocked, so each case counts).
	for _, c := range []struct {
		name  string
		stage *Stage
		r     func() *http.Request
	}{
		{"login", s, func() *http.Request {
			return formOf("/login/", "csrfmiddlewaretoken", goodToken, "username", "alice", "password", fieldSQLi)
		}},
		{"admin login", s, func() *http.Request {
			return formOf("/admin/login/?next=/admin/", "csrfmiddlewaretoken", goodToken, "username", "admin", "password", fieldSQLi, "next", "/admin/")
		}},
		{"admin password change", s, func() *http.Request {
			return formOf("/admin/password_change/", "csrfmiddlewaretoken", goodToken, "old_password", fieldSQLi, "new_password1", fieldSQLi, "new_password2", fieldSQLi)
		}},
		{"admin add user", s, func() *http.Request {
			return formOf("/admin/auth/user/add/", "csrfmiddlewaretoken", goodToken, "username", "bob", "password1", fieldSQLi, "password2", fieldSQLi)
		}},
		{"admin set a user's password", s, func() *http.Request {
			return formOf("/admin/auth/user/7/password/", "csrfmiddlewaretoken", goodToken, "password1", fieldSQLi, "password2", fieldSQLi)
		}},
		{"password reset confirmation", s, func() *http.Request {
			return formOf("/accounts/reset/MQ/set-password/", "csrfmiddlewaretoken", goodToken, "new_password1", fieldSQLi, "new_password2", fieldSQLi)
		}},
		{"allauth password change", s, func() *http.Request {
			return formOf("/accounts/password/change/", "csrfmiddlewaretoken", goodToken, "oldpassword", fieldSQLi, "password1", fieldSQLi, "password2", fieldSQLi)
		}},
		{"allauth signup, multipart", s, func() *http.Request {
			return multipartOf("/accounts/signup/", "csrfmiddlewaretoken", goodToken, "email", "a@example.com", "password1", fieldSQLi, "password2", fieldSQLi)
		}},
		{"moved password_paths", custom, func() *http.Request { return formOf("/connexion/", "password", fieldSQLi) }},
		{"csrfmiddlewaretoken in a POST form", s, func() *http.Request {
			return formOf("/comments/", "csrfmiddlewaretoken", fieldSQLi, "comment", "hello")
		}},
		{"csrfmiddlewaretoken in a multipart POST", s, func() *http.Request {
			return multipartOf("/comments/", "csrfmiddlewaretoken", fieldSQLi, "comment", "hello")
		}},
	} {
		if d := c.stage.Check(c.r().Context(), c.r(), info()); d.Decided() {
			t.Errorf("%s: blocked with the Django profile: %s", c.name, d.Reason)
		}
		if d := off.Check(c.r().Context(), c.r(), info()); !d.Decided() {
			t.Errorf("%s: not blocked without the profile, so the case proves nothing", c.name)
		}
	}
}

func TestPasswordPathsValidated(t *testing.T) {
	for _, bad := range []string{`(`, `/login/"`, `/%{tx.x}/`, ``} {
		if _, err := buildFromYAML(t, "detection:\n  password_paths: ['"+bad+"']\n"); err == nil || !strings.Contains(err.Error(), "detection.password_paths[0]") {
			t.Errorf("password_paths %q: %v", bad, err)
		}
	}
}

func TestCaseVariants(t *testing.T) {
	re := "^(?:" + caseVariants([]string{"password", "new_password1"}) + ")$"
	for name, want := range map[string]bool{
		"password": false, "Password": true, "PASSWORD": true, "passworD": true, "pAsSwOrD": true,
		"new_password1": false, "New_Password1": true, "new_passworD1": true, "passwords": false, "xpassword": false,
	} {
		if got := mustMatch(t, re, name); got != want {
			t.Errorf("%q: case variant %v, want %v", name, got, want)
		}
	}
}

func mustMatch(t *testing.T, re, s string) bool {
	t.Helper()
	return regexp.MustCompile(re).MatchString(s)
}

// A field with a case-twin is still inspected: Coraza's urlencoded body
// processor kept one of "q" and "Q" (third_party/coraza patch 22), so a
// payload beside a harmless twin reached Django, which reads both.
func TestFieldsDifferingInCaseAreBothInspected(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  django_profile: false\n")
	for i := 0; i < 5; i++ { // the map order once decided which one was seen
		for _, pairs := range [][]string{{"q", fieldSQLi, "Q", "x"}, {"Q", "x", "q", fieldSQLi}, {"comment", fieldSQLi, "COMMENT", "x", "Comment", "y"}} {
			r := formOf("/comments/", pairs...)
			if d := s.Check(r.Context(), r, info()); !d.Decided() {
				t.Fatalf("%q: not blocked", pairs)
			}
		}
	}
}
