package proxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"
)

// upConn is a plain (http:// or unix:) upstream connection. It keeps
// the upstream's silences within idle once armed (see exchange.gotConn), and it
// follows where each HTTP/1 response on it ends, so that bytes a broken
// upstream sends beyond a response never become the next request's
// response. Go's transport takes a connection back for the next request
// as soon as it has read what the response's framing says; whatever
// follows was read as that next request's answer:
//
//   - gunicorn 20.1 sends the GET body with a HEAD answer (framed by its
//     Content-Length, or unframed when the app streams), and the body an
//     app gives a 204 or 304;
//   - an upstream may send more than its Content-Length, or bytes after
//     the last chunk.
//
// So a response that must have no body (to HEAD, 204, 304) ends the
// connection right after its headers, and bytes past the end of any
// response, or sent while no request is waiting, end it too: Read
// returns them up to the response's end together with io.EOF, which the
// transport takes as the upstream closing the connection, so it is never
// reused. Responses framed as they should be (Content-Length, chunked)
// keep their connection; only the three bodiless kinds pay for a new one.
//
// What no one can tell apart remains: bytes that arrive only after the
// next request was written look like its answer (nginx is in the same
// position).
type upConn struct {
	net.Conn

	// The idle limit (see exchange.gotConn).
	idle  time.Duration
	armed atomic.Bool
	until atomic.Int64 // the read deadline set, in Unix nanoseconds; 0: none

	// sent is what the writer has sent since the last response ended:
	// sentNone, sentRequest or sentHead, then sentAnswering while the
	// response is being read. Write sets it, Read (the transport's read
	// loop or the body's reader, one at a time) consumes it.
	sent atomic.Uint32
	// lost: the response's framing could not be followed (Go's parser
	// refuses such a response too, and closes the connection); a request
	// is never written on it.
	lost atomic.Bool
	// ended: Read has reported the end of the connection.
	ended bool
	f     framing
}

const (
	sentNone uint32 = iota
	sentRequest
	sentHead
	sentAnswering
)

// errUnframed is Write's answer on a connection whose last response
// could not be followed (the request is retried on another when it can be).
var errUnframed = errors.New("upstream connection: the last response's framing could not be followed")

func (c *upConn) Read(b []byte) (int, error) {
	if c.ended {
		return 0, io.EOF
	}
	if c.armed.Load() {
		if now := time.Now(); now.Add(c.idle).UnixNano() > c.until.Load() {
			c.setDeadline(now)
		}
	}
	n, err := c.Conn.Read(b)
	if n > 0 && c.f.st != fOff {
		var end bool
		n, end = c.track(b[:n])
		if end {
			c.ended = true
			return n, io.EOF
		}
	}
	return n, err
}

func (c *upConn) Write(b []byte) (int, error) {
	if c.lost.Load() {
		return 0, errUnframed
	}
	if c.sent.Load() == sentNone {
		s := sentRequest
		if len(b) >= 5 && string(b[:5]) == "HEAD " {
			s = sentHead
		}
		c.sent.CompareAndSwap(sentNone, s)
	}
	return c.Conn.Write(b)
}

// setDeadline sets the read deadline idle plus a slack of idle/64 ahead;
// Read only moves it when it finds less than idle left, so a busy
// connection resets its timer about once per idle/64 rather than on
// every read: the limit is at least idle and at most 1.6% more.
func (c *upConn) setDeadline(now time.Time) {
	d := now.Add(c.idle + c.idle/64)
	c.until.Store(d.UnixNano())
	_ = c.Conn.SetReadDeadline(d)
}

func (c *upConn) arm() {
	if c.idle <= 0 {
		return
	}
	c.armed.Store(true)
	c.setDeadline(time.Now())
}

