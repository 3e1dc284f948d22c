package detect

import (
	"net/http"
	"testing"

	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/config"
)

// TestPhasePlanChangesNoAnswer runs the corpora, the held-out requests,
// the benchmark's requests and the CRS regression sample through the same
// configuration with Coraza's phase plan (patch 41: each phase walks its
// own rules and jumps to a pending skipAfter's marker) and without it
// (every rule walked, as the release does), and compares the decisions
// and every matched rule id, paranoia-level gates included. At paranoia
// 1 most of the CRS is jumped over; at paranoia 4 none of it; the third
// configuration raises the paranoia level in phase 1, after the CRS's
// phase-1 gates and before its phase-2 ones, for requests with arguments,
// so the same rule set jumps on some requests and not on others.
func TestPhasePlanChangesNoAnswer(t *testing.T) {
	reqs := append(sameAnswerRequests(t),
		reqCase{"bench GET", typicalGET},
		reqCase{"bench form", func() *http.Request { return formPOST(form2KB()) }},
	)
	every := crsSampleEvery()
	pl4 := paranoia4Monitor()
	raised := config.Default()
	raised.Detection.Directives = `SecRule &ARGS "@gt 0" "id:1001,phase:1,pass,nolog,setvar:tx.detection_paranoia_level=3"`
	for _, cfg := range []struct {
		name string
		cfg  *config.Config
	}{{"default", config.Default()}, {"paranoia-4-monitor", pl4}, {"paranoia-raised-in-phase-1", raised}} {
		t.Run(cfg.name, func(t *testing.T) {
			useRE2()
			memoizeOperators()
			planned, err := build(cfg.cfg)
			if err != nil {
				t.Fatal(err)
			}
			walked, err := build(cfg.cfg)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := walked.waf.(corazaexp.WAFWithPhasePlan)
			if !ok {
				t.Fatal("the WAF has no phase plan to drop")
			}
			w.SetPhasePlan(false)
			differ, named, matched := 0, 0, 0
			for _, rq := range reqs {
				a, b := observed(planned, rq.make()), observed(walked, rq.make())
				if len(b.rules) > 0 {
					named++
				}
				matched += len(b.matched)
				if a.String() != b.String() {
					differ++
					t.Errorf("%s:\n with the plan:    %s\n without the plan: %s", rq.name, a, b)
				}
			}
			t.Logf("%d requests, %d with rules named in the decision, %d rule matches, %d answered differently", len(reqs), named, matched, differ)
			if named == 0 || (len(reqs) < 500 && every == 1) {
				t.Errorf("%d requests, %d named rules: the comparison tests little", len(reqs), named)
			}
		})
	}
}
