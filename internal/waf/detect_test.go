package waf

import (
	"fmt"
	"strings"
	"testing"
)

// Detection runs in the chain: an attack gets the block page and never
// reaches the upstream, its CRS rules are in the event; a reload to
// monitor mode lets it through and says what would have been blocked.
func TestDetectionInTheChainAndAcrossReload(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "")
	attack := p.URL + "/search?q=%3Cscript%3Ealert(1)%3C/script%3E"
	resp, body := get(t, attack, "Host", "www.example.com", "Accept", "application/json")
	// The rule ids stay out of the page. The request id is random hex,
	// which may spell "941" itself, so the page is searched without it.
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 403 || !strings.Contains(body, `"reason":"detect-xss"`) || id == "" || !strings.Contains(body, id) || strings.Contains(strings.ReplaceAll(body, id, ""), "941") {
		t.Fatalf("attack: %d %s", resp.StatusCode, body)
	}
	if up.hits.Load() != 0 {
		t.Fatal("the attack reached the upstream")
	}
	line := p.logs.linesN(t, 1)[0]
	if line["rule"] != "detect-xss" || !strings.Contains(fmt.Sprint(line["matched_rules"]), "941100") {
		t.Fatalf("event: %v", line)
	}

	c, err := buildFromYAML(t, "upstream: "+up.URL+"\ndetection:\n  mode: monitor\n")
	if err != nil {
		t.Fatal(err)
	}
	p.handler.Swap(c)
	if resp, _ := get(t, attack, "Host", "www.example.com"); resp.StatusCode != 200 || up.hits.Load() != 1 {
		t.Fatalf("monitor mode: %d, upstream hits %d", resp.StatusCode, up.hits.Load())
	}
	line = p.logs.linesN(t, 2)[1]
	if fmt.Sprint(line["monitored"]) != "[detect-xss:block:monitor]" || !strings.Contains(fmt.Sprint(line["matched_rules"]), "941100") {
		t.Fatalf("monitor event: %v", line)
	}
}

// Detection runs after the access rules and the rate limits: a request
// they decide never reaches the CRS (the event names their rule and no CRS
// rule). detection.enabled: false lets the same attack through.
func TestDetectionRunsAfterAccessAndRateRules(t *testing.T) {
	up := newUpstream(t, nil)
	p := startParapet(t, up.URL, "rules:\n  - id: closed\n    paths: [/closed/]\nrate_limits:\n  rules:\n    - id: api\n      limit: 1/minute\n      paths: [/api/]\n")
	xss := "?q=%3Cscript%3Ealert(1)%3C/script%3E"
	for i, c := range []struct {
		path      string
		status    int
		rule      string
		inspected bool // detect_ms in the line: the time detection added
	}{
		{"/closed/" + xss, 403, "closed", false},
		{"/api/x", 200, "", true}, // the one request the limit allows
		{"/api/x" + xss, 429, "api", false},
		{"/open/" + xss, 403, "detect-xss", true}, // detection is on
	} {
		resp, body := get(t, p.URL+c.path, "Host", "www.example.com")
		if resp.StatusCode != c.status {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, body)
		}
		line := p.logs.linesN(t, i+1)[i]
		if c.rule != "" && line["rule"] != c.rule {
			t.Errorf("%s: decided by %v, want %s", c.path, line["rule"], c.rule)
		}
		if _, ran := line["matched_rules"]; ran != (c.rule == "detect-xss") {
			t.Errorf("%s: matched_rules %v: detection ran %v", c.path, line["matched_rules"], ran)
		}
		if ms, timed := line["detect_ms"].(float64); timed != c.inspected || timed && ms <= 0 {
			t.Errorf("%s: detect_ms %v, want it %v", c.path, line["detect_ms"], c.inspected)
		}
	}
	if up.hits.Load() != 1 {
		t.Fatalf("upstream saw %d requests, want the one clean API call", up.hits.Load())
	}

	off := startParapet(t, up.URL, "detection:\n  enabled: false\n")
	if resp, body := get(t, off.URL+"/open/"+xss, "Host", "www.example.com"); resp.StatusCode != 200 || up.hits.Load() != 2 {
		t.Fatalf("detection off: %d %s, upstream hits %d", resp.StatusCode, body, up.hits.Load())
	}
}