func (c *upConn) disarm() {
	c.armed.Store(false)
	if c.until.Swap(0) != 0 {
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
}

// track follows b, bytes just read, through the responses' framing. It
// returns how many of them to hand on, and end: the connection must end
// after those (a bodiless response's headers are complete, or the rest
// of b belongs to no response).
func (c *upConn) track(b []byte) (n int, end bool) {
	f := &c.f
	i := 0
	for i < len(b) {
		switch f.st {
		case fIdle:
			s := c.sent.Load()
			if s == sentNone || s == sentAnswering {
				return i, true // bytes no request asked for
			}
			c.sent.Store(sentAnswering)
			f.head = s == sentHead
			f.st = fStatus
		case fBody, fChunkData:
			k := int64(len(b) - i)
			if k > f.n {
				k = f.n
			}
			i += int(k)
			f.n -= k
			if f.n > 0 {
				continue
			}
			if f.st == fBody {
				f.done(c)
			} else {
				f.st, f.crlf = fChunkEnd, 0
			}
		case fChunkEnd: // the CRLF after chunk data
			if f.crlf == 0 && len(b)-i >= 2 && b[i] == '\r' && b[i+1] == '\n' {
				i += 2
				f.st = fChunkSize
				continue
			}
			if b[i] != "\r\n"[f.crlf] {
				return c.lose(len(b))
			}
			i++
			if f.crlf++; f.crlf == 2 {
				f.st = fChunkSize
			}
		case fOff:
			return len(b), false
		default: // a line: status, header, chunk size or trailer
			line, next, cut, ok := f.line(b, i)
			i = next
			if !ok {
				continue // the line goes on in the next read
			}
			switch f.st {
			case fStatus:
				if !f.status(line) {
					return c.lose(len(b))
				}
			case fHeader:
				if !emptyLine(line) {
					if !f.header(line, cut) {
						return c.lose(len(b))
					}
					continue
				}
				switch {
				case f.code == 101: // a tunnel from here on
					f.st = fOff
				case f.code >= 100 && f.code <= 199: // interim: the response follows
					f.st = fStatus
				case f.head || f.code == 204 || f.code == 304:
					f.done(c)
					return i, true
				case f.chunked && f.http11:
					f.st = fChunkSize
				case f.cl >= 0:
					f.st, f.n = fBody, f.cl
					if f.n == 0 {
						f.done(c)
					}
				default: // read until the upstream closes
					f.st = fOff
				}
			case fChunkSize:
				size, ok := chunkSize(line, cut)
				if !ok {
					return c.lose(len(b))
				}
				if size == 0 {
					f.st = fTrailer
				} else {
					f.st, f.n = fChunkData, size
				}
			case fTrailer:
				if emptyLine(line) {
					f.done(c)
				}
			}
		}
	}
	return i, false
}

// lose gives up following the connection: Go's parser refuses what
// confused this one, but should it not, the connection still carries no
// further request.
func (c *upConn) lose(n int) (int, bool) {
	c.f.st = fOff
	c.lost.Store(true)
	return n, false
}

// Framing states.
const (
	fIdle      uint8 = iota // no response under way
	fStatus                 // a status line
	fHeader                 // header lines
	fBody                   // n bytes of a Content-Length body to come
	fChunkSize              // a chunk-size line
	fChunkData              // n bytes of chunk data to come
	fChunkEnd               // the CRLF after chunk data (crlf bytes of it seen)
	fTrailer                // trailer lines after the last chunk
	fOff                    // not followed: a tunnel, a body read until EOF
)

// framing is where the response being read is, as Go's transport
// (net/http ReadResponse, readTransfer, the chunked reader) reads it.
type framing struct {
	st      uint8
	head    bool  // answers a HEAD request
	http11  bool  // HTTP/1.1 or later: Transfer-Encoding counts
	code    int   // status code
	cl      int64 // Content-Length, -1: none
	chunked bool  // Transfer-Encoding: chunked
	field   uint8 // the header field read last: 1 Content-Length, 2 Transfer-Encoding
	crlf    uint8
	n       int64
	// buf keeps the start of a line that goes on in the next read; the
	// framing is in a line's first bytes.
	buf  [96]byte
	nbuf int // bytes of the line so far (may exceed len(buf))
}

func (f *framing) done(c *upConn) {
	f.st = fIdle
	c.sent.Store(sentNone)
}

// line returns the line starting at b[i] without its "\n", the index
// after it, and ok; or, when the line goes on past b, keeps its start
// and returns ok false. A line longer than buf comes back cut to its
// start (the framing is in a line's first bytes), with cut set.
func (f *framing) line(b []byte, i int) (line []byte, next int, cut, ok bool) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		f.keep(b[i:])
		return nil, len(b), false, false
	}
	line, next = b[i:i+j], i+j+1
	if f.nbuf == 0 {
		return line, next, false, true
	}
	f.keep(line)
	n := f.nbuf
	f.nbuf = 0
	if n > len(f.buf) {
		return f.buf[:], next, true, true
	}
	return f.buf[:n], next, false, true
}

