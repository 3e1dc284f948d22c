package dashboard

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServesAssetsWithSecurityHeaders(t *testing.T) {
	h := Handler()
	for path, ctype := range map[string]string{
		"/_parapet/ui/":            "text/html; charset=utf-8",
		"/_parapet/ui/index.html":  "text/html; charset=utf-8",
		"/_parapet/ui/app.js":      "text/javascript; charset=utf-8",
		"/_parapet/ui/app.css":     "text/css; charset=utf-8",
		"/_parapet/ui/favicon.svg": "image/svg+xml",
	} {
		w := get(t, h, "GET", path)
		if w.Code != 200 || w.Header().Get("Content-Type") != ctype || w.Body.Len() == 0 {
			t.Errorf("%s: %d %q (%d bytes)", path, w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
			t.Errorf("%s: CSP not strict: %q", path, csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, w.Header())
		}
	}
	if w := get(t, h, "GET", "/_parapet/ui"); w.Code != 301 || w.Header().Get("Location") != "/_parapet/ui/" {
		t.Errorf("no slash: %d %v", w.Code, w.Header())
	}
	for _, p := range []string{"/_parapet/ui/nope.js", "/_parapet/ui/../dashboard.go", "/elsewhere"} {
		if w := get(t, h, "GET", p); w.Code != 404 || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	if w := get(t, h, "POST", "/_parapet/ui/"); w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
	w := get(t, h, "GET", "/_parapet/ui/app.js")
	if w := get(t, h, "GET", "/_parapet/ui/app.js", "If-None-Match", w.Header().Get("ETag")); w.Code != 304 {
		t.Errorf("revalidation: %d", w.Code)
	}
}

// No page has inline script, inline event handlers, javascript: URLs or
// style attributes (the CSP would refuse them anyway; this keeps the page
// working under it), and nothing is loaded from another origin.
func TestNoInlineScriptOrForeignAssets(t *testing.T) {
	sub, _ := fs.Sub(assets, "assets")
	pages, _ := fs.Glob(sub, "*.html")
	if len(pages) == 0 {
		t.Fatal("no pages")
	}
	for _, p := range pages {
		b, _ := fs.ReadFile(sub, p)
		doc, err := html.Parse(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				if n.Data == "script" {
					if n.FirstChild != nil && strings.TrimSpace(n.FirstChild.Data) != "" {
						t.Errorf("%s: inline script %q", p, n.FirstChild.Data)
					}
				}
				if n.Data == "style" {
					t.Errorf("%s: inline <style>", p)
				}
				for _, a := range n.Attr {
					v := strings.ToLower(strings.TrimSpace(a.Val))
					if strings.HasPrefix(a.Key, "on") || a.Key == "style" || strings.HasPrefix(v, "javascript:") {
						t.Errorf("%s: <%s %s=%q>", p, n.Data, a.Key, a.Val)
					}
					if (a.Key == "src" || a.Key == "href") && (strings.Contains(v, "//") || strings.HasPrefix(v, "data:")) && !strings.HasPrefix(v, "#") {
						t.Errorf("%s: <%s %s=%q> loads from elsewhere", p, n.Data, a.Key, a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	}
	// The script never builds markup from strings (event text is hostile).
	js, _ := fs.ReadFile(sub, "app.js")
	if m := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\(['"]style`).Find(js); m != nil {
		t.Errorf("app.js uses %s", m)
	}
	if regexp.MustCompile(`https?://`).Match(regexp.MustCompile(`http://www\.w3\.org/2000/svg`).ReplaceAll(js, nil)) {
		t.Error("app.js refers to another origin")
	}
}
