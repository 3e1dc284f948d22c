package eventlog

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/parapet-waf/parapet/internal/events"
)

// Stats resolution and reach.
const (
	// slotSpan is the finest time step of the counts by decision and rule.
	slotSpan = 10 * time.Second
	// MaxWindow is the longest window Stats answers for.
	MaxWindow = 24 * time.Hour
	// MinWindow is the shortest.
	MinWindow = time.Minute
	// topCap bounds the keys each top list keeps per minute or hour (the
	// space-saving algorithm: a new key past it replaces the least counted
	// one and inherits its count, so heavy hitters are never missed).
	topCap = 256
	// DefaultTop is how many entries each top list returns.
	DefaultTop = 10
	// MaxKey is the most of a key (a path, a User-Agent, a rule id) the
	// counter keeps, in bytes; a longer one is cut on a character
	// boundary and marked with "...". With topCap keys in 84 slots (60
	// minutes, 24 hours), the top paths hold at most about 12 MB however
	// long the paths clients send, and a path cut short still names the
	// heavy hitter.
	MaxKey = 512
)

// boundKey returns k cut to MaxKey bytes (events.Cut: a new string, so a
// map key does not keep a longer original alive).
func boundKey(k string) string { return events.Cut(k, MaxKey) }

// The dimensions of the top lists.
const (
	dimIP = iota
	dimCountry
	dimASN
	dimPath
	dimUA
	dims
)

type slot struct {
	epoch  int64 // the slot's start in slotSpan units since 1970; -1 unused
	counts [5]int64
	rules  map[string]int64
}

type topSlot struct {
	epoch int64
	keys  [dims]map[string]int64
}

// decisionIndex maps a decision to its counter: allow, block, challenge,
// throttle, other.
func decisionIndex(d string) int {
	switch d {
	case "allow":
		return 0
	case "block":
		return 1
	case "challenge":
		return 2
	case "throttle":
		return 3
	}
	return 4
}

// Counter aggregates request events for Stats: counts by decision, and
// refusals (block, challenge, throttle) by rule, in 10-second slots for 24
// hours; and the top keys of refusals by minute for an hour and by hour
// for a day. Its memory is bounded whatever clients send.
type Counter struct {
	mu      sync.Mutex
	slots   []slot
	minutes []topSlot // 60, one a minute
	hours   []topSlot // 24, one an hour
	now     func() time.Time
}

// NewCounter returns an empty Counter; now is its clock (time.Now when nil).
func NewCounter(now func() time.Time) *Counter {
	if now == nil {
		now = time.Now
	}
	c := &Counter{slots: make([]slot, int(MaxWindow/slotSpan)), minutes: make([]topSlot, 60), hours: make([]topSlot, 24), now: now}
	for i := range c.slots {
		c.slots[i].epoch = -1
	}
	for i := range c.minutes {
		c.minutes[i].epoch = -1
	}
	for i := range c.hours {
		c.hours[i].epoch = -1
	}
	return c
}

// Add counts a request record (happenings are ignored, as are records
// older than MaxWindow or more than a minute ahead of the clock).
func (c *Counter) Add(r *Record) {
	if !r.IsRequest() {
		return
	}
	now := c.now()
	if r.Time.Before(now.Add(-MaxWindow)) || r.Time.After(now.Add(time.Minute)) {
		return
	}
	t := r.Time.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := t / int64(slotSpan/time.Second)
	s := &c.slots[int(e%int64(len(c.slots)))]
	if s.epoch > e {
		return // older than the slots reach
	}
	if s.epoch != e {
		*s = slot{epoch: e}
	}
	di := decisionIndex(r.Decision)
	s.counts[di]++
	if di == 0 || di == 4 {
		return // rules and tops are of refusals only
	}
	if r.Rule != "" {
		if s.rules == nil {
			s.rules = map[string]int64{}
		}
		rule := boundKey(r.Rule)
		if _, ok := s.rules[rule]; ok || len(s.rules) < topCap {
			s.rules[rule]++
		}
	}
	// Every key is bounded here, whatever the record's origin: this
	// instance's events are bounded when emitted, but records read from
	// the Redis stream were written by other instances (or anyone with
	// access to that Redis).
	keys := [dims]string{boundKey(r.ClientIP), boundKey(r.Country), "", boundKey(r.pathOnly()), boundKey(r.UserAgent)}
	if r.ASN != 0 {
		keys[dimASN] = "AS" + strconv.FormatUint(uint64(r.ASN), 10)
	}
	if keys[dimUA] == "" {
		keys[dimUA] = "(none)"
	}
	for _, ts := range []*topSlot{topAt(c.minutes, t/60), topAt(c.hours, t/3600)} {
		if ts == nil {
			continue // older than the slots reach
		}
		for d, k := range keys {
			if k != "" {
				spaceSaving(ts.keys[d], k)
			}
		}
	}
}

// topAt is the slot for epoch, emptied if it held an older one; nil if it
// holds a newer one (epoch is past the ring's reach).
func topAt(ring []topSlot, epoch int64) *topSlot {
	ts := &ring[int(epoch%int64(len(ring)))]
	if ts.epoch > epoch {
		return nil
	}
	if ts.epoch != epoch {
		ts.epoch = epoch
		for d := range ts.keys {
			ts.keys[d] = map[string]int64{}
		}
	}
	return ts
}

