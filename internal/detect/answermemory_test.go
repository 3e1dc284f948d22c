package detect

import (
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"sync"
	"testing"

	corazaexp "github.com/corazawaf/coraza/v3/experimental"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// TestAnswerMemoryChangesNoAnswer: the engine's answer memory (Coraza
// patch 67: values that come back are given the filter's answers with
// the rules that ran on them before without a match passed over) changes
// no decision and no matched rule. Every request is sent five times
// through one stage (three under -race): three passes in the same order
// (the first offers what the rules learn, the second stores it, as a
// value is kept once it comes back in another request, the third answers
// from it), then two in a random order each (review 15: values learnt in one request, a benign
// one, come back in others, an attack's headers, cookies and names); each
// answer is compared with a stage without the value filter.
func TestAnswerMemoryChangesNoAnswer(t *testing.T) {
	all := append(sameAnswerRequests(t),
		reqCase{"bench GET", typicalGET},
		reqCase{"bench form", func() *http.Request { return formPOST(form2KB()) }},
	)
	// Under -race, every third request (make test-volume runs them all).
	var reqs []reqCase
	for i, rq := range all {
		if !raceEnabled || i%3 == 0 {
			reqs = append(reqs, rq)
		}
	}
	for _, cfg := range []struct {
		name string
		cfg  *config.Config
	}{{"default", config.Default()}, {"paranoia-4-monitor", paranoia4Monitor()}} {
		t.Run(cfg.name, func(t *testing.T) {
			with, without := filterStages(t, cfg.cfg)
			want := make([]string, len(reqs))
			for i, rq := range reqs {
				want[i] = observed(without, rq.make()).String()
			}
			// Under -race (a sample of the requests already), two passes
			// in order and one shuffled; make test-volume runs all five.
			passes, inOrder := 5, 3
			if raceEnabled {
				passes, inOrder = 3, 2
			}
			rng := rand.New(rand.NewSource(15))
			for pass := 1; pass <= passes; pass++ {
				order := rng.Perm(len(reqs))
				if pass <= inOrder {
					for i := range order {
						order[i] = i
					}
				}
				differ := 0
				for _, i := range order {
					rq := reqs[i]
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

// TestAnswerMemoryUnderConcurrency: requests checked at once by many
// goroutines share one memory (lock-free: entries are replaced whole).
// The same header values and query fields come back in every request,
// benign ones and attacks in turn; every attack is blocked and every
// benign request passes, however the memory's entries were raced in (run
// under -race, this also checks the memory's reads and writes).
func TestAnswerMemoryUnderConcurrency(t *testing.T) {
	s := stageFromYAML(t, "")
	attacks := []string{"1' OR '1'='1", "<script>alert(1)</script>", "../../../../etc/passwd", ";cat /etc/passwd"}
	benign := []string{"garden chairs", "2", "-date", "blue shoes size 42"}
	const workers, rounds = 8, 40
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*2)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				ok := benign[(w+i)%len(benign)]
				bad := attacks[(w+i)%len(attacks)]
				r := withQuery(typicalGET(), url.Values{"q": {ok}, "page": {"2"}})
				if d := s.Check(r.Context(), r, &decision.Info{ID: nextRequestID()}); d.Decided() {
					errs <- fmt.Sprintf("benign q=%q blocked by %v", ok, d.Rules)
				}
				r = withQuery(typicalGET(), url.Values{"q": {bad}, "page": {"2"}})
				if d := s.Check(r.Context(), r, &decision.Info{ID: nextRequestID()}); !d.Decided() {
					errs <- fmt.Sprintf("attack q=%q passed", bad)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if held := s.waf.(corazaexp.WAFWithAnswerMemory).RememberedValues(); held < 5 {
		t.Errorf("the memory holds %d values: the test did not use it", held)
	}
}

// withQuery is r (a request made by httptest) with query q.
func withQuery(r *http.Request, q url.Values) *http.Request {
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
	return r
}
