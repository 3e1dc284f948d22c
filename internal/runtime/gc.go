package runtime

import (
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"

	"github.com/parapet-waf/parapet/internal/config"
)

// ApplyGC sets the garbage collector from the config's runtime
// section (Config.GCPercent); the standard GOGC and GOMEMLIMIT variables,
// when set, win. It runs at start and on every reload.
func ApplyGC(cfg *config.Config, getenv func(string) string, log *slog.Logger) {
	r := cfg.Runtime
	if getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent())
	} else {
		log.Debug("GOGC is set: runtime.gc_percent not applied")
	}
	if getenv("GOMEMLIMIT") == "" {
		limit := int64(r.MemoryLimit)
		if limit == 0 {
			limit = math.MaxInt64
		}
		debug.SetMemoryLimit(limit)
	} else {
		log.Debug("GOMEMLIMIT is set: runtime.memory_limit not applied")
	}
}

// afterBuild runs once a config is built and swapped in (at start and on
// every reload): a build allocates several times what it keeps (the rule
// set's parse, the dictionaries' automata), so the garbage is collected
// and handed back to the OS now rather than kept as RSS until the
// scavenger gets to it; the executable's pages that only starting and
// building used leave the RSS too (dropExecPages); then it warns when
// what Go still holds leaves little room under the soft memory limit.
// warned records a failure to drop those pages already warned about
// (the Runtime's, so one warning a process).
func afterBuild(log *slog.Logger, warned *atomic.Bool) {
	debug.FreeOSMemory()
	releaseExecPages(log, warned, dropExecPages)
	warnMemoryHeadroom(log, debug.SetMemoryLimit(-1), goHeldBytes())
}

// releaseExecPages runs drop (dropExecPages) and logs what it did. It is
// never fatal: on failure the pages only stay resident. It warns once
// (warned false, then set), then logs failures at debug: a failure (no
// /proc, a kernel that refuses) would repeat at every reload.
func releaseExecPages(log *slog.Logger, warned *atomic.Bool, drop func() (uint64, error)) {
	n, err := drop()
	switch {
	case err == nil:
		log.Debug("executable's read-only pages dropped from RSS", "resident_mb", n>>20)
	case warned.CompareAndSwap(false, true):
		log.Warn("could not drop the executable's read-only pages from RSS (they stay resident; nothing else changes)", "err", err)
	default:
		log.Debug("could not drop the executable's read-only pages from RSS", "err", err)
	}
}

// goHeldBytes is the memory the Go runtime holds, as its soft memory
// limit counts it: everything mapped, less what was returned to the OS.
func goHeldBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	total, released := s[0].Value.Uint64(), s[1].Value.Uint64()
	if released > total {
		return 0
	}
	return total - released
}

// warnMemoryHeadroom logs a warning when held is at least half of the
// soft memory limit: requests' garbage then has less room than what is
// live, and the collector runs often (CPU) or the limit is overshot.
func warnMemoryHeadroom(log *slog.Logger, limit int64, held uint64) {
	if limit <= 0 || limit == math.MaxInt64 || held < uint64(limit)/2 {
		return
	}
	log.Warn("Go holds at least half of the soft memory limit after building the config; the collector will run often under load: raise runtime.memory_limit (PARAPET_RUNTIME_MEMORY_LIMIT)",
		"held_mb", held>>20, "memory_limit_mb", limit>>20)
}
