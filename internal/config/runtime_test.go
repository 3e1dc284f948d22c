package config

import (
	"strings"
	"testing"
)

func TestRuntimeDefaultsEnvironmentAndBadValues(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Runtime; r.GCPercent != 0 || cfg.GCPercent() != 400 || r.MemoryLimit != 80<<20 {
		t.Fatalf("defaults: %+v, collector at %d", r, cfg.GCPercent())
	}
	cfg, err = Load("", []string{"PARAPET_DETECTION_ENABLED=false"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.GCPercent(); got != 100 {
		t.Fatalf("without detection the default collector setting is %d, want Go's 100 (a request leaves a few KB)", got)
	}
	cfg, err = Load("", []string{"PARAPET_RUNTIME_GC_PERCENT=-1", "PARAPET_RUNTIME_MEMORY_LIMIT=1GB"})
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Runtime; r.GCPercent != -1 || r.MemoryLimit != 1<<30 {
		t.Fatalf("from the environment: %+v", r)
	}
	for text, want := range map[string]string{
		"runtime:\n  gc_percent: 5\n":                        ":2: runtime.gc_percent: 5 must be between 10 and 10000",
		"runtime:\n  gc_percent: -1\n  memory_limit: 0\n":    ":2: runtime.gc_percent: -1 (no collection) needs a runtime.memory_limit",
		"runtime:\n  gc_percent: 100\n  memory_limit: 1MB\n": ":3: runtime.memory_limit",
	} {
		_, err := Load(writeFile(t, text), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}
