package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parapet-waf/parapet/internal/redact"
)

// DefaultStreamMaxLen is how many events the Redis stream keeps by default
// (about: MAXLEN ~ trims by whole nodes). An event takes some 400-600
// bytes of Redis memory, so 10,000 are about 5 MB; every instance keeps
// its own ring of the newest (events.ring_size) from the stream as they
// arrive, so the stream only has to hold what a new instance backfills.
const DefaultStreamMaxLen = 10000

// DefaultStreamMemoryPercent is the share of Redis's maxmemory above
// which the stream stops publishing (StreamOptions.MaxMemoryPercent).
const DefaultStreamMemoryPercent = 50

// streamTTL is how long the stream's key outlives the last event written
// to it: a stream no instance writes to any more goes away by itself.
const streamTTL = 24 * time.Hour

// memCheckEvery is how often, at most, publishing asks Redis for its
// memory (INFO memory); it also asks sooner once a hundredth of
// maxmemory has been written since the last answer.
const memCheckEvery = time.Second

// StreamOptions configure a Redis stream of events.
type StreamOptions struct {
	// URL is the Redis URL (redis:// or rediss://), store.url's form.
	URL string
	// TLSSkipVerify accepts a rediss:// server's certificate unverified.
	TLSSkipVerify bool
	// Key is the stream's key ("parapet:events").
	Key string
	// MaxLen caps the stream (XADD MAXLEN ~); DefaultStreamMaxLen when 0.
	MaxLen int64
	// Instance names this instance; its own events are not read back.
	Instance string
	// Backfill is how many of the newest events are read when the stream
	// starts, so a new instance shows what happened before it.
	Backfill int64
	// MaxMemoryPercent pauses publishing while Redis's used_memory is
	// above this percent of its maxmemory (DefaultStreamMemoryPercent when
	// 0), so that the stream never takes the room the rate limits and bans
	// (in the same Redis) need to count: with maxmemory-policy noeviction,
	// a full Redis refuses every write. While paused, the stream is also
	// trimmed by half at each check (at most once a second) until memory
	// is back under the mark; it resumes once used_memory is below four
	// fifths of the mark. A Redis without maxmemory is bounded by MaxLen
	// only.
	MaxMemoryPercent int
	// Logger reports Redis failures (at most every 10 s), and each pause
	// and resume when OnPause is nil.
	Logger *slog.Logger
	// OnPause, when set, is called (from the publishing goroutine) when
	// publishing pauses (paused true) or resumes, with Redis's used_memory
	// and maxmemory at that moment, so that it can be reported as a
	// happening (which is then not logged through Logger).
	OnPause func(paused bool, usedMemory, maxMemory int64)
}

// Stream publishes this instance's events to a Redis stream capped by
// length and delivers the other instances' events from it, so that every
// instance's ring and stats hold them all. Publishing never blocks a
// request: events are queued and written in batches by a goroutine, and
// dropped (counted) if Redis falls behind.
type Stream struct {
	o        StreamOptions
	c        *redis.Client
	deliver  func(*Record)
	queue    chan *Record
	dropped  atomic.Int64
	paused   atomic.Bool
	skipped  atomic.Int64 // events not published while paused
	stopPub  context.CancelFunc
	stopRead context.CancelFunc
	pubDone  chan struct{}
	wg       sync.WaitGroup
	lastLog  atomic.Int64 // unix nanos of the last error logged
	mu       sync.RWMutex // guards shut against Publish racing Close
	shut     bool
}

