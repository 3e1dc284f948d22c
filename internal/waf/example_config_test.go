package waf

import (
	"context"
	"log/slog"
	"testing"

	"github.com/parapet-waf/parapet/internal/config"
)

// The example config users copy (parapet.example.yaml) loads and builds a
// chain as it stands: a key the code no longer knows, or a value it
// refuses, fails here before it fails for a user.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := config.Load("../../parapet.example.yaml", []string{"PARAPET_FEED_CACHE_DIR=" + t.TempDir()})
	if err != nil {
		t.Fatalf("parapet.example.yaml: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no feed downloads
	if _, err := Build(cfg, NewDeps(ctx, cfg.FeedCacheDir, slog.New(slog.DiscardHandler))); err != nil {
		t.Fatalf("parapet.example.yaml builds no chain: %v", err)
	}
}
