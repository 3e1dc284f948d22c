package eventlog

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Review 5: the stats' top lists are bounded in keys (256 per minute for
// an hour, 256 per hour for a day) but not in bytes: each key is a
// refused request's path (or User-Agent, capped at 256 bytes) at whatever
// length the client sent, and a path can be as long as
// limits.max_header_bytes (32 KB; a 414 for a request line past
// max_uri_bytes records it all the same). A client sending about five
// refused requests a second with 8 KB paths, all different, has it hold
// 60 x 256 of them after an hour (120 MB) and 84 x 256 after a day
// (170 MB; 680 MB with 32 KB paths), on a 512 MB dyno. The top lists must keep a bounded length of
// each key (a path cut short still names the heavy hitter).
func TestReview5StatsTopKeysBoundedInBytes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewCounter(func() time.Time { return now })
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// An hour of a client sending 256 refused requests a minute (about
	// four a second), each for a different 8 KB path.
	pad := strings.Repeat("a", 8<<10)
	for m := 0; m < 60; m++ {
		now = time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC)
		for i := 0; i < 256; i++ {
			path := fmt.Sprintf("/.env/%d/%d/%s", m, i, pad)
			c.Add(&Record{Time: now, Kind: "request", ClientIP: "198.51.100.7", Decision: "block", Rule: "path-dotfiles",
				Path: path, UserAgent: "curl/8.0"})
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	st := c.Stats(time.Hour, 1)
	runtime.KeepAlive(c)
	if grown > 32<<20 {
		t.Fatalf("the stats counter holds %d MB after an hour of one client's refused requests with 8 KB paths (top path %d bytes long): its top lists must be bounded in bytes, not only in keys",
			grown>>20, len(st.Top.Paths[0].Key))
	}
}
