package detect

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/formdata"
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

// surrogateEscapesPaired returns body with every JSON escape of a lone
// surrogate (\uD800-\uDFFF not in a high-low pair) written as \uFFFD,
// and body itself (no copy) when it holds none. gjson, which Coraza's
// JSON body processor and addJSONArgs read strings with, takes the escape
// after any surrogate escape for its pair and swallows it ("\udc80\u003b"
// decodes to U+FFFD alone); json.loads keeps the lone surrogate and
// decodes the next escape on its own ('\udc80;'). With the lone escapes
// replaced, gjson reads what json.loads reads, but for the surrogate
// itself. The caller's bytes are never changed: they go to the upstream.
func surrogateEscapesPaired(body []byte) []byte {
	var out []byte
	for i := 0; i < len(body); i++ {
		j := bytes.IndexByte(body[i:], '\\')
		if j < 0 || i+j+1 >= len(body) {
			break
		}
		i += j
		if body[i+1] != 'u' {
			i++ // an escaped byte, maybe a backslash: not an escape's start
			continue
		}
		u, ok := hexUnit(body[i+2:])
		if !ok || u < 0xD800 || u > 0xDFFF {
			i++
			continue
		}
		if u < 0xDC00 && len(body) >= i+12 && body[i+6] == '\\' && body[i+7] == 'u' {
			if low, ok := hexUnit(body[i+8:]); ok && low >= 0xDC00 && low <= 0xDFFF {
				i += 11 // a pair: both escapes kept
				continue
			}
		}
		if out == nil {
			out = append(make([]byte, 0, len(body)), body...)
		}
		copy(out[i+2:i+6], "FFFD")
		i += 5
	}
	if out == nil {
		return body
	}
	return out
}

// hexUnit reads the four hex digits of a \u escape from b.
func hexUnit(b []byte) (uint16, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var u uint16
	for _, c := range b[:4] {
		v, ok := formdata.Unhex(c)
		if !ok {
			return 0, false
		}
		u = u<<4 | uint16(v)
	}
	return u, true
}
