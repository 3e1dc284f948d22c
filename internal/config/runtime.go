package config

// Runtime tunes Go's garbage collector for Parapet's traffic. Attack
// detection makes 0.2-2 MB of short-lived garbage per request over a
// small live heap, so at Go's default (GOGC=100) a collection runs every
// few requests and the requests it overlaps make the latency tail:
// letting the heap grow further between collections, under a soft memory
// limit, trades memory for that tail. Without detection a request leaves
// a few KB, and Go's default costs about 1 µs of collector CPU per request
// (1%) while holding 35 MB less than 400 would. The standard GOGC and
// GOMEMLIMIT environment variables, when set, win over these settings.
type Runtime struct {
	// GCPercent is how far the heap may grow over what was live after a
	// collection before the next one starts (Go's GOGC): 100 is Go's
	// default, -1 turns collection off until MemoryLimit, 0 (the default)
	// chooses: 400 with attack detection on, 100 with it off.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimit is a soft limit on the memory the Go runtime holds (Go's
	// GOMEMLIMIT): near it the collector runs as often as it must; 0: none.
	// The default, 80MB, fits a 512 MB dyno shared with the app; Parapet
	// warns at start when it holds half of it once built.
	MemoryLimit ByteSize `yaml:"memory_limit"`
}

// DefaultMemoryLimit is runtime.memory_limit's default, chosen for a
// 512 MB Heroku dyno that Parapet shares with gunicorn's Django workers
// (60-150 MB each): with detection on Parapet holds about 50 MB once
// built, so 80 MB leaves requests' garbage some 30 MB before the
// collector works harder, and keeps Parapet's RSS near 100 MB under load
// (bench/MEMORY.md). Raise it on a bigger machine for fewer collections.
const DefaultMemoryLimit = 80 << 20

// The collector settings gc_percent 0 chooses.
const (
	GCPercentDetection   = 400
	GCPercentPassThrough = 100
)

func defaultRuntime() Runtime {
	return Runtime{GCPercent: 0, MemoryLimit: DefaultMemoryLimit}
}

// GCPercent is the collector setting the config asks for: runtime.gc_percent,
// or when it is 0, GCPercentDetection with detection on and
// GCPercentPassThrough with it off.
func (c *Config) GCPercent() int {
	switch {
	case c.Runtime.GCPercent != 0:
		return c.Runtime.GCPercent
	case c.Detection.Enabled:
		return GCPercentDetection
	default:
		return GCPercentPassThrough
	}
}

// validateRuntime checks the runtime section.
func (c *Config) validateRuntime(bad func(path, format string, args ...any)) {
	r := c.Runtime
	if r.GCPercent != -1 && r.GCPercent != 0 && (r.GCPercent < 10 || r.GCPercent > 10000) {
		bad("runtime.gc_percent", "%d must be between 10 and 10000 (100 is Go's default), -1 (off until memory_limit) or 0 (400 with detection, 100 without)", r.GCPercent)
	}
	if r.GCPercent == -1 && r.MemoryLimit == 0 {
		bad("runtime.gc_percent", "-1 (no collection) needs a runtime.memory_limit, or memory grows without bound")
	}
	if r.MemoryLimit != 0 && r.MemoryLimit < 32<<20 {
		bad("runtime.memory_limit", "%d bytes is below 32MB: the collector would run all the time (0 means no limit)", r.MemoryLimit)
	}
}
