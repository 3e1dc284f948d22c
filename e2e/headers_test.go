package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// whoami asks the Django test app what it saw of the request, sending
// headers (in order, repeats kept), and returns that and the request id
// Parapet answered with.
func whoami(t *testing.T, d *django, headers [][2]string) (map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", d.base+"/whoami/", nil)
	for _, kv := range headers {
		req.Header[kv[0]] = append(req.Header[kv[0]], kv[1]) // as written: no canonical form
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var who map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&who); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/whoami/: %d %v", resp.StatusCode, err)
	}
	return who, resp.Header.Get("X-Request-Id")
}

// What an attacker adds to a request: underscore spellings of the
// headers Parapet sets (gunicorn turns "_" and "-" alike into
// HTTP_X_FORWARDED_FOR and merges them) and a Connection header naming
// them, which would have the proxy remove the values Parapet set.
var spoofing = [][2]string{
	{"X_Forwarded_For", "6.6.6.6"},
	{"X_Forwarded_Proto", "https"},
	{"X_Real_IP", "6.6.6.6"},
	{"X_Request_Id", "spoofed-id"},
	{"X_Country", "FR"},
	{"Connection", "keep-alive, X-Country, X-Forwarded-For, X-Forwarded-Proto, X-Real-Ip, X-Request-Id"},
}

// clientIPHeaders are the headers CDNs and proxies set to the client's
// address, which a client may send itself.
var clientIPHeaders = []string{"True-Client-IP", "CF-Connecting-IP", "X-Client-IP", "Fastly-Client-IP", "X-Cluster-Client-IP",
	"Client-IP", "X-Forwarded", "Forwarded-For", "X-Original-Forwarded-For", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr"}

// Underscore spellings, Connection tricks and repeated forwarding lines
// do not change what Django sees: the client address, scheme, request id
// and country Parapet computed, from a trusted proxy (loopback here) and
// from a client that connects directly.
func TestDjangoSeesOnlyParapetsForwardingHeaders(t *testing.T) {
	t.Run("through a trusted proxy", func(t *testing.T) {
		// The trusted proxy says plain HTTP: the default redirect
		// (https_redirect: auto) is off here to see what Django gets.
		d := startDjango(t, "PARAPET_GEO_COUNTRY_HEADER=X-Country", "PARAPET_EDGE_HTTPS_REDIRECT=false")
		who, id := whoami(t, d, append([][2]string{{"X-Forwarded-For", "8.8.8.8"}, {"X-Forwarded-Proto", "http"}}, spoofing...))
		want := map[string]any{"x_forwarded_for": "8.8.8.8", "x_real_ip": "8.8.8.8", "x_forwarded_proto": "http",
			"x_request_id": id, "x_country": "US", "is_secure": false}
		for k, v := range want {
			if who[k] != v {
				t.Errorf("Django saw %s = %v, want %v (all: %v)", k, who[k], v, who)
			}
		}
		d.waitLog(t, `"client_ip":"8.8.8.8"`, `"underscore-header"`)

		// Repeated lines: the client's own first, the proxy's added after
		// it. Both headers are read alike: the last line is the proxy's.
		who, _ = whoami(t, d, [][2]string{{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "8.8.4.4"},
			{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Proto", "http"}})
		if who["x_forwarded_for"] != "8.8.4.4" || who["x_forwarded_proto"] != "http" || who["is_secure"] != false {
			t.Errorf("with repeated lines Django saw %v, want 8.8.4.4 over http", who)
		}
	})
	t.Run("from an untrusted client", func(t *testing.T) {
		d := startDjango(t, "PARAPET_TRUSTED_PROXIES=", "PARAPET_GEO_COUNTRY_HEADER=X-Country")
		who, id := whoami(t, d, append([][2]string{{"X-Forwarded-For", "8.8.8.8"}, {"X-Forwarded-Proto", "https"}}, spoofing...))
		want := map[string]any{"x_forwarded_for": "127.0.0.1", "x_real_ip": "127.0.0.1", "x_forwarded_proto": "http",
			"x_request_id": id, "x_country": nil, "is_secure": false}
		for k, v := range want {
			if who[k] != v {
				t.Errorf("Django saw %s = %v, want %v (all: %v)", k, who[k], v, who)
			}
		}
		who, _ = whoami(t, d, [][2]string{{"X-Forwarded-For", "8.8.8.8"}, {"X-Forwarded-For", "8.8.4.4"},
			{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Proto", "https"}})
		if who["x_forwarded_for"] != "127.0.0.1" || who["x_forwarded_proto"] != "http" || who["is_secure"] != false {
			t.Errorf("with repeated lines Django saw %v, want 127.0.0.1 over http", who)
		}
		// The other names of the scheme: gunicorn reads X-Forwarded-Ssl
		// and X-Forwarded-Protocol from its trusted peer (Parapet) and
		// answered 400 when they contradicted X-Forwarded-Proto; an app
		// may read them itself (SECURE_PROXY_SSL_HEADER).
		who, _ = whoami(t, d, [][2]string{{"X-Forwarded-Ssl", "on"}, {"X-Forwarded-Protocol", "ssl"}, {"X-Forwarded-Port", "443"}})
		for _, k := range []string{"x_forwarded_ssl", "x_forwarded_protocol", "x_forwarded_port"} {
			if who[k] != nil {
				t.Errorf("Django saw the client's %s = %v", k, who[k])
			}
		}
		if who["is_secure"] != false {
			t.Errorf("a client's X-Forwarded-Ssl made Django think the request was secure: %v", who)
		}
		// The client-address headers of CDNs and other proxies, which IP
		// helpers (django-ipware) read before X-Forwarded-For.
		var sent [][2]string
		for _, h := range clientIPHeaders {
			sent = append(sent, [2]string{h, "6.6.6.6"})
		}
		who, _ = whoami(t, d, sent)
		if got, _ := who["client_ip_headers"].(map[string]any); len(got) > 0 {
			t.Errorf("Django saw a client's own address headers: %v", got)
		}
	})
	t.Run("client address headers from a trusted proxy", func(t *testing.T) {
		d := startDjango(t)
		var sent [][2]string
		for _, h := range clientIPHeaders {
			sent = append(sent, [2]string{h, "8.8.8.8"})
		}
		who, _ := whoami(t, d, sent)
		if got, _ := who["client_ip_headers"].(map[string]any); len(got) != len(clientIPHeaders) {
			t.Errorf("Django saw %d of the %d client address headers a trusted proxy (a CDN) sent: %v", len(got), len(clientIPHeaders), got)
		}
	})
	t.Run("Expect is answered by Parapet, not forwarded", func(t *testing.T) {
		// Detection off: whether the CRS may block the header is issue
		// #16's question; this is about what the app is sent.
		d := startDjango(t, "PARAPET_DETECTION_ENABLED=false")
		who, _ := whoami(t, d, [][2]string{{"Expect", "100-continue"}})
		if who["expect"] != nil {
			t.Errorf("Django was asked to Expect: %v", who["expect"])
		}
	})
}
