package config

// Events configures where Parapet keeps its events (every decided request
// and notable happenings) for the admin API and the dashboard: a ring in
// memory, a Redis stream shared by every instance, and an optional NDJSON
// file. The JSON log line on stdout is written whatever this says.
type Events struct {
	// RingSize is how many of the newest events are kept in memory for
	// the events API and the dashboard (about 1 KB each: with
	// runtime.gc_percent 400, each 1,000 costs about 5 MB of resident
	// memory; 10,000 took peak RSS under load from 73 to 121 MB).
	RingSize int `yaml:"ring_size"`
	// RedisStream shares events through a Redis stream (store.url), so the
	// events API and the dashboard of any instance show every instance's
	// events: auto (the default) when store.type is redis; true requires
	// store.type redis; false keeps each instance's own. The stream lives
	// in the Redis that holds the rate limits and bans, so it is bounded
	// so as never to take their room: by length (stream_max_len), by
	// memory (stream_memory_percent) and by time (the key expires a day
	// after the last event written to it).
	RedisStream Toggle `yaml:"redis_stream"`
	// StreamMaxLen caps the Redis stream (XADD MAXLEN ~; an event takes
	// about 500 bytes of Redis memory, so 10,000 are about 5 MB). Each
	// instance keeps the newest ring_size events as they arrive; the
	// stream only has to hold what a newly started instance backfills.
	StreamMaxLen int `yaml:"stream_max_len"`
	// StreamMemoryPercent pauses the stream while Redis's used_memory is
	// above this percent of its maxmemory (checked at most once a second,
	// or after each hundredth of maxmemory written), and trims it by half
	// at each check until memory is back under the mark; it resumes below
	// four fifths of the mark. Heroku's Redis plans refuse every write when
	// full (noeviction): the rate limits would then fail (store.on_error).
	// Pausing and resuming are logged, sent as store events and counted
	// (parapet_events_stream_paused, parapet_events_stream_skipped_total).
	// While paused, each instance's events still reach its own ring,
	// stats, log line and file, but not the other instances. A Redis
	// without maxmemory is bounded by stream_max_len only.
	StreamMemoryPercent int `yaml:"stream_memory_percent"`
	// File, when set, also appends every event to this NDJSON file (one
	// JSON object a line, the events API's fields).
	File string `yaml:"file"`
	// FileMaxBytes rotates the file before it passes this size; the old
	// one is renamed with the time of rotation (events-20060102T150405.000.ndjson).
	FileMaxBytes ByteSize `yaml:"file_max_bytes"`
	// FileRetentionDays removes rotated files older than this many days
	// (0 keeps them all).
	FileRetentionDays int `yaml:"file_retention_days"`
}

func defaultEvents() Events {
	return Events{RingSize: 2000, RedisStream: Auto, StreamMaxLen: 10000, StreamMemoryPercent: 50, FileMaxBytes: 100 << 20, FileRetentionDays: 90}
}

// EventsStream reports whether events go through a Redis stream.
func (c *Config) EventsStream() bool {
	return c.Store.Type == "redis" && c.Events.RedisStream != Off
}

// validateEvents checks the events section.
func (c *Config) validateEvents(bad func(path, format string, args ...any)) {
	e := &c.Events
	if e.RingSize < 100 || e.RingSize > 1_000_000 {
		bad("events.ring_size", "%d must be between 100 and 1000000", e.RingSize)
	}
	if v, ok := e.RedisStream.parse(); ok {
		e.RedisStream = v
		if v == On && c.Store.Type != "redis" {
			bad("events.redis_stream", "true needs store.type redis (the stream lives in the store's Redis)")
		}
	} else {
		bad("events.redis_stream", "%q must be auto, true or false", string(e.RedisStream))
	}
	if e.StreamMaxLen < 1000 {
		bad("events.stream_max_len", "%d must be at least 1000", e.StreamMaxLen)
	}
	if e.StreamMemoryPercent < 5 || e.StreamMemoryPercent > 90 {
		bad("events.stream_memory_percent", "%d must be between 5 and 90", e.StreamMemoryPercent)
	}
	if e.File != "" && e.FileMaxBytes < 1<<20 {
		bad("events.file_max_bytes", "must be at least 1MB")
	}
	if e.FileRetentionDays < 0 {
		bad("events.file_retention_days", "%d must be 0 (keep all) or more", e.FileRetentionDays)
	}
}
