package ratelimit

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/store"
)

// RuleBanned is the rule id of requests refused because their client is banned.
const RuleBanned = "banned"

// Bans is the stage that refuses banned clients, and the way other parts
// ban. It runs right after the access rules: an allow rule's final
// decision stops the chain before it, so allow-listed clients are never
// refused by a ban.
type Bans struct {
	st      store.Store
	guard   *store.Guard
	log     *slog.Logger
	refused atomic.Int64
	made    atomic.Int64
}

// NewBans returns the bans stage over deps.Store.
func NewBans(deps Deps) *Bans {
	log := deps.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bans{st: deps.Store, guard: deps.Guard, log: log}
}

// Name implements decision.Stage.
func (b *Bans) Name() string { return "bans" }

// Check implements decision.Stage: one store lookup per request.
func (b *Bans) Check(ctx context.Context, _ *http.Request, info *decision.Info) decision.Decision {
	if b.guard.Skip() {
		if b.guard.FailOpen() {
			return decision.Pass
		}
		return unavailable()
	}
	var buf [64]byte
	ban, ok, err := b.st.Banned(ctx, string(AppendClientKey(buf[:0], info.ClientIP)))
	if err != nil {
		if b.guard.Failed("bans", err) {
			return decision.Pass
		}
		return unavailable()
	}
	b.guard.OK()
	if !ok {
		return decision.Pass
	}
	if ban.Action == "challenge" {
		if info.Cleared {
			return decision.Pass
		}
		b.refused.Add(1)
		return decision.Decision{Action: decision.Challenge, RuleID: RuleBanned, Reason: "banned (challenge) until " + ban.Until.UTC().Format(time.RFC3339) + ": " + ban.Reason}
	}
	b.refused.Add(1)
	return decision.Decision{Action: decision.Block, RuleID: RuleBanned, Reason: "banned until " + ban.Until.UTC().Format(time.RFC3339) + ": " + ban.Reason}
}

// Ban bans ip's client key for d with the reason, and logs it.
func (b *Bans) Ban(ctx context.Context, ip netip.Addr, reason, source, action string, d time.Duration) {
	now := time.Now()
	ban := store.Ban{Key: ClientKey(ip), Action: action, Reason: reason, Source: source, Created: now, Until: now.Add(d)}
	if err := b.st.AddBan(ctx, ban); err != nil {
		b.guard.Failed("ban", err)
		return
	}
	b.made.Add(1)
	b.log.Warn("client banned", "client", ban.Key, "action", action, "reason", reason, "source", source, "until", ban.Until.UTC().Format(time.RFC3339))
}

// Refused is the number of requests refused because of a ban (metric).
func (b *Bans) Refused() int64 { return b.refused.Load() }

// Made is the number of bans this process made (metric).
func (b *Bans) Made() int64 { return b.made.Load() }
