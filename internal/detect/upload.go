package detect

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/parapet-waf/parapet/internal/analyze"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
)

// Uploaded files are not matched by the CRS (Coraza reads a multipart
// body's fields, not its files). A file a browser renders as a document,
// when the app serves it back (an avatar, a logo, an attachment), runs
// the script it holds: SVG and HTML, and XML, which may also declare
// external entities for the app's parser. The analyzer reads those
// files (by extension, declared type, or content that starts as markup,
// whatever type the client declared) for markup that runs script, server
// side includes and external entities.

// maxUploadInspect is the most bytes of one file read.
const maxUploadInspect = 1 << 20

var uploadAnalyzer = analyze.New(analyze.Of(analyze.XSS, analyze.SSI, analyze.XXE), analyze.Arg)

// markupExtensions are file names a browser or an XML parser reads as
// markup.
// Besides the usual ones: .rdf, .wsdl and .xpdl are application/xml in
// Python's own mimetypes table (Django's static.serve and FileResponse
// type a file by it), .xhtm, .mml and .xul are XML types in Debian's
// mime.types, which Python reads too.
var markupExtensions = []string{".svg", ".html", ".htm", ".xhtml", ".xht", ".xhtm", ".xml", ".xsl", ".xslt", ".shtml", ".rss", ".atom", ".mathml", ".mml",
	".rdf", ".wsdl", ".xpdl", ".xul"}

// readUpload reads an uploaded file's content to its end (as readForm
// skips it) and returns its size and, for a file that holds markup, its
// first maxUploadInspect bytes.
func readUpload(file io.Reader, name string, header []string) (size int64, markup string, err error) {
	var head [512]byte
	n, err := io.ReadFull(file, head[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return int64(n), "", err
	}
	if !isMarkupFile(name, partContentType(header), head[:n]) {
		rest, err := io.Copy(io.Discard, file)
		return int64(n) + rest, "", err
	}
	var b strings.Builder
	b.Write(head[:n])
	kept, err := io.Copy(&b, io.LimitReader(file, maxUploadInspect-int64(n)))
	if err != nil {
		return int64(n) + kept, "", err
	}
	rest, err := io.Copy(io.Discard, file)
	return int64(n) + kept + rest, b.String(), err
}

// partContentType is the Content-Type line of a part's header block.
func partContentType(header []string) string {
	for _, h := range header {
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Type") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// isMarkupFile reports a file read as markup: by its name, its declared
// type, or its first bytes.
func isMarkupFile(name, contentType string, data []byte) bool {
	if slices.Contains(markupExtensions, strings.ToLower(path.Ext(name))) {
		return true
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "image/svg+xml", mt == "text/html", mt == "application/xhtml+xml", mt == "text/xml", mt == "application/xml",
		strings.HasSuffix(mt, "+xml"):
		return true
	}
	return startsAsMarkup(data[:min(len(data), 512)])
}

// startsAsMarkup reports whether a file's first bytes (after a byte order
// mark and white space; UTF-16 read by its mark, or by the NUL beside a
// '<') open a tag, a declaration, a comment or a processing instruction:
// how every XML document starts, whatever its root element. Any element
// counts, not a list of HTML ones: an XML document whose root is
// <x:script xmlns:x="http://www.w3.org/1999/xhtml"> or <feed> holding
// XHTML-namespaced script runs it when served under an XML type, which
// many names get from mimetypes (review 7, finding 2).
func startsAsMarkup(head []byte) bool {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		head = bytes.ReplaceAll(head[2:min(len(head), 130)], []byte{0}, nil)
	case len(head) >= 2 && (head[0] == 0 && head[1] == '<' || head[0] == '<' && head[1] == 0):
		head = bytes.ReplaceAll(head[:min(len(head), 128)], []byte{0}, nil)
	}
	head = bytes.TrimLeft(head, "\xef\xbb\xbf \t\r\n")
	if len(head) < 2 || head[0] != '<' {
		return false
	}
	c := head[1] | 0x20
	return 'a' <= c && c <= 'z' || head[1] == '?' || head[1] == '!' || head[1] == '_' || head[1] >= 0x80
}

// checkUploads judges the markup files of a multipart form (readForm
// kept their first bytes).
func (s *Stage) checkUploads(r *http.Request, fm *parsedForm) decision.Decision {
	if fm == nil {
		return decision.Pass
	}
	var best analyze.Finding
	var on formPart
	for _, p := range fm.parts {
		if p.markup == "" || s.uploadExcluded(r.URL.Path, p.name) {
			continue
		}
		if f := uploadAnalyzer.Inspect(p.markup); f.Confidence > best.Confidence {
			best, on = f, p
		}
	}
	if best.Confidence < analyze.High {
		return decision.Pass
	}
	return decision.Decision{Action: decision.Block, Mode: s.mode, Status: http.StatusForbidden,
		RuleID: "detect-" + best.Class.String(),
		Reason: "analyzer: " + best.String() + " in the uploaded file " + on.file + " [FILES:" + on.name + "]",
		Rules:  []string{"analyzer-" + best.Class.String()}}
}

// uploadExclusions compiles the exclusions that switch the upload
// inspection off: those naming no rule ids, and either no tags or one of
// the analyzer's (parapet-analyze, OWASP_CRS, attack-xss), on their
// paths, for FILES (any file field) or FILES:name.
func uploadExclusions(excl []config.DetectionExclusion) func(path, field string) bool {
	var mine []config.DetectionExclusion
	for _, e := range excl {
		if len(e.RuleIDs) > 0 {
			continue
		}
		if len(e.Tags) > 0 && !slices.ContainsFunc(e.Tags, func(t string) bool {
			return t == "parapet-analyze" || t == "OWASP_CRS" || t == "attack-xss"
		}) {
			continue
		}
		mine = append(mine, e)
	}
	if len(mine) == 0 {
		return func(string, string) bool { return false }
	}
	return func(p, field string) bool {
		for _, e := range mine {
			if len(e.Paths) > 0 && !slices.ContainsFunc(e.Paths, func(prefix string) bool { return strings.HasPrefix(p, prefix) }) {
				continue
			}
			if len(e.Fields) == 0 || slices.ContainsFunc(e.Fields, func(f string) bool { return f == "FILES" || f == "FILES:"+field }) {
				return true
			}
		}
		return false
	}
}
