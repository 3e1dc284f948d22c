package detect

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"
)

// A wideEncoding is one of the encodings other than UTF-8 that Python's
// json.loads reads a body of bytes in, by itself (json.detect_encoding):
// json.loads(request.body) decodes UTF-16 and UTF-32 whatever the
// Content-Type says.
type wideEncoding struct {
	unit int // bytes per code unit: 2 or 4; 0 for UTF-8
	big  bool
	bom  int // BOM bytes to skip
}

// jsonEncoding is json.detect_encoding: the BOMs first, then the pattern
// of NUL bytes in the first four bytes that ASCII text ('{', '[', '"', a
// digit) makes in each encoding.
func jsonEncoding(b []byte) wideEncoding {
	switch {
	case bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		return wideEncoding{unit: 4, big: true, bom: 4}
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return wideEncoding{unit: 4, bom: 4}
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return wideEncoding{unit: 2, big: true, bom: 2}
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return wideEncoding{unit: 2, bom: 2}
	case len(b) >= 4 && b[0] == 0 && b[1] == 0:
		return wideEncoding{unit: 4, big: true}
	case len(b) >= 4 && b[0] == 0:
		return wideEncoding{unit: 2, big: true}
	case len(b) >= 4 && b[1] == 0 && b[2] == 0 && b[3] == 0:
		return wideEncoding{unit: 4}
	case len(b) >= 4 && b[1] == 0:
		return wideEncoding{unit: 2}
	case len(b) == 2 && b[0] == 0:
		return wideEncoding{unit: 2, big: true}
	case len(b) == 2 && b[1] == 0:
		return wideEncoding{unit: 2}
	}
	return wideEncoding{}
}

// wideJSONText returns b as UTF-8 text when json.loads would read it as
// UTF-16 or UTF-32 (ok false for UTF-8). Whole code units only: a body cut
// short (a sniffed head) decodes as far as it goes. Lone surrogates and
// code points past U+10FFFF become U+FFFD (json.loads fails on the
// latter; the text is only inspected).
func wideJSONText(b []byte) (text []byte, ok bool) {
	enc := jsonEncoding(b)
	if enc.unit == 0 {
		return nil, false
	}
	b = b[enc.bom:]
	b = b[:len(b)-len(b)%enc.unit]
	order := binary.ByteOrder(binary.LittleEndian)
	if enc.big {
		order = binary.BigEndian
	}
	out := make([]byte, 0, len(b)/enc.unit+8)
	if enc.unit == 4 {
		for i := 0; i < len(b); i += 4 {
			r := rune(order.Uint32(b[i:]))
			if !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		}
		return out, true
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = order.Uint16(b[2*i:])
	}
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// startsLikeJSON reports whether text, after JSON white space and a BOM,
// starts an object, an array or a string: a body that may carry an attack
// to a view that json.loads it.
func startsLikeJSON(text []byte) bool {
	text = bytes.TrimLeft(text, " \t\r\n")
	text = bytes.TrimPrefix(text, []byte("\ufeff"))
	text = bytes.TrimLeft(text, " \t\r\n")
	return len(text) > 0 && (text[0] == '{' || text[0] == '[' || text[0] == '"')
}
