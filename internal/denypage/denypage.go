// Package denypage renders the small branded page (or JSON) that Parapet
// answers with when it blocks, throttles or fails a request. It names the
// request id and a reason code, never internals.
package denypage

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "page.html"))

// Renderer writes deny pages with a brand and an optional contact line.
type Renderer struct {
	Brand   string
	Contact string
}

// Page is what one deny page says.
type Page struct {
	Status    int
	Reason    string // reason code: the rule id, e.g. "path-dotfiles"
	RequestID string
	// RetryAfter, when set, is sent as Retry-After.
	RetryAfter time.Duration
	// Header holds extra headers (e.g. Allow on a 405).
	Header http.Header
}

type view struct {
	Brand, Contact, Title, Message, Reason, RequestID string
	Status                                            int
}

// Write answers the request with the page: JSON when the client prefers
// application/json, HTML otherwise. HEAD requests get headers only.
func (rd *Renderer) Write(w http.ResponseWriter, r *http.Request, p Page) {
	h := w.Header()
	for k, vs := range p.Header {
		h[k] = vs
	}
	if p.RetryAfter > 0 {
		secs := int((p.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	contentType, body := rd.Body(r, p)
	h.Set("Content-Type", contentType)
	w.WriteHeader(p.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// Body renders the page for r: JSON when the client prefers it, else HTML.
func (rd *Renderer) Body(r *http.Request, p Page) (contentType string, body []byte) {
	title, message := describe(p.Status)
	var buf bytes.Buffer
	if wantsJSON(r) {
		_ = json.NewEncoder(&buf).Encode(map[string]any{
			"error":      title,
			"status":     p.Status,
			"reason":     p.Reason,
			"request_id": p.RequestID,
		})
		return "application/json", buf.Bytes()
	}
	brand := rd.Brand
	if brand == "" {
		brand = "Parapet"
	}
	_ = pageTemplate.Execute(&buf, view{
		Brand: brand, Contact: rd.Contact, Title: title, Message: message,
		Reason: p.Reason, RequestID: p.RequestID, Status: p.Status,
	})
	return "text/html; charset=utf-8", buf.Bytes()
}

// Replace turns an upstream response into the page, in place: status,
// headers that described the app's body (encoding, length, validators,
// ranges, cookies, disposition) dropped, the page as the body, not
// cached. The caller has closed or will close the app's body.
func (rd *Renderer) Replace(resp *http.Response, p Page) {
	ct, body := rd.Body(resp.Request, p)
	resp.StatusCode = p.Status
	resp.Status = fmt.Sprintf("%d %s", p.Status, http.StatusText(p.Status))
	for _, h := range []string{"Content-Encoding", "Content-Length", "Etag", "Last-Modified", "Content-Disposition", "Set-Cookie", "Content-Range", "Accept-Ranges"} {
		resp.Header.Del(h)
	}
	resp.Header.Set("Content-Type", ct)
	resp.Header.Set("Cache-Control", "no-store")
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.TransferEncoding = nil
	resp.Body = io.NopCloser(bytes.NewReader(body))
}

func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	}
	// A browser asks for text/html first; an API client for JSON.
	j := strings.Index(accept, "application/json")
	if j < 0 {
		return false
	}
	h := strings.Index(accept, "text/html")
	return h < 0 || j < h
}

func describe(status int) (title, message string) {
	switch status {
	case http.StatusForbidden:
		return "Access denied", "This request was blocked by the site's security policy."
	case http.StatusTooManyRequests:
		return "Too many requests", "You are sending requests too quickly. Please wait and try again."
	case http.StatusBadRequest:
		return "Bad request", "The request could not be accepted."
	case http.StatusMethodNotAllowed:
		return "Method not allowed", "This method is not accepted here."
	case http.StatusRequestEntityTooLarge:
		return "Request too large", "The request body is larger than this site accepts."
	case http.StatusRequestURITooLong:
		return "URI too long", "The address requested is longer than this site accepts."
	case http.StatusRequestHeaderFieldsTooLarge:
		return "Headers too large", "The request headers are larger than this site accepts."
	case http.StatusInternalServerError:
		return "Server error", "Something went wrong on our side. Please try again later."
	case http.StatusNotFound:
		return "Not found", "The page you asked for does not exist."
	case http.StatusBadGateway:
		return "Bad gateway", "The application did not answer properly. Please try again shortly."
	case http.StatusServiceUnavailable:
		return "Service unavailable", "The application is starting or overloaded. Please try again shortly."
	case http.StatusGatewayTimeout:
		return "Gateway timeout", "The application took too long to answer. Please try again shortly."
	}
	if t := http.StatusText(status); t != "" {
		return t, "The request could not be completed."
	}
	return "Error", "The request could not be completed."
}
