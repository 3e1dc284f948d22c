package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The Django profile's field exclusions apply only where Django reads the
// fields (issue #15 item 13): an attack in ?csrfmiddlewaretoken=, in a
// Password field or a password field off the auth forms, or beside a
// case-twin of its field, is refused and never reaches the app; the login
// form with a symbol-heavy password still works.
func TestDjangoFieldExclusionsAreScoped(t *testing.T) {
	d := startDjango(t)
	client, token := csrfClient(t, d.base)
	sqli := url.QueryEscape("1' UNION SELECT password FROM auth_user--")
	send := func(method, target, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, d.base+target, rd)
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	before, _ := d.requests(t)
	for _, c := range []struct{ name, method, target, body string }{
		{"csrfmiddlewaretoken in a query string", "GET", "/search/?q=news&csrfmiddlewaretoken=" + sqli, ""},
		{"Password on a form", "POST", "/comments/", "csrfmiddlewaretoken=" + token + "&comment=hi&Password=" + sqli},
		{"password off the auth forms", "POST", "/comments/", "csrfmiddlewaretoken=" + token + "&comment=hi&password=" + sqli},
		{"password beside PASSWORD on the login", "POST", "/login/", "csrfmiddlewaretoken=" + token + "&username=alice&password=" + sqli + "&PASSWORD=x"},
		{"a field beside its case-twin", "POST", "/comments/", "csrfmiddlewaretoken=" + token + "&comment=" + sqli + "&Comment=hi"},
	} {
		status, body := send(c.method, c.target, c.body)
		if status != 403 || !strings.Contains(body, "detect-") {
			t.Errorf("%s: %d, want 403 from detection: %.300s", c.name, status, body)
		}
	}
	if after, paths := d.requests(t); after != before {
		t.Errorf("Django saw %d of the attacks: %v", after-before, paths[len(paths)-(after-before):])
	}
	// The exclusions still do their job where Django reads the fields.
	status, _ := send("POST", "/login/", "csrfmiddlewaretoken="+token+"&username=alice&password="+url.QueryEscape(`p@ss'w0rd" OR 1=1 -- <script>`))
	if status != 200 { // a wrong password: Django shows the form again
		t.Errorf("login with a symbol-heavy password: %d, want Django's 200", status)
	}
	status, body := send("POST", "/comments/", "csrfmiddlewaretoken="+token+"&comment=hello&Comment=hi")
	if status != 200 || !strings.Contains(body, `"Comment": ["hi"]`) || !strings.Contains(body, `"comment": ["hello"]`) {
		t.Errorf("a form with two fields differing in case: %d %.300s", status, body)
	}
}
