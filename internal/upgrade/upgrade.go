// Package upgrade says what an HTTP/1.1 protocol upgrade request is and
// whether it is a WebSocket opening handshake (RFC 6455 section 4.1), the
// only upgrade Parapet forwards: any other (h2c, made-up tokens) would
// turn the proxy into a tunnel that nothing inspects.
package upgrade

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// Requested reports whether h asks for a protocol upgrade: an Upgrade
// field and the "upgrade" token in Connection (without it, Upgrade is an
// ordinary hop-by-hop field that proxies drop).
func Requested(h http.Header) bool {
	return len(h["Upgrade"]) > 0 && HasToken(h["Connection"], "upgrade")
}

// HasToken reports whether the comma-separated values hold token (any case).
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// IsWebSocket reports whether the Upgrade field of h names the websocket
// protocol alone (one token, any case).
func IsWebSocket(h http.Header) bool {
	v := h["Upgrade"]
	return len(v) == 1 && strings.EqualFold(strings.TrimSpace(v[0]), "websocket")
}

// Errors WebSocket returns.
var (
	ErrNotGET     = errors.New("a WebSocket handshake is a GET")
	ErrNotHTTP11  = errors.New("a WebSocket handshake is HTTP/1.1")
	ErrNotUpgrade = errors.New("the upgrade must be to websocket alone, with Connection: upgrade")
	ErrVersion    = errors.New("the Sec-WebSocket-Version must be 13")
	ErrKey        = errors.New("the Sec-WebSocket-Key must be 16 bytes in base64")
)

// WebSocket checks that r is a well-formed WebSocket opening handshake:
// GET over HTTP/1.1, Upgrade: websocket, Connection: upgrade, one
// Sec-WebSocket-Version: 13 and one Sec-WebSocket-Key of 16 bytes in
// base64. It returns nil or what is wrong.
func WebSocket(r *http.Request) error {
	switch {
	case r.Method != http.MethodGet:
		return ErrNotGET
	case r.ProtoMajor != 1 || r.ProtoMinor < 1:
		return ErrNotHTTP11
	case !Requested(r.Header) || !IsWebSocket(r.Header):
		return ErrNotUpgrade
	}
	if v := r.Header["Sec-Websocket-Version"]; len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return ErrVersion
	}
	k := r.Header["Sec-Websocket-Key"]
	if len(k) != 1 {
		return ErrKey
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k[0]))
	if err != nil || len(key) != 16 {
		return ErrKey
	}
	return nil
}

// Strip removes the upgrade from h: the Upgrade field and the "upgrade"
// token of Connection, so the request goes on as plain HTTP/1.1 (a server
// may ignore an upgrade it does not want, RFC 9110 section 7.8).
func Strip(h http.Header) {
	delete(h, "Upgrade")
	conn := h["Connection"]
	if len(conn) == 0 {
		return
	}
	kept := make([]string, 0, len(conn))
	for _, line := range conn {
		var toks []string
		for _, t := range strings.Split(line, ",") {
			if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "upgrade") {
				toks = append(toks, t)
			}
		}
		if len(toks) > 0 {
			kept = append(kept, strings.Join(toks, ", "))
		}
	}
	if len(kept) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = kept
}
