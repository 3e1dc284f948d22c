// Package proxy carries allowed requests to the upstream (HTTP, HTTPS or a
// unix socket) with httputil.ReverseProxy, supervises the child process in
// sidecar mode, and drains in-flight requests on shutdown.
package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/spool"
	"github.com/parapet-waf/parapet/internal/upgrade"
)

// Options configures the upstream transport.
type Options struct {
	// ConnectTimeout bounds dialing the upstream.
	ConnectTimeout time.Duration
	// ResponseHeaderTimeout bounds waiting for the upstream's headers
	// and, for http:// and unix: upstreams, every silence of the upstream
	// once the request is sent (like nginx's proxy_read_timeout): a
	// response body stalled longer is cut off. Upgraded connections
	// (WebSockets) are exempt.
	ResponseHeaderTimeout time.Duration
	// RequestIDHeader is the header the request id is sent upstream in.
	RequestIDHeader string
	// OnError answers a request the upstream failed: status is 502, 504,
	// 413 (body over the limit), 400 (the client's body was malformed,
	// e.g. a bad chunk size) or 408 (the client's body did not arrive
	// within the server's read timeout); 0 means the client went away and
	// nothing should be written.
	OnError func(w http.ResponseWriter, r *http.Request, status int, err error)
	// ModifyResponse, if set, may inspect and rewrite the upstream's
	// response before it is sent; an error answers 502 instead.
	ModifyResponse func(*http.Response) error
	// BufferBody is how many bytes of a request body are held in memory
	// (0: DefaultBufferBody; negative: bodies stream to the upstream as
	// they arrive). Bodies are received whole before the upstream is
	// contacted, longer ones in an unlinked temporary file, so a client
	// trickling its body (slow POST) holds a Parapet goroutine, not one of
	// the app's few workers; they are sent with a Content-Length even if
	// the client used chunked encoding (Django reads no body without one).
	BufferBody int
	// ResponseBuffer is the most of one response read ahead of the client
	// (memory, then an unlinked temporary file; see respbuf.go; 0:
	// DefaultResponseBuffer, negative: not buffered); ResponseBufferTotal
	// bounds the temporary files of all responses (0:
	// DefaultResponseBufferTotal).
	ResponseBuffer, ResponseBufferTotal int64
	// ResponseBufferPerClient is the most the responses of one client
	// (named by ClientKey) hold together, memory and temporary files (0:
	// an eighth of ResponseBufferTotal): one client reading slowly cannot
	// spend what all clients share. See ClientBuffered.
	ResponseBufferPerClient int64
	// ClientKey names the client a request is forwarded for (its address,
	// or its network); asked only when a response needs buffering. nil:
	// every response has its own share.
	ClientKey func(*http.Request) string
	// ErrorLog receives the proxy's own messages (a response cut off
	// mid-body); nil logs to the standard logger.
	ErrorLog *log.Logger
}

// DefaultBufferBody is the request body prefix read before the upstream
// is contacted, unless Options.BufferBody says otherwise.
const DefaultBufferBody = 64 << 10

// Bodies of known length up to memBodyMax are held in memory rather than
// spooled to a file, while all of them together stay within
// memBodyBudget (so slow clients cannot make Parapet hold much memory).
const (
	memBodyMax    = 1 << 20
	memBodyBudget = 64 << 20
)

// Proxy forwards requests to one upstream. It is long-lived: a config
// reload keeps it (changing the upstream needs a restart).
type Proxy struct {
	upstream *config.Upstream
	rp       *httputil.ReverseProxy
	ready    atomic.Bool
	dialer   *net.Dialer
	buffer   int
	plain    bool          // the upstream is http:// or unix: (connections are upConns)
	idle     time.Duration // longest upstream silence once a request is sent (0: none)
	memInUse atomic.Int64  // bytes of request bodies held in memory past the buffer
	onError  func(w http.ResponseWriter, r *http.Request, status int, err error)
	modify   func(*http.Response) error
	errorLog *log.Logger
	// respBudget bounds the responses held for slow clients (respbuf.go;
	// nil: not buffered).
	respBudget *spool.Budget
	// shares are the clients' shares of respBudget, by clientKey.
	shares    *clientShares
	clientKey func(*http.Request) string
}

