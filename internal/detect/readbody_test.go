package detect

import (
	"io"
	"strings"
	"testing"
)

// TestChunkedBodyLongerThanFirstBuffer checks a body of unknown length
// longer than readBody's first buffer (unknownLengthStart): it is read
// whole (an attack at its end is found), replayed byte for byte, and one
// over body_limit is still refused.
func TestChunkedBodyLongerThanFirstBuffer(t *testing.T) {
	s := stageFromYAML(t, "")
	filler := strings.Repeat("lorem+ipsum+dolor+", 3*unknownLengthStart/18)
	for _, c := range []struct {
		name, body string
		blocked    bool
	}{
		{"benign", "note=" + filler, false},
		{"attack at the end", "note=" + filler + "&q=1%27%20UNION%20SELECT%20password%20FROM%20users--", true},
	} {
		r := form("/comments/", c.body)
		r.ContentLength = -1
		r.Header.Del("Content-Length")
		r.Body = io.NopCloser(strings.NewReader(c.body))
		d := s.Check(r.Context(), r, info())
		if d.Decided() != c.blocked {
			t.Fatalf("%s (%d bytes, chunked): decided %v, want %v: %+v", c.name, len(c.body), d.Decided(), c.blocked, d)
		}
		if c.blocked {
			continue
		}
		got, err := io.ReadAll(r.Body)
		if err != nil || string(got) != c.body {
			t.Fatalf("%s: replayed %d bytes (%v), want %d identical", c.name, len(got), err, len(c.body))
		}
	}
	over := "note=" + strings.Repeat("x", int(s.limit))
	r := form("/comments/", over)
	r.ContentLength = -1
	r.Body = io.NopCloser(strings.NewReader(over))
	if d := s.Check(r.Context(), r, info()); d.Status != 413 {
		t.Fatalf("chunked body over body_limit: %+v", d)
	}
}
