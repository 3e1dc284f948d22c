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

	feedEntries, feedSuccess, feedSkipped, feedUp, csp *prometheus.Desc
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
	}
}

// Describe sends the descriptors of every metric the collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.feedEntries, c.feedSuccess, c.feedSkipped, c.feedUp, c.csp} {
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
	byDirective := map[string]int{}
	for _, v := range c.handler.Chain().CSPViolations() {
		byDirective[v.Directive] += v.Count
	}
	for d, n := range byDirective {
		ch <- prometheus.MustNewConstMetric(c.csp, prometheus.CounterValue, float64(n), d)
	}
}