// NewStream connects to o.URL (lazily: nothing is sent until Start).
// deliver receives other instances' events, oldest first, from one
// goroutine.
func NewStream(o StreamOptions, deliver func(*Record)) (*Stream, error) {
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // go-redis's error may quote the password
		}
		return nil, fmt.Errorf("events stream: %s: %w", redact.URL(o.URL), err)
	}
	if o.TLSSkipVerify && ro.TLSConfig != nil {
		ro.TLSConfig.InsecureSkipVerify = true
	}
	ro.MaxRetries = 1
	ro.DialTimeout = 2 * time.Second
	if o.Key == "" {
		o.Key = "parapet:events"
	}
	if o.MaxLen <= 0 {
		o.MaxLen = DefaultStreamMaxLen
	}
	if o.MaxMemoryPercent <= 0 {
		o.MaxMemoryPercent = DefaultStreamMemoryPercent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Stream{o: o, c: redis.NewClient(ro), deliver: deliver, queue: make(chan *Record, 8192)}, nil
}

// Dropped counts the events not published because the queue was full or
// Redis failed.
func (s *Stream) Dropped() int64 { return s.dropped.Load() }

// Paused reports whether publishing is paused because Redis's memory is
// above the mark (see StreamOptions.MaxMemoryPercent).
func (s *Stream) Paused() bool { return s.paused.Load() }

// Skipped counts the events not published while paused.
func (s *Stream) Skipped() int64 { return s.skipped.Load() }

// Start reads the newest o.Backfill events, then publishes and reads in
// the background until Close.
func (s *Stream) Start(ctx context.Context) {
	base := context.WithoutCancel(ctx)
	var pctx, rctx context.Context
	pctx, s.stopPub = context.WithCancel(base)
	rctx, s.stopRead = context.WithCancel(base)
	last := s.backfill(rctx)
	s.pubDone = make(chan struct{})
	s.wg.Add(2)
	go func() { defer close(s.pubDone); s.publish(pctx) }()
	go s.read(rctx, last)
}

// Publish queues r for the stream; it never blocks.
func (s *Stream) Publish(r *Record) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.shut {
		return
	}
	select {
	case s.queue <- r:
	default:
		s.dropped.Add(1)
	}
}

// Close stops publishing and reading, after writing what is queued (for
// at most two seconds).
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		return nil
	}
	s.shut = true
	close(s.queue)
	s.mu.Unlock()
	if s.pubDone != nil {
		s.stopRead()
		select {
		case <-s.pubDone:
		case <-time.After(2 * time.Second):
		}
		s.stopPub()
		s.wg.Wait()
	}
	return s.c.Close()
}

