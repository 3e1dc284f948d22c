package events

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// LineSink writes one JSON line per event straight to W, in the same shape
// as the slog JSON handler's lines ("time", "level", "msg" first), without
// slog's reflection: this is the per-request hot path.
type LineSink struct {
	W io.Writer
	// Level drops events below it (info for allowed requests, warn for
	// blocks, error for critical ones); nil logs everything.
	Level slog.Leveler
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Emit writes the event as one line.
func (s LineSink) Emit(_ context.Context, e *Event) {
	level := e.level()
	if s.Level != nil && level < s.Level.Level() {
		return
	}
	bp := linePool.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, `{"time":`...)
	b = appendString(b, e.Time.Format(time.RFC3339Nano))
	b = append(b, `,"level":`...)
	b = appendString(b, level.String())
	if e.Kind != "" && e.Kind != KindRequest {
		b = append(b, `,"msg":`...)
		b = appendString(b, e.Kind)
		b = appendField(b, "message", e.Message)
		if e.Actor != "" {
			b = appendField(b, "actor", e.Actor)
		}
		if e.ClientIP != "" {
			b = appendField(b, "client_ip", e.ClientIP)
		}
		b = append(b, "}\n"...)
		_, _ = s.W.Write(b)
		*bp = b
		linePool.Put(bp)
		return
	}
	b = append(b, `,"msg":"request","request_id":`...)
	b = appendString(b, e.RequestID)
	b = appendField(b, "client_ip", e.ClientIP)
	b = appendField(b, "method", e.Method)
	b = appendField(b, "host", e.Host)
	b = appendField(b, "path", e.Path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, e.Bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(e.Duration.Microseconds())/1000, 'f', -1, 64)
	if e.Inspection > 0 {
		b = append(b, `,"detect_ms":`...)
		b = strconv.AppendFloat(b, float64(e.Inspection.Microseconds())/1000, 'f', -1, 64)
	}
	b = appendField(b, "decision", e.Decision)
	if e.RuleID != "" {
		b = appendField(b, "rule", e.RuleID)
		b = appendField(b, "mode", e.Mode)
	}
	if e.Reason != "" {
		b = appendField(b, "reason", e.Reason)
	}
	if e.Country != "" {
		b = appendField(b, "country", e.Country)
	}
	if e.ASN != 0 {
		b = append(b, `,"asn":`...)
		b = strconv.AppendUint(b, uint64(e.ASN), 10)
	}
	if e.UserAgent != "" {
		b = appendField(b, "user_agent", e.UserAgent)
	}
	b = appendList(b, "tags", e.Tags)
	b = appendList(b, "monitored", e.Monitored)
	b = appendList(b, "matched_rules", e.Matched)
	if e.Error != "" {
		b = appendField(b, "error", e.Error)
	}
	b = append(b, "}\n"...)
	_, _ = s.W.Write(b)
	*bp = b
	linePool.Put(bp)
}

// level is the event's log level: error for critical events, warn for
// enforced blocks, info otherwise.
func (e *Event) level() slog.Level {
	switch {
	case e.Critical:
		return slog.LevelError
	case e.Kind != "" && e.Kind != KindRequest:
		return slog.LevelInfo
	case e.Decision != "allow" && e.Decision != "respond" && e.Mode != "monitor":
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func appendField(b []byte, key, val string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, val)
}

func appendList(b []byte, key string, vals []string) []byte {
	if len(vals) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping what JSON requires
// plus <, > and & (as encoding/json does), and replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
