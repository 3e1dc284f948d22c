package analyze

import (
	"testing"
	"time"
)

// FuzzInspect: any value, at any place, is judged without a panic,
// within 2 s (a slower one fails with the value), and a finding always
// names its class.
//
//	go test -fuzz FuzzInspect -fuzztime 60s ./internal/analyze/
func FuzzInspect(f *testing.F) {
	for _, c := range attacks {
		f.Add(c.v, uint8(c.place))
	}
	for _, c := range benign {
		f.Add(c.v, uint8(c.place))
	}
	f.Add("%%%25%u00%c0%ae&#x;&#99999999999;\\u{110000}\\x", uint8(Arg))
	f.Add("<<<<a a=\"'`>${{{{%<!--#", uint8(Path))
	f.Fuzz(func(t *testing.T, v string, place uint8) {
		done := make(chan Finding, 1)
		go func() { done <- New(All, Place(place%5)).Inspect(v) }()
		var fd Finding
		select {
		case fd = <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("%d bytes at place %d still running after 2s: %q", len(v), place%5, v)
		}
		if fd.Confidence != NoFinding && fd.Class == None {
			t.Errorf("a finding without a class: %+v", fd)
		}
	})
}
