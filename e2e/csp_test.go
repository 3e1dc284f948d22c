package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/testenv"
)

var cspLabel = regexp.MustCompile(`(?m)^parapet_csp_violations_total\{directive="([^"]*)"\} (\d+)$`)

// Anyone can post CSP reports: what they cost is bounded (issue #15 item
// 10). Reports with made-up, 2 KB directives count under "other" in the
// violations metric, whose labels stay the CSP directive names; a report
// over 64 KB is refused with 413.
func TestCSPReportsKeepTheMetricBounded(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") }))
	defer up.Close()
	dir := t.TempDir()
	addr, maddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfgPath := filepath.Join(dir, "parapet.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("upstream: %s\nlisten: %s\nreload:\n  watch: false\nmetrics:\n  listen: %s\nrate_limits:\n  defaults: false\nauto_ban:\n  enabled: false\n", up.URL, addr, maddr)), 0o600)
	p := startParapet(t, addr, nil, "run", "--config", cfgPath)
	waitStatus(t, p, "/", 200)

	post := func(body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+addr+"/_parapet/csp-report", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/csp-report")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const bogus = 200
	for i := 0; i < bogus; i++ {
		if s := post(fmt.Sprintf(`{"csp-report":{"violated-directive":"made-up-%d-%s","blocked-uri":"https://evil.example/%d"}}`, i, strings.Repeat("x", 2<<10), i)); s != 204 {
			t.Fatalf("report %d: %d", i, s)
		}
	}
	for _, d := range []string{"script-src-elem", "img-src 'self' data:", "Style-Src"} {
		if s := post(`{"csp-report":{"violated-directive":"` + d + `","blocked-uri":"inline"}}`); s != 204 {
			t.Fatalf("%s: %d", d, s)
		}
	}
	if s := post(`{"csp-report":{"violated-directive":"img-src","blocked-uri":"` + strings.Repeat("a", 70<<10) + `"}}`); s != 413 {
		t.Errorf("a 70 KB report: %d, want 413", s)
	}
	_, body := scrape(t, "http://"+maddr+"/_parapet/metrics", "")
	got := map[string]string{}
	for _, m := range cspLabel.FindAllStringSubmatch(body, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{"other": fmt.Sprint(bogus), "script-src-elem": "1", "img-src": "1", "style-src": "1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		long := 0
		for l := range got {
			long = max(long, len(l))
		}
		t.Errorf("parapet_csp_violations_total has %d labels (longest %d bytes), want %v", len(got), long, want)
	}
}
