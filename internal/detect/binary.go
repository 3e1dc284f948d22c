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
	"github.com/parapet-waf/parapet/internal/formdata"
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
// application/octet-stream, its first bytes hold a NUL or are not UTF-8
// (as Python reads UTF-8 with surrogatepass), and are not JSON in UTF-16
// or UTF-32 (which json.loads on bytes decodes by itself) or white space
// in those, nor start like JSON or XML. No view can read such a body as
// JSON, but one can read it
// as a form with QueryDict(request.body): readFileBody reads it so, and
// its bytes are not matched. Anything else, such as JSON sent as
// image/png, is read as text as before. The bytes read are replayed to
// the upstream.
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
	if text, ok := wideJSONText(head); ok {
		// JSON in UTF-16 or UTF-32, which json.loads reads, or only
		// white space so far: what follows the sniffed bytes may be
		// JSON, so the body is read as text (addJSONArgs decodes it).
		if startsLikeJSON(text) || len(bytes.Trim(text, " \t\r\n\ufeff")) == 0 {
			return false
		}
	}
	if startsLikeJSON(head) || startsAsMarkup(head) {
		// JSON or XML, whatever else is in it: json.loads decodes UTF-8
		// with surrogatepass (a UTF-8-encoded surrogate, ED A0 80, is not
		// UTF-8 to Go) and reads a NUL with strict=False; an XML parser
		// reads UTF-16 and the encoding its declaration names
		// (ISO-8859-1 bytes are not UTF-8 either). As text, a NUL is
		// refused (920270).
		return false
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	if got < sniffBytes {
		return !utf8SurrogatePass(head)
	}
	// A rune cut at the end of the sniffed bytes is not a sign of binary.
	for k := 0; k <= 3; k++ {
		if utf8SurrogatePass(head[:len(head)-k]) {
			return false
		}
	}
	return true
}

// utf8SurrogatePass reports whether b decodes as Python decodes UTF-8
// with errors="surrogatepass" (as json.loads decodes bytes): UTF-8, where
// the three-byte encodings of surrogates (ED A0 80 to ED BF BF), which Go
// takes for invalid, are text too.
func utf8SurrogatePass(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			if len(b) < 3 || b[0] != 0xED || b[1] < 0xA0 || b[1] > 0xBF || b[2] < 0x80 || b[2] > 0xBF {
				return false
			}
			n = 3
		}
		b = b[n:]
	}
	return true
}

// fileField is a field of a file-like body that a view can ask for.
type fileField struct{ name, value string }

// fileForm is what QueryDict(request.body) reads from a file-like body:
// the fields a view can ask for (fieldName).
type fileForm struct{ fields []fileField }

// readFileBody reads a body taken for a file (binaryBody) as far as a
// view could read it as a form: QueryDict(request.body) parses any body.
// A body Django cannot read that way (its length over
// DATA_UPLOAD_MAX_MEMORY_SIZE, or more than DATA_UPLOAD_MAX_NUMBER_FIELDS
// fields) is passed uninspected (nil); of any other, the fields a view can
// ask for are returned for inspection, their text (names and values) held
// to body_limit (over it, body_over_limit decides). The bytes of a file
// are not matched. The bytes read are replayed to the upstream.
//
// The bounds are Django 3.2's (django/http/request.py, django/utils/http.py):
// HttpRequest.body raises RequestDataTooBig when the Content-Length (which
// the proxy always sends, having received the body) is over
// DATA_UPLOAD_MAX_MEMORY_SIZE (s.djangoMaxMemory), and QueryDict raises
// TooManyFieldsSent when 1 + the number of '&' in the decoded body
// (parse_qsl's num_fields: '&' is its only separator, and one byte of
// the body in ISO-8859-1 or UTF-8) is over DATA_UPLOAD_MAX_NUMBER_FIELDS
// (s.djangoMaxFields). 0 is None: no bound but limits.max_body_bytes.
func (s *Stage) readFileBody(r *http.Request) (decision.Decision, *fileForm) {
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
			// the body with its length).
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
	// Django decodes the body as UTF-8, else as ISO-8859-1, then splits
	// it: '&' and '=' are the same bytes either way, and the names kept
	// are ASCII, so only the values kept are decoded.
	latin1 := !utf8.Valid(buf)
	f := &fileForm{}
	text := int64(0)
	for field := range bytes.SplitSeq(buf, []byte{'&'}) {
		name, value, _ := bytes.Cut(field, []byte{'='})
		n := formUnescape(name)
		if !fieldName(n) {
			continue
		}
		if text += int64(len(name) + len(value)); text > s.limit {
			return s.overLimit("form fields of a file-like body", "body_limit", s.limit, s.rejectOver), nil
		}
		if latin1 {
			// Held to the limit as the rules read it, in UTF-8 (up to
			// twice as long): the cost of a field is in its length.
			raw := value
			value = latin1Text(raw)
			if text += int64(len(value) - len(raw)); text > s.limit {
				return s.overLimit("form fields of a file-like body", "body_limit", s.limit, s.rejectOver), nil
			}
		}
		f.fields = append(f.fields, fileField{n, formUnescape(value)})
	}
	return decision.Pass, f
}

