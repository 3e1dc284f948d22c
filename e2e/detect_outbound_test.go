package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parapet-waf/parapet/internal/detect/corpus"
)

// noDecompress is a client that shows bodies as they came over the wire.
var noDecompress = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noDecompress.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, body
}

// A Django view that shows its database's error (a bare except around a
// string-formatted query) is served by Django, and with
// detection.responses on Parapet replaces the page with the generic
// error page, which names the rule the log line names (the CRS rule ids
// go to the log line only).
// Off (the default), the page passes; in monitor mode it passes and the
// log says it would have been blocked.
func TestOutboundDatabaseErrorLeak(t *testing.T) {
	d := startDjangoWithConfig(t, "detection:\n  responses:\n    enabled: true\n")
	for _, accept := range []string{"text/html", "application/json"} {
		before, _ := d.requests(t)
		resp, body := get(t, d.base+"/report/?db=mysql", "Accept", accept)
		after, paths := d.requests(t)
		if after != before+1 || paths[len(paths)-1] != "/report/" {
			t.Fatalf("Django did not serve the report (%d -> %d requests, %v)", before, after, paths)
		}
		id := resp.Header.Get("X-Request-Id")
		if resp.StatusCode != 500 || !bytes.Contains(body, []byte(id)) || (&corpus.Response{Header: resp.Header, Body: body}).BlockReason() != "detect-outbound-disclosure" {
			t.Fatalf("Accept %s: %d %s", accept, resp.StatusCode, body)
		}
		// The page carries the request id, random hex that may hold any
		// digits: it is left out of the search.
		page := bytes.ReplaceAll(body, []byte(id), nil)
		for _, leak := range []string{"SQL syntax", "MySQL", "1064", "951", "ORDER BY"} {
			if bytes.Contains(page, []byte(leak)) {
				t.Fatalf("Accept %s: %q in the page: %s", accept, leak, body)
			}
		}
		line := d.waitLog(t, `"request_id":"`+id+`"`, `"decision":"block"`, `"rule":"detect-outbound-disclosure"`, `"level":"ERROR"`)
		if m := ruleIDsInLog.FindStringSubmatch(line); m == nil || !strings.Contains(m[1], `"951230"`) {
			t.Fatalf("no outbound rule 951230 in the log line: %s", line)
		}
	}
	// PostgreSQL's error as psycopg2 words it and SQLite's as Python's
	// sqlite3 does: the Django profile's response rules.
	// Also through a Django template, which writes the quotes as &quot;.
	for query, rule := range map[string]string{"db=postgres": "4100101", "db=sqlite": "4100102",
		"db=postgres&via=template": "4100101", "db=sqlite&via=template": "4100102"} {
		resp, body := get(t, d.base+"/report/?"+query)
		if resp.StatusCode != 500 || bytes.Contains(body, []byte("syntax error")) || bytes.Contains(body, []byte("ORDER")) {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
		}
		line := d.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`, `"rule":"detect-outbound-disclosure"`)
		if !strings.Contains(line, `"matched_rules":["`+rule+`"]`) {
			t.Fatalf("%s: want rule %s in the log line: %s", query, rule, line)
		}
	}
	// Gzipped by Django (see below, with responses off), it is caught
	// through its compression.
	resp, body := get(t, d.base+"/report/?db=mysql", "Accept-Encoding", "gzip")
	if resp.StatusCode != 500 || resp.Header.Get("Content-Encoding") != "" || bytes.Contains(body, []byte("SQL syntax")) {
		t.Fatalf("gzipped leak: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	d.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`, `"rule":"detect-outbound-disclosure"`)
	// A clean page through the same instance passes.
	if resp, body := get(t, d.base+"/"); resp.StatusCode != 200 || (&corpus.Response{Header: resp.Header, Body: body}).BlockReason() != "" {
		t.Fatalf("home page: %d %.200s", resp.StatusCode, body)
	}

	off := startDjango(t)
	if resp, body := get(t, off.base+"/report/?db=mysql"); resp.StatusCode != 200 || !bytes.Contains(body, []byte("You have an error in your SQL syntax")) {
		t.Fatalf("responses off: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, off.base+"/report/?db=mysql", "Accept-Encoding", "gzip"); resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("responses off, gzip: %d %v", resp.StatusCode, resp.Header)
	}

	mon := startDjangoWithConfig(t, "detection:\n  mode: monitor\n  responses:\n    enabled: true\n")
	resp, body = get(t, mon.base+"/report/?db=mysql")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("You have an error in your SQL syntax")) {
		t.Fatalf("monitor mode: %d %s", resp.StatusCode, body)
	}
	line := mon.waitLog(t, `"request_id":"`+resp.Header.Get("X-Request-Id")+`"`, `"monitored":["detect-outbound-disclosure:block:monitor"]`)
	if !strings.Contains(line, `"matched_rules":["951230"]`) || strings.Contains(line, `"decision":"block"`) {
		t.Fatalf("monitor event: %s", line)
	}
}

// Response inspection on: the legitimate Django traffic of
// testdata/detect/legit.yaml still gets zero blocks and zero near
// misses, and a large streamed download and a gzipped page reach the
// client byte for byte.
func TestOutboundLegitimateTrafficPasses(t *testing.T) {
	d := startDjangoWithConfig(t, corpusConfig+"detection:\n  responses:\n    enabled: true\n", djangoAdminDB(t)...)
	replayLegitCorpus(t, d)

	// 100,000 lines (5.6 MB) streamed without a Content-Length, as text
	// (inspected: its first 64 KB) and as a download (not inspected).
	var want bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&want, "%08d,union station,O'Brien,select * from timetable\n", i)
	}
	for _, typ := range []string{"text/plain", "application/octet-stream"} {
		resp, body := get(t, d.base+"/download/?type="+typ)
		if resp.StatusCode != 200 || sha256.Sum256(body) != sha256.Sum256(want.Bytes()) {
			t.Fatalf("download as %s: %d, %d bytes of %d", typ, resp.StatusCode, len(body), want.Len())
		}
	}

	// Django's gzip_page: the compressed bytes pass as Django sent them.
	_, plain := get(t, d.base+"/article/")
	resp, zipped := get(t, d.base+"/article/", "Accept-Encoding", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != fmt.Sprint(len(zipped)) {
		t.Fatalf("gzipped page: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) || !bytes.Contains(plain, []byte("Paragraph 399")) {
		t.Fatalf("gzipped page: %v, %d bytes unzipped, %d plain", err, len(unzipped), len(plain))
	}

	noBlocksLogged(t, d)
}