// New builds the proxy. It starts ready; sidecar mode calls SetReady(false)
// until the child's socket accepts.
func New(up *config.Upstream, opt Options) *Proxy {
	p := &Proxy{upstream: up, dialer: &net.Dialer{Timeout: opt.ConnectTimeout, KeepAlive: 30 * time.Second},
		buffer: opt.BufferBody, onError: opt.OnError, modify: opt.ModifyResponse, errorLog: opt.ErrorLog,
		respBudget: responseBudget(opt), shares: newClientShares(opt), clientKey: opt.ClientKey}
	if p.buffer == 0 {
		p.buffer = DefaultBufferBody
	}
	tr := &http.Transport{
		Proxy:                 nil,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: opt.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		TLSHandshakeTimeout:   opt.ConnectTimeout,
		ForceAttemptHTTP2:     up.URL.Scheme == "https",
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	network, address := up.Network, up.Address
	// Plain connections carry HTTP/1 only, in clear: they are followed
	// (upConn). Over TLS, HTTP/2 multiplexes streams (no per-connection
	// limit, no framing to follow) and HTTP/1 is encrypted below the
	// transport.
	p.plain = up.URL.Scheme != "https"
	if p.plain {
		p.idle = opt.ResponseHeaderTimeout
	}
	tr.DialContext = func(ctx context.Context, nw, addr string) (net.Conn, error) {
		if network == "unix" {
			nw, addr = network, address
		}
		c, err := p.dialer.DialContext(ctx, nw, addr)
		if err != nil || !p.plain {
			return c, err
		}
		return &upConn{Conn: c, idle: p.idle}, nil
	}
	reqIDHeader := http.CanonicalHeaderKey(opt.RequestIDHeader)
	p.rp = &httputil.ReverseProxy{
		Transport:  tr,
		BufferPool: &bufferPool{},
		// Rewrite replaces whatever forwarding headers the client sent with
		// the ones Parapet computed from the trusted proxy chain.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up.URL)
			pr.Out.Host = pr.In.Host
			// gunicorn answers HEAD with the GET body: the connection
			// must not carry another request (upConn ends it too, for
			// plain upstreams; this also covers HTTP/1 over TLS).
			pr.Out.Close = pr.Out.Method == http.MethodHead
			h := pr.Out.Header
			// Only a WebSocket handshake may switch protocols (the chain's
			// edge stage refuses or strips the others first).
			if upgrade.Requested(h) && upgrade.WebSocket(pr.In) != nil {
				upgrade.Strip(h)
			}
			// Header keys below are written in canonical form: the map is
			// used directly (Set and Del canonicalise on every call).
			delete(h, "Forwarded")
			delete(h, "X-Real-Ip")
			// X-Forwarded-Proto is the one word on the scheme: the aliases
			// gunicorn (secure_scheme_headers) and some apps read instead
			// (SECURE_PROXY_SSL_HEADER = HTTP_X_FORWARDED_SSL) never come
			// from the client.
			for _, alias := range schemeAliases {
				delete(h, alias)
			}
			// The body has been received (or streams) and the client was
			// answered 100 Continue by Parapet's server: the upstream is
			// not asked to wait for a go-ahead (CRS 920450 and a second
			// round trip, up to ExpectContinueTimeout, otherwise).
			delete(h, "Expect")
			if info := decision.FromContext(pr.In.Context()); info != nil {
				if !info.ViaTrustedProxy {
					delete(h, "X-Forwarded-Port")
				}
				if !info.ViaTrustedProxy || !info.ReportedByTrustedRange {
					// The client's own say on its address: what IP
					// helpers (django-ipware) read first, kept only
					// when the proxy that reported the client is
					// trusted by its address (a CDN in trusted_proxies).
					// Heroku's router passes a client's
					// CF-Connecting-IP untouched: trusting the router
					// is not trusting that header.
					for _, name := range clientIPHeaders {
						delete(h, name)
					}
				}
				ip := info.ClientIP.String()
				vals := [...]string{ip, ip, info.Scheme, info.ID, pr.In.Host} // one allocation for the five
				h["X-Forwarded-For"] = vals[0:1:1]
				h["X-Real-Ip"] = vals[1:2:2]
				h["X-Forwarded-Proto"] = vals[2:3:3]
				h[reqIDHeader] = vals[3:4:4]
				h["X-Forwarded-Host"] = vals[4:5:5]
				return
			}
			h["X-Forwarded-Host"] = []string{pr.In.Host}
		},
		// A 101 answering anything but the upgrade sent (none, after
		// Rewrite, but a WebSocket handshake) is refused by ReverseProxy
		// itself: 502, never a tunnel (TestOnlyWebSocketsSwitchProtocols).
		ModifyResponse: p.modifyResponse,
		ErrorLog:       opt.ErrorLog,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
			p.fail(w, r, err, ex != nil && ex.body != nil && ex.body.failed())
		},
		// FlushInterval 0: ReverseProxy already flushes every write of a
		// streaming response (unknown length, text/event-stream); flushing
		// fixed-length responses too costs a syscall per write.
	}
	p.ready.Store(true)
	return p
}

