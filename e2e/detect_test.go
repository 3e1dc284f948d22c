package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/detect/corpus"
	"github.com/parapet-waf/parapet/internal/testenv"
)

// adminPassword is the Django staff user's password in the detection
// tests: symbols a password field may hold, which must not trip a rule.
const adminPassword = `Correct-Horse'Battery"Staple<1>; DROP`

// djangoAdminDB migrates a fresh SQLite database for the test app (the
// admin's tables and testapp.Article) with a staff user "admin", and
// returns the environment that points the app at it.
func djangoAdminDB(t *testing.T) []string {
	t.Helper()
	testenv.RequireDjango(t)
	env := []string{"DJANGO_DB_PATH=" + filepath.Join(t.TempDir(), "db.sqlite3"), "DJANGO_SETTINGS_MODULE=testapp.settings", "PYTHONDONTWRITEBYTECODE=1"}
	for _, args := range [][]string{
		{"manage.py", "migrate", "--run-syncdb", "--verbosity", "0"},
		{"manage.py", "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com"},
	} {
		cmd := exec.Command(testenv.Python, args...)
		cmd.Dir = testenv.DjangoAppDir()
		cmd.Env = append(testenv.CleanEnv(), append(env, "DJANGO_SUPERUSER_PASSWORD="+adminPassword)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	return env[:1]
}

func corpusPath(name string) string {
	return filepath.Join(testenv.RepoRoot(), "testdata", "detect", name)
}

func loadCorpus(t *testing.T, name string) *corpus.Corpus {
	t.Helper()
	c, err := corpus.Load(corpusPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// corpusConfig is the default configuration with the rate limits and
// auto-bans off: a corpus sends hundreds of writes and attacks from one
// address in a minute, which they would rightly stop; detection is what
// the corpora test.
const corpusConfig = "rate_limits:\n  defaults: false\nauto_ban:\n  enabled: false\n"

var ruleIDsInLog = regexp.MustCompile(`"matched_rules":\[([^\]]*)\]`)

// Every attack in testdata/detect/attacks.yaml is answered with the block
// page and never reaches Django; the CRS rule ids are in the log line,
// not in the page.
func TestDetectionBlocksAttacks(t *testing.T) {
	d := startDjangoWithConfig(t, corpusConfig, djangoAdminDB(t)...)
	c := loadCorpus(t, "attacks.yaml")
	if len(c.Requests) < 300 {
		t.Fatalf("only %d attacks in the corpus", len(c.Requests))
	}
	// The corpus covers what issue #5 names, where it names it: each
	// class:place below has at least one attack.
	covered := map[string]bool{}
	for _, a := range c.Requests {
		place := "query"
		switch {
		case a.Form != nil:
			place = "form"
		case a.JSON != "":
			place = "json"
		case a.Multipart != nil:
			place = "multipart"
		case len(a.Headers) > 0:
			place = "header"
		}
		covered[a.Class+":"+place] = true
		covered[a.Class] = true
	}
	for _, want := range []string{"sqli:query", "sqli:form", "sqli:json", "sqli:header", "xss", "xss:multipart", "lfi", "rce",
		"rce:header", "java:header", "scanner:header", "code", "ssti", "ssi", "nosql", "ldap", "crlf", "ssrf", "redirect", "xxe"} {
		if !covered[want] {
			t.Errorf("the attack corpus has no %s attack", want)
		}
	}
	client := corpus.NewClient(d.base, "www.example.com", c.Dir, nil)
	byClass := map[string]int{}
	for _, a := range c.Requests {
		before, _ := d.requests(t)
		resp, err := client.Do(a)
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		after, paths := d.requests(t)
		if after != before {
			t.Errorf("%s [%s]: reached Django (%s), answered %d", a.Name, a.Class, paths[len(paths)-1], resp.Status)
			continue
		}
		reason, id := resp.BlockReason(), resp.Header.Get("X-Request-Id")
		if resp.Status != http.StatusForbidden || reason == "" || !bytes.Contains(resp.Body, []byte(id)) {
			t.Errorf("%s: %d %.300s, want the 403 block page with the request id", a.Name, resp.Status, resp.Body)
			continue
		}
		byClass[a.Class]++
		if !strings.HasPrefix(reason, "detect-") {
			byClass["access-rules"]++
			continue // a scanner stopped earlier by the access rules (ua-*)
		}
		if a.Class == "scanner" {
			byClass["scanner-by-crs"]++
		}
		line := d.waitLog(t, `"request_id":"`+id+`"`, `"decision":"block"`)
		m := ruleIDsInLog.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("%s: no matched_rules in %s", a.Name, line)
			continue
		}
		for _, id := range strings.Split(m[1], ",") {
			if id = strings.Trim(id, `"`); strings.Contains(string(resp.Body), id) {
				t.Errorf("%s: rule id %s shown in the page: %s", a.Name, id, resp.Body)
			}
		}
	}
	t.Logf("blocked by class: %v", byClass)
	if byClass["scanner-by-crs"] < 3 {
		t.Errorf("the CRS scanner rules stopped %d scanners the access rules do not know, want 3", byClass["scanner-by-crs"])
	}
	// An HTML client gets the HTML page with the request id.
	req, _ := http.NewRequest("GET", d.base+"/search/?q=1%27%20OR%20%271%27%3D%271", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(body.String(), resp.Header.Get("X-Request-Id")) || strings.Contains(body.String(), "942100") {
		t.Fatalf("HTML block page: %d\n%s", resp.StatusCode, body.String())
	}
}

// False positives are bugs: the legitimate Django traffic in
// testdata/detect/legit.yaml (admin, forms, JSON, uploads, search boxes)
// passes with zero blocks at the default paranoia level, and inspected
// bodies reach Django byte for byte.
func TestDetectionFalsePositiveCorpus(t *testing.T) {
	d := startDjangoWithConfig(t, corpusConfig, djangoAdminDB(t)...)
	replayLegitCorpus(t, d)
	noBlocksLogged(t, d)
}

// replayLegitCorpus sends every request of testdata/detect/legit.yaml and
// fails on a block, an unexpected status or a body that did not reach
// Django byte for byte.
func replayLegitCorpus(t *testing.T, d *django) {
	t.Helper()
	c := loadCorpus(t, "legit.yaml")
	if len(c.Requests) < 300 {
		t.Fatalf("only %d requests in the legitimate corpus", len(c.Requests))
	}
	client := corpus.NewClient(d.base, "www.example.com", c.Dir, map[string]string{"admin": adminPassword})
	for _, r := range c.Requests {
		resp, err := client.Do(r)
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		switch reason := resp.BlockReason(); {
		case reason != "":
			id := resp.Header.Get("X-Request-Id")
			t.Errorf("%s: BLOCKED (%s): %s", r.Name, reason, d.waitLog(t, `"request_id":"`+id+`"`))
		case r.Expect != 0 && resp.Status != r.Expect:
			t.Errorf("%s: Django answered %d, want %d: %.300s", r.Name, resp.Status, r.Expect, resp.Body)
		case r.Expect == 0 && (resp.Status < 200 || resp.Status > 399):
			t.Errorf("%s: answered %d: %.300s", r.Name, resp.Status, resp.Body)
		case r.Echo && resp.EchoedSHA256() != resp.SentSHA256:
			t.Errorf("%s: Django got a body with sha256 %q, sent %q", r.Name, resp.EchoedSHA256(), resp.SentSHA256)
		}
	}
}

// noBlocksLogged fails when the log has a block or a near miss.
func noBlocksLogged(t *testing.T, d *django) {
	t.Helper()
	if blocks := d.out.Lines(`"decision":"block"`); len(blocks) > 0 {
		t.Errorf("%d blocks in the log:\n%s", len(blocks), strings.Join(blocks, "\n"))
	}
	if monitored := d.out.Lines(`"monitored":[`); len(monitored) > 0 {
		t.Errorf("%d near misses logged:\n%s", len(monitored), strings.Join(monitored, "\n"))
	}
}

// In monitor mode an attack reaches the app and the log says what would
// have been blocked, with the CRS rules; a bypass allow rule skips
// detection altogether.
func TestDetectionMonitorModeAndBypass(t *testing.T) {
	yaml := `
detection:
  mode: monitor
`
	d := startDjangoWithConfig(t, yaml)
	before, _ := d.requests(t)
	resp, err := http.Get(d.base + "/search/?q=1%27%20UNION%20SELECT%20password%20FROM%20auth_user--")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	after, _ := d.requests(t)
	if resp.StatusCode != 200 || after != before+1 {
		t.Fatalf("monitor mode: %d, Django saw %d requests", resp.StatusCode, after-before)
	}
	line := d.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`)
	if !strings.Contains(line, `"monitored":["detect-sqli:block:monitor"]`) || !strings.Contains(line, `"matched_rules":["942`) {
		t.Fatalf("monitor event: %s", line)
	}

	yaml = `
trusted_proxies: [loopback]
rules:
  - id: pentest-box
    action: allow
    bypass: true
    ips: [198.51.100.7]
`
	d = startDjangoWithConfig(t, yaml)
	attack := "/search/?q=%3Cscript%3Ealert(1)%3C/script%3E"
	for _, c := range []struct {
		ip   string
		want int
	}{{"198.51.100.7", 200}, {"198.51.100.8", 403}} {
		req, _ := http.NewRequest("GET", d.base+attack, nil)
		req.Header.Set("X-Forwarded-For", c.ip)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("XSS from %s: %d, want %d", c.ip, resp.StatusCode, c.want)
		}
	}
}

// Bodies over the inspection limits: a form over body_limit is refused
// with 413 before Django sees it; an upload over multipart_limit is
// spooled to disk and still inspected (its file skipped), and arrives byte
// for byte, as does a smaller one.
func TestDetectionBodyLimits(t *testing.T) {
	d := startDjangoWithConfig(t, "detection:\n  body_limit: 64KB\n  multipart_limit: 1MB\n")
	before, _ := d.requests(t)
	form := url.Values{"comment": {strings.Repeat("a long but harmless comment ", 5000)}}
	resp, err := http.PostForm(d.base+"/comments/", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	after, _ := d.requests(t)
	if resp.StatusCode != 413 || after != before {
		t.Fatalf("big form: %d, Django saw %d", resp.StatusCode, after-before)
	}
	d.waitLog(t, `"rule":"detect-body-too-large"`)

	for _, size := range []int{40 << 10, 3 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "blob.bin")
		fw.Write(data)
		mw.Close()
		resp, err := http.Post(d.base+"/upload/", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Size   int    `json:"size"`
			SHA256 string `json:"sha256"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		sum := sha256.Sum256(data)
		if resp.StatusCode != 200 || got.Size != size || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("%d-byte upload: %d, Django got %d bytes %s", size, resp.StatusCode, got.Size, got.SHA256)
		}
		line := d.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`)
		if strings.Contains(line, "body-uninspected") {
			t.Errorf("%d-byte upload passed uninspected: %s", size, line)
		}
	}
}

// curl uploads a file over 1 MB with "Expect: 100-continue" and waits
// for the interim answer: Parapet sends it itself (it reads the body for
// inspection before the app sees the request), never forwards the header
// (the app would only delay the body it already has), and does not take
// the header for an attack (CRS 920450 restricts it).
func TestDetectionExpectContinueUpload(t *testing.T) {
	d := startDjangoWithConfig(t, "")
	data := make([]byte, 3<<19) // 1.5 MB: inspected (multipart_limit 2 MB)
	rand.Read(data)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", d.base+"/upload/", bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 10 * time.Second}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Size   int     `json:"size"`
		SHA256 string  `json:"sha256"`
		Expect *string `json:"expect"`
	}
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &got)
	sum := sha256.Sum256(data)
	if resp.StatusCode != 200 || got.Size != len(data) || got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("upload with Expect: %d %.300s", resp.StatusCode, body)
	}
	if got.Expect != nil {
		t.Errorf("the app got Expect: %q", *got.Expect)
	}
}