// fileExemptRules are the CRS rules kept off the fields of a form read
// from a file; every other rule reads them, and these still read the
// query string's arguments. First, the rules that check the bytes of
// arguments (@validateByteRange): a NUL (920270), control characters
// (920271), any byte outside printable ASCII (920272, 920273): a file
// holds such bytes (920274 reads only headers).
//
// The response splitting rules (921120: a line break then a header name,
// 921130: an HTTP status line or <html/<meta) are kept off them too: the
// text in files (a .mo catalog's header after a bug-report URL's
// "&component=") has both, and Django refuses any header value holding a
// line break (BadHeaderError, django/http/response.py), so no field of a
// Django app splits a response. So is 941310 (bytes 0xBC and 0xBE, '<'
// and '>' with the high bit set, for a page a browser reads as
// US-ASCII): those bytes are common in files, and Django reads them as
// the characters ¼ and ¾.
var fileExemptRules = []int{920270, 920271, 920272, 920273, 921120, 921130, 941310}

// targetRemover is the transaction's ctl:ruleRemoveTargetById.
type targetRemover interface {
	RemoveRuleTargetByID(id int, variable variables.RuleVariable, key string, keyRx *regexp.Regexp)
}

// addFileFields adds a file-like body's fields to ARGS_POST, with the
// fileExemptRules kept off them unless a query argument has the same name
// (Coraza names an exclusion's field in any case, for the query and the
// body alike).
func addFileFields(tx types.Transaction, st plugintypes.TransactionState, f *fileForm) {
	inQuery := map[string]bool{}
	for _, m := range st.Variables().ArgsGet().FindAll() {
		inQuery[strings.ToLower(m.Key())] = true
	}
	rm, _ := tx.(targetRemover)
	args := st.Variables().ArgsPost()
	exempt := map[string]bool{}
	for _, fl := range f.fields {
		args.Add(fl.name, fl.value)
		if l := strings.ToLower(fl.name); rm != nil && !inQuery[l] && !exempt[l] {
			exempt[l] = true
			for _, id := range fileExemptRules {
				rm.RemoveRuleTargetByID(id, variables.Args, l, nil)
				rm.RemoveRuleTargetByID(id, variables.ArgsNames, l, nil)
			}
		}
	}
}

// fieldName reports whether a file-like body's field name is one a view
// can ask for: Django's form field names are Python identifiers, with
// form and formset prefixes ("form-0-title") and widget suffixes
// ("when_0"); API clients add dots and brackets ("items[0].name"). Names
// in the random bytes of a file rarely look like that (a byte is one of
// those characters one time in four), which is what keeps the rules off
// the bytes of real files.
func fieldName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '-', c == '.', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// formUnescape is a field name as Coraza's urlencoded body processor
// keys it, and as parse_qsl reads it: '+' is a space, then %XX a byte, a
// '%' not followed by two hex digits itself (unquote_to_bytes).
func formUnescape(b []byte) string {
	if bytes.IndexByte(b, '+') < 0 && bytes.IndexByte(b, '%') < 0 {
		return string(b)
	}
	return string(formdata.UnquoteToBytes(strings.ReplaceAll(string(b), "+", " ")))
}

// latin1Text is b, bytes Django decodes as ISO-8859-1 (a body that is not
// UTF-8), in UTF-8: each byte the character of that code.
func latin1Text(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}
