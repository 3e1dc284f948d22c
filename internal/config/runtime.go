package config

// Runtime tunes Go's garbage collector for Parapet's traffic. Attack
// detection makes about 200 KB of short-lived garbage per request over a
// small live heap, so at Go's default (GOGC=100) a collection runs every
// few dozen requests and the requests it overlaps make the latency tail.
// Letting the heap grow further between collections, under a soft memory
// limit, trades memory for that tail. The standard GOGC and GOMEMLIMIT
// environment variables, when set, win over these settings.
type Runtime struct {
	// GCPercent is how far the heap may grow over what was live after a
	// collection before the next one starts (Go's GOGC): 100 is Go's
	// default, -1 turns collection off until MemoryLimit.
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimit is a soft limit on the memory the Go runtime holds (Go's
	// GOMEMLIMIT): near it the collector runs as often as it must; 0: none.
	MemoryLimit ByteSize `yaml:"memory_limit"`
}

func defaultRuntime() Runtime {
	return Runtime{GCPercent: 400, MemoryLimit: 256 << 20}
}

// validateRuntime checks the runtime section.
func (c *Config) validateRuntime(bad func(path, format string, args ...any)) {
	r := c.Runtime
	if r.GCPercent != -1 && (r.GCPercent < 10 || r.GCPercent > 10000) {
		bad("runtime.gc_percent", "%d must be between 10 and 10000 (100 is Go's default), or -1 (off until memory_limit)", r.GCPercent)
	}
	if r.GCPercent == -1 && r.MemoryLimit == 0 {
		bad("runtime.gc_percent", "-1 (no collection) needs a runtime.memory_limit, or memory grows without bound")
	}
	if r.MemoryLimit != 0 && r.MemoryLimit < 32<<20 {
		bad("runtime.memory_limit", "%d bytes is below 32MB: the collector would run all the time (0 means no limit)", r.MemoryLimit)
	}
}
