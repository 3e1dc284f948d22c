package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parapet-waf/parapet/internal/spool"
)

// Response buffering (like nginx's proxy_buffering): the upstream's body
// is read as fast as the app sends it, into memory and then an unlinked
// temporary file, while the client reads it at its own pace. The app's
// worker, the upstream connection and the caller's slot (Forward's done)
// are free once the app has answered, not once a slow client has read
// the answer. The response stages' body (the leak guard's search) is
// what is read: the client still gets no byte they have not passed.
//
// Not buffered: WebSocket upgrades, text/event-stream and responses with
// "X-Accel-Buffering: no" (nginx's switch; the header is not passed on).
// A buffered response still streams: every piece the app sends goes to a
// client that keeps up at once.
const (
	// respMemPerResponse is the most of one response held in memory,
	// respMem the most all responses together hold; the rest goes to
	// their temporary files.
	respMemPerResponse = 1 << 20
	respMem            = 64 << 20
	// DefaultResponseBuffer is the most of one response held (memory and
	// temporary file, as nginx's proxy_max_temp_file_size), and
	// DefaultResponseBufferTotal the most all responses together hold on
	// disk, unless Options say otherwise. Past them the upstream is read
	// at the client's pace, as without buffering.
	DefaultResponseBuffer      = 1 << 30
	DefaultResponseBufferTotal = 4 << 30
)

// responseBudget is the Budget Options ask for (nil: no buffering).
func responseBudget(opt Options) *spool.Budget {
	per, total := opt.ResponseBuffer, opt.ResponseBufferTotal
	switch {
	case per < 0:
		return nil
	case per == 0:
		per = DefaultResponseBuffer
	}
	if total <= 0 {
		total = DefaultResponseBufferTotal
	}
	mem := min(per, respMemPerResponse)
	return &spool.Budget{MemPerPipe: mem, Mem: respMem, DiskPerPipe: per - mem, Disk: total}
}

// clientShares hands each client (by Options.ClientKey) one
// account of the response budget, shared by its responses in flight and
// dropped when the last ends.
type clientShares struct {
	limit  int64
	active atomic.Int64 // len(m): the common case (none) needs no lock
	mu     sync.Mutex
	m      map[string]*clientShare
}

type clientShare struct {
	acct *spool.Account
	refs int
}

func newClientShares(opt Options) *clientShares {
	limit := opt.ResponseBufferPerClient
	if limit <= 0 {
		total := opt.ResponseBufferTotal
		if total <= 0 {
			total = DefaultResponseBufferTotal
		}
		limit = total / 8
	}
	return &clientShares{limit: limit, m: map[string]*clientShare{}}
}

// get returns key's account and a function to call when the response
// using it is done.
func (s *clientShares) get(key string) (*spool.Account, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m[key]
	if c == nil {
		c = &clientShare{acct: spool.NewAccount(s.limit)}
		s.m[key] = c
		s.active.Add(1)
	}
	c.refs++
	return c.acct, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.refs--; c.refs == 0 {
			delete(s.m, key)
			s.active.Add(-1)
		}
	}
}

// held is what key's responses hold now.
func (s *clientShares) held(key string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m[key]; c != nil {
		return c.acct.Held()
	}
	return 0
}

// ClientBuffered reports how much of r's client's responses, sent by the
// app but not yet read by the client, Parapet holds, and the client's
// share. A client whose held bytes reach the share reads its answers
// slower than it asks for them: the next response it asks for would have
// to be read at its pace, holding one of the app's workers.
func (p *Proxy) ClientBuffered(r *http.Request) (held, share int64) {
	if p.respBudget == nil || p.clientKey == nil || p.shares.active.Load() == 0 {
		return 0, p.shares.limit
	}
	return p.shares.held(p.clientKey(r)), p.shares.limit
}

// exchange is one request's state in the proxy, reached from the
// ReverseProxy hooks through the request's context.
type exchange struct {
	body     *clientBody // the client's body (nil without one)
	done     func()      // the caller's: the upstream has finished
	finished atomic.Bool
	ic       *upConn // the upstream connection, for the idle limit
	upgrade  bool    // a non-WebSocket upgrade (no idle limit)
	trace    httptrace.ClientTrace
	resp     respBody
}

type exchangeKey struct{}

