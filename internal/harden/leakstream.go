package harden

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/parapet-waf/parapet/internal/bodypeek"
	"github.com/parapet-waf/parapet/internal/decision"
)

// Sizes of the streaming search.
const (
	// lookahead is how far past a hit the checks read, and so how many
	// bytes of text the search holds back until more arrive: a marker or
	// secret split between two reads is found whole before any of it
	// goes out. Configured secret patterns match up to this long.
	lookahead = 1024
	// lookbehind is how far before a hit the checks read.
	lookbehind = 64
	// windowText is how much new text one search covers.
	windowText = 32 << 10
	// holdMax is how much of a body (as sent) that starts like Django's
	// DEBUG page is held back, its headers too, until it is decided.
	holdMax = 1 << 20
	// decodedLag is how far (in decoded bytes, per content coding) the
	// compressed bytes sent may trail the text searched: more than any
	// decoder holds back (flate's 32 KB window, a 128 KB zstd block,
	// plus what one feedPiece expands to), so a client can never decode
	// text the search has not seen.
	decodedLag = 256 << 10
	// feedPiece is the most a decoder gets per read, which bounds what
	// it reads ahead of its output.
	feedPiece = 4096
	// Decoded text past bombBytes that is more than bombRatio times the
	// compressed bytes read is a decompression bomb, not a page.
	bombBytes = 64 << 20
	bombRatio = 1024
)

// scanner searches a body's text for leaks as it arrives, in windows that
// overlap by lookbehind+lookahead bytes: every hit is checked with all
// the text around it that the checks read, however the text was split
// into reads, with memory bounded by the window.
type scanner struct {
	g    *leakGuard
	win  []byte // text carried from the last window, then new text
	lo   int    // hits starting in win[:lo] have been checked
	base int64  // offset in the text of win[0]
	tech techState
	done bool // the text ended and all of it was searched
}

func (sc *scanner) reset(g *leakGuard) {
	if sc.win == nil {
		sc.win = make([]byte, 0, lookbehind+lookahead+windowText)
	}
	*sc = scanner{g: g, win: sc.win[:0]}
}

// cleared is the offset in the text before which no hit can start: the
// text before it may go to the client.
func (sc *scanner) cleared() int64 { return sc.base + int64(sc.lo) }

// write searches p, the text that follows what was written before.
func (sc *scanner) write(p []byte) finding {
	for len(p) > 0 {
		if len(sc.win) == cap(sc.win) {
			// Slide: keep what the checks of the next hits read behind them.
			keep := sc.lo - lookbehind
			n := copy(sc.win, sc.win[keep:])
			sc.win = sc.win[:n]
			sc.base += int64(keep)
			sc.lo -= keep
		}
		n := copy(sc.win[len(sc.win):cap(sc.win)], p)
		sc.win = sc.win[:len(sc.win)+n]
		p = p[n:]
		if f := sc.scan(false); f.rule != "" {
			return f
		}
	}
	return finding{}
}

// finish searches what is left: the text ended.
func (sc *scanner) finish() finding {
	sc.done = true
	return sc.scan(true)
}

// scan checks the hits that start from lo up to lookahead bytes before
// the window's end (to its end when final).
func (sc *scanner) scan(final bool) finding {
	hi := len(sc.win) - lookahead
	if final {
		hi = len(sc.win)
	}
	if sc.tech == techUnknown && len(sc.win) < startBytes && !final {
		return finding{} // the start decides how the body is held: wait for it
	}
	if hi <= sc.lo {
		return finding{}
	}
	if f := sc.tech.step(sc.win, sc.lo, hi, final); f.rule != "" {
		return f
	}
	f := sc.g.findIn(sc.win, sc.lo, hi)
	if f.rule == "" {
		sc.lo = hi
	}
	return f
}

// errLeak is what a streaming body fails with when a leak comes after
// its headers went out: the proxy cuts the response off.
type errLeak struct{ rule string }

func (e errLeak) Error() string {
	return "leak guard: " + e.rule + " past what was read before the response headers went out; response cut off"
}

