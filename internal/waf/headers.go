package waf

import (
	"net/http"
	"strings"
)

// sanitizeHeaders makes the request's header what the app will get
// before any stage reads it, so the rules and detection see what Django
// sees, and no client can undo a header Parapet sets:
//
//   - Fields whose name has an underscore are dropped (nginx's
//     underscores_in_headers off): WSGI servers turn "-" into "_", and
//     gunicorn 20.1 merges X_Forwarded_For into the X-Forwarded-For
//     Parapet sets (HTTP_X_FORWARDED_FOR), X_Request_Id into the request
//     id, SCRIPT_NAME into the script name.
//   - Fields a client names in Connection (hop-by-hop, RFC 9110 7.6.1)
//     are dropped now rather than by the proxy after the stages ran, and
//     only the close, keep-alive and upgrade tokens stay in Connection:
//     "Connection: X-Country" would otherwise have the proxy remove the
//     geo.country_header Parapet set. The forwarding fields and the
//     request id header, which Parapet reads from trusted proxies and
//     replaces upstream, are never dropped this way.
//
// It reports whether a field with an underscore was dropped.
func sanitizeHeaders(h http.Header, requestIDHeader string) (underscore bool) {
	for k := range h {
		if strings.IndexByte(k, '_') >= 0 {
			delete(h, k)
			underscore = true
		}
	}
	conn := h["Connection"]
	if len(conn) == 0 || onlyConnectionOptions(conn) {
		return underscore
	}
	var kept []string
	for _, line := range conn {
		for _, t := range strings.Split(line, ",") {
			switch t = strings.TrimSpace(t); {
			case t == "":
			case connectionOption(t):
				kept = append(kept, t)
			case !forwardingField(t, requestIDHeader):
				h.Del(t)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Connection")
	} else {
		h["Connection"] = []string{strings.Join(kept, ", ")}
	}
	return underscore
}

// connectionOption reports the Connection tokens that name no field
// Parapet or the app uses: close, keep-alive, upgrade.
func connectionOption(t string) bool {
	return strings.EqualFold(t, "close") || strings.EqualFold(t, "keep-alive") || strings.EqualFold(t, "upgrade")
}

// onlyConnectionOptions reports whether every token is a
// connectionOption (the common case: nothing to rewrite).
func onlyConnectionOptions(conn []string) bool {
	for _, line := range conn {
		for line != "" {
			var t string
			t, line, _ = strings.Cut(line, ",")
			if t = strings.TrimSpace(t); t != "" && !connectionOption(t) {
				return false
			}
		}
	}
	return true
}

// forwardingField reports the fields Parapet reads from trusted proxies
// and replaces on the way upstream.
func forwardingField(name, requestIDHeader string) bool {
	for _, f := range [...]string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Real-Ip"} {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return strings.EqualFold(name, requestIDHeader)
}
