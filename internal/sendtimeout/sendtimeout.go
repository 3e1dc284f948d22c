// Package sendtimeout bounds each write to a client the way nginx's
// send_timeout does: a client that takes nothing for the limit is cut
// off, one that keeps reading keeps its connection however long the
// response.
//
// It works on the connection, not on each response: the deadline rolls
// forward with the writes and is moved only when less than 15/16 of the
// limit is left (a deadline update is a timer operation in Go's poller),
// so a keep-alive connection pays for one about every limit/16 rather
// than twice per request (a set before the response and the server's
// clear after it).
package sendtimeout

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// rearmEvery: a write moves the deadline once limit/rearmEvery has passed
// since it was last moved, so every write has at least 15/16 of the limit.
const rearmEvery = 16

// Listen returns ln whose connections give every write at least 15/16 of
// limit to complete (limit <= 0: ln unchanged). Deadlines the server or a
// handler set on a connection still apply: the nearer of the two wins.
// Give the server ConnState (or call it from its hook) so that hijacked
// connections (WebSockets) go back to the plain connection's deadlines.
func Listen(ln net.Listener, limit time.Duration) net.Listener {
	if limit <= 0 {
		return ln
	}
	return &listener{Listener: ln, limit: limit}
}

type listener struct {
	net.Listener
	limit time.Duration
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, limit: l.limit}, nil
}

// ConnState is an http.Server ConnState hook: a hijacked connection is
// handed back to whoever hijacked it with only the deadline they (or the
// server) asked for, as if it had never been wrapped.
func ConnState(c net.Conn, state http.ConnState) {
	if sc, ok := c.(*conn); ok && state == http.StateHijacked {
		sc.release()
	}
}

// conn keeps a rolling write deadline. mu guards the fields: writes and
// deadline changes may come from different goroutines (a handler's
// http.ResponseController, the server's own clears).
type conn struct {
	net.Conn
	limit time.Duration

	mu sync.Mutex
	// armedAt is when the rolling deadline was last moved (zero: never).
	armedAt time.Time
	// rolling is armedAt + limit.
	rolling time.Time
	// asked is the write deadline the server or a handler set (zero: none).
	asked time.Time
	// off: hijacked, deadlines pass straight through.
	off bool
}

// Write moves the rolling deadline when it has less than 15/16 of the
// limit left, then writes.
func (c *conn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if !c.off {
		now := time.Now()
		if c.armedAt.IsZero() || now.Sub(c.armedAt) >= c.limit/rearmEvery {
			c.armedAt, c.rolling = now, now.Add(c.limit)
			c.apply()
		}
	}
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// SetWriteDeadline records the deadline asked for; the connection gets
// the nearer of it and the rolling one. Asking again for the deadline
// already asked for (the server clears it after every response) costs no
// timer update.
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off {
		return c.Conn.SetWriteDeadline(t)
	}
	if t.Equal(c.asked) {
		return nil
	}
	c.asked = t
	return c.apply()
}

// SetDeadline sets the read deadline and asks for the write deadline.
func (c *conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// CloseWrite shuts down the writing side when the connection can (the
// server uses it to close a connection gracefully).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// apply puts the nearer of the asked and rolling deadlines on the
// connection. c.mu is held.
func (c *conn) apply() error {
	d := c.rolling
	if !c.asked.IsZero() && (d.IsZero() || c.asked.Before(d)) {
		d = c.asked
	}
	return c.Conn.SetWriteDeadline(d)
}

func (c *conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off {
		return
	}
	c.off = true
	_ = c.Conn.SetWriteDeadline(c.asked)
}
