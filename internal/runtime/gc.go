package runtime

import (
	"log/slog"
	"math"
	"runtime/debug"

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
