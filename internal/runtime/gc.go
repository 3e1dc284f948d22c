package runtime

import (
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/parapet-waf/parapet/internal/config"
)

// ApplyGC sets the garbage collector from the config's runtime
// section; the standard GOGC and GOMEMLIMIT variables, when set, win. It
// runs at start and on every reload.
func ApplyGC(r config.Runtime, getenv func(string) string, log *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(r.GCPercent)
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
