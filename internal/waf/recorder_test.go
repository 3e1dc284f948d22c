package waf

import (
	"net/http/httptest"
	"testing"
	"time"
)

// deadlineRecorder is a ResponseWriter that keeps the write deadlines set
// on it, as the server's connection would apply them.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	set []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// A client that keeps reading keeps getting time: the write deadline
// moves with its progress (never less than 15/16 of timeouts.send ahead of
// a write), and the first write of a response always sets one.
func TestSendDeadlineFollowsAProgressingClient(t *testing.T) {
	const send = 320 * time.Millisecond
	w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	rec := newRecorder(w, send, time.Time{})
	start := time.Now()
	rec.WriteHeader(200)
	if len(w.set) != 1 || w.set[0].Before(start.Add(send)) {
		t.Fatalf("WriteHeader set deadlines %v, want one at least %v after the start", w.set, send)
	}
	_, _ = rec.Write([]byte("a"))
	for i := 0; i < 5; i++ {
		time.Sleep(send / 8)
		before := time.Now()
		_, _ = rec.Write([]byte("b"))
		last := w.set[len(w.set)-1]
		if left := last.Sub(before); left < send*15/16 {
			t.Fatalf("write %d had %v left of its deadline, want at least %v (deadlines %v)", i, left, send*15/16, w.set)
		}
	}
	if len(w.set) < 5 {
		t.Fatalf("the deadline moved %d times over 6 writes spread over %v, want it to follow the writes", len(w.set), 5*send/8)
	}
	if len(w.set) > 7 {
		t.Fatalf("set %d deadlines for 7 writes", len(w.set))
	}
}

// A write right after another leaves the deadline alone (each set is a
// timer update on the connection), and timeouts.write still caps it.
func TestSendDeadlineNotMovedByBackToBackWrites(t *testing.T) {
	w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	writeBy := time.Now().Add(time.Minute)
	rec := newRecorder(w, time.Hour, writeBy)
	rec.WriteHeader(200)
	for i := 0; i < 10; i++ {
		_, _ = rec.Write([]byte("x"))
	}
	if len(w.set) != 1 {
		t.Fatalf("set %d deadlines for a header and 10 back-to-back writes, want 1", len(w.set))
	}
	if !w.set[0].Equal(writeBy) {
		t.Fatalf("deadline %v, want timeouts.write's %v", w.set[0], writeBy)
	}
}
