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
	// store.type redis; false keeps each instance's own.
	RedisStream Toggle `yaml:"redis_stream"`
	// StreamMaxLen caps the Redis stream (XADD MAXLEN ~, about 1 KB an event).
	StreamMaxLen int `yaml:"stream_max_len"`
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
	return Events{RingSize: 2000, RedisStream: Auto, StreamMaxLen: 100000, FileMaxBytes: 100 << 20, FileRetentionDays: 90}
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
	if e.File != "" && e.FileMaxBytes < 1<<20 {
		bad("events.file_max_bytes", "must be at least 1MB")
	}
	if e.FileRetentionDays < 0 {
		bad("events.file_retention_days", "%d must be 0 (keep all) or more", e.FileRetentionDays)
	}
}