func (f *framing) keep(p []byte) {
	if f.nbuf < len(f.buf) {
		copy(f.buf[f.nbuf:], p)
	}
	f.nbuf += len(p)
}

// emptyLine reports the blank line ending a header or trailer section
// ("\n" or "\r\n", as textproto reads it).
func emptyLine(l []byte) bool { return len(l) == 0 || len(l) == 1 && l[0] == '\r' }

// status reads a status line: "HTTP/x.y NNN reason".
func (f *framing) status(l []byte) bool {
	l = bytes.TrimSuffix(l, []byte("\r"))
	proto, rest, ok := bytes.Cut(l, []byte(" "))
	if !ok || len(proto) != 8 || string(proto[:5]) != "HTTP/" || proto[6] != '.' || !isDigit(proto[5]) || !isDigit(proto[7]) {
		return false
	}
	code, _, _ := bytes.Cut(bytes.TrimLeft(rest, " "), []byte(" "))
	// As Go's ReadResponse reads it: three characters strconv.Atoi takes
	// ("+00" too), not negative.
	n, err := strconv.Atoi(string(code))
	if len(code) != 3 || err != nil || n < 0 {
		return false
	}
	f.code = n
	f.http11 = proto[5] > '1' || proto[5] == '1' && proto[7] >= '1'
	f.cl, f.chunked, f.field = -1, false, 0
	f.st = fHeader
	return true
}

// header reads one header line for the fields that frame the body (a
// cut one cannot be one of them).
func (f *framing) header(l []byte, cut bool) bool {
	switch l[0] {
	case ' ', '\t': // continues the field before (obs-fold)
		// Blank, it leaves the value as it was (Go trims it away).
		return f.field == 0 || len(trimOWS(l)) == 0
	case 'c', 'C', 't', 'T':
	default:
		f.field = 0
		return true
	}
	f.field = 0
	name, value, ok := bytes.Cut(l, []byte(":"))
	if !ok {
		return true // Go refuses the response
	}
	isCL := len(name) == len("content-length") && bytes.EqualFold(name, []byte("content-length"))
	isTE := !isCL && len(name) == len("transfer-encoding") && bytes.EqualFold(name, []byte("transfer-encoding"))
	if !isCL && !isTE {
		return true
	}
	if cut {
		return false
	}
	value = trimOWS(value)
	if isCL {
		f.field = 1
		n, ok := decimal(value)
		if !ok || f.cl >= 0 && n != f.cl {
			return false
		}
		f.cl = n
		return true
	}
	f.field = 2
	if f.chunked || !bytes.EqualFold(value, []byte("chunked")) {
		return !f.http11 // HTTP/1.0 ignores it; Go refuses anything but one "chunked"
	}
	f.chunked = true
	return true
}

// chunkSize reads a chunk-size line: hex digits, then optional
// whitespace and extensions, ending in "\r" (unless cut).
func chunkSize(l []byte, cut bool) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(l); i++ {
		c := l[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto end
		}
		if i == 15 {
			return 0, false // past what an int64 holds; Go stops at 16 digits
		}
		n = n<<4 | int64(d)
	}
end:
	return n, i > 0 && (cut || l[len(l)-1] == '\r')
}

func decimal(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
	}
	// As Go reads a Content-Length: any leading zeros, up to 63 bits.
	n, err := strconv.ParseUint(string(v), 10, 63)
	return int64(n), err == nil
}

// trimOWS trims spaces, tabs and a line's "\r" from both ends.
func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return v
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
