// Package bodypeek lets response stages read the start of an upstream
// body and put it back: the bytes read are replayed in front of the rest,
// which streams unread, so the client gets the body once and whole. It
// also undoes a body's content codings (gzip, deflate, br, zstd, stacked
// up to MaxCodings) for inspection: one implementation for the leak guard
// and outbound detection.
package bodypeek

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Peeker reads up to a fixed number of bytes of bodies, in pooled buffers.
// Safe for concurrent use.
type Peeker struct {
	limit int
	bufs  sync.Pool // of *[]byte, limit bytes each
}

// New returns a Peeker that reads at most limit bytes of a body.
func New(limit int) *Peeker { return &Peeker{limit: limit} }

// Limit is the most a Peek reads.
func (p *Peeker) Limit() int { return p.limit }

// Peek reads up to the limit of resp.Body and replaces the body with one
// that replays those bytes, then streams the rest. whole says the body
// ended within the limit (the prefix is all of it). The returned prefix
// stays valid until the new body is closed. On a read error the body is
// left as it was and nothing is replayed.
func (p *Peeker) Peek(resp *http.Response) (prefix []byte, whole bool, err error) {
	buf := p.getBuf()
	rest := resp.Body
	n := 0
	for n < len(buf) && err == nil {
		var m int
		m, err = rest.Read(buf[n:])
		n += m
	}
	if n == len(buf) {
		// Reading stops at the limit without asking for more: a body of
		// exactly the limit reads as one that goes on.
		err = nil
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		p.bufs.Put(&buf)
		return nil, false, fmt.Errorf("reading upstream body: %w", err)
	}
	prefix = buf[:n]
	whole = err != nil
	// A body cut short (the upstream closed before its Content-Length:
	// io.ErrUnexpectedEOF) is inspected whole, and its reader still gets
	// the error after the prefix, never a clean end.
	resp.Body = &prefixedBody{prefix: prefix, whole: whole, end: err, rest: rest, buf: &buf, pool: &p.bufs}
	return prefix, whole, nil
}

func (p *Peeker) getBuf() []byte {
	if b, ok := p.bufs.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, p.limit)
}

// prefixedBody replays the peeked prefix, then streams the rest; Close
// gives the prefix buffer back to the pool. A body that was read whole
// ends with its last bytes (io.EOF, or the error that ended it, with
// them), so a reader knows it has ended without another call.
type prefixedBody struct {
	prefix []byte
	off    int
	whole  bool
	end    error // when whole: io.EOF, or the error that ended the body
	rest   io.ReadCloser
	buf    *[]byte
	pool   *sync.Pool
}

func (b *prefixedBody) Read(p []byte) (int, error) {
	if b.off < len(b.prefix) {
		n := copy(p, b.prefix[b.off:])
		b.off += n
		if b.whole && b.off == len(b.prefix) {
			return n, b.end
		}
		return n, nil
	}
	if b.whole {
		return 0, b.end
	}
	return b.rest.Read(p)
}

func (b *prefixedBody) Close() error {
	err := b.rest.Close()
	if b.buf != nil {
		b.pool.Put(b.buf)
		b.buf = nil
	}
	return err
}
