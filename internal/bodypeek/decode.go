package bodypeek

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Coding is a content coding Parapet can undo.
type Coding uint8

// The content codings Decoder reads. Identity is not one: it is dropped
// from the list.
const (
	Gzip    Coding = iota + 1 // gzip, x-gzip (RFC 1952)
	Deflate                   // deflate: zlib-wrapped (RFC 1950, what the name means) or raw (RFC 1951, what some servers send)
	Brotli                    // br (RFC 7932)
	Zstd                      // zstd (RFC 8878; windows up to 8 MB, as RFC 9659 has HTTP clients accept)
)

// MaxCodings is the deepest stack of content codings read; a response
// with more is not decoded.
const MaxCodings = 3

// ZstdMaxWindow is the largest zstd window decoded: what RFC 9659 asks
// HTTP clients to accept, so a frame browsers would refuse is refused
// here too instead of costing memory.
const ZstdMaxWindow = 8 << 20

func (c Coding) String() string {
	switch c {
	case Gzip:
		return "gzip"
	case Deflate:
		return "deflate"
	case Brotli:
		return "br"
	case Zstd:
		return "zstd"
	}
	return "?"
}

// Codings is a response's content codings in the order they were
// applied (the order Content-Encoding lists them), identity left out.
// The zero value is an identity body.
type Codings struct {
	list [MaxCodings]Coding
	n    uint8
}

// Len is the number of codings.
func (c Codings) Len() int { return int(c.n) }

// At is the i-th coding applied.
func (c Codings) At(i int) Coding { return c.list[i] }

func (c Codings) String() string {
	if c.n == 0 {
		return "identity"
	}
	var b strings.Builder
	for i := range int(c.n) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.list[i].String())
	}
	return b.String()
}

// UnsupportedError names a Content-Encoding that Decoder cannot read.
type UnsupportedError struct {
	// Encoding is the header's value (its lines joined with ", "), at
	// most 64 bytes of it.
	Encoding string
	// Why says what is wrong with it.
	Why string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("Content-Encoding %q: %s", e.Encoding, e.Why)
}

// ParseCodings reads a response's content codings from every
// Content-Encoding line (a coding may be listed on several, RFC 9110
// section 5.3), in the order they were applied. Names are
// case-insensitive; identity and empty elements are skipped. A coding
// Decoder cannot read, or more than MaxCodings, is an *UnsupportedError.
func ParseCodings(h http.Header) (Codings, error) {
	var c Codings
	lines := h["Content-Encoding"]
	for _, line := range lines {
		for line != "" {
			var name string
			name, line, _ = strings.Cut(line, ",")
			name = strings.TrimSpace(name)
			var coding Coding
			switch {
			case name == "" || strings.EqualFold(name, "identity"):
				continue
			case strings.EqualFold(name, "gzip") || strings.EqualFold(name, "x-gzip"):
				coding = Gzip
			case strings.EqualFold(name, "deflate"):
				coding = Deflate
			case strings.EqualFold(name, "br"):
				coding = Brotli
			case strings.EqualFold(name, "zstd"):
				coding = Zstd
			default:
				return Codings{}, unsupported(lines, fmt.Sprintf("%q is not a coding Parapet decodes", clip(name)))
			}
			if int(c.n) == MaxCodings {
				return Codings{}, unsupported(lines, fmt.Sprintf("more than %d codings stacked", MaxCodings))
			}
			c.list[c.n] = coding
			c.n++
		}
	}
	return c, nil
}

