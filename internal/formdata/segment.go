package formdata

import (
	"bytes"
	"errors"
	"io"
)

// segmenter splits a body at every occurrence of the separator ("--" and
// the boundary), wherever it is, as Django's BoundaryIter does: a segment
// is the bytes from just after one separator (or the start of the body)
// to the next separator (or the end of the body), less one "\n" and then
// one "\r" just before a separator. Nothing else about the separator's
// surroundings counts: "--B--" is a separator followed by "--", "--Bx"
// one followed by "x", and the bytes after the last separator are a
// segment like any other.
//
// Django's own search reads the body in chunks and keeps back enough of
// each to find a separator that straddles two, so where its chunks fall
// does not change the segments (see Reader for where it does change
// what Django makes of them).
type segmenter struct {
	src  io.Reader
	sep  []byte
	buf  []byte
	r, w int   // buf[r:w] is unread
	base int64 // offset in the body of buf[0]
	eof  bool  // src is exhausted
	err  error // src failed

	inSeg    bool
	segStart int64 // offset of the current segment
	scan     int   // no separator starts in buf[segment's start or r : scan]
	sepAt    int   // buf index of the separator ending the segment, -1 while unknown
	end      int   // buf index where the segment's data ends (sepAt less the backoff), when sepAt >= 0
	atEOF    bool  // the segment ends with the body
	segLen   int64 // the segment's length before the backoff, once known
	// lineStart: the separator ending the last segment starts the body or
	// follows a "\n" (where an RFC 7578 parser looks for one).
	lineStart bool
}

const segBufSize = 32 << 10

func newSegmenter(src io.Reader, sep []byte) *segmenter {
	return &segmenter{src: src, sep: sep, buf: make([]byte, segBufSize), sepAt: -1}
}

// fill reads more of the body, making room first.
func (s *segmenter) fill() {
	if s.eof || s.err != nil {
		return
	}
	if s.r > 0 && (s.w == len(s.buf) || s.r > len(s.buf)/2) {
		copy(s.buf, s.buf[s.r:s.w])
		s.base += int64(s.r)
		s.w -= s.r
		s.scan -= s.r
		if s.sepAt >= 0 {
			s.sepAt -= s.r
			s.end -= s.r
		}
		s.r = 0
	}
	if s.w == len(s.buf) {
		return // full of unread bytes: the caller reads them first
	}
	n, err := s.src.Read(s.buf[s.w:])
	s.w += n
	if errors.Is(err, io.EOF) {
		s.eof = true
	} else if err != nil {
		s.err = err
	}
}

// next starts the next segment. It reports false at the end of the body
// (Django's BoundaryIter refuses to start on an exhausted stream). The
// current segment must have been read to its end.
func (s *segmenter) next() (bool, error) {
	for s.r == s.w && !s.eof && s.err == nil {
		s.fill()
	}
	if s.r == s.w {
		return false, s.err
	}
	s.inSeg = true
	s.segStart = s.base + int64(s.r)
	s.scan = s.r
	s.sepAt = -1
	s.atEOF = false
	s.segLen = -1
	return true, nil
}

// Read reads the current segment's data; io.EOF at its end.
func (s *segmenter) Read(p []byte) (int, error) {
	if !s.inSeg {
		return 0, io.EOF
	}
	for {
		if s.sepAt >= 0 {
			if s.r < s.end {
				n := copy(p, s.buf[s.r:s.end])
				s.r += n
				return n, nil
			}
			s.segLen = s.base + int64(s.sepAt) - s.segStart
			s.r = s.sepAt + len(s.sep)
			s.inSeg = false
			return 0, io.EOF
		}
		if s.atEOF {
			if s.r < s.w {
				n := copy(p, s.buf[s.r:s.w])
				s.r += n
				return n, nil
			}
			s.segLen = s.base + int64(s.w) - s.segStart
			s.inSeg = false
			return 0, io.EOF
		}
		if i := bytes.Index(s.buf[s.scan:s.w], s.sep); i >= 0 {
			s.sepAt = s.scan + i
			s.end = s.sepAt
			start := int(s.segStart - s.base)
			s.lineStart = s.base+int64(s.sepAt) == 0 || s.sepAt > start && s.sepAt > 0 && s.buf[s.sepAt-1] == '\n'
			// Back over "\n" then "\r", within the segment.
			if s.end-1 >= start && s.buf[s.end-1] == '\n' {
				s.end--
			}
			if s.end-1 >= start && s.buf[s.end-1] == '\r' {
				s.end--
			}
			continue
		}
		if s.eof {
			s.atEOF = true
			continue
		}
		// No separator starts before w-len(sep)+1; the two bytes before
		// one that might start there are held back for the backoff.
		if next := s.w - len(s.sep) + 1; next > s.scan {
			s.scan = next
		}
		if safe := s.w - len(s.sep) + 1 - 2; safe > s.r {
			n := copy(p, s.buf[s.r:safe])
			s.r += n
			return n, nil
		}
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
	}
}
