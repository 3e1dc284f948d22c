// Package formdata reads multipart/form-data request bodies exactly as
// Django 3.2's MultiPartParser (django/http/multipartparser.py) does, so
// that a firewall in front of Django sees every field and file Django
// will see, and no other. It streams: a part's content is read or skipped
// by the caller, never buffered here beyond a small window.
//
// Django reads more than RFC 7578 parsers such as Go's mime/multipart:
// the separator ("--" and the boundary) counts wherever it appears, not
// only at the start of a line and whatever follows it ("--B--" does not
// end the body, "--Bx" ends a part); the preamble and the bytes after the
// last separator are parts like the others; a part's header block is the
// text before the first "\r\n\r\n" in its first 1024 bytes, each line's
// name and main value lower-cased, later lines and parameters replacing
// earlier ones, "name*" and "filename*" decoded (RFC 2231); a field whose
// Content-Transfer-Encoding is base64 is decoded (its raw bytes kept if
// that fails), as is a file's; names, values and file names are decoded
// with the request's charset; a file's name is HTML-unescaped and cut
// after its last slash or backslash.
//
// Where Django's result depends on something Parapet cannot know or
// follow (how its upload handlers chunk the body, a codec Python has and
// Parapet does not), Reader returns an *Error: the caller refuses the
// request rather than guess.
package formdata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error is a body Parapet will not read: Django would read it in a way
// Parapet cannot follow, or fail on it. Reason says why, for the log and
// the client.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "multipart body refused: " + e.Reason }

// headerWindow is how much of a part Django looks at for its header
// block (parse_boundary_stream's max_header_size).
const headerWindow = 1024

// MaxParts is how many parts (separators, Django's "items") a body may
// have. Django refuses more than DATA_UPLOAD_MAX_NUMBER_FIELDS + 2 (1002)
// fields and parts without a header block, and more than 100 files, with
// its default settings; Parapet refuses more than this whatever the
// settings, as reading an empty part costs it a microsecond or so and a
// body can hold millions.
const MaxParts = 10000

var crlfcrlf = []byte("\r\n\r\n")

// Reader reads the parts of one body. Use Next until io.EOF.
type Reader struct {
	seg     *segmenter
	charset charset
	head    []byte
	cur     *Part
	err     error
	// lastFile: the last part returned is a file and no segment has
	// started since. Django adds a file to request.FILES when the next
	// segment starts: the body's last segment, if a file, is dropped
	// (lastFileDropped, once Next has returned io.EOF), as is a file
	// whose name is empty ("if old_field_name:"). Parapet still returns
	// them: checking a file Django drops errs on the safe side.
	lastFile, lastFileDropped bool

	segments int    // segments started
	closed   bool   // a segment started with "--" (a closing delimiter)
	anomaly  string // see Anomaly
}

// Anomaly is the first way in which the body read so far departs from
// RFC 7578 as browsers and HTTP libraries write it, in a way an RFC 7578
// parser (Go's mime/multipart, most other frameworks) would read
// differently from Django: a part after the closing delimiter, a
// delimiter in the middle of a line or followed by more than white space,
// a field before the first delimiter, a part Django skips (no name, no
// header block or no usable file name), a header or parameter given twice.
// "" when none. Django reads these bodies the same way whatever its
// settings, so Reader does not refuse them; a caller may (the CRS's
// MULTIPART_STRICT_ERROR).
func (r *Reader) Anomaly() string { return r.anomaly }

func (r *Reader) note(anomaly string) {
	if r.anomaly == "" {
		r.anomaly = anomaly
	}
}

// NewReader reads body, whose Content-Type is contentType. It fails with
// an *Error when Django would not parse the body as multipart/form-data
// (POST and FILES left empty, the body left for the view to read: a
// firewall cannot tell what the view makes of it) or would refuse it, and
// when the request's charset is one Parapet does not decode.
func NewReader(body io.Reader, contentType string) (*Reader, error) {
	boundary, cs, err := parseContentType(contentType)
	if err != nil {
		return nil, err
	}
	return &Reader{
		seg:     newSegmenter(body, append([]byte("--"), boundary...)),
		charset: cs,
		head:    make([]byte, headerWindow),
	}, nil
}

// parseContentType is what Django does with the request's Content-Type:
// HttpRequest picks the multipart parser when cgi.parse_header's media
// type is exactly "multipart/form-data" and takes its charset when Python
// knows it; MultiPartParser then takes the boundary with its own
// parse_header and checks it with cgi.valid_boundary.
func parseContentType(ct string) ([]byte, charset, error) {
	if !isASCII([]byte(ct)) {
		return nil, 0, &Error{Reason: "Content-Type with non-ASCII characters"}
	}
	mediaType, cgiParams := cgiParseHeader(ct)
	if mediaType != "multipart/form-data" || !strings.HasPrefix(ct, "multipart/") {
		return nil, 0, &Error{Reason: fmt.Sprintf("Content-Type %q is not one Django parses as multipart/form-data", shorten(mediaType))}
	}
	cs, err := formCharset(cgiParams)
	if err != nil {
		return nil, 0, err
	}
	_, params, _, err := parseHeader([]byte(ct))
	if err != nil {
		return nil, 0, &Error{Reason: "Content-Type parameters Django fails on"}
	}
	b, ok := params["boundary"]
	if !ok {
		return nil, 0, &Error{Reason: "multipart body without a boundary"}
	}
	boundary := b.raw
	if b.decoded {
		boundary = []byte(b.str)
	}
	if !validBoundary(boundary) {
		return nil, 0, &Error{Reason: "invalid multipart boundary"}
	}
	return boundary, cs, nil
}

