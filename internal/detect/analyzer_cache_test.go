package detect

import (
	"testing"

	"github.com/parapet-waf/parapet/internal/analyze"
)

// TestReportCacheSharesNoFindings checks the analyses the shared report
// cache hands out: a value the analyzer finds something in gets its own
// report (the same findings when remembered), a benign one the shared
// empty report (no Report of its own to keep), which stays empty.
func TestReportCacheSharesNoFindings(t *testing.T) {
	c := newReportCache()
	a := analyze.New(analyze.All, analyze.Arg)
	attack := "1' UNION SELECT password FROM users--"
	want := a.Inspect(attack)
	if want.Confidence < analyze.Medium {
		t.Fatalf("the analyzer finds %v in %q; the test needs a finding", want, attack)
	}
	for range 2 { // made, then remembered
		rep := c.get(a, analyze.Arg, attack)
		if rep == &noFindings {
			t.Fatalf("%q got the shared empty report", attack)
		}
		if got := rep.Best(analyze.All); got != want {
			t.Fatalf("%q: %v, want %v", attack, got, want)
		}
	}
	for _, v := range []string{"lorem ipsum dolor", "user42@example.com", "2026-12-06"} {
		if rep := c.get(a, analyze.Arg, v); rep != &noFindings {
			t.Fatalf("%q: a report of its own %v, want the shared empty one", v, rep.Best(analyze.All))
		}
	}
	if noFindings != (analyze.Report{}) {
		t.Fatal("the shared empty report was written")
	}
}
