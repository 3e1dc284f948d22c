package scope

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"/":                       "/",
		"/admin/":                 "/admin/",
		"/admin/login/":           "/admin/login/",
		"/admin":                  "/admin",
		"//admin/":                "/admin/",
		"/admin//login/":          "/admin/login/",
		"/./admin/":               "/admin/",
		"/x/../admin/":            "/admin/",
		"/../admin/":              "/admin/",
		"/../../admin":            "/admin",
		"/admin;x/":               "/admin/",
		"/admin/;x/login/":        "/admin/login/",
		"/admin/login;jsessionid": "/admin/login",
		"/media/public/..":        "/media/",
		"/media/public/.":         "/media/public/",
		"/media/public/../":       "/media/",
		"//":                      "/",
		"/.":                      "/",
		"/..":                     "/",
		"/.well-known/x":          "/.well-known/x",
		"/a/..b/c":                "/a/..b/c",
		"/a/.b":                   "/a/.b",
		"/a/b..":                  "/a/b..",
		"/a/...":                  "/a/...",
		"/ADMIN/":                 "/ADMIN/", // Django's patterns are case sensitive
		"*":                       "*",
		"":                        "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
		if got := Normalize(Normalize(in)); got != Normalize(in) {
			t.Errorf("Normalize is not idempotent on %q: %q", in, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Normalize("/api/v1/things/42/comments/") }); n != 0 {
		t.Errorf("normal path: %v allocations, want 0", n)
	}
}

func mustCompile(t *testing.T, s Spec) *Scope {
	t.Helper()
	sc, errs := Compile(s)
	if errs != nil {
		t.Fatal(errs)
	}
	return sc
}

// The one table: each spec, request and use, with the answer. The paths
// are the spellings of issue #15 item 16, with what Django 3.2 behind
// gunicorn 20.1 routes them to (e2e TestPathScopeSpellings checks the
// same against the real app).
func TestCovers(t *testing.T) {
	admin := Spec{Paths: []string{"/admin/"}}
	private := Spec{Paths: []string{"/media/private/"}}
	public := Spec{Paths: []string{"/media/public/"}}
	exceptHealth := Spec{Paths: []string{"/"}, ExceptPaths: []string{"/health/"}}
	regex := Spec{PathRegex: []string{`^/api/v\d+/admin/`}}
	both := Spec{Paths: []string{"/login/"}, PathRegex: []string{`^/accounts/[a-z]+/login/$`}}
	getOnly := Spec{Paths: []string{"/search/"}, Methods: []string{"GET"}}
	headOnly := Spec{Methods: []string{"HEAD"}}
	writes := Spec{Methods: []string{"POST", "PUT"}}
	hosts := Spec{Hosts: []string{"api.example.com", ".example.org"}}
	anyHost := Spec{Hosts: []string{"*"}, Paths: []string{"/x/"}}
	for _, c := range []struct {
		name           string
		spec           Spec
		method, target string
		host           string
		restrict       bool // covered for a block, limit, log
		grant          bool // covered for an allow
	}{
		{"plain", admin, "GET", "/admin/", "", true, true},
		{"under", admin, "GET", "/admin/login/", "", true, true},
		{"elsewhere", admin, "GET", "/search/", "", false, false},
		{"no slash (Django redirects to /admin/)", admin, "GET", "/admin", "", false, false},
		{"encoded slash: Django's admin login", admin, "GET", "/admin%2Flogin/", "", true, true},
		{"encoded letter: Django's admin", admin, "GET", "/%61dmin/", "", true, true},
		{"double slash inside: still the admin", admin, "GET", "/admin//login/", "", true, true},
		{"leading double slash: Django 404", admin, "GET", "//admin/", "", true, false},
		{"dot segment: Django 404", admin, "GET", "/./admin/", "", true, false},
		{"encoded dot segment", admin, "GET", "/%2e/admin/", "", true, false},
		{"dot-dot: Django 404", admin, "GET", "/x/../admin/", "", true, false},
		{"dot-dot out of the admin", admin, "GET", "/admin/../search/", "", true, false},
		{"params: Django 404", admin, "GET", "/admin;x/", "", true, false},
		{"upper case: Django 404", admin, "GET", "/ADMIN/", "", false, false},
		{"mixed case: Django 404", admin, "GET", "/Admin/login/", "", false, false},
		// A view that normalises its argument (static.serve) serves
		// private/ for each of these.
		{"serve: double slash", private, "GET", "/media//private/a.pdf", "", true, false},
		{"serve: dot", private, "GET", "/media/./private/a.pdf", "", true, false},
		{"serve: dot-dot", private, "GET", "/media/public/../private/a.pdf", "", true, false},
		{"allow never extends past its prefix", public, "GET", "/media/public/../private/a.pdf", "", true, false},
		{"allow on its own files", public, "GET", "/media/public/a.pdf", "", true, true},
		{"allow on a spelling that stays inside", public, "GET", "/media/public//a.pdf", "", true, true},
		// except_paths: the stricter reading wins too.
		{"excepted", exceptHealth, "GET", "/health/", "", false, false},
		{"not excepted", exceptHealth, "GET", "/admin/", "", true, true},
		{"exception walked out of", exceptHealth, "GET", "/health/../admin/", "", true, false},
		{"exception walked into", exceptHealth, "GET", "/admin/../health/", "", true, false},
		{"exception spelled oddly, both readings excepted", exceptHealth, "GET", "/health//x", "", false, false},
		// paths and path_regex are one list: any of them.
		{"regex", regex, "GET", "/api/v2/admin/users/", "", true, true},
		{"regex, dot segment", regex, "GET", "/api/v2/x/../admin/users/", "", true, false},
		{"regex miss", regex, "GET", "/api/v2/users/", "", false, false},
		{"paths or regex: the prefix", both, "POST", "/login/", "", true, true},
		{"paths or regex: the regex", both, "POST", "/accounts/social/login/", "", true, true},
		{"paths or regex: neither", both, "POST", "/accounts/login/", "", false, false},
		// HEAD follows GET.
		{"GET rule, GET", getOnly, "GET", "/search/", "", true, true},
		{"GET rule, HEAD", getOnly, "HEAD", "/search/", "", true, true},
		{"GET rule, POST", getOnly, "POST", "/search/", "", false, false},
		// A function view runs for OPTIONS too (CSRF lets it through): a
		// restricting GET rule covers it, an allow or CORS rule does not.
		{"GET rule, OPTIONS", getOnly, "OPTIONS", "/search/", "", true, false},
		{"writes, OPTIONS", writes, "OPTIONS", "/", "", false, false},
		{"HEAD rule, GET", headOnly, "GET", "/", "", false, false},
		{"HEAD rule, HEAD", headOnly, "HEAD", "/", "", true, true},
		{"writes, POST", writes, "POST", "/", "", true, true},
		{"writes, HEAD", writes, "HEAD", "/", "", false, false},
		// Hosts as Django's ALLOWED_HOSTS.
		{"exact host", hosts, "GET", "/", "api.example.com", true, true},
		{"exact host, case and port", hosts, "GET", "/", "API.Example.COM:8443", true, true},
		{"exact host, trailing dot", hosts, "GET", "/", "api.example.com.", true, true},
		{"exact host is not its subdomain", hosts, "GET", "/", "x.api.example.com", false, false},
		{"suffix: the domain", hosts, "GET", "/", "example.org", true, true},
		{"suffix: a subdomain", hosts, "GET", "/", "a.b.example.org", true, true},
		{"suffix: not a lookalike", hosts, "GET", "/", "badexample.org", false, false},
		{"other host", hosts, "GET", "/", "www.example.com", false, false},
		{"any host", anyHost, "GET", "/x/", "whatever.test", true, true},
		{"empty spec", Spec{}, "DELETE", "//x/../y;z", "", true, true},
	} {
		sc := mustCompile(t, c.spec)
		host := c.host
		if host == "" {
			host = "www.example.com"
		}
		r := httptest.NewRequest(c.method, "http://"+host+c.target, nil)
		r.Host = host
		if got := sc.Covers(r, Restrict); got != c.restrict {
			t.Errorf("%s: %s %s (path %q): Restrict = %v, want %v", c.name, c.method, c.target, r.URL.Path, got, c.restrict)
		}
		if got := sc.Covers(r, Grant); got != c.grant {
			t.Errorf("%s: %s %s (path %q): Grant = %v, want %v", c.name, c.method, c.target, r.URL.Path, got, c.grant)
		}
	}
	var nilScope *Scope
	if !nilScope.Covers(httptest.NewRequest("GET", "/", nil), Grant) {
		t.Error("a nil scope covers nothing")
	}
}

