package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parapet-waf/parapet/internal/redact"
)

// RedisOptions configure a Redis store.
type RedisOptions struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS
	// (Heroku's REDIS_URL form; add ?skip_verify=true, or set TLSSkipVerify,
	// for Heroku Key-Value Store's self-signed certificates).
	URL string
	// TLSSkipVerify accepts the server's certificate without verifying it
	// (rediss:// only): Heroku's REDIS_URL, which Heroku rotates, can be
	// used as it is instead of copied with ?skip_verify=true appended.
	TLSSkipVerify bool
	// Prefix starts every key ("parapet:").
	Prefix string
	// Timeout bounds each command (default 250ms): a slow Redis must not
	// hold requests.
	Timeout time.Duration
}

// Redis is the Store shared by several Parapet instances.
type Redis struct {
	c       *redis.Client
	prefix  string
	timeout time.Duration
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Redis store. It does not connect until first used;
// go-redis reconnects by itself after Redis comes back.
func NewRedis(opts RedisOptions) (*Redis, error) {
	o, err := redis.ParseURL(opts.URL)
	if err != nil {
		// go-redis's error may quote the URL, password and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("store.url %s: %w", redact.URL(opts.URL), err)
	}
	if opts.TLSSkipVerify && o.TLSConfig != nil {
		o.TLSConfig.InsecureSkipVerify = true
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 250 * time.Millisecond
	}
	o.DialTimeout = opts.Timeout * 4
	o.ReadTimeout = opts.Timeout
	o.WriteTimeout = opts.Timeout
	o.MaxRetries = 1
	o.PoolTimeout = opts.Timeout
	o.DialerRetries = 1 // a dead Redis must not hold requests; Guard retries later
	silenceOnce.Do(func() { redis.SetLogger(discardLogger{}) })
	return &Redis{c: redis.NewClient(o), prefix: opts.Prefix, timeout: opts.Timeout}, nil
}

// go-redis logs dial failures itself, as plain text on stderr, several
// times a second while Redis is down. Its logger is process-wide; Parapet
// reports store errors through Guard (JSON, rate-limited) instead.
var silenceOnce sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...interface{}) {}

// Ping checks the connection.
func (r *Redis) Ping(ctx context.Context) error {
	return wrap(r.c.Ping(ctx).Err())
}

// Close closes the connection pool.
func (r *Redis) Close() error { return r.c.Close() }

// bound is the context a command runs under: the caller's values but not
// its cancellation, and a deadline of the store's own. A request's context
// ends when its client hangs up; a command cut short by that would count
// as a store failure (and go-redis drops the connection it was on), so any
// client could trip the store's guard by hanging up (see Guard). The
// command is short and bounded by d; letting it finish costs nothing.
func bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), d)
}

func wrap(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	return fmt.Errorf("%w: redis: %w", ErrUnavailable, err)
}

// gcraScript runs GCRA atomically on Redis's clock (one clock for all
// instances). KEYS[1] holds the theoretical arrival time in microseconds.
// ARGV: emission interval and burst tolerance, in microseconds.
// Returns {allowed, remaining, retry_after_us, reset_after_us}.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local allow_at = nxt - tolerance
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, nxt - now}
`)

// GCRA implements Store.
func (r *Redis) GCRA(ctx context.Context, key string, l Limit) (Result, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	interval := l.Interval().Microseconds()
	if interval < 1 {
		interval = 1
	}
	vals, err := gcraScript.Run(ctx, r.c, []string{r.prefix + key}, interval, interval*int64(l.Burst)).Int64Slice()
	if err != nil {
		return Result{}, wrap(err)
	}
	if len(vals) != 4 {
		return Result{}, fmt.Errorf("%w: redis: GCRA script returned %d values", ErrUnavailable, len(vals))
	}
	return Result{
		Allowed:    vals[0] == 1,
		Remaining:  int(vals[1]),
		RetryAfter: time.Duration(vals[2]) * time.Microsecond,
		ResetAfter: time.Duration(vals[3]) * time.Microsecond,
	}, nil
}

var incrScript = redis.NewScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
`)

// Incr implements Store.
func (r *Redis) Incr(ctx context.Context, key string, delta int64, window time.Duration) (int64, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	ms := window.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	n, err := incrScript.Run(ctx, r.c, []string{r.prefix + key}, delta, ms).Int64()
	return n, wrap(err)
}

