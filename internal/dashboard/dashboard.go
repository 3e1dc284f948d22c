// Package dashboard serves Parapet's web dashboard at /_parapet/ui/: a
// single page (HTML, CSS, JavaScript and hand-written SVG charts, all
// embedded in the binary; nothing is fetched from elsewhere) that logs in
// with an admin token through the session API and then reads and changes
// Parapet through the admin API (/_parapet/api/), sending the session's
// CSRF token with every change.
//
// The pages carry a strict Content-Security-Policy (scripts and styles
// from the page's own origin only, no inline script, no framing), so even
// hostile text in an event (a path, a User-Agent) cannot run script: the
// page also only ever inserts such text as text.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Prefix is where the dashboard is served.
const Prefix = "/_parapet/ui/"

// CSP is the Content-Security-Policy of every dashboard response.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

//go:embed assets
var assets embed.FS

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assetType is the Content-Type of an asset by its extension. A fixed
// table, not mime.TypeByExtension: that one loads the system's MIME
// database (2 MB of pointers on Debian, held for the process's life and
// scanned by every garbage collection).
func assetType(ext string) string {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

// Handler serves the dashboard under Prefix (a request for the prefix
// without its slash is redirected to it). It does no authentication
// itself: the page is public, everything it shows comes from the admin
// API, which checks the session.
func Handler() http.Handler {
	files := map[string]asset{}
	sub, _ := fs.Sub(assets, "assets")
	_ = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := assetType(path.Ext(p))
		files[p] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
			http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" {
			name = "index.html"
		}
		a, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if match := r.Header.Get("If-None-Match"); match == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.body)
	})
}