// leakStream reads a body from the upstream, decodes it and searches the
// text, and gives the client only bytes whose text has been searched:
// identity bytes once the search is lookahead bytes past them,
// compressed bytes once it is decodedLag (per coding) past the text they
// had decoded to. Before the headers go out, hold reads the start of the
// body (and all of one that starts like a DEBUG page); after, Read
// streams and fails (cutting the response off) if a leak comes.
type leakStream struct {
	g       *leakGuard
	info    *decision.Info
	up      io.ReadCloser
	codings bodypeek.Codings
	dec     bodypeek.Decoder
	sc      scanner
	out     []byte // decoded text buffer

	raw     []byte // upstream bytes from rawBase on
	rawBase int64  // body offset of raw[0]
	sent    int    // raw[:sent] went to the client
	safe    int    // raw[:safe] may go
	fed     int    // raw[:fed] went to the decoder (or the scanner)
	upDone  bool   // the upstream's body ended
	upErr   error  // the upstream's body failed
	decDone bool   // the text ended (or cannot be decoded further): the rest passes unread
	marks   []mark // after each decoded read: raw fed, text out
	text    int64  // text decoded so far
	lag     int64
	found   finding
	err     error // what Read fails with from now on
}

// mark says that once the search is lag past text, raw bytes up to raw
// may go.
type mark struct{ raw, text int64 }

func (g *leakGuard) newStream(resp *http.Response, c bodypeek.Codings, info *decision.Info) *leakStream {
	s, _ := g.streams.Get().(*leakStream)
	if s == nil {
		s = &leakStream{}
	}
	*s = leakStream{g: g, info: info, up: resp.Body, codings: c, dec: s.dec, sc: s.sc, out: s.out, raw: s.raw[:0], marks: s.marks[:0]}
	s.sc.reset(g)
	if c.Len() > 0 {
		if s.out == nil {
			s.out = make([]byte, windowText)
		}
		s.dec.Reset(feed{s}, c)
		s.lag = int64(c.Len()) * decodedLag
	}
	return s
}

// hold reads the body until it has read limit bytes of it, and on while
// it starts like a DEBUG page (up to holdMax), or until it ends or a leak
// turns up. The bytes read stay in s, to be sent by Read.
func (s *leakStream) hold(limit int) (finding, error) {
	for {
		switch read := s.rawBase + int64(len(s.raw)); {
		case s.found.rule != "":
			return s.found, nil
		case s.sc.done:
			return finding{}, nil // all the text searched: the rest (if any) passes
		case s.sc.tech == techUnknown:
		case s.sc.tech.suspect() && read < holdMax:
		case s.sc.tech.suspect():
			if s.sc.tech == techSummary {
				return foundLongDebug, nil
			}
			return finding{}, nil // only its robots meta tag or first line: stream on, searched
		case read >= int64(limit):
			return finding{}, nil
		}
		if err := s.step(); err != nil {
			return finding{}, err
		}
	}
}

// Read gives the client the bytes whose text has been searched. When a
// leak turns up, what came before it still goes; then the body fails.
func (s *leakStream) Read(p []byte) (int, error) {
	for {
		if s.sent < s.safe {
			n := copy(p, s.raw[s.sent:s.safe])
			s.sent += n
			if s.sent == len(s.raw) && s.upDone && s.decDone && s.found.rule == "" {
				return n, io.EOF // the end, with the last bytes
			}
			return n, nil
		}
		switch {
		case s.err != nil:
			return 0, s.err
		case s.found.rule != "":
			s.err = s.cut()
		case s.upDone && s.decDone && s.sent == len(s.raw):
			return 0, io.EOF
		default:
			if err := s.step(); err != nil {
				s.err = err
			}
		}
	}
}

// cut records a leak found after the headers went out; the error it
// returns makes the proxy cut the response off.
func (s *leakStream) cut() error {
	f := s.found
	if f.rule == RuleLeakUninspectable && s.g.pass {
		s.info.AddTag("leak-guard-skipped:bomb")
		s.passRest()
		return nil
	}
	s.info.Final = decision.Decision{Action: decision.Block, RuleID: f.rule, Critical: f.rule != RuleLeakUninspectable,
		Reason: fmt.Sprintf("%s, %d bytes into the body, past what was read before the headers went out: the response was cut off there", f.what, s.rawBase+int64(s.sent))}
	return errLeak{f.rule}
}

// passRest gives up searching: the rest of the body passes unread.
func (s *leakStream) passRest() {
	s.found, s.decDone, s.safe = finding{}, true, len(s.raw)
}

// Close closes the upstream's body; s goes back to the pool, so nothing
// may call Close again or keep s as a response's body after it.
func (s *leakStream) Close() error {
	if s.up == nil {
		return nil
	}
	err := s.up.Close()
	s.up, s.info = nil, nil
	s.dec.Release()
	if cap(s.raw) > 256<<10 {
		s.raw = nil // a held DEBUG page: do not keep a megabyte per stream
	}
	s.g.streams.Put(s)
	return err
}