// schemeAliases are the headers besides X-Forwarded-Proto that servers
// and apps read as the request's scheme: gunicorn's default
// secure_scheme_headers (X-Forwarded-Protocol, X-Forwarded-Ssl), and
// those of other proxies. Parapet drops them on the way upstream.
var schemeAliases = [...]string{"X-Forwarded-Ssl", "X-Forwarded-Protocol", "X-Forwarded-Scheme", "X-Url-Scheme", "Front-End-Https"}

// clientIPHeaders are the headers (in canonical form) that CDNs and
// proxies set to the client's address (Akamai and Cloudflare's
// True-Client-IP, Cloudflare's CF-Connecting-IP, Fastly's, and the names
// django-ipware and similar helpers read), dropped unless the request
// came through a trusted proxy.
var clientIPHeaders = [...]string{"True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip", "Fastly-Client-Ip", "X-Cluster-Client-Ip",
	"Client-Ip", "X-Forwarded", "Forwarded-For", "X-Original-Forwarded-For", "X-Originating-Ip", "X-Remote-Ip", "X-Remote-Addr"}

// classify maps a transport error to the status the client gets.
func classify(r *http.Request, err error) int {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		return 0
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// bodyReceivedKey marks a request whose body ReceiveBody has read.
type bodyReceivedKey struct{}

// ReceiveBody receives the request's body whole (see prebuffer) before
// anything upstream is reserved for it, so a slow client holds only a
// Parapet goroutine, never an upstream slot. It returns the request to
// pass to ServeHTTP and a function to call once that is done. When the
// body cannot be read it answers w (400, 408 or 413) and returns ok false.
// ServeHTTP receives the body itself for a request that did not pass here.
func (p *Proxy) ReceiveBody(w http.ResponseWriter, r *http.Request) (out *http.Request, done func(), ok bool) {
	if r.Body == nil || r.Body == http.NoBody || p.buffer <= 0 {
		return r, func() {}, true
	}
	reserved, err := p.prebuffer(r)
	done = func() { p.memInUse.Add(-reserved) }
	if err != nil {
		done()
		p.fail(w, r, err, true)
		return r, nil, false
	}
	return r.WithContext(context.WithValue(r.Context(), bodyReceivedKey{}, true)), done, true
}

// ServeHTTP forwards the request. The request's context must carry the
// chain's decision.Info.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.Forward(w, r, nil) }

// Forward is ServeHTTP that calls done (if not nil) once the upstream
// has finished: its response read to the end (which, for a response
// buffered for the client, is before the client has read it), or the
// exchange failed. done is called once, before Forward returns at the
// latest, possibly from another goroutine.
func (p *Proxy) Forward(w http.ResponseWriter, r *http.Request, done func()) {
	ex := &exchange{done: done}
	defer ex.finish()
	if r.Body != nil && r.Body != http.NoBody {
		if p.buffer > 0 && r.Context().Value(bodyReceivedKey{}) == nil {
			reserved, err := p.prebuffer(r)
			defer p.memInUse.Add(-reserved)
			if err != nil {
				p.fail(w, r, err, true)
				return
			}
		}
		ex.body = &clientBody{ReadCloser: r.Body}
	}
	ctx := context.WithValue(r.Context(), exchangeKey{}, ex)
	if p.idle > 0 {
		ex.upgrade = upgrade.Requested(r.Header) && upgrade.WebSocket(r) == nil
		ex.trace = httptrace.ClientTrace{GotConn: ex.gotConn, WroteRequest: ex.wroteRequest}
		ctx = httptrace.WithClientTrace(ctx, &ex.trace)
	}
	r = r.WithContext(ctx)
	if ex.body != nil {
		r.Body = ex.body
	}
	p.rp.ServeHTTP(w, r)
}

// modifyResponse runs the caller's response hook, then buffers the body
// it leaves for the client (respbuf.go).
func (p *Proxy) modifyResponse(resp *http.Response) error {
	raw := resp.Body
	if p.modify != nil {
		if err := p.modify(resp); err != nil {
			return err
		}
	}
	p.bufferResponse(resp, raw)
	return nil
}

// gotConn and wroteRequest arm the upstream connection's idle limit once
// the request has been written (an upload may take long; the upstream is
// rightly silent meanwhile), and never for an upgrade, whose connection
// becomes a tunnel that may be silent for long (WebSockets).
func (ex *exchange) gotConn(ci httptrace.GotConnInfo) {
	ex.ic, _ = ci.Conn.(*upConn)
	if ex.ic != nil {
		ex.ic.disarm()
	}
}

func (ex *exchange) wroteRequest(wr httptrace.WroteRequestInfo) {
	if ex.ic != nil && !ex.upgrade && wr.Err == nil {
		ex.ic.arm()
	}
}

// fail answers a request that could not be proxied. bodyFailed says the
// error came from reading the client's body: a malformed or truncated body
// is the client's fault (400), and so is one that did not arrive in time
// (408), not the upstream's.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error, bodyFailed bool) {
	status := classify(r, err)
	if bodyFailed && status != 0 && status != http.StatusRequestEntityTooLarge {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			status = http.StatusRequestTimeout
		} else {
			status = http.StatusBadRequest
		}
	}
	p.onError(w, r, status, err)
}