func unsupported(lines []string, why string) error {
	return &UnsupportedError{Encoding: clip(strings.Join(lines, ", ")), Why: why}
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// ErrNotEncoded is the error of a Decoder whose body does not start as
// its outermost coding says (a plain body labelled gzip, a range cut
// out of a compressed one).
var ErrNotEncoded = errors.New("the body is not in the coding its Content-Encoding names")

// Decoder undoes a body's content codings as it reads, the last applied
// first. The zero value is ready for Reset; a Decoder reused through
// Reset keeps its decompressors' memory. Not safe for concurrent use.
type Decoder struct {
	layers [MaxCodings]layer
	src    source
	srcB   byteSource
	top    io.Reader
}

// source is the body as the outermost decompressor reads it; it keeps
// the body's own error, so a failing upstream is not taken for a bad
// encoding.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// byteSource is a source that can be read a byte at a time, so that
// flate (in gzip, zlib and deflate) reads no further than it decodes.
type byteSource struct{ source }

func (s *byteSource) ReadByte() (byte, error) {
	b, err := s.r.(io.ByteReader).ReadByte()
	if err != nil && err != io.EOF {
		s.err = err
	}
	return b, err
}

// layer undoes one coding, reading from in. Its decompressor is made (or
// reset) on the first Read, so Reset itself never reads.
type layer struct {
	coding  Coding
	in      io.Reader
	src     *source   // the body, for its error
	r       io.Reader // the decompressor once started
	outer   bool      // reads the body itself: a bad start is ErrNotEncoded
	started bool
	out     bool // it has given text
	sniff   sniffReader
	gz      *gzip.Reader
	fl      io.ReadCloser
	zl      io.ReadCloser
	br      *brotli.Reader
	zs      *zstd.Decoder
}

// Reset makes d decode src, which is in the codings c.
func (d *Decoder) Reset(src io.Reader, c Codings) {
	d.src, d.srcB = source{r: src}, byteSource{source{r: src}}
	var in io.Reader = &d.src
	srcErr := &d.src
	if _, ok := src.(io.ByteReader); ok {
		in, srcErr = &d.srcB, &d.srcB.source
	}
	if c.n == 0 {
		d.top = in
		return
	}
	for i := int(c.n) - 1; i >= 0; i-- { // the last applied is undone first
		l := &d.layers[int(c.n)-1-i]
		l.coding, l.in, l.src, l.r, l.started, l.out, l.outer = c.list[i], in, srcErr, nil, false, false, i == int(c.n)-1
		in = l
	}
	d.top = in
}

// Release drops the references to the body (and to what the
// decompressors read), keeping their memory for the next Reset.
func (d *Decoder) Release() {
	d.top, d.src, d.srcB = nil, source{}, byteSource{}
	for i := range d.layers {
		l := &d.layers[i]
		l.in, l.src, l.r, l.started = nil, nil, nil, false
		l.sniff = sniffReader{}
		if l.zs != nil {
			_ = l.zs.Reset(nil)
		}
	}
}

// Read reads decoded bytes. A body that does not start as its outermost
// coding says fails with ErrNotEncoded; one that ends early with
// io.ErrUnexpectedEOF; one whose reading fails with that error.
func (d *Decoder) Read(p []byte) (int, error) { return d.top.Read(p) }

func (l *layer) Read(p []byte) (int, error) {
	if !l.started {
		l.started = true
		if err := l.start(); err != nil {
			err = l.classify(err)
			l.r = errReader{err}
			return 0, err
		}
	}
	n, err := l.r.Read(p)
	if n > 0 {
		l.out = true
	}
	if err != nil && err != io.EOF {
		err = l.classify(err)
	}
	return n, err
}

// classify tells a failing body, a body that ends early and one that is
// not in the coding (the outermost, before any text) apart.
func (l *layer) classify(err error) error {
	switch {
	case l.src.err != nil:
		return l.src.err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return io.ErrUnexpectedEOF
	case l.outer && !l.out && !errors.Is(err, ErrNotEncoded):
		return fmt.Errorf("%w (%s: %v)", ErrNotEncoded, l.coding, err)
	}
	return err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// start makes or resets the decompressor over l.in.
func (l *layer) start() error {
	switch l.coding {
	case Gzip:
		// gzip.Reader wraps a reader that is no io.ByteReader in a 4 KB
		// bufio.Reader of its own, which reads ahead of what it decoded.
		if l.gz == nil {
			l.gz = new(gzip.Reader)
		}
		if err := l.gz.Reset(l.in); err != nil {
			return err
		}
		l.r = l.gz
	case Deflate:
		// RFC 9110 means zlib (RFC 1950) by deflate; some servers send
		// raw deflate (RFC 1951). A zlib header is a CMF byte with method
		// 8 and a window of at most 32 KB, whose 16 bits with FLG are a
		// multiple of 31: raw deflate starting so is (almost) impossible
		// (its first block would have the reserved type 3).
		l.sniff = sniffReader{r: l.in}
		hdr, err := l.sniff.peek2()
		if err != nil && len(hdr) == 0 {
			return err
		}
		if len(hdr) == 2 && hdr[0]&0x0f == 8 && hdr[0]>>4 <= 7 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			if l.zl == nil {
				zl, err := zlib.NewReader(&l.sniff)
				if err != nil {
					return err
				}
				l.zl = zl
			} else if err := l.zl.(zlib.Resetter).Reset(&l.sniff, nil); err != nil {
				return err
			}
			l.r = l.zl
			return nil
		}
		if l.fl == nil {
			l.fl = flate.NewReader(&l.sniff)
		} else {
			_ = l.fl.(flate.Resetter).Reset(&l.sniff, nil)
		}
		l.r = l.fl
	case Brotli:
		if l.br == nil {
			l.br = brotli.NewReader(l.in)
		} else {
			_ = l.br.Reset(l.in)
		}
		l.r = l.br
	case Zstd:
		if l.zs == nil {
			// One block at a time in this goroutine (no decoding ahead),
			// windows as large as browsers accept.
			zs, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(ZstdMaxWindow))
			if err != nil {
				return fmt.Errorf("zstd decoder: %w", err)
			}
			l.zs = zs
		}
		if err := l.zs.Reset(l.in); err != nil {
			return err
		}
		l.r = l.zs
	default:
		return fmt.Errorf("coding %d", l.coding)
	}
	return nil
}