// step reads on: one upstream read, or one decoded read (which reads the
// upstream as the decoder needs), searched; then works out what may go.
func (s *leakStream) step() error {
	switch {
	case s.decDone:
		// The text ended (or cannot be decoded): what is left passes.
		if err := s.fill(); err != nil {
			return err
		}
		s.fed, s.safe = len(s.raw), len(s.raw)
		return nil
	case s.codings.Len() == 0:
		if err := s.fill(); err != nil {
			return err
		}
		s.found = s.sc.write(s.raw[s.fed:])
		s.fed = len(s.raw)
		if s.upDone && s.found.rule == "" {
			s.found, s.decDone = s.sc.finish(), true
		}
		// Identity: the text is the body.
		s.safe = int(s.sc.cleared() - s.rawBase)
		if s.sc.done && s.found.rule == "" {
			s.safe = len(s.raw)
		}
		return nil
	}
	n, err := s.dec.Read(s.out)
	if n > 0 {
		s.text += int64(n)
		s.found = s.sc.write(s.out[:n])
		s.marks = append(s.marks, mark{raw: s.rawBase + int64(s.fed), text: s.text})
		if s.found.rule == "" && s.text > bombBytes && s.text > bombRatio*(s.rawBase+int64(s.fed)) {
			s.found = finding{RuleLeakUninspectable, fmt.Sprintf("a decompression bomb (%d bytes decoded from %d)", s.text, s.rawBase+int64(s.fed))}
		}
	}
	switch {
	case s.found.rule != "" || err == nil:
	case s.upErr != nil:
		return s.upErr
	case errors.Is(err, bodypeek.ErrNotEncoded) && s.text == 0:
		// Not what its Content-Encoding says (a plain body labelled
		// gzip, a range of a compressed one): search the bytes as they
		// are, which is all a client could make of them.
		s.info.AddTag("leak-guard-not-encoded")
		s.codings, s.fed, s.marks = bodypeek.Codings{}, 0, s.marks[:0]
		return nil
	default:
		// The end of the text, or as far as it decodes (a client's
		// decoder stops there too): search the rest of the window; the
		// rest of the body passes.
		if !errors.Is(err, io.EOF) {
			s.info.AddTag("leak-guard-decode-error")
		}
		s.decDone = true
		if s.found = s.sc.finish(); s.found.rule == "" {
			s.safe = len(s.raw)
			return nil
		}
	}
	// Compressed bytes may go once the search is lag past the text they
	// had decoded to.
	cleared, i := s.sc.cleared(), 0
	for i < len(s.marks) && s.marks[i].text+s.lag <= cleared {
		s.safe = int(s.marks[i].raw - s.rawBase)
		i++
	}
	s.marks = s.marks[:copy(s.marks, s.marks[i:])]
	return nil
}

// fill reads the upstream once into raw, first dropping what was sent.
func (s *leakStream) fill() error {
	if s.upDone || s.up == nil {
		return nil
	}
	if s.sent > 0 && s.sent >= len(s.raw)/2 {
		n := copy(s.raw, s.raw[s.sent:])
		s.raw = s.raw[:n]
		s.rawBase += int64(s.sent)
		s.safe -= s.sent
		s.fed -= s.sent
		s.sent = 0
	}
	if cap(s.raw)-len(s.raw) < windowText {
		grown := make([]byte, len(s.raw), 2*cap(s.raw)+windowText)
		copy(grown, s.raw)
		s.raw = grown
	}
	n, err := s.up.Read(s.raw[len(s.raw):cap(s.raw)])
	s.raw = s.raw[:len(s.raw)+n]
	switch {
	case errors.Is(err, io.EOF):
		s.upDone = true
	case err != nil:
		s.upErr = fmt.Errorf("reading upstream body: %w", err)
		return s.upErr
	}
	return nil
}

// feed is what the decoder reads: the upstream's bytes as they come, at
// most feedPiece at a time.
type feed struct{ s *leakStream }

func (f feed) Read(p []byte) (int, error) {
	s := f.s
	for s.fed == len(s.raw) {
		if s.upDone {
			return 0, io.EOF
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p[:min(len(p), feedPiece)], s.raw[s.fed:])
	s.fed += n
	return n, nil
}

// ReadByte lets flate and gzip read without a buffer of their own (which
// would read ahead of what they decoded).
func (f feed) ReadByte() (byte, error) {
	s := f.s
	for s.fed == len(s.raw) {
		if s.upDone {
			return 0, io.EOF
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
	s.fed++
	return s.raw[s.fed-1], nil
}
