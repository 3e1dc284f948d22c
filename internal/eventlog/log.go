package eventlog

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/events"
)

// Options configure a Log.
type Options struct {
	// Instance names this instance in its records and on the stream.
	Instance string
	// RingSize bounds the events kept in memory (DefaultRingSize when 0).
	RingSize int
	// Stream, when set, shares events through a Redis stream.
	Stream *StreamOptions
	// File, when set, also writes events to an NDJSON file.
	File *FileOptions
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Log is the events sink the admin API reads: every event goes to the
// ring and the stats counter, and to the Redis stream and the file when
// configured; the other instances' events come back from the stream into
// the ring and the counter. It is an events.Sink and a Source.
type Log struct {
	instance string
	ring     *Ring
	counter  *Counter
	stream   *Stream
	file     *File
}

var (
	_ events.Sink = (*Log)(nil)
	_ Source      = (*Log)(nil)
)

// New builds a Log and starts its stream (if any). Close it when done.
func New(ctx context.Context, o Options) (*Log, error) {
	l := &Log{instance: o.Instance, ring: NewRing(o.RingSize), counter: NewCounter(o.Now)}
	if o.File != nil {
		fo := *o.File
		if fo.Now == nil {
			fo.Now = o.Now
		}
		f, err := OpenFile(fo)
		if err != nil {
			return nil, err
		}
		l.file = f
	}
	if o.Stream != nil {
		so := *o.Stream
		so.Instance = o.Instance
		if so.Backfill == 0 {
			so.Backfill = int64(len(l.ring.buf))
		}
		s, err := NewStream(so, l.add)
		if err != nil {
			if l.file != nil {
				_ = l.file.Close()
			}
			return nil, err
		}
		l.stream = s
		s.Start(ctx)
	}
	return l, nil
}

// Ring returns the in-memory ring.
func (l *Log) Ring() *Ring { return l.ring }

// Stream returns the Redis stream, or nil.
func (l *Log) Stream() *Stream { return l.stream }

func (l *Log) add(r *Record) {
	l.ring.Add(r)
	l.counter.Add(r)
}

// Emit records e (already redacted by whoever built it).
func (l *Log) Emit(_ context.Context, e *events.Event) {
	r := FromEvent(e, l.instance)
	l.add(r)
	if l.stream != nil {
		l.stream.Publish(r)
	}
	if l.file != nil {
		l.file.Write(r)
	}
}

// Query answers from the ring, which holds every instance's events when a
// stream is configured.
func (l *Log) Query(_ context.Context, f Filter) (Page, error) { return l.ring.Query(f), nil }

// Stats answers from the counter.
func (l *Log) Stats(_ context.Context, window time.Duration, n int) (Stats, error) {
	return l.counter.Stats(window, n), nil
}

// Collectors are the Prometheus metrics of the stream (none without
// one): whether it is paused for Redis memory, and the events it did not
// publish (queue full or Redis failed; skipped while paused).
func (l *Log) Collectors() []prometheus.Collector {
	s := l.stream
	if s == nil {
		return nil
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parapet_events_stream_paused",
			Help: "1 while the events stream is paused because Redis's used_memory is above events.stream_memory_percent of its maxmemory."},
			func() float64 {
				if s.Paused() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parapet_events_stream_skipped_total",
			Help: "Events not published to the events stream while it was paused for Redis memory."},
			func() float64 { return float64(s.Skipped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parapet_events_stream_dropped_total",
			Help: "Events not published to the events stream because its queue was full or Redis failed."},
			func() float64 { return float64(s.Dropped()) }),
	}
}

// Close stops the stream (after publishing what is queued) and closes the file.
func (l *Log) Close() error {
	var errs []error
	if l.stream != nil {
		errs = append(errs, l.stream.Close())
	}
	if l.file != nil {
		errs = append(errs, l.file.Close())
	}
	return errors.Join(errs...)
}

// OptionsFromConfig reads the events section (and, for the stream, the
// store's Redis URL and key prefix) into Options for instance.
func OptionsFromConfig(cfg *config.Config, instance string) Options {
	o := Options{Instance: instance, RingSize: cfg.Events.RingSize}
	if cfg.EventsStream() {
		o.Stream = &StreamOptions{URL: cfg.Store.URL, TLSSkipVerify: cfg.Store.TLSSkipVerify,
			Key: cfg.Store.KeyPrefix + "events", MaxLen: int64(cfg.Events.StreamMaxLen),
			MaxMemoryPercent: cfg.Events.StreamMemoryPercent}
	}
	if cfg.Events.File != "" {
		o.File = &FileOptions{Path: cfg.Events.File, MaxBytes: int64(cfg.Events.FileMaxBytes),
			Retention: time.Duration(cfg.Events.FileRetentionDays) * 24 * time.Hour}
	}
	return o
}