// spaceSaving counts k in m, keeping at most topCap keys.
func spaceSaving(m map[string]int64, k string) {
	if _, ok := m[k]; ok || len(m) < topCap {
		m[k]++
		return
	}
	var minK string
	minV := int64(-1)
	for key, v := range m {
		if minV < 0 || v < minV {
			minK, minV = key, v
		}
	}
	delete(m, minK)
	m[k] = minV + 1
}

// Stats is what the stats endpoint answers.
type Stats struct {
	// Window is the span covered, ending now.
	Window string `json:"window"`
	// Step is each bucket's span.
	Step    string   `json:"step"`
	Buckets []Bucket `json:"buckets"`
	// ByRule counts refusals (block, challenge, throttle) by rule.
	ByRule map[string]int64 `json:"by_rule"`
	Top    Top              `json:"top"`
}

// Bucket counts requests by decision over one step (Other: redirects and
// Parapet's own answers), and refusals by rule.
type Bucket struct {
	T         time.Time        `json:"t"`
	Allow     int64            `json:"allow"`
	Block     int64            `json:"block"`
	Challenge int64            `json:"challenge"`
	Throttle  int64            `json:"throttle"`
	Other     int64            `json:"other"`
	Rules     map[string]int64 `json:"rules,omitempty"`
}

// Top lists the keys most often refused (block, challenge, throttle).
type Top struct {
	IPs        []KeyCount `json:"ips"`
	Countries  []KeyCount `json:"countries"`
	ASNs       []KeyCount `json:"asns"`
	Paths      []KeyCount `json:"paths"`
	UserAgents []KeyCount `json:"user_agents"`
}

// KeyCount is one entry of a top list.
type KeyCount struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// ParseWindow reads a stats window: a Go duration from MinWindow to MaxWindow.
func ParseWindow(s string) (time.Duration, error) {
	if s == "" {
		return time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < MinWindow || d > MaxWindow {
		return 0, &ParseError{"window", fmt.Sprintf("%q must be a duration from 1m to 24h (5m, 1h, 24h)", s)}
	}
	return d, nil
}

// stepFor is the bucket span for a window: about 60 buckets, a multiple
// of slotSpan.
func stepFor(window time.Duration) time.Duration {
	step := (window/60 + slotSpan - 1) / slotSpan * slotSpan
	if step < slotSpan {
		step = slotSpan
	}
	return step
}

// Stats summarises the window ending now: buckets oldest first, counts by
// rule, and the top n of each list (DefaultTop when n <= 0).
func (c *Counter) Stats(window time.Duration, n int) Stats {
	if n <= 0 {
		n = DefaultTop
	}
	now := c.now().UTC()
	step := stepFor(window)
	stepSlots := int64(step / slotSpan)
	span := int64(slotSpan / time.Second)
	// The last bucket ends with the current slot; buckets are aligned on
	// multiples of step since 1970.
	endSlot := now.Unix() / span
	lastStart := endSlot / stepSlots * stepSlots
	nb := int64((window + step - 1) / step)
	firstStart := lastStart - (nb-1)*stepSlots
	st := Stats{Window: window.String(), Step: step.String(), ByRule: map[string]int64{}, Buckets: make([]Bucket, nb)}
	for i := range st.Buckets {
		st.Buckets[i].T = time.Unix((firstStart+int64(i)*stepSlots)*span, 0).UTC()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := firstStart; e <= endSlot; e++ {
		s := &c.slots[int(e%int64(len(c.slots)))]
		if s.epoch != e {
			continue
		}
		b := &st.Buckets[(e-firstStart)/stepSlots]
		b.Allow += s.counts[0]
		b.Block += s.counts[1]
		b.Challenge += s.counts[2]
		b.Throttle += s.counts[3]
		b.Other += s.counts[4]
		for r, v := range s.rules {
			if b.Rules == nil {
				b.Rules = map[string]int64{}
			}
			b.Rules[r] += v
			st.ByRule[r] += v
		}
	}
	var sum [dims]map[string]int64
	for d := range sum {
		sum[d] = map[string]int64{}
	}
	add := func(ring []topSlot, from, to int64) {
		for e := from; e <= to; e++ {
			ts := &ring[int(e%int64(len(ring)))]
			if ts.epoch != e {
				continue
			}
			for d := range ts.keys {
				for k, v := range ts.keys[d] {
					sum[d][k] += v
				}
			}
		}
	}
	from := time.Unix(firstStart*span, 0)
	if window <= time.Hour {
		add(c.minutes, from.Unix()/60, now.Unix()/60)
	} else {
		add(c.hours, from.Unix()/3600, now.Unix()/3600)
	}
	st.Top = Top{IPs: topN(sum[dimIP], n), Countries: topN(sum[dimCountry], n), ASNs: topN(sum[dimASN], n),
		Paths: topN(sum[dimPath], n), UserAgents: topN(sum[dimUA], n)}
	return st
}

func topN(m map[string]int64, n int) []KeyCount {
	out := make([]KeyCount, 0, len(m))
	for k, v := range m {
		out = append(out, KeyCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
