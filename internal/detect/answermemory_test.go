package detect

import (
	"net/http"
	"testing"

	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/config"
)

// TestAnswerMemoryChangesNoAnswer: the engine's answer memory (Coraza
// patch 67: values that come back are given the filter's answers with
// the rules that ran on them before without a match passed over) changes
// no decision and no matched rule. Every request is sent three times
// through one stage, the same requests in the same order: the first pass
// offers what the rules learn, the second stores it (a value is kept once
// it comes back in another request) and the third answers from it; each
// answer is compared with a stage without the value filter.
func TestAnswerMemoryChangesNoAnswer(t *testing.T) {
	reqs := append(sameAnswerRequests(t),
		reqCase{"bench GET", typicalGET},
		reqCase{"bench form", func() *http.Request { return formPOST(form2KB()) }},
	)
	for _, cfg := range []struct {
		name string
		cfg  *config.Config
	}{{"default", config.Default()}, {"paranoia-4-monitor", paranoia4Monitor()}} {
		t.Run(cfg.name, func(t *testing.T) {
			useRE2()
			memoizeOperators()
			with, err := buildWith(cfg.cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			without, err := buildWith(cfg.cfg, false)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(reqs))
			for i, rq := range reqs {
				want[i] = observed(without, rq.make()).String()
			}
			for pass := 1; pass <= 3; pass++ {
				differ := 0
				for i, rq := range reqs {
					if got := observed(with, rq.make()).String(); got != want[i] {
						differ++
						if differ <= 10 {
							t.Errorf("pass %d, %s:\n with the memory:    %s\n without the filter: %s", pass, rq.name, got, want[i])
						}
					}
				}
				held := with.waf.(corazaexp.WAFWithAnswerMemory).RememberedValues()
				t.Logf("pass %d: %d requests, %d answered differently; the memory holds %d values", pass, len(reqs), differ, held)
				if pass > 1 && held < 100 {
					t.Errorf("pass %d: the memory holds %d values: the test did not use it", pass, held)
				}
			}
		})
	}
}
