package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/parapet-waf/parapet/internal/decision"
)

// minValueWindow is the shortest time a client's set of values (tokens,
// sessions) is kept: with a per-second limit, a set that started over
// every second would hand out max_tokens_per_client fresh buckets each
// second.
const minValueWindow = time.Hour

// bucket is what a rule counts a request in: its keys, in order (the
// first refusal answers), under rule's limit.
type bucket struct {
	rule  *rule // nil: not counted by this rule (the anon throttle counts it)
	keys  [2][]byte
	n     int    // keys in use
	admit []byte // a new value that joins the client's set once keys[0] allows it
}

// valueBucket fills b for a rule keyed by header: or cookie: values,
// which Parapet cannot tell from made-up ones.
//
// Each client (IPv4 address, IPv6 /64) may bring at most rr.maxValues
// distinct values (rate_limits.throttles.max_tokens_per_client) in the
// limit's period (at least an hour), kept in the store so every instance
// counts the same set. A value in the set has a bucket of its own. A
// request without the value, or with a value not in the set, is counted in
// the client's bucket of the rule (the value replaced by the client's
// address): a made-up value, or none, buys nothing.
//
// For rate_limits.rules, a new value joins the set only with a request the
// client's bucket allows, and that request counts in the value's bucket
// too: bringing a new session costs the client one request of its own
// bucket, so one address gets at most as many fresh buckets per period as
// the limit lets requests through, and at most max_tokens_per_client. The
// user throttle admits a new token at once (up to the bound), and counts a
// token past it, or a request without one, in the anon throttle's bucket
// when that is on: a token holder's first call is not charged to an
// address whose anonymous budget others may have used up (a carrier NAT).
func (l *Limiter) valueBucket(ctx context.Context, b *bucket, r *http.Request, info *decision.Info) error {
	rr := b.rule
	var kb [2][128]byte
	var mb [64]byte
	member, ok := rr.appendValues(mb[:0], r)
	if !ok { // no value: the client's request
		if rr.user && l.anon != nil {
			b.rule = nil
			return nil
		}
		b.keys[0], _ = rr.appendKey(kb[0][:0], r, info, true)
		return nil
	}
	var sb [96]byte
	set := string(AppendClientKey(append(sb[:0], rr.set...), info.ClientIP))
	if rr.user {
		in, err := l.st.Member(ctx, set, string(member), rr.maxValues, rr.valueWindow())
		switch {
		case err != nil:
			return err
		case in:
			b.keys[0], _ = rr.appendKey(kb[0][:0], r, info, false)
		case l.anon != nil:
			info.AddTag("token-not-admitted")
			b.rule = l.anon
			b.keys[0], _ = l.anon.appendKey(kb[0][:0], r, info, false)
		default:
			info.AddTag("token-not-admitted")
			b.keys[0], _ = rr.appendKey(kb[0][:0], r, info, true)
		}
		return nil
	}
	in, err := l.st.Member(ctx, set, string(member), 0, rr.valueWindow()) // max 0: only asks
	if err != nil {
		return err
	}
	if !in {
		info.AddTag("key-value-new")
		b.keys[0], _ = rr.appendKey(kb[0][:0], r, info, true)
		b.admit, b.n = member, 2
	}
	b.keys[b.n-1], _ = rr.appendKey(kb[1][:0], r, info, false)
	return nil
}

// admit adds a new value to the client's set (if the set has room) once
// the client's bucket allowed its request.
func (l *Limiter) admit(ctx context.Context, rr *rule, info *decision.Info, member []byte) error {
	var sb [96]byte
	set := AppendClientKey(append(sb[:0], rr.set...), info.ClientIP)
	_, err := l.st.Member(ctx, string(set), string(member), rr.maxValues, rr.valueWindow())
	return err
}

func (rr *rule) valueWindow() time.Duration { return max(rr.limit.Period, minValueWindow) }

// appendValues appends the digest of the request's header and cookie
// values of the key (one value: the digest its bucket key uses); ok is
// false when any is missing.
func (rr *rule) appendValues(b []byte, r *http.Request) ([]byte, bool) {
	if rr.values == 1 {
		for _, k := range rr.key {
			if k.kind == keyHeader || k.kind == keyCookie {
				v := k.value(r)
				if v == "" {
					return b, false
				}
				return appendDigest(b, v), true
			}
		}
	}
	h := sha256.New()
	for _, k := range rr.key {
		if k.kind != keyHeader && k.kind != keyCookie {
			continue
		}
		v := k.value(r)
		if v == "" {
			return b, false
		}
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return hex.AppendEncode(b, h.Sum(nil)[:12]), true
}
