package denypage

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRender renders deny pages from arbitrary brand, contact, reason,
// request id, status and Accept header: the HTML never carries a markup
// character of an input unescaped (no injection through a reason code or
// a client-supplied request id), the JSON is valid and says what it was
// given, and Write sets the status it was asked for.
func FuzzRender(f *testing.F) {
	f.Add("Parapet", "mail security@example.com", "path-dotfiles", "0af7651916cd43dd8448eb211c80319c", 403, "text/html")
	f.Add("<b>Shop</b>", "<script>alert(1)</script>", "x\"onmouseover=\"alert(1)", "id'><img src=x>", 429, "application/json")
	f.Add("", "", "", "", 0, "application/json, text/html")
	f.Add("Ünïcode", "\xff\xfe", "{{.Brand}}", "&amp;", 999, "*/*")
	f.Fuzz(func(t *testing.T, brand, contact, reason, id string, status int, accept string) {
		if status < 100 || status > 999 {
			status = 403
		}
		rd := &Renderer{Brand: brand, Contact: contact}
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		p := Page{Status: status, Reason: reason, RequestID: id}
		ct, body := rd.Body(r, p)
		if strings.HasPrefix(ct, "application/json") {
			var got struct {
				Status    int    `json:"status"`
				Reason    string `json:"reason"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("invalid JSON %q: %v", body, err)
			}
			if got.Status != status || utf8.ValidString(reason) && got.Reason != reason || utf8.ValidString(id) && got.RequestID != id {
				t.Fatalf("JSON %q does not say status %d, reason %q, id %q", body, status, reason, id)
			}
		} else {
			// The same page with harmless stand-ins (same emptiness, so the
			// same optional parts) has exactly as many markup characters:
			// none came from the inputs.
			stand := func(s string) string {
				if s == "" {
					return ""
				}
				return "x"
			}
			_, base := (&Renderer{Brand: stand(brand), Contact: stand(contact)}).Body(r, Page{Status: status, Reason: stand(reason), RequestID: stand(id)})
			page := string(body)
			for _, c := range []string{"<", ">", "\"", "'"} {
				if strings.Count(page, c) != strings.Count(string(base), c) {
					t.Fatalf("inputs %q added %q characters to the page:\n%s", []string{brand, contact, reason, id}, c, page)
				}
			}
			if reason != "" && utf8.ValidString(reason) && !strings.ContainsRune(reason, 0) && !strings.Contains(html.UnescapeString(page), reason) {
				t.Fatalf("the page does not show the reason %q", reason)
			}
		}
		w := httptest.NewRecorder()
		rd.Write(w, r, p)
		if w.Code != status || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("Write answered %d with Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
		}
		_ = http.StatusText(status)
	})
}
