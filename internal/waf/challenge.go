package waf

import (
	"sync"

	"github.com/parapet-waf/parapet/internal/challenge"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/denypage"
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
	return challenge.New(cfg, challenge.Options{
		Secret: deps.challengeSecret(cfg),
		Nonces: nonces,
		Pages:  pages,
		Feeds:  deps.Feeds,
		Log:    deps.log,
	})
}
