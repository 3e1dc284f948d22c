package ratelimit

import (
	"context"
	"net/http"
	"time"

	"github.com/parapet-waf/parapet/internal/decision"
)

// minTokenWindow is the shortest time a client's set of tokens is kept:
// with a per-second user limit, a set that started over every second
// would hand out max_tokens_per_client fresh buckets each second.
const minTokenWindow = time.Hour

// admitToken reports whether the token of a throttle-user request may
// have a bucket of its own. Parapet cannot tell a real token from a made-up
// one, so each client (IPv4 address, IPv6 /64) may bring at most
// rr.maxTokens distinct tokens in the user limit's period (at least an
// hour), kept in the store so every instance counts the same set; a token
// it has brought before stays admitted. The caller counts a token past the
// bound as no token at all (the anon throttle, by client): a random token
// on each request buys nothing.
func (l *Limiter) admitToken(ctx context.Context, rr *rule, r *http.Request, info *decision.Info) (bool, error) {
	var kb, mb [64]byte
	key := AppendClientKey(append(kb[:0], "tk:"...), info.ClientIP)
	member := appendDigest(mb[:0], r.Header.Get(rr.key[0].name))
	window := max(rr.limit.Period, minTokenWindow)
	return l.st.Member(ctx, string(key), string(member), rr.maxTokens, window)
}