// formCharset is the charset Django decodes a form with: the request's
// charset parameter when Python knows it (HttpRequest.encoding), else
// UTF-8 (DEFAULT_CHARSET). Parapet decodes three; any other charset
// parameter, known to Python or not, is refused.
func formCharset(cgiParams map[string]string) (charset, error) {
	name, ok := cgiParams["charset"]
	if !ok {
		return utf8Charset, nil
	}
	c, known := lookupCharset(name)
	if !known {
		return 0, &Error{Reason: fmt.Sprintf("charset %q: Parapet decodes form data in UTF-8, ASCII and Latin-1 only", shorten(name))}
	}
	return c, nil
}

// CheckCharset returns an *Error for a request whose Content-Type names a
// charset Parapet does not decode. Django takes the request's encoding
// from the charset parameter of any Content-Type (HttpRequest.encoding,
// parameter names in any case), on a GET as on a POST, and decodes the
// query string and form bodies with it (DRF its JSON bodies too): codecs
// such as UTF-7, UTF-16, cp037 or unicode_escape turn bytes that no rule
// matches into the text Django hands the view.
func CheckCharset(contentType string) error {
	if !strings.Contains(strings.ToLower(contentType), "charset") {
		return nil // the common case, without parsing
	}
	_, params := cgiParseHeader(contentType)
	_, err := formCharset(params)
	return err
}

// validBoundary is cgi.valid_boundary: 1 to 201 printable ASCII
// characters, the last not a space. (Python's $ would also let a final
// "\n" through, which only an RFC 2231 boundary* can carry: refused.)
func validBoundary(b []byte) bool {
	if len(b) == 0 || len(b) > 201 || b[len(b)-1] == ' ' {
		return false
	}
	for _, c := range b {
		if c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// Part is one field or file of the body, as Django's MultiPartParser
// hands it to request.POST or request.FILES.
type Part struct {
	// Name is the field's name as Django keys it: the name parameter of
	// the (last) Content-Disposition header, stripped of whitespace and
	// decoded with the request's charset.
	Name string
	// IsFile reports that Django makes the part an uploaded file (in
	// request.FILES): its Content-Disposition has a non-empty filename.
	IsFile bool
	// FileName is the uploaded file's name as Django gives it (the
	// filename parameter HTML-unescaped and cut after its last slash or
	// backslash); RawFileName is the parameter before that. FileNamePath
	// reports that Django cut a path off.
	FileName, RawFileName string
	FileNamePath          bool
	// ContentType is the part's Content-Type header's media type, lower
	// case (Django passes it to the upload handlers).
	ContentType string
	// Base64 reports a Content-Transfer-Encoding of base64: Django
	// decodes the content.
	Base64 bool
	// Header holds the lines of the part's header block as sent.
	Header []string

	r       *Reader
	pending []byte
	n       int64
	done    bool
}

// Read reads the part's content as it is in the body (before any base64
// decoding): Value and File give it as Django keeps it.
func (p *Part) Read(b []byte) (int, error) {
	if p.done {
		return 0, io.EOF
	}
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		p.n += int64(n)
		return n, nil
	}
	n, err := p.r.seg.Read(b)
	p.n += int64(n)
	if errors.Is(err, io.EOF) {
		p.done = true
	}
	return n, err
}

// Size is how many bytes of content have been read so far.
func (p *Part) Size() int64 { return p.n }

// ErrTooLong is returned by Value for a field longer than its limit.
var ErrTooLong = errors.New("form field longer than the limit")

// Value reads a field's value as Django puts it in request.POST: base64
// decoded when so encoded (the raw bytes when that fails, as Django
// does), decoded with the request's charset, invalid sequences replaced
// by U+FFFD. A field with more than limit bytes of content gives
// ErrTooLong.
func (p *Part) Value(limit int64) (string, error) {
	raw, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		return "", err
	}
	if int64(len(raw)) > limit {
		return "", ErrTooLong
	}
	if p.Base64 {
		if dec, ok := pyB64Decode(raw); ok {
			raw = dec
		}
	}
	return p.r.charset.decode(raw), nil
}

// File reads a file's content as Django stores it (base64 decoded when so
// encoded; an *Error for base64 that Django would decode differently
// depending on its chunk size).
func (p *Part) File() io.Reader {
	if p.Base64 {
		return base64File(p)
	}
	return p
}

