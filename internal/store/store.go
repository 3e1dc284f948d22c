// Package store is Parapet's shared state: rate-limit buckets (GCRA),
// windowed counters, bans, one-time nonces and small flags. Memory (the
// default, bounded, one instance) and Redis (several instances share it)
// implement the same Store interface.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Store is the state Parapet's stages share. Implementations are safe for
// concurrent use. Keys are opaque strings; callers prefix them by use.
type Store interface {
	// GCRA takes one request from key's bucket under limit l and says
	// whether it was allowed.
	GCRA(ctx context.Context, key string, l Limit) (Result, error)
	// Incr adds delta to key's counter in a fixed window that starts with
	// the first Incr and lasts window, and returns the new count.
	Incr(ctx context.Context, key string, delta int64, window time.Duration) (int64, error)
	// Member adds member to the set at key unless the set already holds
	// max members, and reports whether member is in the set now. The set
	// starts with its first member and lasts window (a fixed window, like
	// Incr's). It bounds the distinct values a client may bring, e.g. API
	// tokens per address.
	Member(ctx context.Context, key, member string, max int, window time.Duration) (bool, error)
	// SetNX stores value under key for ttl unless key is already present;
	// true means it was newly set (a one-time nonce not seen before).
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Set stores value under key for ttl, replacing any value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns key's value; ok is false when it is absent or expired.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// AddBan bans b.Key until b.Until, replacing an earlier ban of the key.
	AddBan(ctx context.Context, b Ban) error
	// RemoveBan lifts the ban of key and reports whether there was one.
	RemoveBan(ctx context.Context, key string) (bool, error)
	// Banned returns key's ban if it is banned now.
	Banned(ctx context.Context, key string) (Ban, bool, error)
	// Bans lists the bans in force, soonest expiry first.
	Bans(ctx context.Context) ([]Ban, error)
	// Close releases connections and flushes what must survive a restart.
	Close() error
}

// Limit is a GCRA rate: Rate requests per Period, with bursts of up to
// Burst requests at once.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// Interval is the emission interval: the time one request "costs".
func (l Limit) Interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// String renders the limit the way ParseLimit reads it.
func (l Limit) String() string {
	s := strconv.Itoa(l.Rate) + "/" + periodName(l.Period)
	if l.Burst != l.Rate {
		s += " burst " + strconv.Itoa(l.Burst)
	}
	return s
}

func periodName(d time.Duration) string {
	switch d {
	case time.Second:
		return "second"
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return d.String()
}

// ParseLimit reads "5/minute", "5/minute burst 10", "100/hour",
// "10/s", "1000/day" or "30/10s". Without a burst, the burst is the rate
// (a full period's worth at once, then one per interval).
func ParseLimit(s string) (Limit, error) {
	fields := strings.Fields(s)
	if len(fields) != 1 && !(len(fields) == 3 && fields[1] == "burst") {
		return Limit{}, fmt.Errorf("%q is not a limit like \"5/minute\" or \"5/minute burst 10\"", s)
	}
	n, per, ok := strings.Cut(fields[0], "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q is not a limit like \"5/minute\" (rate/period)", s)
	}
	rate, err := strconv.Atoi(n)
	if err != nil || rate <= 0 {
		return Limit{}, fmt.Errorf("%q: the rate must be a positive whole number", s)
	}
	var period time.Duration
	switch per {
	case "s", "sec", "second":
		period = time.Second
	case "m", "min", "minute":
		period = time.Minute
	case "h", "hour":
		period = time.Hour
	case "d", "day":
		period = 24 * time.Hour
	default:
		if period, err = time.ParseDuration(per); err != nil || period <= 0 {
			return Limit{}, fmt.Errorf("%q: the period must be second, minute, hour, day or a duration like 10s", s)
		}
	}
	l := Limit{Rate: rate, Period: period, Burst: rate}
	if len(fields) == 3 {
		if l.Burst, err = strconv.Atoi(fields[2]); err != nil || l.Burst <= 0 {
			return Limit{}, fmt.Errorf("%q: the burst must be a positive whole number", s)
		}
	}
	if l.Interval() <= 0 {
		return Limit{}, fmt.Errorf("%q: more than one request per nanosecond", s)
	}
	return l, nil
}

// Result is the outcome of one GCRA decision.
type Result struct {
	// Allowed reports whether the request fits the limit.
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is how long until the next request would be allowed
	// (0 when Allowed).
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// gcra is the Generic Cell Rate Algorithm on a theoretical arrival time
// (tat, in nanoseconds; 0 for a new key). It returns the decision and the
// new tat to store (unchanged when denied).
func gcra(now, tat int64, l Limit) (Result, int64) {
	t := int64(l.Interval())
	tolerance := t * int64(l.Burst)
	if tat < now {
		tat = now
	}
	next := tat + t
	allowAt := next - tolerance
	if now < allowAt {
		return Result{RetryAfter: time.Duration(allowAt - now), ResetAfter: time.Duration(tat - now)}, tat
	}
	return Result{
		Allowed:    true,
		Remaining:  int((now - allowAt) / t),
		ResetAfter: time.Duration(next - now),
	}, next
}

// Ban keeps a client out until Until.
type Ban struct {
	// Key is what is banned: a client IP (IPv6 as its /64).
	Key string `json:"key"`
	// Action is "block" (403) or "challenge".
	Action string `json:"action"`
	// Reason says why, for logs and `parapet ban list`.
	Reason string `json:"reason"`
	// Source is who banned: "auto", "cli", or a rate-limit rule id.
	Source string `json:"source"`
	// Created is when the ban was made.
	Created time.Time `json:"created"`
	// Until is when it ends.
	Until time.Time `json:"until"`
}

// ErrUnavailable wraps errors from a store that cannot be reached.
var ErrUnavailable = errors.New("store unavailable")
