package formdata

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// charset is one of the text codecs Parapet decodes as Python does.
// Django decodes every field name, value and file name with the request's
// charset; a codec Parapet cannot follow (UTF-16, UTF-7, EBCDIC,
// unicode_escape...) could turn bytes no rule matches into SQL, so such
// bodies are refused rather than read differently.
type charset int

const (
	utf8Charset charset = iota
	asciiCharset
	latin1Charset
)

// charsets are the spellings accepted, after lower-casing and turning
// '-' and ' ' into '_', each checked against Python's codecs.lookup by the
// differential test.
var charsets = map[string]charset{
	"utf_8": utf8Charset, "utf8": utf8Charset, "u8": utf8Charset, "utf": utf8Charset, "cp65001": utf8Charset,
	"ascii": asciiCharset, "us_ascii": asciiCharset, "646": asciiCharset, "us": asciiCharset,
	"latin_1": latin1Charset, "latin1": latin1Charset, "latin": latin1Charset, "l1": latin1Charset,
	"iso_8859_1": latin1Charset, "iso8859_1": latin1Charset, "8859": latin1Charset, "cp819": latin1Charset,
}

// lookupCharset finds a charset by one of its Python names.
func lookupCharset(name string) (charset, bool) {
	n := strings.ToLower(name)
	n = strings.NewReplacer("-", "_", " ", "_").Replace(n)
	c, ok := charsets[n]
	return c, ok
}

// decode is Python's bytes.decode(codec, errors="replace").
func (c charset) decode(b []byte) string {
	switch c {
	case asciiCharset:
		var sb strings.Builder
		for _, x := range b {
			if x < 0x80 {
				sb.WriteByte(x)
			} else {
				sb.WriteRune(utf8.RuneError)
			}
		}
		return sb.String()
	case latin1Charset:
		var sb strings.Builder
		for _, x := range b {
			sb.WriteRune(rune(x))
		}
		return sb.String()
	}
	return decodeUTF8(b)
}

// decodeUTF8 is Python's UTF-8 decoder with errors="replace": each
// maximal invalid subsequence (Unicode's "maximal subpart") becomes one
// U+FFFD.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			sb.WriteByte(b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			sb.Write(b[i : i+size])
			i += size
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return sb.String()
}

// maximalSubpart is the length of the invalid sequence at the start of b:
// a lead byte and the continuation bytes that could still have completed
// it.
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	need := 0
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case 0xE1 <= c && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case 0xF1 <= c && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if k > 0 {
			lo, hi = 0x80, 0xBF
		}
		if b[n] < lo || b[n] > hi {
			break
		}
		n++
	}
	return n
}

// b64Alphabet maps base64 characters to their values; 0xFF for others.
var b64Alphabet = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	return t
}()

// pyB64Decode is Python 3.11's base64.b64decode(s) (binascii.a2b_base64,
// not strict): characters outside the alphabet are skipped, a complete
// pad ends the data, and ok is false where Python raises binascii.Error
// (Django then keeps the field's raw bytes).
func pyB64Decode(s []byte) (out []byte, ok bool) {
	out = make([]byte, 0, len(s)/4*3+3)
	quad, pads := 0, 0
	var left byte
	for _, c := range s {
		if c == '=' {
			if quad >= 2 {
				pads++
				if quad+pads >= 4 {
					return out, true
				}
			}
			continue
		}
		v := b64Alphabet[c]
		if v == 0xFF {
			continue
		}
		pads = 0
		switch quad {
		case 0:
			quad, left = 1, v
		case 1:
			quad = 2
			out = append(out, left<<2|v>>4)
			left = v & 0x0f
		case 2:
			quad = 3
			out = append(out, left<<4|v>>2)
			left = v & 0x03
		case 3:
			quad = 0
			out = append(out, left<<6|v)
			left = 0
		}
	}
	return out, quad == 0
}

// base64File decodes a base64 file part as Django does chunk by chunk
// (whitespace removed, each run of four characters decoded). Django's
// result depends on where its chunks fall when the data holds padding
// before its end or characters outside the alphabet (or it fails), so
// those are refused: only data Django reads the same way in any chunks
// is decoded.
func base64File(r io.Reader) io.Reader {
	return &b64File{dec: base64.NewDecoder(base64.StdEncoding, &b64Stripper{r: bufio.NewReaderSize(r, 4096)})}
}

// b64File turns the decoder's complaints into refusals.
type b64File struct{ dec io.Reader }

func (f *b64File) Read(p []byte) (int, error) {
	n, err := f.dec.Read(p)
	var corrupt base64.CorruptInputError
	if errors.As(err, &corrupt) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = &Error{Reason: "base64 file content Django would decode differently in different chunks, or fail on"}
	}
	return n, err
}

// b64Stripper drops ASCII whitespace (Python's bytes.split()) and refuses
// what base64.StdEncoding would not decode the way Django does.
type b64Stripper struct {
	r   *bufio.Reader
	err error
}

func (s *b64Stripper) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for n < len(p) {
		c, err := s.r.ReadByte()
		if err != nil {
			s.err = err
			break
		}
		if isASCIISpace(c) {
			continue
		}
		if c != '=' && b64Alphabet[c] == 0xFF {
			s.err = &Error{Reason: "base64 file content with a character outside the alphabet"}
			break
		}
		p[n] = c
		n++
	}
	if n > 0 {
		return n, nil
	}
	return 0, s.err
}
