package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

// router is what Heroku's router does in front of a dyno: TLS on one
// port, plain HTTP on another, both forwarded to the app with the Host
// kept and X-Forwarded-Proto saying which it was.
type router struct {
	https, http *httptest.Server
	caFile      string
}

func startRouter(t *testing.T, transport http.RoundTripper, upstream string) *router {
	t.Helper()
	target, _ := url.Parse(upstream)
	proxy := func(proto string) http.Handler {
		return &httputil.ReverseProxy{
			Transport: transport,
			Rewrite: func(r *httputil.ProxyRequest) {
				r.SetURL(target)
				r.Out.Host = r.In.Host
				r.Out.Header.Set("X-Forwarded-Proto", proto)
			},
		}
	}
	rt := &router{https: httptest.NewTLSServer(proxy("https")), http: httptest.NewServer(proxy("http"))}
	t.Cleanup(rt.https.Close)
	t.Cleanup(rt.http.Close)
	rt.caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(rt.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rt.https.Certificate().Raw}), 0o644)
	return rt
}

type scanFinding struct {
	Rule, Status, Message string
}

// runScan runs `parapet scan --format json` against the router and
// returns each rule's worst status (fail > warn > cannot tell > pass).
func runScan(t *testing.T, rt *router) (map[string]string, map[string][]string) {
	t.Helper()
	cmd := exec.Command(parapetBin, "scan", "--format", "json", "--fail-on", "none", "--ca", rt.caFile,
		"--http-url", rt.http.URL+"/", "--path", "/cookies/", rt.https.URL+"/")
	cmd.Env = testenv.CleanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parapet scan: %v\n%s", err, out)
	}
	var doc struct {
		Findings []scanFinding
		Notes    []string
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rank := map[string]int{"pass": 0, "cannot tell": 1, "warn": 2, "fail": 3}
	worst, msgs := map[string]string{}, map[string][]string{}
	for _, f := range doc.Findings {
		if s, ok := worst[f.Rule]; !ok || rank[f.Status] > rank[s] {
			worst[f.Rule] = f.Status
		}
		msgs[f.Rule] = append(msgs[f.Rule], f.Status+": "+f.Message)
	}
	t.Logf("scan notes: %v", doc.Notes)
	return worst, msgs
}

// parapet scan against the real Django app deployed carelessly (DEBUG on,
// no SecurityMiddleware or XFrameOptionsMiddleware, cookies without flags,
// CORS echoing any origin), behind a TLS router as on Heroku: first with
// the app straight behind the router, then with Parapet in between with its
// default hardening. What Parapet enforces turns from failing to passing.
func TestScanFindsWhatParapetFixes(t *testing.T) {
	const settings = "testapp.settings_insecure"
	sock := testenv.StartGunicorn(t, settings)
	unix := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	direct, directMsgs := runScan(t, startRouter(t, unix, "http://app"))

	d := startDjango(t, "DJANGO_SETTINGS_MODULE="+settings)
	through, throughMsgs := runScan(t, startRouter(t, http.DefaultTransport, d.base))

	for _, c := range []struct{ rule, direct, through string }{
		{"https-redirect", "fail", "pass"}, // edge.https_redirect: auto (the router is a trusted proxy)
		{"hsts", "fail", "pass"},           // harden.hsts
		{"cookie-flags", "fail", "pass"},   // harden.cookies on /cookies/'s sessionid and csrftoken
		{"x-frame-options", "fail", "pass"},
		{"nosniff", "fail", "pass"},
		{"referrer-policy", "warn", "pass"},
		{"server-header", "warn", "pass"}, // "Server: gunicorn" removed
		{"debug-page", "fail", "pass"},    // the leak guard
		{"trace-method", "fail", "pass"},  // 405 at the edge
		{"csp", "fail", "warn"},           // the starter policy is report-only
		{"admin-exposed", "warn", "warn"}, // nothing by default: an access rule of your own
		{"cors-reflect", "fail", "fail"},  // the app's own header: harden.cors answers preflights only
	} {
		if direct[c.rule] != c.direct {
			t.Errorf("%s straight from Django: %s, want %s: %v", c.rule, direct[c.rule], c.direct, directMsgs[c.rule])
		}
		if through[c.rule] != c.through {
			t.Errorf("%s through Parapet: %s, want %s: %v", c.rule, through[c.rule], c.through, throughMsgs[c.rule])
		}
	}
}
