package runtime

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
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

func TestReleaseExecPagesWarnsOnceThenLogsAtDebug(t *testing.T) {
	var warned atomic.Bool
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	fail := func() (uint64, error) { return 0, errors.New("no /proc here") }
	for range 3 {
		releaseExecPages(log, &warned, fail)
	}
	releaseExecPages(log, &warned, func() (uint64, error) { return 12 << 20, nil })
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"level=WARN", "level=DEBUG", "level=DEBUG", "level=DEBUG"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s, want %s", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "no /proc here") {
		t.Errorf("the warning does not carry the error: %s", lines[0])
	}
	if !strings.Contains(lines[3], "resident_mb=12") {
		t.Errorf("success does not say how much: %s", lines[3])
	}
}
