package harden

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/formdata"
	"github.com/parapet-waf/parapet/internal/scope"
	"github.com/parapet-waf/parapet/internal/spool"
)

// Reason codes of the upload checks.
const (
	RuleUploadTooLarge   = "upload-too-large"
	RuleUploadTooMany    = "upload-too-many-files"
	RuleUploadExtension  = "upload-extension"
	RuleUploadContent    = "upload-content-mismatch"
	RuleUploadFilename   = "upload-bad-filename"
	RuleUploadMalformed  = "upload-malformed"
	uploadMemoryBufBytes = 1 << 20
)

type uploadRule struct {
	scope        *scope.Scope // paths, read with the scope's Restrict meaning
	maxBytes     int64
	maxBody      int64 // limits.max_body_bytes
	maxFiles     int
	extensions   map[string]bool
	checkContent bool
}

func newUploadRule(c config.UploadRule, maxBody int64) (*uploadRule, error) {
	if len(c.Paths) == 0 {
		return nil, errors.New("needs paths")
	}
	sc, errs := scope.Compile(scope.Spec{Paths: c.Paths})
	if len(errs) > 0 {
		return nil, errs[0]
	}
	u := &uploadRule{scope: sc, maxBytes: int64(c.MaxBytes), maxBody: maxBody, maxFiles: c.MaxFiles, checkContent: c.CheckContent}
	if len(c.AllowedExtensions) > 0 {
		u.extensions = map[string]bool{}
		for _, e := range c.AllowedExtensions {
			e = strings.ToLower(e)
			if !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			u.extensions[e] = true
		}
	}
	return u, nil
}

// covers reports whether the rule checks r's uploads: its path, or the
// path a view normalising it would see, is under one of the rule's paths.
func (u *uploadRule) covers(r *http.Request) bool { return u.scope.Covers(r, scope.Restrict) }

// signatures are the magic bytes each extension must start with.
var signatures = map[string][][]byte{
	".jpg":  {{0xFF, 0xD8, 0xFF}},
	".jpeg": {{0xFF, 0xD8, 0xFF}},
	".png":  {{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}},
	".gif":  {[]byte("GIF87a"), []byte("GIF89a")},
	".pdf":  {[]byte("%PDF-")},
	".webp": {[]byte("RIFF")},
	".zip":  {{'P', 'K', 0x03, 0x04}, {'P', 'K', 0x05, 0x06}},
	".docx": {{'P', 'K', 0x03, 0x04}},
	".xlsx": {{'P', 'K', 0x03, 0x04}},
}

// scripts are contents refused under any name: server-side code that a
// misconfigured media server might run.
var scripts = [][]byte{[]byte("<?php"), []byte("<?="), []byte("#!/"), []byte("<%@"), []byte("<jsp:")}

// check reads the multipart body once, as Django will read it
// (internal/formdata: the files Django keeps, with the names it gives
// them), checking every file, and leaves r.Body replaying the same bytes
// (spooled to memory, or to a temp file past 1 MB) for the upstream. The
// detection stage reads that spool again rather than spooling the body a
// second time.
func (u *uploadRule) check(r *http.Request) decision.Decision {
	block := func(rule string, status int, reason string) decision.Decision {
		return decision.Decision{Action: decision.Block, RuleID: rule, Status: status, Reason: reason}
	}
	if u.maxBytes > 0 && r.ContentLength > u.maxBytes {
		return block(RuleUploadTooLarge, http.StatusRequestEntityTooLarge, "upload larger than max_bytes")
	}
	sp := spool.New(uploadMemoryBufBytes)
	limit := u.maxBody // chunked bodies reach the stages uncapped
	if u.maxBytes > 0 && u.maxBytes < limit {
		limit = u.maxBytes
	}
	lr := &io.LimitedReader{R: r.Body, N: limit + 1}
	body := io.TeeReader(lr, sp)
	var d decision.Decision
	fr, err := formdata.NewReader(body, r.Header.Get("Content-Type"))
	files := 0
	for err == nil {
		var part *formdata.Part
		if part, err = fr.Next(); err != nil {
			break
		}
		if part.IsFile {
			files++
			if d = u.checkFile(part, files); d.Decided() {
				break
			}
		}
	}
	var fe *formdata.Error
	switch {
	case d.Decided():
	case errors.As(err, &fe):
		d = block(RuleUploadMalformed, http.StatusBadRequest, fe.Reason)
	case !errors.Is(err, io.EOF):
		d = block(RuleUploadMalformed, http.StatusBadRequest, "reading the upload failed")
	default:
		// Drain what is left so it is replayed too.
		if _, err := io.Copy(io.Discard, body); err != nil {
			d = block(RuleUploadMalformed, http.StatusBadRequest, "reading the upload failed")
		}
	}
	if sp.Len() > limit {
		d = block(RuleUploadTooLarge, http.StatusRequestEntityTooLarge, "upload larger than max_bytes")
		if limit < u.maxBytes || u.maxBytes <= 0 {
			d.Reason = "upload larger than limits.max_body_bytes"
		}
	}
	_ = r.Body.Close()
	if d.Decided() {
		sp.Discard()
		r.Body = http.NoBody
		return d
	}
	r.Body = sp.Body()
	return decision.Pass
}

// checkFile checks the n-th file of an upload: its name as sent and as
// Django keeps it, and (check_content) the start of its content as Django
// stores it (base64 decoded).
func (u *uploadRule) checkFile(part *formdata.Part, n int) decision.Decision {
	block := func(rule string, status int, reason string) decision.Decision {
		return decision.Decision{Action: decision.Block, RuleID: rule, Status: status, Reason: reason}
	}
	if u.maxFiles > 0 && n > u.maxFiles {
		return block(RuleUploadTooMany, http.StatusRequestEntityTooLarge, "more files than max_files")
	}
	raw, name := part.RawFileName, part.FileName
	if strings.ContainsAny(raw, `/\`) || strings.Contains(raw, "..") || part.FileNamePath || hasControl(raw) || hasControl(name) {
		return block(RuleUploadFilename, http.StatusBadRequest, "file name with path components or control characters")
	}
	ext := strings.ToLower(filepath.Ext(name))
	if u.extensions != nil && !u.extensions[ext] {
		return block(RuleUploadExtension, http.StatusUnsupportedMediaType, "file extension not allowed")
	}
	if !u.checkContent {
		return decision.Pass
	}
	head := make([]byte, 512)
	k, err := io.ReadFull(part.File(), head)
	var fe *formdata.Error
	if errors.As(err, &fe) {
		return block(RuleUploadMalformed, http.StatusBadRequest, fe.Reason)
	}
	head = head[:k]
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	for _, s := range scripts {
		if bytes.HasPrefix(bytes.ToLower(trimmed), bytes.ToLower(s)) || bytes.Contains(bytes.ToLower(head), []byte("<?php")) {
			return block(RuleUploadContent, http.StatusUnsupportedMediaType, "script content in an upload")
		}
	}
	if sigs, ok := signatures[ext]; ok {
		match := false
		for _, sig := range sigs {
			if bytes.HasPrefix(head, sig) {
				match = true
			}
		}
		if !match {
			return block(RuleUploadContent, http.StatusUnsupportedMediaType, fmt.Sprintf("content is not what a %s file starts with", ext))
		}
	}
	return decision.Pass
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0
}