// sniffReader reads the first two bytes of a stream ahead, then replays
// them: enough to tell zlib from raw deflate without a bufio.Reader.
type sniffReader struct {
	r   io.Reader
	hdr [2]byte
	n   int // bytes of hdr held
	off int // of them, replayed
}

func (s *sniffReader) peek2() ([]byte, error) {
	for s.n < 2 {
		m, err := s.r.Read(s.hdr[s.n:])
		s.n += m
		if err != nil {
			return s.hdr[:s.n], err
		}
	}
	return s.hdr[:2], nil
}

func (s *sniffReader) Read(p []byte) (int, error) {
	if s.off < s.n {
		m := copy(p, s.hdr[s.off:s.n])
		s.off += m
		return m, nil
	}
	return s.r.Read(p)
}

// ReadByte lets flate read without a bufio.Reader of its own, which
// would read ahead of what it has decoded.
func (s *sniffReader) ReadByte() (byte, error) {
	if s.off < s.n {
		s.off++
		return s.hdr[s.off-1], nil
	}
	if br, ok := s.r.(io.ByteReader); ok {
		return br.ReadByte()
	}
	var b [1]byte
	for {
		n, err := s.r.Read(b[:])
		if n == 1 {
			return b[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// Decode returns what can be decoded from a (possibly truncated) prefix
// of a body in the codings c, at most max bytes; an identity body is
// returned as it is. ok is false when the body does not start as its
// outermost coding says (then nothing is decoded).
func Decode(prefix []byte, c Codings, max int) (text []byte, ok bool) {
	if c.Len() == 0 {
		return prefix, true
	}
	var d Decoder
	d.Reset(bytes.NewReader(prefix), c)
	defer d.Release()
	out, err := io.ReadAll(io.LimitReader(&d, int64(max))) // a truncated stream ends in an error: keep what came out
	if errors.Is(err, ErrNotEncoded) {
		return nil, false
	}
	return out, true
}
