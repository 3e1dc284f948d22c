package harden

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
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
	paths        []string
	maxBytes     int64
	maxFiles     int
	extensions   map[string]bool
	checkContent bool
}

func newUploadRule(c config.UploadRule) (*uploadRule, error) {
	if len(c.Paths) == 0 {
		return nil, errors.New("needs paths")
	}
	u := &uploadRule{paths: c.Paths, maxBytes: int64(c.MaxBytes), maxFiles: c.MaxFiles, checkContent: c.CheckContent}
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

func (u *uploadRule) covers(p string) bool {
	for _, pre := range u.paths {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

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

// checkUpload reads the multipart body once, checking every file, and
// leaves r.Body replaying the same bytes (spooled to memory, or to a temp
// file past 1 MB) for the upstream.
func (u *uploadRule) check(r *http.Request) decision.Decision {
	block := func(rule string, status int, reason string) decision.Decision {
		return decision.Decision{Action: decision.Block, RuleID: rule, Status: status, Reason: reason}
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return block(RuleUploadMalformed, http.StatusBadRequest, "multipart body without a boundary")
	}
	if u.maxBytes > 0 && r.ContentLength > u.maxBytes {
		return block(RuleUploadTooLarge, http.StatusRequestEntityTooLarge, "upload larger than max_bytes")
	}
	sp := &spool{}
	limit := u.maxBytes
	if limit <= 0 {
		limit = 1 << 62
	}
	body := io.TeeReader(io.LimitReader(r.Body, limit+1), sp)
	mr := multipart.NewReader(body, params["boundary"])
	files := 0
	var d decision.Decision
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d = block(RuleUploadMalformed, http.StatusBadRequest, "malformed multipart body")
			break
		}
		if name := part.FileName(); name != "" || part.Header.Get("Content-Disposition") != "" && strings.Contains(part.Header.Get("Content-Disposition"), "filename") {
			files++
			raw := rawFilename(part.Header.Get("Content-Disposition"))
			if d = u.checkFile(part, raw, files); d.Decided() {
				break
			}
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			d = block(RuleUploadMalformed, http.StatusBadRequest, "malformed multipart body")
			break
		}
	}
	if !d.Decided() {
		// Drain what is left after the closing boundary so it is replayed too.
		if _, err := io.Copy(io.Discard, body); err != nil {
			d = block(RuleUploadMalformed, http.StatusBadRequest, "reading the upload failed")
		}
	}
	if !d.Decided() && sp.n > limit {
		d = block(RuleUploadTooLarge, http.StatusRequestEntityTooLarge, "upload larger than max_bytes")
	}
	_ = r.Body.Close()
	if d.Decided() {
		sp.discard()
		r.Body = http.NoBody
		return d
	}
	r.Body = sp.reader()
	return decision.Pass
}

func (u *uploadRule) checkFile(part *multipart.Part, raw string, n int) decision.Decision {
	block := func(rule string, status int, reason string) decision.Decision {
		return decision.Decision{Action: decision.Block, RuleID: rule, Status: status, Reason: reason}
	}
	if u.maxFiles > 0 && n > u.maxFiles {
		return block(RuleUploadTooMany, http.StatusRequestEntityTooLarge, "more files than max_files")
	}
	if raw == "" || strings.ContainsAny(raw, `/\`) || strings.Contains(raw, "..") || strings.IndexFunc(raw, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0 {
		return block(RuleUploadFilename, http.StatusBadRequest, "file name with path components or control characters")
	}
	ext := strings.ToLower(filepath.Ext(raw))
	if u.extensions != nil && !u.extensions[ext] {
		return block(RuleUploadExtension, http.StatusUnsupportedMediaType, "file extension not allowed")
	}
	if !u.checkContent {
		return decision.Pass
	}
	head := make([]byte, 512)
	k, _ := io.ReadFull(part, head)
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

// rawFilename is the filename parameter as sent (multipart.Part.FileName
// strips directories, hiding "../" tricks the app might not).
func rawFilename(disposition string) string {
	_, params, err := mime.ParseMediaType(disposition)
	if err != nil {
		return ""
	}
	return params["filename"]
}

// spool keeps the bytes read in memory up to 1 MB, then in a temp file.
type spool struct {
	mem  bytes.Buffer
	file *os.File
	n    int64
	err  error
}

func (s *spool) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.file == nil && s.mem.Len()+len(p) <= uploadMemoryBufBytes {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "parapet-upload-*")
		if err != nil {
			s.err = err
			return 0, fmt.Errorf("spooling upload: %w", err)
		}
		_ = os.Remove(f.Name()) // unlinked: the data goes away with the handle
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem.Reset()
	}
	return s.file.Write(p)
}

func (s *spool) reader() io.ReadCloser {
	if s.file == nil {
		return io.NopCloser(bytes.NewReader(s.mem.Bytes()))
	}
	_, _ = s.file.Seek(0, io.SeekStart)
	return s.file
}

func (s *spool) discard() {
	if s.file != nil {
		_ = s.file.Close()
	}
}
