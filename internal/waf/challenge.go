package waf

import (
	"context"
	"sync"
	"time"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/denypage"
	"github.com/parapet-waf/parapet/internal/store"
)

// secretOnce is the random challenge secret used when the config names
// none: made once per process, so reloads keep clearances valid.
type secretOnce struct {
	once sync.Once
	b    []byte
}

// challengeSecret is challenge.secret, or the process's random secret
// (with a loud warning: instances will not share clearances).
func (d *Deps) challengeSecret(cfg *config.Config) []byte {
	if cfg.Challenge.Secret != "" {
		return []byte(cfg.Challenge.Secret)
	}
	d.secret.once.Do(func() {
		d.secret.b = challenge.NewSecret()
		if d.log != nil {
			d.log.Warn("challenge.secret (PARAPET_SECRET) is not set: using a random secret for this process. " +
				"Clearance cookies will not survive a restart and will not be accepted by other instances; " +
				"set the same PARAPET_SECRET on every instance")
		}
	})
	return d.secret.b
}

func newChallenger(cfg *config.Config, deps *Deps, pages *denypage.Renderer, nonces challenge.NonceStore) (*challenge.Challenger, error) {
	f := &deps.flood
	return challenge.New(cfg, challenge.Options{
		Secret:      deps.challengeSecret(cfg),
		Nonces:      nonces,
		Pages:       pages,
		Feeds:       deps.Feeds,
		Log:         deps.log,
		Counts:      guardedCounts{f.st, f.guard},
		UnderAttack: f.ua.On,
	})
}

// guardedCounts are the store's counters for the challenger, behind the
// store's guard: while the store is down the challenger is told so at
// once (and serves the base difficulty) instead of waiting on it.
type guardedCounts struct {
	st    store.Store
	guard *store.Guard
}

func (g guardedCounts) Incr(ctx context.Context, key string, delta int64, window time.Duration) (int64, error) {
	if g.guard.Skip() {
		return 0, store.ErrUnavailable
	}
	n, err := g.st.Incr(ctx, key, delta, window)
	if err != nil {
		g.guard.Failed("challenge difficulty", err)
		return 0, err
	}
	g.guard.OK()
	return n, nil
}
