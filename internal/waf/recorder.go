package waf

import "net/http"

// responseRecorder remembers the status and counts the bytes written, for
// the request's event. It unwraps for http.ResponseController, so
// flushing and hijacking (WebSockets) reach the real writer. (Each write's
// time limit, timeouts.send, is kept by the connection: see
// internal/sendtimeout.)
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// upstreamErr is the proxy's error when the upstream failed.
	upstreamErr string
}

// newRecorder returns a recorder for w.
func newRecorder(w http.ResponseWriter) *responseRecorder {
	return &responseRecorder{ResponseWriter: w}
}

func (r *responseRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	if code == http.StatusSwitchingProtocols {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *responseRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client.
func (r *responseRecorder) Flush() {
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer for http.ResponseController.
func (r *responseRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
