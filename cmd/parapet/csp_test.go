package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCSP(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut strings.Builder
	code = realMain(append([]string{"csp"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

// `parapet csp suggest` on saved violation reports from two instances:
// the violations are merged, grouped by directive with counts and an
// example page, risky sources are named, what is no source is listed,
// text from reports cannot drive the terminal, and the last line is the
// policy.
func TestCSPSuggestFromFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	os.WriteFile(a, []byte(`{"policy":"default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'","report_only":true,"violations":[
		{"directive":"script-src-elem","blocked_uri":"https://cdn.jsdelivr.net/npm/htmx.org/dist/htmx.min.js","document_uri":"https://shop.example/","count":7},
		{"directive":"style-src-attr","blocked_uri":"inline","document_uri":"https://shop.example/\u001b[2Jcart/","count":3},
		{"directive":"img-src","blocked_uri":"chrome-extension://abc/i.png","document_uri":"https://shop.example/","count":2}],"dropped":0}`), 0o600)
	os.WriteFile(b, []byte(`{"policy":"default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'","report_only":true,"violations":[
		{"directive":"script-src-elem","blocked_uri":"https://cdn.jsdelivr.net/npm/alpinejs","document_uri":"https://shop.example/cart/","count":2}],"dropped":4}`), 0o600)
	out, errOut, code := runCSP(t, "suggest", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got, want := lines[len(lines)-1], "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; img-src 'self' data:; object-src 'none'; style-src 'self' 'unsafe-inline'"; got != want {
		t.Errorf("policy line:\n got %s\nwant %s", got, want)
	}
	for _, want := range []string{
		"# 14 report(s) of 4 kind(s) of violation from " + a + ", " + b,
		"# 4 violation(s) were not kept: the collector was full",
		"# script-src\n#   + https://cdn.jsdelivr.net           9 report(s) as script-src-elem, e.g. on https://shop.example/\n",
		"# style-src\n#   + 'unsafe-inline'                    3 report(s) as style-src-attr, e.g. on https://shop.example/?[2Jcart/\n#     RISK: inline styles",
		"#   img-src chrome-extension://abc/i.png (2 report(s)): a browser extension's",
		"# Anyone can post reports",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsRune(out, 0x1b) {
		t.Error("an escape character from a report reached the output")
	}
	if _, errOut, code := runCSP(t, "suggest", filepath.Join(dir, "missing.json")); code != 1 || !strings.Contains(errOut, "missing.json") {
		t.Errorf("missing file: exit %d %s", code, errOut)
	}
	os.WriteFile(a, []byte("<html>not json</html>"), 0o600)
	if _, errOut, code := runCSP(t, "suggest", a); code != 1 || !strings.Contains(errOut, "not a violations report") {
		t.Errorf("not JSON: exit %d %s", code, errOut)
	}
}

// Reading a running server: the token goes over HTTPS or to this machine
// only, never after a redirect; a refused token and a path that is not
// the collector's are told apart; without a URL, the config's metrics
// listener is read, and without one the user is told what to give.
func TestCSPSuggestFromServer(t *testing.T) {
	const token = "0123456789abcdef-token"
	var gotAuth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		switch {
		case r.URL.Path == "/elsewhere":
			http.Redirect(w, r, "http://example.invalid/steal", http.StatusFound)
		case r.URL.Path != "/_parapet/csp-violations":
			w.Header().Set("Content-Type", "text/html")
			http.NotFound(w, r)
		case r.Header.Get("Authorization") != "Bearer "+token:
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"policy":"default-src 'self'","report_only":true,"violations":[{"directive":"img-src","blocked_uri":"https://img.example/a.png","document_uri":"https://s/","count":1}],"dropped":0}`))
		}
	}))
	defer srv.Close()
	t.Setenv("PARAPET_METRICS_TOKEN", token)
	out, errOut, code := runCSP(t, "suggest", "--url", srv.URL+"/_parapet/csp-violations")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(out), "default-src 'self'; img-src 'self' https://img.example") {
		t.Fatalf("with the token: exit %d\n%s%s", code, out, errOut)
	}
	if gotAuth[0] != "Bearer "+token {
		t.Errorf("token not sent to loopback: %q", gotAuth[0])
	}
	if _, errOut, code := runCSP(t, "suggest", "--url", srv.URL+"/elsewhere"); code != 1 || !strings.Contains(errOut, "302") {
		t.Errorf("redirect: exit %d %s", code, errOut)
	}
	if _, errOut, code := runCSP(t, "suggest", "--url", srv.URL+"/_parapet/metrics"); code != 1 || !strings.Contains(errOut, "not a Parapet violations report") {
		t.Errorf("wrong path: exit %d %s", code, errOut)
	}
	t.Setenv("PARAPET_METRICS_TOKEN", token+"-wrong")
	if _, errOut, code := runCSP(t, "suggest", "--url", srv.URL); code != 1 || !strings.Contains(errOut, "refused the token") {
		t.Errorf("wrong token: exit %d %s", code, errOut)
	}
	n := len(gotAuth)
	if _, errOut, code := runCSP(t, "suggest", "--url", "http://example.invalid/_parapet/csp-violations"); code != 1 || !strings.Contains(errOut, "refusing to send the metrics token over plain HTTP") {
		t.Errorf("plain HTTP elsewhere: exit %d %s", code, errOut)
	}
	if len(gotAuth) != n {
		t.Error("a request was made")
	}
	if _, err := fetchReport(context.Background(), "ftp://x/", ""); err == nil {
		t.Error("ftp URL taken")
	}

	t.Setenv("PARAPET_METRICS_TOKEN", "")
	t.Setenv("PARAPET_METRICS_LISTEN", "")
	if _, errOut, code := runCSP(t, "suggest"); code != 2 || !strings.Contains(errOut, "no --url, no FILE, and no metrics.listen") {
		t.Errorf("nothing to read: exit %d %s", code, errOut)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:9100": "http://127.0.0.1:9100/_parapet/csp-violations",
		":9100":          "http://127.0.0.1:9100/_parapet/csp-violations",
		"0.0.0.0:9100":   "http://127.0.0.1:9100/_parapet/csp-violations",
		"[::]:9100":      "http://127.0.0.1:9100/_parapet/csp-violations",
		"[::1]:9100":     "http://[::1]:9100/_parapet/csp-violations",
	} {
		if got, err := listenerURL(addr); got != want || err != nil {
			t.Errorf("metrics.listen %q: %q %v, want %q", addr, got, err, want)
		}
	}
}

// The command's help lists its flags and exits 0.
func TestCSPHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"suggest", "--help"}, {"suggest", "-h"}} {
		out, _, code := runCSP(t, args...)
		if code != 0 || !strings.Contains(out, "parapet csp suggest [--url URL]") {
			t.Errorf("%v: exit %d\n%s", args, code, out)
		}
	}
	out, _, _ := runCSP(t, "suggest", "--help")
	for _, flag := range []string{"-url", "-base", "-config"} {
		if !strings.Contains(out, flag) {
			t.Errorf("suggest --help lacks %s", flag)
		}
	}
	var top strings.Builder
	realMain([]string{"--help"}, &top, &top)
	if !strings.Contains(top.String(), "parapet csp suggest") {
		t.Error("parapet --help does not list csp suggest")
	}
}