// finish tells the caller, once, that the upstream has finished: the
// response was read to its end or failed, or the exchange is over.
func (ex *exchange) finish() {
	if !ex.finished.Swap(true) && ex.done != nil {
		ex.done()
	}
}

// bufferResponse puts a buffer between resp's body (as the response stages left
// it) and the client; raw is the transport's body underneath.
func (p *Proxy) bufferResponse(resp *http.Response, raw io.ReadCloser) {
	ex, _ := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	if p.respBudget == nil || ex == nil || resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
		return
	}
	if v, ok := resp.Header["X-Accel-Buffering"]; ok {
		delete(resp.Header, "X-Accel-Buffering")
		switch strings.ToLower(strings.TrimSpace(strings.Join(v, ""))) {
		case "no":
			return
		case "yes":
			ex.resp = respBody{p: p, ex: ex, up: resp.Body, raw: raw, length: resp.ContentLength, req: resp.Request}
			resp.Body = &ex.resp
			return
		}
	}
	if eventStream(resp.Header.Get("Content-Type")) {
		return
	}
	ex.resp = respBody{p: p, ex: ex, up: resp.Body, raw: raw, length: resp.ContentLength, req: resp.Request}
	resp.Body = &ex.resp
}

// eventStream reports whether a Content-Type is text/event-stream.
func eventStream(ct string) bool {
	const es = "text/event-stream"
	ct = strings.TrimSpace(ct)
	if len(ct) < len(es) || !strings.EqualFold(ct[:len(es)], es) {
		return false
	}
	rest := strings.TrimSpace(ct[len(es):])
	return rest == "" || rest[0] == ';'
}

// respBody is a buffered response body. Its first read goes straight to
// the upstream's body: a response that ends there (the common page)
// needs nothing more. A longer one gets a pipe and a goroutine that
// drains the upstream into it.
type respBody struct {
	p       *Proxy
	ex      *exchange
	up      io.ReadCloser // what the response stages give the client
	raw     io.Closer     // the transport's body: closing it ends a read of up
	length  int64         // the declared length (-1: unknown)
	req     *http.Request // the request, to name its client (Options.ClientKey)
	unshare func()        // gives the client's account back
	n       int64         // bytes read before the pipe
	pipe    *spool.Pipe
	drained chan struct{} // closed when the drain goroutine is done
}

func (b *respBody) Read(p []byte) (int, error) {
	if b.pipe != nil {
		return b.pipe.Read(p)
	}
	n, err := b.up.Read(p)
	b.n += int64(n)
	if err == nil && b.length >= 0 && b.n >= b.length && n < len(p) {
		// Every declared byte is in: the end is one read away, without
		// waiting on the network.
		m, perr := b.up.Read(p[n:])
		n += m
		b.n += int64(m)
		err = perr
	}
	if err != nil {
		b.ex.finish() // read to its end, or failed: the upstream is done
		return n, err
	}
	// More to come: read it as fast as the upstream sends it.
	var acct *spool.Account
	if b.p.clientKey != nil {
		if key := b.p.clientKey(b.req); key != "" {
			acct, b.unshare = b.p.shares.get(key)
		}
	}
	b.pipe = spool.NewPipeFor(b.p.respBudget, acct)
	b.drained = make(chan struct{})
	go b.drain()
	return n, nil
}

// drain reads the rest of the upstream's body into the pipe, then closes
// it and tells the caller the upstream is done.
func (b *respBody) drain() {
	defer close(b.drained)
	err := b.fill()
	b.ex.finish()
	b.pipe.CloseWrite(err)
}

// fill reads the upstream to its end (or failure) and closes it; a panic
// in a response stage's reader fails the response instead of the process.
func (b *respBody) fill() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("reading the upstream's body: panic: %v", v)
			if b.p.errorLog != nil {
				b.p.errorLog.Printf("proxy: %v", err)
			}
		}
	}()
	_, err = b.pipe.ReadFrom(b.up)
	if cerr := b.up.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// Close ends the response: the drain stops (the upstream connection is
// dropped unless it was read to its end) and its goroutine is waited for,
// so nothing touches the request's state once the proxy returns.
func (b *respBody) Close() error {
	if b.pipe == nil {
		err := b.up.Close()
		b.ex.finish()
		return err
	}
	_ = b.pipe.Close()
	_ = b.raw.Close()
	<-b.drained
	if b.unshare != nil {
		b.unshare()
		b.unshare = nil
	}
	return nil
}
