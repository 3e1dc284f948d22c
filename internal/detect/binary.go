package detect

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// sniffBytes is how much of a body binaryBody reads to tell a file from
// text.
const sniffBytes = 512

// signatures are how files of the binary media types an API takes as a
// raw body (DRF's FileUploadParser, fetch(url, {body: file})) start.
var signatures = map[string][][]byte{
	"image/jpeg":      {{0xFF, 0xD8, 0xFF}},
	"image/png":       {{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}},
	"image/gif":       {[]byte("GIF87a"), []byte("GIF89a")},
	"image/webp":      {[]byte("RIFF")},
	"application/pdf": {[]byte("%PDF-")},
	"application/zip": {{'P', 'K', 0x03, 0x04}, {'P', 'K', 0x05, 0x06}},
}

// binaryBody reports whether r's body is a file of the binary type its
// Content-Type names: it starts with that type's signature, or, for
// application/octet-stream, its first bytes hold a NUL or are not UTF-8,
// and are not JSON in UTF-16 or UTF-32 (which json.loads on bytes decodes
// by itself). Such a body has no fields for the rules to read, and no view
// can read it as JSON or a form (json.loads refuses it), so it is not matched, and
// detection.body_limit does not apply to it (limits.max_body_bytes does).
// Anything else, such as JSON sent as image/png, is read as text as
// before. The bytes read are replayed to the upstream.
func binaryBody(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	mt = strings.ToLower(mt)
	sigs, known := signatures[mt]
	if !known && mt != "application/octet-stream" {
		return false
	}
	n := int64(sniffBytes)
	if r.ContentLength >= 0 && r.ContentLength < n {
		n = r.ContentLength
	}
	head := make([]byte, n)
	got, _ := io.ReadFull(r.Body, head)
	head = head[:got]
	r.Body = replay(head, r.Body)
	if known {
		for _, sig := range sigs {
			if bytes.HasPrefix(head, sig) {
				return true
			}
		}
		return false
	}
	if text, ok := wideJSONText(head); ok && startsLikeJSON(text) {
		return false // JSON in UTF-16 or UTF-32, which json.loads reads
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	if got < sniffBytes {
		return !utf8.Valid(head)
	}
	// A rune cut at the end of the sniffed bytes is not a sign of binary.
	for k := 0; k <= 3; k++ {
		if utf8.Valid(head[:len(head)-k]) {
			return false
		}
	}
	return true
}
