package rules

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/parapet-waf/parapet/internal/decision"
)

// A challenge rule challenges clients the clearance check does not clear;
// cleared clients go on to the next rules, where a block still blocks.
func TestChallengeRuleAsksClearanceLazily(t *testing.T) {
	cfg, _ := load(t, `
rules:
  - id: humans
    action: challenge
    paths: [/shop/]
  - id: watch
    action: challenge
    mode: monitor
    paths: [/blog/]
  - id: internal
    paths: [/shop/internal/]
`)
	d := deps(t)
	asked := 0
	d.Cleared = func(r *http.Request, info *decision.Info) bool {
		asked++
		return r.Header.Get("Cookie") == "ok"
	}
	e, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	run := func(path, cookie string) (decision.Decision, *decision.Info) {
		r := httptest.NewRequest("GET", path, nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		info := &decision.Info{ClientIP: netip.MustParseAddr("192.0.2.1")}
		return e.Check(r.Context(), r, info), info
	}
	if dec, _ := run("/shop/", ""); dec.Action != decision.Challenge || dec.RuleID != "humans" || !dec.Decided() {
		t.Errorf("uncleared: %+v", dec)
	}
	if dec, _ := run("/shop/", "ok"); dec.Decided() {
		t.Errorf("cleared client challenged: %+v", dec)
	}
	if dec, _ := run("/shop/internal/x", "ok"); dec.Action != decision.Block || dec.RuleID != "internal" {
		t.Errorf("cleared client past a block: %+v", dec)
	}
	dec, info := run("/blog/", "")
	if dec.Decided() || len(info.Matched) == 0 || info.Matched[0].Action != decision.Challenge || info.Matched[0].RuleID != "watch" {
		t.Errorf("monitor-mode challenge: %+v %+v", dec, info.Matched)
	}
	before := asked
	run("/other/", "")
	if asked != before {
		t.Error("clearance checked for a request no challenge rule matched")
	}
}