// memberScript adds ARGV[1] to the set KEYS[1] unless it holds ARGV[2]
// members; the set expires ARGV[3] ms after its first member. Returns 1
// when ARGV[1] is in the set.
var memberScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`)

// Member implements Store.
func (r *Redis) Member(ctx context.Context, key, member string, max int, window time.Duration) (bool, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	ms := window.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	n, err := memberScript.Run(ctx, r.c, []string{r.prefix + key}, member, max, ms).Int64()
	if err != nil {
		return false, wrap(err)
	}
	return n == 1, nil
}

// SetNX implements Store.
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	ok, err := r.c.SetNX(ctx, r.prefix+key, value, ttl).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, wrap(err)
	}
	return ok, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	return wrap(r.c.Set(ctx, r.prefix+key, value, ttl).Err())
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	v, err := r.c.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(err)
	}
	return v, true, nil
}

// Bans are one key each (ban:<key>, JSON, expiring with the ban) plus a
// sorted set (bans, scored by expiry) to list them.
func (r *Redis) banKey(key string) string { return r.prefix + "ban:" + key }
func (r *Redis) banIndex() string         { return r.prefix + "bans" }

// AddBan implements Store.
func (r *Redis) AddBan(ctx context.Context, b Ban) error {
	ttl := time.Until(b.Until)
	if ttl <= 0 {
		return nil
	}
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.banKey(b.Key), data, ttl)
		p.ZAdd(ctx, r.banIndex(), redis.Z{Score: float64(b.Until.Unix()), Member: b.Key})
		return nil
	})
	return wrap(err)
}

// RemoveBan implements Store.
func (r *Redis) RemoveBan(ctx context.Context, key string) (bool, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	var del *redis.IntCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, r.banKey(key))
		p.ZRem(ctx, r.banIndex(), key)
		return nil
	})
	if err != nil {
		return false, wrap(err)
	}
	return del.Val() > 0, nil
}

// Banned implements Store.
func (r *Redis) Banned(ctx context.Context, key string) (Ban, bool, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	data, err := r.c.Get(ctx, r.banKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Ban{}, false, nil
	}
	if err != nil {
		return Ban{}, false, wrap(err)
	}
	var b Ban
	if err := json.Unmarshal(data, &b); err != nil {
		return Ban{}, false, fmt.Errorf("ban %s: %w", key, err)
	}
	return b, true, nil
}

// Bans implements Store.
func (r *Redis) Bans(ctx context.Context) ([]Ban, error) {
	ctx, cancel := bound(ctx, 4*r.timeout)
	defer cancel()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	if err := r.c.ZRemRangeByScore(ctx, r.banIndex(), "-inf", "("+now).Err(); err != nil {
		return nil, wrap(err)
	}
	keys, err := r.c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: r.banIndex(), Start: now, Stop: "+inf", ByScore: true}).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]Ban, 0, len(keys))
	for _, k := range keys {
		b, ok, err := r.Banned(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, b)
		}
	}
	sortBans(out)
	return out, nil
}

// Heartbeat records that the instance id is alive now; Instances lists
// those seen within their ttl.
func (r *Redis) Heartbeat(ctx context.Context, id string, now time.Time) error {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	return wrap(r.c.ZAdd(ctx, r.prefix+"instances", redis.Z{Score: float64(now.UnixMilli()), Member: id}).Err())
}

// Instances lists the instances whose last heartbeat is after since,
// with that heartbeat; older ones are forgotten.
func (r *Redis) Instances(ctx context.Context, since time.Time) (map[string]time.Time, error) {
	ctx, cancel := bound(ctx, r.timeout)
	defer cancel()
	key := r.prefix + "instances"
	min := strconv.FormatInt(since.UnixMilli(), 10)
	_ = r.c.ZRemRangeByScore(ctx, key, "-inf", "("+min).Err()
	zs, err := r.c.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: min, Max: "+inf"}).Result()
	if err != nil {
		return nil, wrap(err)
	}
	out := make(map[string]time.Time, len(zs))
	for _, z := range zs {
		if id, ok := z.Member.(string); ok {
			out[id] = time.UnixMilli(int64(z.Score))
		}
	}
	return out, nil
}
