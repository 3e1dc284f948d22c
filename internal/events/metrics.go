package events

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the Prometheus sink: it counts every event by decision and
// rule, times requests, and serves its own registry (nothing is registered
// globally, so tests and reloads can build as many as they like).
//
// Label values come from the config and Parapet's own rule ids, never from
// the request, so the number of series stays bounded whatever clients send.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	monitored *prometheus.CounterVec
	statuses  *prometheus.CounterVec
	upstream  *prometheus.CounterVec
	critical  prometheus.Counter
	reloads   *prometheus.CounterVec
	detection prometheus.Histogram

	// The series every plain allowed request touches, looked up once
	// rather than by label values on every request.
	allowed        prometheus.Counter
	allowedLatency prometheus.Observer
	classes        [6]prometheus.Counter // by status/100, 1..5
}

// NewMetrics returns a metrics sink with Go runtime and process collectors
// and the given version as parapet_build_info.
func NewMetrics(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parapet_requests_total",
			Help: "Requests by the decision that ended them and the rule that made it (empty for a plain allow).",
		}, []string{"decision", "rule"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parapet_request_duration_seconds",
			Help:    "Time from receiving a request to the end of its response, by decision.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"decision"}),
		monitored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parapet_rule_matches_not_enforced_total",
			Help: "Rules that matched without stopping the request (monitor mode or a log action), with the action they name.",
		}, []string{"rule", "action"}),
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parapet_responses_total",
			Help: "Responses sent to clients by status class (2xx, 3xx, 4xx, 5xx).",
		}, []string{"class"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parapet_upstream_errors_total",
			Help: "Requests the upstream failed (no answer, timeout, reset), by the status Parapet answered.",
		}, []string{"status"}),
		critical: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parapet_critical_events_total",
			Help: "Events someone should look at now (a DEBUG page, traceback or secret stopped by the leak guard).",
		}),
		detection: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parapet_detection_duration_seconds",
			Help: "Time attack detection added to an inspected request (the rule set on the way in and on the response, with any wait for an inspection slot).",
			// Fine below 2 ms, where a GET's cost lies, so its p99 can be read.
			Buckets: []float64{.0001, .0002, .0003, .0004, .0005, .0006, .0007, .0008, .0009, .001, .00125, .0015, .002, .003, .005, .01, .025, .05, .1, .25, 1, 2.5, 10},
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parapet_config_reloads_total",
			Help: "Config reloads by result (applied or refused).",
		}, []string{"result"}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "parapet_build_info",
		Help:        "Always 1; the version label names the running build.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	m.allowed = m.requests.WithLabelValues("allow", "")
	m.allowedLatency = m.duration.WithLabelValues("allow")
	for c := 1; c <= 5; c++ {
		m.classes[c] = m.statuses.WithLabelValues(statusClass(c * 100))
	}
	reg.MustRegister(m.requests, m.duration, m.monitored, m.statuses, m.upstream, m.critical, m.reloads, m.detection, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Emit counts one event.
func (m *Metrics) Emit(_ context.Context, e *Event) {
	if e.Decision == "allow" && e.RuleID == "" {
		m.allowed.Inc()
		m.allowedLatency.Observe(e.Duration.Seconds())
	} else {
		m.requests.WithLabelValues(e.Decision, e.RuleID).Inc()
		m.duration.WithLabelValues(e.Decision).Observe(e.Duration.Seconds())
	}
	for _, label := range e.Monitored {
		rule, action, _ := strings.Cut(label, ":")
		action, _, _ = strings.Cut(action, ":")
		m.monitored.WithLabelValues(rule, action).Inc()
	}
	if c := e.Status / 100; c >= 1 && c <= 5 {
		m.classes[c].Inc()
	} else {
		m.statuses.WithLabelValues(statusClass(e.Status)).Inc()
	}
	if e.Error != "" {
		m.upstream.WithLabelValues(strconv.Itoa(e.Status)).Inc()
	}
	if e.Critical {
		m.critical.Inc()
	}
	if e.Inspection > 0 {
		m.detection.Observe(e.Inspection.Seconds())
	}
}

// Reloaded counts a config reload: applied (ok) or refused.
func (m *Metrics) Reloaded(ok bool) {
	result := "refused"
	if ok {
		result = "applied"
	}
	m.reloads.WithLabelValues(result).Inc()
}

// Register adds further collectors (feed status, CSP violations, the
// store…) owned by other parts of Parapet.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Handler serves the metrics in the Prometheus text format. With a
// non-empty token, only requests carrying "Authorization: Bearer <token>"
// are answered (BearerMatches); others get 401.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !BearerMatches(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parapet metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <metrics.token>", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// BearerMatches reports whether r carries "Authorization: Bearer <token>".
// It compares SHA-256 digests in constant time: how long it takes tells
// nothing about the token, not even its length (subtle.ConstantTimeCompare
// on the raw values returns at once when the lengths differ).
func BearerMatches(r *http.Request, token string) bool {
	got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	want := sha256.Sum256([]byte("Bearer " + token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}