func (s *Stream) logErr(msg string, err error) {
	now := time.Now().UnixNano()
	if last := s.lastLog.Load(); now-last < int64(10*time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.o.Logger.Warn(msg, "error", err.Error(), "dropped", s.dropped.Load())
}

// backfill delivers the newest events already in the stream, oldest
// first, and returns the id to read on from.
func (s *Stream) backfill(ctx context.Context) string {
	if s.o.Backfill <= 0 {
		return "$"
	}
	bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msgs, err := s.c.XRevRangeN(bctx, s.o.Key, "+", "-", s.o.Backfill).Result()
	if err != nil {
		s.logErr("events stream: reading past events failed", err)
		return "$"
	}
	if len(msgs) == 0 {
		return "0-0"
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if r := decode(msgs[i]); r != nil {
			s.deliver(r)
		}
	}
	return msgs[0].ID
}

// maxStreamRecord is the largest stream entry decoded: an event bounded
// by events.Event.Bound is a few KB of JSON; a larger entry was not
// written by a Parapet instance and is skipped.
const maxStreamRecord = 64 << 10

func decode(m redis.XMessage) *Record {
	data, _ := m.Values["e"].(string)
	if len(data) > maxStreamRecord {
		return nil
	}
	var r Record
	if json.Unmarshal([]byte(data), &r) != nil {
		return nil
	}
	if r.Instance == "" {
		r.Instance, _ = m.Values["i"].(string)
	}
	return &r
}

func (s *Stream) publish(ctx context.Context) {
	defer s.wg.Done()
	batch := make([]*Record, 0, 512)
	var g memGuard
	for r := range s.queue {
		batch = append(batch[:0], r)
	more:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		if g.due(time.Now()) {
			s.checkMemory(ctx, &g)
		}
		if s.paused.Load() {
			s.skipped.Add(int64(len(batch)))
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		written := 0
		_, err := s.c.Pipelined(pctx, func(p redis.Pipeliner) error {
			for _, r := range batch {
				data, err := json.Marshal(r)
				if err != nil {
					continue
				}
				written += len(data)
				p.XAdd(pctx, &redis.XAddArgs{Stream: s.o.Key, MaxLen: s.o.MaxLen, Approx: true,
					Values: []any{"i", s.o.Instance, "e", data}})
			}
			p.Expire(pctx, s.o.Key, streamTTL)
			return nil
		})
		cancel()
		g.written += int64(written)
		if err != nil {
			s.dropped.Add(int64(len(batch)))
			s.logErr("events stream: publishing failed", err)
		}
	}
}

// memGuard is the publisher's view of Redis's memory.
type memGuard struct {
	checked time.Time
	written int64 // bytes of events written since checked
	max     int64 // maxmemory at the last check (0: none)
}

// due reports whether Redis's memory should be asked again: a second
// after the last answer, or sooner once a hundredth of maxmemory has
// been written since.
func (g *memGuard) due(now time.Time) bool {
	if now.Sub(g.checked) >= memCheckEvery {
		return true
	}
	return g.max > 0 && g.written >= g.max/100
}

// checkMemory asks Redis for used_memory and maxmemory, and pauses or
// resumes publishing: paused above MaxMemoryPercent of maxmemory (and
// the stream trimmed by half, so that what it holds makes room), resumed
// below four fifths of that.
func (s *Stream) checkMemory(ctx context.Context, g *memGuard) {
	g.checked, g.written = time.Now(), 0
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := s.c.InfoMap(cctx, "memory").Result()
	if err != nil {
		s.logErr("events stream: reading Redis memory failed", err)
		return
	}
	mem := info["Memory"]
	used, _ := strconv.ParseInt(mem["used_memory"], 10, 64)
	max, _ := strconv.ParseInt(mem["maxmemory"], 10, 64)
	g.max = max
	if max <= 0 {
		s.setPaused(false, used, max)
		return
	}
	mark := max / 100 * int64(s.o.MaxMemoryPercent)
	switch {
	case used > mark:
		s.setPaused(true, used, max)
		n, err := s.c.XLen(cctx, s.o.Key).Result()
		if err == nil && n > 0 {
			err = s.c.XTrimMaxLenApprox(cctx, s.o.Key, n/2, 0).Err()
		}
		if err != nil {
			s.logErr("events stream: trimming failed", err)
		}
	case used < mark/5*4:
		s.setPaused(false, used, max)
	}
}

func (s *Stream) setPaused(p bool, used, max int64) {
	if s.paused.Swap(p) == p {
		return
	}
	if s.o.OnPause != nil {
		s.o.OnPause(p, used, max) // reported as a happening, which is logged
		return
	}
	if p {
		s.o.Logger.Warn("events stream paused: Redis memory is above the mark; the rate limits and bans keep the room, "+
			"events still reach this instance's ring, stats, log and file but not the other instances",
			"used_memory", used, "maxmemory", max, "mark_percent", s.o.MaxMemoryPercent, "stream", s.o.Key)
	} else {
		s.o.Logger.Info("events stream resumed", "used_memory", used, "maxmemory", max,
			"skipped_while_paused", s.skipped.Load(), "stream", s.o.Key)
	}
}

func (s *Stream) read(ctx context.Context, last string) {
	defer s.wg.Done()
	for ctx.Err() == nil {
		res, err := s.c.XRead(ctx, &redis.XReadArgs{Streams: []string{s.o.Key, last}, Count: 1000, Block: 2 * time.Second}).Result()
		if err != nil {
			if errors.Is(err, redis.Nil) || ctx.Err() != nil {
				continue
			}
			s.logErr("events stream: reading failed", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				if inst, _ := m.Values["i"].(string); inst == s.o.Instance {
					continue
				}
				if r := decode(m); r != nil {
					s.deliver(r)
				}
			}
		}
	}
}
