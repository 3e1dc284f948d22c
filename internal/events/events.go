// Package events turns what the chain decided about a request into one
// structured event, redacts it, and writes it to sinks (the JSON log line,
// metrics, and internal/eventlog's ring, Redis stream and file).
//
// Redaction happens once, when the event is built, through a Redactor
// (Path for the path and query, UserAgent for the User-Agent): every sink
// receives the same redacted event and none sees the raw values.
package events

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/memo"
)

// Kinds of events. A request event (Kind "" or KindRequest) is one decided
// request; the others are notable happenings, described by Message.
const (
	KindRequest     = "request"
	KindConfig      = "config"       // config loaded, reloaded or refused
	KindFeed        = "feed"         // a feed refreshed or failed
	KindUnderAttack = "under_attack" // under-attack mode on or off, and why
	KindStore       = "store"        // the shared store lost or regained
	KindAdmin       = "admin"        // a change made through the admin API
)

// Event is one request as Parapet saw it, or one notable happening (see
// Kind). It never holds headers, cookies or bodies, so nothing secret can
// leak through it.
type Event struct {
	// Kind is KindRequest ("" means the same) or another Kind* constant.
	Kind string
	// Message describes a happening that is not a request.
	Message string
	// Actor names who made an admin change (the admin token's name).
	Actor     string
	Time      time.Time
	RequestID string
	ClientIP  string
	Method    string
	Host      string
	// Path is the path with the query, secrets redacted (see Redactor).
	Path     string
	Status   int
	Bytes    int64
	Duration time.Duration
	// Decision is allow, block, challenge, throttle or redirect.
	Decision string
	RuleID   string
	Mode     string
	Reason   string
	Country  string
	// ASN is the client's autonomous system number (0: unknown; known
	// when the geo database has ASN data).
	ASN uint32
	// UserAgent is the client's User-Agent, redacted and cut short (see
	// Redactor.UserAgent).
	UserAgent string
	Tags      []string
	// Monitored names rules in monitor mode that matched, with the action
	// they would have taken ("path-dotfiles:block").
	Monitored []string
	// Matched lists the underlying rules behind the decision and the
	// monitored matches (CRS rule ids for attack detection).
	Matched []string
	// Error is set when the upstream failed (502/504).
	Error string
	// Critical marks events to look at now (a leak stopped).
	Critical bool
	// Inspection is the time attack detection added (0: not inspected).
	Inspection time.Duration
}

// Sink receives events. Implementations must be safe for concurrent use
// and must not block the request for long.
type Sink interface {
	Emit(ctx context.Context, e *Event)
}

// Multi fans an event out to several sinks.
type Multi []Sink

// Emit bounds e (Event.Bound) and sends it to every sink in order.
func (m Multi) Emit(ctx context.Context, e *Event) {
	e.Bound()
	for _, s := range m {
		s.Emit(ctx, e)
	}
}

// alwaysSecret are query parameter names (and substrings of names) that
// are redacted whatever the config says.
var alwaysSecret = []string{"pass", "pwd", "secret", "token", "key", "auth", "session", "signature", "sig", "code", "otp", "csrf", "credential"}

// Redactor hides the values of secret query parameters in logged paths.
type Redactor struct {
	names map[string]bool
	// secrets remembers secret's answer for recent parameter names: every
	// logged request asks it for each of its parameters.
	secrets *memo.Table[bool]
}

// NewRedactor redacts the always-secret names plus extra (case-insensitive).
func NewRedactor(extra []string) *Redactor {
	r := &Redactor{names: map[string]bool{}}
	for _, n := range extra {
		r.names[strings.ToLower(n)] = true
	}
	r.secrets = memo.New(256, 64, r.isSecret)
	return r
}

// secret reports whether a parameter of this (decoded) name is redacted.
func (r *Redactor) secret(name string) bool { return r.secrets.Get(name) }

