// Package bodypeek lets response stages read the start of an upstream
// body and put it back: the bytes read are replayed in front of the rest,
// which streams unread, so the client gets the body once and whole. It
// also decompresses such a prefix (gzip, br, deflate) for inspection.
package bodypeek

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/andybalholm/brotli"
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
// that replays those bytes, then streams the rest. The returned prefix
// stays valid until the new body is closed. On a read error the body is
// left as it was and nothing is replayed.
func (p *Peeker) Peek(resp *http.Response) ([]byte, error) {
	buf := p.getBuf()
	rest := resp.Body
	n, err := io.ReadFull(rest, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		p.bufs.Put(&buf)
		return nil, fmt.Errorf("reading upstream body: %w", err)
	}
	prefix := buf[:n]
	resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(prefix), rest), rest: rest, buf: &buf, pool: &p.bufs}
	return prefix, nil
}

func (p *Peeker) getBuf() []byte {
	if b, ok := p.bufs.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, p.limit)
}

// prefixedBody replays the peeked prefix, then streams the rest; Close
// gives the prefix buffer back to the pool.
type prefixedBody struct {
	io.Reader
	rest io.Closer
	buf  *[]byte
	pool *sync.Pool
}

func (b *prefixedBody) Close() error {
	err := b.rest.Close()
	if b.buf != nil {
		b.pool.Put(b.buf)
		b.buf = nil
	}
	return err
}

// Decodable reports whether Decode reads a body of this (lower-case,
// trimmed) Content-Encoding: none, identity, gzip, br or deflate.
func Decodable(enc string) bool {
	switch enc {
	case "", "identity", "gzip", "x-gzip", "br", "deflate":
		return true
	}
	return false
}

// Decode returns what can be decompressed from a (possibly truncated)
// prefix of a body in the encoding enc, at most max bytes; an identity
// body is returned as it is. ok is false when a gzip stream does not
// start as one (brotli and deflate yield what came out, maybe nothing).
func Decode(prefix []byte, enc string, max int) (text []byte, ok bool) {
	var r io.Reader
	switch enc {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(prefix))
		if err != nil {
			return nil, false
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(prefix))
	case "deflate":
		r = flate.NewReader(bytes.NewReader(prefix))
	default:
		return prefix, true
	}
	out, _ := io.ReadAll(io.LimitReader(r, int64(max))) // a truncated stream ends in an error: keep what came out
	return out, true
}
