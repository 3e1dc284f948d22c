package waf

import (
	"net/http"
	"time"
)

// responseRecorder remembers the status and counts the bytes written, for
// the request's event, and bounds each write to the client
// (timeouts.send). It unwraps for http.ResponseController, so flushing
// and hijacking (WebSockets) reach the real writer.
type responseRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// upstreamErr is the proxy's error when the upstream failed.
	upstreamErr string
	// send bounds each write (0: no limit), never past writeBy (the
	// server's timeouts.write deadline; zero: none); deadline sets it on
	// the client's connection.
	send     time.Duration
	writeBy  time.Time
	deadline writeDeadliner
	// armedAt is when the deadline was last set (zero: not yet).
	armedAt time.Time
}

// writeDeadliner is the part of a server's ResponseWriter that sets the
// connection's write deadline (http.ResponseController's way in).
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

// newRecorder returns a recorder for w whose writes each get send to
// complete (0: no limit), up to writeBy at the latest (zero: no limit).
func newRecorder(w http.ResponseWriter, send time.Duration, writeBy time.Time) *responseRecorder {
	rec := &responseRecorder{ResponseWriter: w, writeBy: writeBy}
	if send > 0 {
		for rw := w; rec.deadline == nil; {
			switch t := rw.(type) {
			case writeDeadliner:
				rec.deadline, rec.send = t, send
			case interface{ Unwrap() http.ResponseWriter }:
				rw = t.Unwrap()
			default:
				return rec // a writer without deadlines (tests)
			}
		}
	}
	return rec
}

// arm gives the next write send to complete, like nginx's send_timeout:
// a client that takes nothing for that long is cut off. The server
// clears the deadline after the response (and on hijack). A deadline set
// less than send/rearmEvery ago is left as it is (setting one costs a
// timer update on the connection): each write still has at least
// 15/16 of send.
func (r *responseRecorder) arm() {
	if r.send > 0 {
		now := time.Now()
		if !r.armedAt.IsZero() && now.Sub(r.armedAt) < r.send/rearmEvery {
			return
		}
		r.armedAt = now
		d := now.Add(r.send)
		if !r.writeBy.IsZero() && r.writeBy.Before(d) {
			d = r.writeBy // timeouts.write still bounds the whole response
		}
		_ = r.deadline.SetWriteDeadline(d)
	}
}

// rearmEvery: arm moves the deadline only once send/rearmEvery has passed
// since it last did.
const rearmEvery = 16

func (r *responseRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
		r.arm()
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
	r.arm()
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
