package formdata

import (
	"testing"
)

// FuzzDjangoParity compares Reader with the real Django parser on
// mutations of the odd corpus (one Python process per fuzzing worker):
//
//	go test -run '^$' -fuzz FuzzDjangoParity -fuzztime 2m -parallel 1 ./internal/formdata/
//
// Without -fuzz it runs the seeds.
func FuzzDjangoParity(f *testing.F) {
	for _, c := range oddCases() {
		if len(c.body) < 4096 {
			f.Add(c.ct, []byte(c.body))
		}
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		if len(body) == 0 {
			return // Django does not parse an empty body (Content-Length 0)
		}
		compare(t, realDjango(t), "fuzz", ct, body)
	})
}