// A bad detection setting is refused with its file and line, raw SecLang
// included.
func TestDetectionBadConfigRefusedWithLine(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"detection:\n  paranoia_level: 7\n", "parapet.yaml:3: detection.paranoia_level"},
		{"detection:\n  exclusions:\n    - rule_ids: [942100]\n      fields: [ARGS comment]\n", "parapet.yaml:5: detection.exclusions[0].fields[0]"},
		{"detection:\n  directives: |\n    SecRuleRemoveById 942100\n    SecRule ARGS \"@rx (\" \"id:1,deny\"\n", "parapet.yaml:5: detection.directives"},
	} {
		cfg := filepath.Join(t.TempDir(), "parapet.yaml")
		if err := os.WriteFile(cfg, []byte("upstream: http://127.0.0.1:1\n"+c.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(parapetBin, "check", "--config", cfg).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%q: %v\n%s\nwant %q", c.yaml, err, out, c.want)
		}
	}
}

// Review 7, finding 3, through the real proxy and Django: a view that
// reads a PUT form with QueryDict(request.body) gets fields from a body
// declared application/octet-stream with one stray byte, or as image/png
// behind a PNG signature. Such bodies are inspected (403, the app never
// sees them); a real file sent the same way reaches the app whole, and so
// does a body Django cannot read as a form (over
// DATA_UPLOAD_MAX_NUMBER_FIELDS fields), which the view refuses itself.
func TestDetectionFormReadFromAFileLikeBody(t *testing.T) {
	d := startDjangoWithConfig(t, "")
	put := func(ct string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("PUT", d.base+"/form/body/", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	const attack = "q=1%27+UNION+SELECT+password+FROM+auth_user--"
	for _, c := range []struct{ ct, body string }{
		{"application/octet-stream", "\xff=1&" + attack},
		{"image/png", "\x89PNG\r\n\x1a\n=&" + attack},
	} {
		before, _ := d.requests(t)
		resp, _ := put(c.ct, []byte(c.body))
		after, _ := d.requests(t)
		if resp.StatusCode != 403 || after != before {
			t.Errorf("%q as %s: %d, Django saw %d", c.body, c.ct, resp.StatusCode, after-before)
		}
	}
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 200<<10)...)
	rand.Read(png[16:])
	for i := range png {
		if png[i] == '&' {
			png[i] = 0 // one field, named by the whole file: no view asks for it
		}
	}
	sum := sha256.Sum256(png)
	resp, b := put("image/png", png)
	if resp.StatusCode != 200 || !strings.Contains(string(b), hex.EncodeToString(sum[:])) {
		t.Errorf("a 200KB PNG: %d %.200s, want it whole", resp.StatusCode, b)
	}
	resp, _ = put("application/octet-stream", []byte("\xff=1&"+attack+strings.Repeat("&", 1000)))
	if resp.StatusCode != 400 {
		t.Errorf("1,002 fields: %d, want Django's own 400 (TooManyFieldsSent)", resp.StatusCode)
	}
}
