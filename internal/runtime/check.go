package runtime

import (
	"context"
	"errors"
	"log/slog"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/waf"
)

// Check loads the config from file and environ and builds a chain from
// it, so that `parapet check` refuses exactly what run and a reload would
// refuse; feeds are checked for their settings but not downloaded. Every
// problem is reported in one pass: the chain is built from what loaded
// even when the file or the environment had problems (the parts with
// problems at their defaults), and both lists are returned together.
func Check(file string, environ []string) (*config.Config, error) {
	cfg, loadErr := config.LoadAll(file, environ)
	if cfg == nil {
		return nil, loadErr
	}
	buildErr := buildForCheck(cfg, loadErr != nil)
	if loadErr == nil && buildErr == nil {
		return cfg, nil
	}
	var all config.Errors
	for _, err := range []error{loadErr, buildErr} {
		var es config.Errors
		switch {
		case err == nil:
		case errors.As(err, &es):
			all = append(all, es...)
		default:
			all = append(all, &config.Error{Reason: err.Error()})
		}
	}
	return nil, all.Sorted()
}

// buildForCheck builds a chain from cfg and throws it away. When cfg
// already has problems (loadFailed), a builder that cannot cope with a
// value validation refused is not reported as a crash: the problems found
// so far are.
func buildForCheck(cfg *config.Config, loadFailed bool) (err error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if loadFailed {
		defer func() {
			if recover() != nil {
				err = nil
			}
		}()
	}
	_, err = waf.Build(cfg, waf.NewDeps(ctx, cfg.FeedCacheDir, slog.New(slog.DiscardHandler)))
	return err
}
