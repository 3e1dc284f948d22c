package detect

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/corazawaf/coraza/v3/types/variables"

	"github.com/parapet-waf/parapet/internal/decision"
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

// Django's defaults for the two settings that bound what a view can read
// with QueryDict(request.body) (Django 3.2, django/http/request.py and
// django/utils/http.py): HttpRequest.body raises RequestDataTooBig when
// the Content-Length is over DATA_UPLOAD_MAX_MEMORY_SIZE, and QueryDict
// raises TooManyFieldsSent when 1 + the number of '&' in the decoded body
// (parse_qsl's num_fields; '&' is its only separator) is over
// DATA_UPLOAD_MAX_NUMBER_FIELDS.
const (
	djangoMaxMemory = 2621440
	djangoMaxFields = 1000
)

// readFileBody reads a body taken for a file (binaryBody) as far as a
// view could read it as a form: QueryDict(request.body) parses any body,
// decoding it as UTF-8 or, when it is not, as ISO-8859-1. A body Django
// cannot read that way (over maxMemory bytes, or more than maxFields
// fields) is passed uninspected; any other is returned for inspection as
// a form (fileForm), a body over body_limit too when it fits the
// inspection's bound (fileFormLimit), else body_over_limit decides.
// The bytes read are replayed to the upstream.
func (s *Stage) readFileBody(r *http.Request) (decision.Decision, []byte) {
	maxMem := s.djangoMaxMemory
	if maxMem <= 0 {
		maxMem = s.maxBody // DATA_UPLOAD_MAX_MEMORY_SIZE None
	}
	if r.ContentLength > maxMem {
		return decision.Pass, nil // request.body raises RequestDataTooBig
	}
	size := int64(64 << 10)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1
	}
	buf := make([]byte, 0, size)
	fields := int64(1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := min(int64(cap(buf)), maxMem+1)
		n, err := r.Body.Read(buf[len(buf):room])
		fields += int64(bytes.Count(buf[len(buf):len(buf)+n], []byte{'&'}))
		buf = buf[:len(buf)+n]
		if s.djangoMaxFields > 0 && fields > s.djangoMaxFields || int64(len(buf)) > maxMem {
			// TooManyFieldsSent, or RequestDataTooBig (the upstream gets
			// the body's length).
			r.Body = replay(buf, r.Body)
			return decision.Pass, nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			r.Body = replay(buf, r.Body)
			return readError(err), nil
		}
	}
	r.Body = replay(buf, r.Body)
	if int64(len(buf)) > s.limit && int64(len(buf)) > s.fileFormLimit {
		return s.overLimit("form read from a file-like body", "body_limit", s.limit, s.rejectOver), nil
	}
	return decision.Pass, buf
}

// byteRangeRules are the CRS rules that check the bytes of arguments
// (@validateByteRange): a NUL (920270), control characters (920271), any
// byte outside printable ASCII (920272, 920273). A file holds such bytes,
// so they do not read the fields of a form read from a file (its names,
// values and raw body); every other rule does, and these still read the
// query string's arguments. (920274 reads only headers.)
var byteRangeRules = []int{920270, 920271, 920272, 920273}

// targetRemover is the transaction's ctl:ruleRemoveTargetById.
type targetRemover interface {
	RemoveRuleTargetByID(id int, variable variables.RuleVariable, key string, keyRx *regexp.Regexp)
}

// exemptFileFields keeps byteRangeRules off the fields of body, a form
// read from a file: off ARGS and ARGS_NAMES whole when the query string
// has no argument, else off each of the body's field names that no query
// argument has (Coraza names an exclusion's field in any case, for the
// query and the body alike), and off REQUEST_BODY.
func exemptFileFields(tx types.Transaction, st plugintypes.TransactionState, body []byte) {
	rm, ok := tx.(targetRemover)
	if !ok {
		return
	}
	var names []string
	if query := st.Variables().ArgsGet().FindAll(); len(query) > 0 {
		inQuery := make(map[string]bool, len(query))
		for _, m := range query {
			inQuery[strings.ToLower(m.Key())] = true
		}
		seen := map[string]bool{}
		for field := range bytes.SplitSeq(body, []byte{'&'}) {
			if len(field) == 0 {
				continue
			}
			name, _, _ := bytes.Cut(field, []byte{'='})
			n := strings.ToLower(formUnescape(name))
			if !inQuery[n] && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			names = nil
		}
	} else {
		names = []string{""} // every key
	}
	for _, id := range byteRangeRules {
		for _, n := range names {
			rm.RemoveRuleTargetByID(id, variables.Args, n, nil)
			rm.RemoveRuleTargetByID(id, variables.ArgsNames, n, nil)
		}
		rm.RemoveRuleTargetByID(id, variables.RequestBody, "", nil)
	}
}

// formUnescape is a field name as Coraza's urlencoded body processor
// keys it: '+' is a space, %XX a byte, a '%' not followed by two hex
// digits itself.
func formUnescape(b []byte) string {
	if bytes.IndexByte(b, '+') < 0 && bytes.IndexByte(b, '%') < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '+':
			out = append(out, ' ')
		case c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// djangoText is body as QueryDict(request.body) decodes it before
// splitting it into fields, in UTF-8: itself when it is UTF-8, else each
// byte as the ISO-8859-1 character of that code. ('&', '=', '+' and '%'
// keep their places.)
func djangoText(body []byte) []byte {
	if utf8.Valid(body) {
		return body
	}
	out := make([]byte, 0, len(body)+len(body)/2)
	for _, c := range body {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
