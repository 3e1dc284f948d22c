package admin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
)

// CookieName is the dashboard session cookie, scoped to /_parapet/.
const CookieName = "parapet_admin"

// CSRFHeader carries the session's CSRF value on changes made with the
// session cookie.
const CSRFHeader = "X-CSRF-Token"

// tokenActor returns the name of the admin token given, comparing every
// token in constant time (by their SHA-256, so neither the length nor the
// position of a difference shows).
func tokenActor(tokens []config.AdminToken, given string) (string, bool) {
	if given == "" {
		return "", false
	}
	g := sha256.Sum256([]byte(given))
	actor, found := "", 0
	for _, t := range tokens {
		w := sha256.Sum256([]byte(t.Token))
		if subtle.ConstantTimeCompare(g[:], w[:]) == 1 && found == 0 {
			actor, found = t.Name, 1
		}
	}
	return actor, found == 1
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// session is what the signed cookie holds.
type session struct {
	ID      string `json:"i"`
	Actor   string `json:"a"`
	CSRF    string `json:"c"`
	Expires int64  `json:"e"` // unix seconds
}

// sessionKey is the key sessions of actor are signed with: derived from
// the actor's token, so rotating or removing a token ends its sessions,
// and every instance with the same config accepts them.
func sessionKey(tokens []config.AdminToken, actor string) ([]byte, bool) {
	for _, t := range tokens {
		if t.Name == actor {
			m := hmac.New(sha256.New, []byte(t.Token))
			m.Write([]byte("parapet admin session v1"))
			return m.Sum(nil), true
		}
	}
	return nil, false
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign renders s as the cookie's value: payload.signature.
func (s session) sign(key []byte) string {
	payload, _ := json.Marshal(s)
	p := base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errBadSession = errors.New("no valid session")

// parseSession checks the cookie value's signature (with the key of the
// actor it names) and expiry.
func parseSession(tokens []config.AdminToken, value string, now time.Time) (session, error) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return session{}, errBadSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return session{}, errBadSession
	}
	var s session
	if json.Unmarshal(payload, &s) != nil || s.ID == "" || s.CSRF == "" {
		return session{}, errBadSession
	}
	key, ok := sessionKey(tokens, s.Actor)
	if !ok {
		return session{}, errBadSession
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(p))
	want := m.Sum(nil)
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want) {
		return session{}, errBadSession
	}
	if now.Unix() >= s.Expires {
		return session{}, errBadSession
	}
	return s, nil
}

// sessionCookie is the Set-Cookie for value (an empty value with maxAge
// -1 logs out). It is always Secure: Chromium (checked with Debian's
// Chromium 156, headless) treats http://127.0.0.1 and http://localhost as
// secure contexts and accepts and sends back Secure cookies there, so a
// local dashboard works without TLS; elsewhere the dashboard needs HTTPS.
func sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/_parapet/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: true, MaxAge: maxAge}
}

// sessionRevoked is the store key of a logged-out session id.
func sessionRevokedKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "admin:logout:" + hex.EncodeToString(sum[:12])
}

type actorKey struct{}

// Actor is the name of the admin token or session a request of the admin
// API was authenticated with ("" outside it).
func Actor(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}
