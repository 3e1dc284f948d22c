package detect

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
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
var markupExtensions = []string{".svg", ".html", ".htm", ".xhtml", ".xht", ".xml", ".xsl", ".xslt", ".shtml", ".rss", ".atom", ".mathml"}

// uploadFinding is a finding in an uploaded file.
type uploadFinding struct {
	analyze.Finding
	field, filename string
}

// inspectUploads reads the files of a multipart body and returns the
// strongest finding in the ones that hold markup (ok false when none is
// at least Medium).
func inspectUploads(body []byte, contentType string, excluded func(field string) bool) (uploadFinding, bool) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return uploadFinding{}, false
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var best uploadFinding
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		name := part.FileName()
		if name == "" || excluded(part.FormName()) {
			part.Close()
			continue
		}
		data, _ := io.ReadAll(io.LimitReader(part, maxUploadInspect))
		part.Close()
		if !isMarkupFile(name, part.Header.Get("Content-Type"), data) {
			continue
		}
		f := uploadAnalyzer.Inspect(string(data))
		if f.Confidence > best.Confidence {
			best = uploadFinding{Finding: f, field: part.FormName(), filename: name}
		}
	}
	return best, best.Confidence >= analyze.Medium
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
	head := bytes.TrimLeft(data[:min(len(data), 512)], "\xef\xbb\xbf \t\r\n")
	head = bytes.ToLower(head[:min(len(head), 16)])
	for _, p := range []string{"<?xml", "<svg", "<!doctype", "<html", "<script", "<!--", "<body", "<iframe"} {
		if bytes.HasPrefix(head, []byte(p)) {
			return true
		}
	}
	return false
}

// checkUploads inspects the files of an inspected multipart body.
func (s *Stage) checkUploads(r *http.Request, body []byte) decision.Decision {
	ct := r.Header.Get("Content-Type")
	if body == nil || !isMultipart(ct) {
		return decision.Pass
	}
	f, ok := inspectUploads(body, ct, func(field string) bool { return s.uploadExcluded(r.URL.Path, field) })
	if !ok {
		return decision.Pass
	}
	return s.uploadDecision(f)
}

// uploadDecision turns a finding in an uploaded file into the stage's
// decision: High blocks (a file is a document of its own; there is no
// CRS match to confirm a Medium).
func (s *Stage) uploadDecision(f uploadFinding) decision.Decision {
	if f.Confidence < analyze.High {
		return decision.Pass
	}
	return decision.Decision{Action: decision.Block, Mode: s.mode, Status: http.StatusForbidden,
		RuleID: "detect-" + f.Class.String(),
		Reason: "analyzer: " + f.Finding.String() + " in the uploaded file " + f.filename + " [FILES:" + f.field + "]",
		Rules:  []string{"analyzer-" + f.Class.String()}}
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
