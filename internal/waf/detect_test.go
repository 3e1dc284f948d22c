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