func (r *Redactor) isSecret(name string) bool {
	n := strings.ToLower(name)
	if r.names[n] {
		return true
	}
	for _, s := range alwaysSecret {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Path returns path?query with secret values replaced by REDACTED. The
// query's order and unknown parts are kept; an unparsable pair is kept
// by name only. Bearer credentials are REDACTED wherever they are (a path
// segment, the value of a parameter with any name, percent-encoded or
// not): JSON Web Tokens, and the path segments Django's links carry
// (password reset tokens, signed values; see maskDjangoTokens).
func (r *Redactor) Path(path, rawQuery string) string {
	path = maskDjangoTokens(path)
	if rawQuery == "" {
		return maskJWTs(path)
	}
	// The query is copied as it is, up to each value to redact: most
	// queries have none, and cost one concatenation.
	var b strings.Builder
	started := false
	done := 0 // rawQuery[:done] is in b
	for pos := 0; pos <= len(rawQuery); {
		pair, _, _ := strings.Cut(rawQuery[pos:], "&")
		name, value, hasValue := strings.Cut(pair, "=")
		if hasValue {
			decoded, err := url.QueryUnescape(name)
			if err != nil {
				decoded = name
			}
			if r.secret(decoded) || err != nil || hidesBearer(value) {
				if !started {
					started = true
					b.Grow(len(path) + 1 + len(rawQuery))
					b.WriteString(path)
					b.WriteByte('?')
				}
				valueAt := pos + len(name) + 1
				b.WriteString(rawQuery[done:valueAt])
				b.WriteString("REDACTED")
				done = valueAt + len(value)
			}
		}
		pos += len(pair) + 1
	}
	if !started {
		return maskJWTs(path + "?" + rawQuery)
	}
	b.WriteString(rawQuery[done:])
	return maskJWTs(b.String())
}

// MaxUserAgent is the most of a User-Agent an event keeps (in bytes; the
// rest is cut and marked with "...").
const MaxUserAgent = 256

// UserAgent returns ua as events keep it: JSON Web Tokens REDACTED (as in
// paths), control characters replaced by spaces, at most MaxUserAgent bytes
// (cut on a character boundary). It is the one place a User-Agent is made
// fit for a sink.
func (r *Redactor) UserAgent(ua string) string {
	ua = maskJWTs(ua)
	clean := true
	for i := 0; i < len(ua); i++ {
		if ua[i] < 0x20 || ua[i] == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		b := []byte(ua)
		for i, c := range b {
			if c < 0x20 || c == 0x7f {
				b[i] = ' '
			}
		}
		ua = string(b)
	}
	return Cut(ua, MaxUserAgent)
}

// The most of each field an event keeps, in bytes (see Event.Bound).
const (
	MaxPath   = 2048
	MaxHost   = 255
	MaxMethod = 32
	MaxText   = 1024 // Reason, Message, Error
	MaxID     = 128  // RequestID, RuleID, Actor, Mode, Decision, Country, ClientIP
	MaxList   = 64   // entries of Tags, Monitored and Matched
)

// Bound cuts every field a client can make long to its maximum, so that
// an event's size is bounded whatever the request: a 30 KB request line
// is answered 414, and its event must not keep the 30 KB (each sink holds
// events: the ring, the Redis stream shared with the rate limits, the
// file, the stats' top lists). Multi.Emit calls it.
func (e *Event) Bound() {
	e.Path = Cut(e.Path, MaxPath)
	e.Host = Cut(e.Host, MaxHost)
	e.Method = Cut(e.Method, MaxMethod)
	e.Reason = Cut(e.Reason, MaxText)
	e.Message = Cut(e.Message, MaxText)
	e.Error = Cut(e.Error, MaxText)
	e.UserAgent = Cut(e.UserAgent, MaxUserAgent)
	for _, f := range []*string{&e.RequestID, &e.RuleID, &e.Actor, &e.Mode, &e.Decision, &e.Country, &e.ClientIP, &e.Kind} {
		*f = Cut(*f, MaxID)
	}
	for _, l := range []*[]string{&e.Tags, &e.Monitored, &e.Matched} {
		*l = boundList(*l)
	}
}

// boundList returns l with at most MaxList entries of at most MaxID bytes
// each: l itself when it is within both, else a copy (l may be the
// request's own state).
func boundList(l []string) []string {
	fits := len(l) <= MaxList
	for _, v := range l {
		fits = fits && len(v) <= MaxID
	}
	if fits {
		return l
	}
	c := make([]string, min(len(l), MaxList))
	for i := range c {
		c[i] = Cut(l[i], MaxID)
	}
	return c
}

// Cut returns s cut to at most max bytes on a character boundary, marked
// with "..." (which the max does not count). A cut string is a new one: it
// does not keep the long original alive.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	c := max
	for c > 0 && !utf8.RuneStart(s[c]) {
		c--
	}
	return s[:c] + "..."
}

// hidesBearer reports whether a raw query value, once decoded as Django
// decodes it, holds a credential that the raw spelling hides from
// maskJWTs and maskDjangoTokens ("%2E" for the dots of a JWT, a reset
// link in ?next=).
func hidesBearer(raw string) bool {
	if !strings.ContainsAny(raw, "%+:-") {
		return false
	}
	v, err := url.QueryUnescape(raw)
	if err != nil {
		return false
	}
	if v != raw && maskJWTs(v) != v && maskJWTs(raw) == raw {
		return true
	}
	return maskDjangoTokens(v) != v
}

// maskDjangoTokens replaces each path segment that has the shape of a
// credential in one of Django's links by REDACTED: a password reset token
// (django.contrib.auth's PasswordResetTokenGenerator, in
// /reset/<uidb64>/<token>/ and django-allauth's <uidb36>-<token>: a base36
// timestamp, "-", 20 or 32 hex digits) and a signed value (django.core.signing,
// in email confirmation and unsubscribe links: "value[:timestamp]:" and a
// base64url signature of 27 or 43 characters). Anyone holding such a link
// can use it (reset the password), so a log line must not carry it.
func maskDjangoTokens(path string) string {
	if !strings.ContainsAny(path, "-:") {
		return path
	}
	var b strings.Builder
	done, start := 0, 0 // path[:done] is in b; the segment starts at start
	for i := 0; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		if seg := path[start:i]; resetToken(seg) || signedValue(seg) {
			b.WriteString(path[done:start])
			b.WriteString("REDACTED")
			done = i
		}
		start = i + 1
	}
	if done == 0 {
		return path
	}
	b.WriteString(path[done:])
	return b.String()
}

