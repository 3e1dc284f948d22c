package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parapet-waf/parapet/internal/redact"
)

// DefaultStreamMaxLen is how many events the Redis stream keeps by default
// (about: MAXLEN ~ trims by whole nodes).
const DefaultStreamMaxLen = 100000

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
	// Logger reports Redis failures (at most every 10 s).
	Logger *slog.Logger
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
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Stream{o: o, c: redis.NewClient(ro), deliver: deliver, queue: make(chan *Record, 8192)}, nil
}

// Dropped counts the events not published because the queue was full.
func (s *Stream) Dropped() int64 { return s.dropped.Load() }

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
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.c.Pipelined(pctx, func(p redis.Pipeliner) error {
			for _, r := range batch {
				data, err := json.Marshal(r)
				if err != nil {
					continue
				}
				p.XAdd(pctx, &redis.XAddArgs{Stream: s.o.Key, MaxLen: s.o.MaxLen, Approx: true,
					Values: []any{"i", s.o.Instance, "e", data}})
			}
			return nil
		})
		cancel()
		if err != nil {
			s.dropped.Add(int64(len(batch)))
			s.logErr("events stream: publishing failed", err)
		}
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
