package waf

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the state of the running chain and its feeds as
// Prometheus metrics, read at scrape time: feed sizes, freshness and
// skipped lines, and the CSP violations reported so far.
type Collector struct {
	handler *Handler
	deps    *Deps

	feedEntries, feedSuccess, feedSkipped, feedUp, csp     *prometheus.Desc
	underAttack, underAttackFlips, rateLimitHits, bansMade *prometheus.Desc
	banRefused, upstreamRefused, storeErrors               *prometheus.Desc
}

// NewCollector returns a collector for the chain h serves and the feeds
// in deps.
func NewCollector(h *Handler, deps *Deps) *Collector {
	return &Collector{
		handler:     h,
		deps:        deps,
		feedEntries: prometheus.NewDesc("parapet_feed_entries", "Addresses and prefixes in the feed's current list.", []string{"feed"}, nil),
		feedSuccess: prometheus.NewDesc("parapet_feed_last_success_timestamp_seconds", "When the feed last loaded a good list (0: never).", []string{"feed"}, nil),
		feedSkipped: prometheus.NewDesc("parapet_feed_skipped_lines", "Lines the feed's last load could not parse and skipped.", []string{"feed"}, nil),
		feedUp:      prometheus.NewDesc("parapet_feed_up", "1 when the feed's last refresh succeeded, 0 when it failed (the last good list stays in use).", []string{"feed"}, nil),
		csp:         prometheus.NewDesc("parapet_csp_violations_total", "CSP violation reports received, by directive (since the config was last loaded).", []string{"directive"}, nil),

		underAttack:      prometheus.NewDesc("parapet_under_attack", "1 while under-attack mode is on (every client without clearance is challenged).", nil, nil),
		underAttackFlips: prometheus.NewDesc("parapet_under_attack_flips_total", "Times under-attack mode switched on or off.", nil, nil),
		rateLimitHits:    prometheus.NewDesc("parapet_rate_limit_hits_total", "Requests over a rate limit (since the config was last loaded).", nil, nil),
		bansMade:         prometheus.NewDesc("parapet_bans_made_total", "Bans made by rate-limit rules and automatic bans (since the config was last loaded).", nil, nil),
		banRefused:       prometheus.NewDesc("parapet_ban_refused_total", "Requests refused because their client is banned (since the config was last loaded).", nil, nil),
		upstreamRefused:  prometheus.NewDesc("parapet_upstream_busy_total", "Requests answered 503 because upstream_limit and its queue were full (since the config was last loaded).", nil, nil),
		storeErrors:      prometheus.NewDesc("parapet_store_errors_total", "Failed shared-store calls, decided by store.on_error.", nil, nil),
	}
}

// Describe sends the descriptors of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.feedEntries, c.feedSuccess, c.feedSkipped, c.feedUp, c.csp,
		c.underAttack, c.underAttackFlips, c.rateLimitHits, c.bansMade, c.banRefused, c.upstreamRefused, c.storeErrors} {
		ch <- d
	}
}

// Collect reads the feeds' and the chain's current state.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.deps.Feeds.Statuses() {
		ch <- prometheus.MustNewConstMetric(c.feedEntries, prometheus.GaugeValue, float64(s.Entries), s.Name)
		var ts float64
		if !s.LastSuccess.IsZero() {
			ts = float64(s.LastSuccess.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.feedSuccess, prometheus.GaugeValue, ts, s.Name)
		ch <- prometheus.MustNewConstMetric(c.feedSkipped, prometheus.GaugeValue, float64(s.Skipped), s.Name)
		up := 1.0
		if s.LastError != "" {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(c.feedUp, prometheus.GaugeValue, up, s.Name)
	}
	chain := c.handler.Chain()
	byDirective := map[string]int{}
	for _, v := range chain.CSPViolations() {
		byDirective[v.Directive] += v.Count
	}
	for d, n := range byDirective {
		ch <- prometheus.MustNewConstMetric(c.csp, prometheus.CounterValue, float64(n), d)
	}
	c.collectFlood(ch, chain)
}

// collectFlood exports the flood-defense counters of chain.
func (c *Collector) collectFlood(ch chan<- prometheus.Metric, chain *Chain) {
	f := chain.Flood()
	on := 0.0
	if f.UnderAttack {
		on = 1
	}
	ch <- prometheus.MustNewConstMetric(c.underAttack, prometheus.GaugeValue, on)
	for _, m := range []struct {
		d *prometheus.Desc
		v int64
	}{
		{c.underAttackFlips, f.UnderAttackFlips}, {c.rateLimitHits, f.RateLimitHits}, {c.bansMade, f.BansMade},
		{c.banRefused, f.BanRefused}, {c.upstreamRefused, f.UpstreamRefused}, {c.storeErrors, f.StoreErrors},
	} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v))
	}
}
