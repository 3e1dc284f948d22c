// Package eventlog keeps Parapet's events where operators can look at them:
// a bounded in-memory ring, a Redis stream capped by length that every
// instance writes to and reads from (so each sees all instances' events),
// and an optional NDJSON file rotated by size and kept for some days. It
// answers queries (newest first, paginated) and statistics (counts by
// decision and rule over time, top clients, countries, networks, paths and
// User-Agents), and serves both as JSON for the admin API.
//
// Events arrive already redacted (see events.Redactor): eventlog stores
// and shows them as they are.
package eventlog

import (
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/events"
)

// Record is one event as the API, the Redis stream and the file carry it:
// the fields of the JSON log line, with "kind" in place of "msg".
type Record struct {
	Time time.Time `json:"time"`
	// Kind is "request" or a happening (config, feed, under_attack, store, admin).
	Kind string `json:"kind"`
	// Instance names the Parapet instance that saw the event.
	Instance     string   `json:"instance,omitempty"`
	RequestID    string   `json:"request_id,omitempty"`
	ClientIP     string   `json:"client_ip,omitempty"`
	Method       string   `json:"method,omitempty"`
	Host         string   `json:"host,omitempty"`
	Path         string   `json:"path,omitempty"`
	Status       int      `json:"status,omitempty"`
	Bytes        int64    `json:"bytes,omitempty"`
	DurationMS   float64  `json:"duration_ms,omitempty"`
	DetectMS     float64  `json:"detect_ms,omitempty"`
	Decision     string   `json:"decision,omitempty"`
	Rule         string   `json:"rule,omitempty"`
	Mode         string   `json:"mode,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	Country      string   `json:"country,omitempty"`
	ASN          uint32   `json:"asn,omitempty"`
	UserAgent    string   `json:"user_agent,omitempty"`
	Tags         []string `json:"tags,omitempty"`
	Monitored    []string `json:"monitored,omitempty"`
	MatchedRules []string `json:"matched_rules,omitempty"`
	Error        string   `json:"error,omitempty"`
	Critical     bool     `json:"critical,omitempty"`
	Message      string   `json:"message,omitempty"`
	Actor        string   `json:"actor,omitempty"`
}

// FromEvent copies e into a Record seen by instance. Slices are copied, so
// the record does not share memory with the request that made e.
func FromEvent(e *events.Event, instance string) *Record {
	kind := e.Kind
	if kind == "" {
		kind = events.KindRequest
	}
	r := &Record{
		Time: e.Time, Kind: kind, Instance: instance, RequestID: e.RequestID, ClientIP: e.ClientIP,
		Method: e.Method, Host: e.Host, Path: e.Path, Status: e.Status, Bytes: e.Bytes,
		Decision: e.Decision, Rule: e.RuleID, Mode: e.Mode, Reason: e.Reason, Country: e.Country,
		ASN: e.ASN, UserAgent: e.UserAgent, Tags: clone(e.Tags), Monitored: clone(e.Monitored),
		MatchedRules: clone(e.Matched), Error: e.Error, Critical: e.Critical, Message: e.Message, Actor: e.Actor,
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	if e.Duration > 0 {
		r.DurationMS = float64(e.Duration.Microseconds()) / 1000
	}
	if e.Inspection > 0 {
		r.DetectMS = float64(e.Inspection.Microseconds()) / 1000
	}
	return r
}

func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// IsRequest reports whether r is a decided request (not a happening).
func (r *Record) IsRequest() bool { return r.Kind == events.KindRequest || r.Kind == "" }

// pathOnly is r's path without its query.
func (r *Record) pathOnly() string {
	p, _, _ := strings.Cut(r.Path, "?")
	return p
}
