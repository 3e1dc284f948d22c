package e2e

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// A client that stops reading is cut off once it has taken nothing for
// timeouts.send (nginx's send_timeout): it held a connection and a
// goroutine, and the response held for it, for as long as it liked.
func TestSendTimeoutCutsOffAClientThatStopsReading(t *testing.T) {
	d := startDjango(t, "PARAPET_TIMEOUTS_SEND=1s")
	c := slowReader(t, d.addr, "/download/?lines=200000&batch=1000") // 12 MB
	time.Sleep(4 * time.Second)                                      // reads nothing
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(c)
	if bytes.HasSuffix(got, []byte("\r\n0\r\n\r\n")) || len(got) > 12<<20 {
		t.Fatalf("a client that read nothing for 4 s (timeouts.send: 1s) got the whole download: %d bytes, %v", len(got), err)
	}
	t.Logf("cut off after %d bytes: %v", len(got), err)
}
