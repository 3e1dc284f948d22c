// Package spool keeps a request body that was read for inspection so that
// it can be replayed to the upstream byte for byte: in memory up to a
// limit, then in an unlinked temporary file (gone with its handle).
package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spool is written once, then replayed. It is not safe for concurrent
// use.
type Spool struct {
	mem    bytes.Buffer
	file   *os.File
	n      int64
	memMax int
}

// New returns a spool that keeps up to memMax bytes in memory.
func New(memMax int) *Spool { return &Spool{memMax: memMax} }

// Grow makes room in memory for n more bytes (the body's length, when
// known and within the memory limit), sparing the copies of growing.
func (s *Spool) Grow(n int) {
	if s.file == nil && s.mem.Len()+n <= s.memMax {
		s.mem.Grow(n)
	}
}

// Write adds p.
func (s *Spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) <= s.memMax {
		s.n += int64(len(p))
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "parapet-body-*")
		if err != nil {
			return 0, fmt.Errorf("spooling the body: %w", err)
		}
		_ = os.Remove(f.Name()) // unlinked: the data goes away with the handle
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, fmt.Errorf("spooling the body: %w", err)
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.file.Write(p)
	s.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("spooling the body: %w", err)
	}
	return n, nil
}

// Len is how many bytes were written.
func (s *Spool) Len() int64 { return s.n }

// OnDisk reports that the spool went past its memory limit.
func (s *Spool) OnDisk() bool { return s.file != nil }

// Body is what was written, as a request body; closing it releases the
// temporary file. The spool must not be written to after.
func (s *Spool) Body() *Body {
	b := &Body{size: s.n, file: s.file}
	if s.file != nil {
		b.at = s.file
	} else {
		b.at = bytes.NewReader(s.mem.Bytes())
	}
	b.r = io.NewSectionReader(b.at, 0, s.n)
	return b
}

// Discard releases the temporary file, if any, when the body will not be
// replayed.
func (s *Spool) Discard() {
	if s.file != nil {
		_ = s.file.Close()
	}
}

// Body replays a spool. Stages after the one that spooled it can read it
// again with Content, without spooling it a second time.
type Body struct {
	at     io.ReaderAt
	r      *io.SectionReader
	file   *os.File
	size   int64
	closed bool
}

// Read reads the body.
func (b *Body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("read from a closed spooled body")
	}
	return b.r.Read(p)
}

// Close releases the temporary file.
func (b *Body) Close() error {
	b.closed = true
	if b.file != nil {
		return b.file.Close()
	}
	return nil
}

// Size is the body's length.
func (b *Body) Size() int64 { return b.size }

// Unread reports that nothing has been read from the body yet.
func (b *Body) Unread() bool {
	off, _ := b.r.Seek(0, io.SeekCurrent)
	return off == 0 && !b.closed
}

// Content reads the whole body from its start, independently of Read.
func (b *Body) Content() io.Reader { return io.NewSectionReader(b.at, 0, b.size) }