// Next returns the next part Django keeps (a field, or a file with a
// usable name), skipping the rest of the current one; io.EOF after the
// last. The parts Django ignores (no header block in their first 1024
// bytes, no Content-Disposition, no name, a file name that sanitizes to
// nothing) are skipped here too; since Django leaves such a part
// half-read when it is longer than that window, and then reads on from a
// place that depends on its chunk size (a header block can start there),
// a skipped part longer than 1024 bytes is refused.
func (r *Reader) Next() (*Part, error) {
	if r.err != nil {
		return nil, r.err
	}
	p, err := r.next()
	if err != nil {
		r.err = err
	}
	return p, err
}

func (r *Reader) next() (*Part, error) {
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return nil, err
		}
		r.cur = nil
	}
	for {
		ok, err := r.seg.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			r.lastFileDropped = r.lastFile
			return nil, io.EOF
		}
		r.lastFile = false
		first := r.segments == 0
		r.segments++
		if r.segments > MaxParts {
			return nil, &Error{Reason: fmt.Sprintf("more than %d parts", MaxParts)}
		}
		if !first && !r.seg.lineStart {
			r.note("a delimiter in the middle of a line")
		}
		if r.closed {
			r.note("a part after the closing delimiter")
		}
		n, err := io.ReadFull(r.seg, r.head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, err
		}
		head := r.head[:n]
		closing := !first && bytes.HasPrefix(head, []byte("--"))
		if closing {
			r.closed = true
		} else if !first && !lineEnd(head) {
			r.note("a delimiter followed by more than white space")
		}
		p, err := r.part(head)
		if err != nil {
			return nil, err
		}
		if p == nil {
			if !first && !closing {
				r.note("a part Django skips (no name, no header block or no usable file name)")
			}
			if err := r.skip(); err != nil {
				return nil, err
			}
			continue
		}
		if first {
			r.note("a field before the first delimiter")
		}
		r.cur = p
		r.lastFile = p.IsFile
		return p, nil
	}
}

// part makes the part whose first bytes are head, or nil for one Django
// skips.
func (r *Reader) part(head []byte) (*Part, error) {
	end := bytes.Index(head, crlfcrlf)
	if end < 0 {
		return nil, nil // Django's RAW: no header block
	}
	var (
		disposition *header
		encoding    *header
		ctype       *header
		isFile      bool
		lines       []string
		seen        = map[string]bool{}
	)
	for _, line := range bytes.Split(head[:end], []byte("\r\n")) {
		if len(line) > 0 {
			lines = append(lines, string(line))
		}
		h, err := parseHeaderLine(line)
		if errors.Is(err, errLine) {
			continue
		}
		if err != nil {
			return nil, &Error{Reason: err.Error()}
		}
		if seen[h.name] || h.dup && h.name == "content-disposition" {
			r.note("a part header or parameter given twice")
		}
		seen[h.name] = true
		switch h.name {
		case "content-disposition":
			disposition = &h
			isFile = h.params["filename"].truthy()
		case "content-transfer-encoding":
			encoding = &h
		case "content-type":
			ctype = &h
		}
	}
	if disposition == nil {
		return nil, nil
	}
	name, ok := disposition.params["name"]
	if !ok {
		return nil, nil
	}
	p := &Part{r: r, Header: lines, IsFile: isFile}
	if name.decoded {
		p.Name = strings.TrimFunc(name.str, pyIsSpace)
	} else {
		p.Name = r.charset.decode(pyStripBytes(name.raw))
	}
	if encoding != nil {
		p.Base64 = strings.TrimFunc(encoding.value, pyIsSpace) == "base64"
	}
	if ctype != nil {
		p.ContentType = strings.TrimFunc(ctype.value, pyIsSpace)
	}
	if isFile {
		fn := disposition.params["filename"]
		if fn.decoded {
			p.RawFileName = fn.str
		} else {
			p.RawFileName = r.charset.decode(fn.raw)
		}
		unescaped := htmlUnescape(p.RawFileName)
		p.FileName = sanitizeFileName(unescaped)
		if p.FileName == "" {
			return nil, nil
		}
		p.FileNamePath = p.FileName != unescaped
	}
	p.pending = head[end+len(crlfcrlf):]
	return p, nil
}

// lineEnd reports that a segment starts as an RFC 7578 delimiter line
// ends: white space, then a line break.
func lineEnd(b []byte) bool {
	b = bytes.TrimLeft(b, " \t")
	return bytes.HasPrefix(b, []byte("\r\n")) || bytes.HasPrefix(b, []byte("\n"))
}

// skip reads past a part Django ignores, refusing one it would not read
// to its end.
func (r *Reader) skip() error {
	if _, err := io.Copy(io.Discard, r.seg); err != nil {
		return err
	}
	if r.seg.segLen > headerWindow {
		return &Error{Reason: fmt.Sprintf("a part Django ignores (no name or no header block) is longer than %d bytes: Django would read on from inside it", headerWindow)}
	}
	return nil
}

// sanitizeFileName is MultiPartParser.sanitize_file_name after its
// html.unescape: "" for a name Django drops.
func sanitizeFileName(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		s = s[i+1:]
	}
	if s == "." || s == ".." {
		return ""
	}
	return s
}