// prebuffer receives the whole body before the upstream is contacted: one
// that fits p.buffer is replaced by the bytes read, a longer one is
// spooled to a file; either is sent with its length.
//
// A body of known length up to memBodyMax is also held in memory while
// all such bodies together stay within memBodyBudget (reserved is this
// request's share, to give back when it is done): a temporary file costs
// several system calls, which a typical form upload should not pay.
func (p *Proxy) prebuffer(r *http.Request) (reserved int64, err error) {
	limit := int64(p.buffer)
	if cl := r.ContentLength; cl > limit && cl <= memBodyMax {
		if p.memInUse.Add(cl) <= memBodyBudget {
			reserved, limit = cl, cl
		} else {
			p.memInUse.Add(-cl)
		}
	}
	size := limit
	if r.ContentLength >= 0 && r.ContentLength <= limit {
		size = r.ContentLength + 1 // +1 sees the end without another read
	}
	buf := make([]byte, size)
	n, err := io.ReadFull(r.Body, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if r.ContentLength >= 0 && int64(n) != r.ContentLength {
			return reserved, fmt.Errorf("request body: %d of %d bytes: %w", n, r.ContentLength, io.ErrUnexpectedEOF)
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(buf[:n]))
		if n == 0 {
			r.Body = http.NoBody
		}
		r.ContentLength = int64(n)
		r.TransferEncoding = nil
		return reserved, nil
	case err != nil:
		return reserved, err
	}
	return reserved, spoolBody(r, buf)
}

// spoolBody receives the rest of a body longer than the buffer into an
// unlinked temporary file, then sends it with a Content-Length, as nginx
// does: the app's few workers never wait on a slow upload, and a chunked
// body reaches Django (which reads no body without a Content-Length). The
// chain's body size limit applies while it is read.
func spoolBody(r *http.Request, head []byte) error {
	f, err := os.CreateTemp("", "parapet-body-*")
	if err != nil {
		return fmt.Errorf("spooling a chunked body: %w", err)
	}
	_ = os.Remove(f.Name()) // the open file stays readable; nothing is left behind
	n, err := f.Write(head)
	if err == nil {
		var m int64
		m, err = io.Copy(f, r.Body)
		n += int(m)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err == nil && r.ContentLength >= 0 && int64(n) != r.ContentLength {
		err = fmt.Errorf("request body: %d of %d bytes: %w", n, r.ContentLength, io.ErrUnexpectedEOF)
	}
	if err != nil {
		_ = f.Close()
		return err
	}
	_ = r.Body.Close()
	r.Body = f
	r.ContentLength = int64(n)
	r.TransferEncoding = nil
	return nil
}

// clientBody remembers whether reading the client's request body failed,
// so that error is answered 400 rather than blamed on the upstream. The
// transport reads it on its own goroutine, hence the atomic.
type clientBody struct {
	io.ReadCloser
	err atomic.Bool
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.err.Store(true)
	}
	return n, err
}

func (b *clientBody) failed() bool { return b.err.Load() }

// Ready reports whether the upstream has been seen accepting connections.
func (p *Proxy) Ready() bool { return p.ready.Load() }

// SetReady marks the upstream ready or not.
func (p *Proxy) SetReady(v bool) { p.ready.Store(v) }

// WaitReady marks the proxy not ready and polls the upstream address until
// it accepts a connection (then marks it ready and returns nil) or ctx ends.
func (p *Proxy) WaitReady(ctx context.Context, every time.Duration) error {
	p.ready.Store(false)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := p.dialer.DialContext(dctx, p.upstream.Network, p.upstream.Address)
		cancel()
		if err == nil {
			_ = c.Close()
			p.ready.Store(true)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// bufferPool reuses the 32 KB copy buffers ReverseProxy would otherwise
// allocate for every response.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
