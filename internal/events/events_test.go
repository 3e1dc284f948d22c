package events

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

func TestRedactorPath(t *testing.T) {
	r := NewRedactor([]string{"email"})
	cases := map[[2]string]string{
		{"/a", ""}:                               "/a",
		{"/a", "q=1"}:                            "/a?q=1",
		{"/s", "q=x&password=p&Email=e"}:         "/s?q=x&password=REDACTED&Email=REDACTED",
		{"/s", "access_token=t&next=/x"}:         "/s?access_token=REDACTED&next=/x",
		{"/s", "csrfmiddlewaretoken=abc&flag"}:   "/s?csrfmiddlewaretoken=REDACTED&flag",
		{"/s", "pass%77ord=x"}:                   "/s?pass%77ord=REDACTED",
		{"/s", "%zz=secret"}:                     "/s?%zz=REDACTED",
		{"/s", "API_KEY=1&sessionid=2&sig=3&a="}: "/s?API_KEY=REDACTED&sessionid=REDACTED&sig=REDACTED&a=",
	}
	for in, want := range cases {
		if got := r.Path(in[0], in[1]); got != want {
			t.Errorf("Path(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestBufferedWriterFlushesOnIntervalAndClose(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := NewBufferedWriter(lockedWriter{&mu, &out}, 1024, 20*time.Millisecond)
	fmt.Fprintln(w, "line one")
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		got := out.String()
		mu.Unlock()
		if got == "line one\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flushed by the interval: %q", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintln(w, "line two")
	_ = w.Close()
	if out.String() != "line one\nline two\n" {
		t.Fatalf("close lost data: %q", out.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
