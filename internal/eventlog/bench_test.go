package eventlog

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/parapet-waf/parapet/internal/events"
)

func benchEvent(i int) *events.Event {
	return &events.Event{Time: time.Now(), RequestID: "0123456789abcdef0123456789abcdef", ClientIP: fmt.Sprintf("203.0.113.%d", i%250),
		Method: "GET", Host: "example.com", Path: "/accounts/login/?next=/", Status: 403, Decision: "block", RuleID: "path-dotfiles",
		Mode: "enforce", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Duration: time.Millisecond}
}

// BenchmarkEmit is what one event costs the request path: the JSON log
// line (the baseline every request already pays) against the event log
// (ring and stats). Compare the two ns/op in the same run.
func BenchmarkEmit(b *testing.B) {
	b.Run("line-baseline", func(b *testing.B) {
		s := events.LineSink{W: io.Discard}
		for i := 0; b.Loop(); i++ {
			s.Emit(context.Background(), benchEvent(i))
		}
	})
	b.Run("eventlog", func(b *testing.B) {
		l, _ := New(context.Background(), Options{Instance: "b"})
		defer l.Close()
		for i := 0; b.Loop(); i++ {
			l.Emit(context.Background(), benchEvent(i))
		}
	})
}

// BenchmarkDashboardPoll is the server's side of one dashboard poll on a
// full ring (10,000 events): the newest page of 50 blocks, and an hour's
// stats.
func BenchmarkDashboardPoll(b *testing.B) {
	l, _ := New(context.Background(), Options{Instance: "b"})
	defer l.Close()
	for i := 0; i < DefaultRingSize; i++ {
		e := benchEvent(i)
		if i%10 != 0 {
			e.Decision, e.RuleID, e.Status = "allow", "", 200
		}
		l.Emit(context.Background(), e)
	}
	b.Run("events-page", func(b *testing.B) {
		for b.Loop() {
			l.Query(context.Background(), Filter{Decision: "block", Limit: 50})
		}
	})
	b.Run("stats-1h", func(b *testing.B) {
		for b.Loop() {
			l.Stats(context.Background(), time.Hour, 10)
		}
	})
}