func TestCompileErrors(t *testing.T) {
	_, errs := Compile(Spec{
		Hosts:       []string{"ok.example.com", "https://x.example.com/", ""},
		Paths:       []string{"/ok/", "admin/"},
		PathRegex:   []string{`^/ok`, `(`},
		Methods:     []string{"GET", "get"},
		ExceptPaths: []string{"nope"},
	})
	var got []string
	for _, err := range errs {
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%v is not a *FieldError", err)
		}
		got = append(got, err.Error())
	}
	want := []string{"hosts[1]", "hosts[2]", "paths[1]", "except_paths[0]", "path_regex[1]: bad regex \"(\"", "methods[1]"}
	if len(got) != len(want) {
		t.Fatalf("errors %q, want %d", got, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("error %d: %q, want it to start with %q", i, got[i], w)
		}
	}
}

func TestOrdinaryRequestsDoNotAllocate(t *testing.T) {
	sc := mustCompile(t, Spec{Paths: []string{"/admin/"}, Methods: []string{"GET", "POST"}, ExceptPaths: []string{"/admin/jsi18n/"}, Hosts: []string{".example.com"}})
	r := httptest.NewRequest(http.MethodGet, "http://www.example.com/search/?q=x", nil)
	if n := testing.AllocsPerRun(100, func() { sc.Covers(r, Restrict) }); n != 0 {
		t.Errorf("%v allocations per Covers, want 0", n)
	}
}

func BenchmarkCovers(b *testing.B) {
	sc, _ := Compile(Spec{Paths: []string{"/admin/", "/accounts/login/"}, Methods: []string{"POST"}, ExceptPaths: []string{"/admin/jsi18n/"}})
	r := httptest.NewRequest(http.MethodPost, "http://www.example.com/api/v1/things/42/comments/", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sc.Covers(r, Restrict)
	}
}

func TestExempt(t *testing.T) {
	e := NewExempt([]string{"/webhooks/", "/.well-known/"})
	for path, want := range map[string]bool{
		"/webhooks/stripe/":         true,
		"/webhooks//stripe/":        true, // both readings under the prefix
		"/webhooks/a/../b/":         true,
		"/.well-known/acme":         true,
		"/webhooks/../login/":       false, // normalised: /login/
		"/webhooks/..;x/login/":     false,
		"/login/":                   false,
		"/webhook":                  false,
		"/.well-known/../../admin/": false,
	} {
		if got := e.Covers(path); got != want {
			t.Errorf("Covers(%q) = %v, want %v", path, got, want)
		}
	}
	if (Exempt{}).Covers("/webhooks/") {
		t.Error("the zero Exempt exempted a path")
	}
}
