package torture

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// seen is one request a rawUpstream parsed off its sockets.
type seen struct {
	Method, Target string
	Body           string
	XFF            string // X-Forwarded-For as Parapet sent it
	Header         http.Header
	Err            string // set when the bytes did not parse as a request
}

// rawUpstream is an upstream written on a bare net.Listener: it parses
// requests off each connection itself (http.ReadRequest, one after the
// other, as a keep-alive server would) and records every one, so a test
// can count exactly what reached the app.
type rawUpstream struct {
	ln   net.Listener
	mu   sync.Mutex
	reqs []seen
	wg   sync.WaitGroup
}

func newRawUpstream(t *testing.T) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.wg.Add(1)
			go func() { defer u.wg.Done(); u.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); u.wg.Wait() })
	return u
}

func (u *rawUpstream) URL() string { return "http://" + u.ln.Addr().String() }

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		req, err := http.ReadRequest(br)
		if err != nil {
			var ne net.Error
			idle := err == io.EOF || errors.As(err, &ne) && ne.Timeout() && br.Buffered() == 0
			if !idle {
				u.record(seen{Err: err.Error()})
			}
			return
		}
		body, err := io.ReadAll(req.Body)
		s := seen{Method: req.Method, Target: req.RequestURI, Body: string(body), XFF: req.Header.Get("X-Forwarded-For"), Header: req.Header}
		if err != nil {
			s.Err = "body: " + err.Error()
		}
		u.record(s)
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

func (u *rawUpstream) record(s seen) {
	u.mu.Lock()
	u.reqs = append(u.reqs, s)
	u.mu.Unlock()
}

// requests returns what has been parsed so far.
func (u *rawUpstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// reset forgets what was seen.
func (u *rawUpstream) reset() {
	u.mu.Lock()
	u.reqs = nil
	u.mu.Unlock()
}
