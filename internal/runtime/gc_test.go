package runtime

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestWarnMemoryHeadroom(t *testing.T) {
	for _, tc := range []struct {
		limit int64
		held  uint64
		warn  bool
	}{
		{80 << 20, 39 << 20, false},
		{80 << 20, 40 << 20, true},
		{80 << 20, 70 << 20, true},
		{256 << 20, 70 << 20, false},
		{0, 70 << 20, false}, // no limit
	} {
		var buf bytes.Buffer
		warnMemoryHeadroom(slog.New(slog.NewTextHandler(&buf, nil)), tc.limit, tc.held)
		got := strings.Contains(buf.String(), "raise runtime.memory_limit")
		if got != tc.warn {
			t.Errorf("limit %d MB, held %d MB: warned %v, want %v (%s)", tc.limit>>20, tc.held>>20, got, tc.warn, buf.String())
		}
		if got && !strings.Contains(buf.String(), "memory_limit_mb=80") && tc.limit == 80<<20 {
			t.Errorf("the warning does not name the limit: %s", buf.String())
		}
	}
}

func TestGoHeldBytesCountsTheHeap(t *testing.T) {
	before := goHeldBytes()
	keep := make([]byte, 32<<20)
	for i := range keep {
		keep[i] = 1
	}
	if after := goHeldBytes(); after < before+16<<20 {
		t.Errorf("held %d MB before and %d MB after allocating 32 MB", before>>20, after>>20)
	}
	_ = keep[len(keep)-1]
}
