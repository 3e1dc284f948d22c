package upgrade

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func handshake(method string, h map[string]string) *http.Request {
	r := httptest.NewRequest(method, "/ws/", nil)
	for k, v := range map[string]string{"Upgrade": "websocket", "Connection": "keep-alive, Upgrade",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		r.Header.Set(k, v)
	}
	for k, v := range h {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	return r
}

// A WebSocket opening handshake is recognised as RFC 6455 describes it;
// anything else is named for what is wrong.
func TestWebSocket(t *testing.T) {
	http10 := handshake("GET", nil)
	http10.ProtoMinor = 0
	for name, tc := range map[string]struct {
		r    *http.Request
		want error
	}{
		"browser handshake": {handshake("GET", nil), nil},
		"any case":          {handshake("GET", map[string]string{"Upgrade": "WebSocket", "Connection": "upgrade"}), nil},
		"POST":              {handshake("POST", nil), ErrNotGET},
		"HTTP/1.0":          {http10, ErrNotHTTP11},
		"no Connection":     {handshake("GET", map[string]string{"Connection": ""}), ErrNotUpgrade},
		"two protocols":     {handshake("GET", map[string]string{"Upgrade": "websocket, h2c"}), ErrNotUpgrade},
		"h2c":               {handshake("GET", map[string]string{"Upgrade": "h2c"}), ErrNotUpgrade},
		"version 8":         {handshake("GET", map[string]string{"Sec-WebSocket-Version": "8"}), ErrVersion},
		"no key":            {handshake("GET", map[string]string{"Sec-WebSocket-Key": ""}), ErrKey},
		"short key":         {handshake("GET", map[string]string{"Sec-WebSocket-Key": "c2hvcnQ="}), ErrKey},
		"key not base64":    {handshake("GET", map[string]string{"Sec-WebSocket-Key": "not base64 at all!!!!!!!"}), ErrKey},
	} {
		if got := WebSocket(tc.r); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// Strip leaves a plain request: no Upgrade, no upgrade token, the other
// Connection tokens kept.
func TestStrip(t *testing.T) {
	h := http.Header{"Upgrade": {"h2c"}, "Connection": {"Upgrade, HTTP2-Settings", "keep-alive"}}
	Strip(h)
	if want := (http.Header{"Connection": {"HTTP2-Settings", "keep-alive"}}); !reflect.DeepEqual(h, want) {
		t.Fatalf("%v, want %v", h, want)
	}
	h = http.Header{"Upgrade": {"websocket"}, "Connection": {"upgrade"}}
	Strip(h)
	if len(h) != 0 {
		t.Fatalf("%v, want nothing left", h)
	}
	if Requested(http.Header{"Upgrade": {"websocket"}}) {
		t.Fatal("Upgrade without Connection: upgrade is no upgrade request")
	}
}