// resetToken reports whether seg ends as a password reset token does:
// "-", 1 to 13 base36 digits, "-", 20 or 32 lower-case hex digits (the
// first "-" or the start of seg before the timestamp).
func resetToken(seg string) bool {
	dash := strings.LastIndexByte(seg, '-')
	if dash < 0 || !lowerHex(seg[dash+1:]) || len(seg)-dash-1 != 20 && len(seg)-dash-1 != 32 {
		return false
	}
	ts := seg[:dash]
	ts = ts[strings.LastIndexByte(ts, '-')+1:]
	if len(ts) == 0 || len(ts) > 13 {
		return false
	}
	for _, c := range []byte(ts) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

func lowerHex(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// signedValue reports whether seg ends as django.core.signing's output
// does: ":" and a base64url signature of 27 (SHA-1) or 43 (SHA-256)
// characters.
func signedValue(seg string) bool {
	colon := strings.LastIndexByte(seg, ':')
	sig := seg[colon+1:]
	if colon <= 0 || len(sig) != 27 && len(sig) != 43 {
		return false
	}
	for _, c := range []byte(sig) {
		if !base64URLByte(c) {
			return false
		}
	}
	return true
}

// jwtStart is how every JWT starts: the base64url of its header's `{"`.
const jwtStart = "eyJ"

// maskJWTs replaces each JSON Web Token in s (three base64url parts,
// joined by dots, the first starting "eyJ"; the signature may be empty)
// by REDACTED. Strings without "eyJ" are returned as they are.
func maskJWTs(s string) string {
	i := strings.Index(s, jwtStart)
	if i < 0 {
		return s
	}
	var b strings.Builder
	for i >= 0 {
		if n := jwtLen(s[i:]); n > 0 {
			b.WriteString(s[:i])
			b.WriteString("REDACTED")
			s = s[i+n:]
		} else {
			b.WriteString(s[:i+len(jwtStart)])
			s = s[i+len(jwtStart):]
		}
		i = strings.Index(s, jwtStart)
	}
	b.WriteString(s)
	return b.String()
}

// jwtLen is the length of the JWT s starts with (0: none): a header of at
// least 10 base64url bytes, a payload of at least 10, and a signature.
func jwtLen(s string) int {
	n := 0
	for part := 0; part < 3; part++ {
		start := n
		for n < len(s) && base64URLByte(s[n]) {
			n++
		}
		if part < 2 {
			if n-start < 10 || n == len(s) || s[n] != '.' {
				return 0
			}
			n++ // the dot
		}
	}
	return n
}

func base64URLByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
