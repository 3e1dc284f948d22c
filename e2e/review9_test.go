package e2e

// Bypasses found by the ninth hostile review, shown end to end against the
// real Django app under gunicorn. Each test failed on the tree it was
// written against.

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// review9Post sends body to path with the Content-Type ct and reports the
// answer and whether Django saw the request.
func review9Post(t *testing.T, d *django, path, ct string, body []byte) (status int, got string, reached bool) {
	t.Helper()
	before, _ := d.requests(t)
	resp, err := http.Post(d.base+path, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	after, _ := d.requests(t)
	return resp.StatusCode, string(b), after != before
}

// TestReview9 runs the three findings against one app.
func TestReview9(t *testing.T) {
	d := startDjango(t)

	// Finding 2: gjson takes the \u escape after a surrogate's as its
	// pair, so the rules see "127.0.0.1\uFFFDuname -a"; json.loads keeps
	// the lone surrogate and the ';'. /api/loads/ echoes what it read
	// (JsonResponse escapes the surrogate as \udc80).
	t.Run("finding 2: JSON surrogate swallows the next escape", func(t *testing.T) {
		if status, got, reached := review9Post(t, d, "/api/loads/", "application/json", []byte(`{"host": "127.0.0.1;uname -a"}`)); status < 400 || reached {
			t.Fatalf("plain payload: %d %.200s (reached Django: %v): the CRS no longer blocks it, the test proves nothing", status, got, reached)
		}
		status, got, reached := review9Post(t, d, "/api/loads/", "application/json", []byte(`{"host": "127.0.0.1\udc80\u003buname -a"}`))
		if status < 400 || reached {
			t.Errorf("swallowed ';': %d %.200s (reached Django: %v), want a 4xx before Django", status, got, reached)
			if strings.Contains(got, `\udc80;uname -a`) {
				t.Logf("json.loads(request.body) read the ';': %s", got)
			}
		}
	})

	// Finding 3: an XML body is read as a form, split at each '&', so
	// numeric character references cut the payload apart; an XML parser
	// decodes them. /api/echo/ does not parse XML: the test shows the body
	// reaching Django (ElementTree reads q as 1' UNION SELECT ...).
	t.Run("finding 3: XML character references", func(t *testing.T) {
		plain := "<search><q>1' UNION SELECT password FROM auth_user--</q></search>"
		if status, got, reached := review9Post(t, d, "/api/echo/", "application/xml", []byte(plain)); status < 400 || reached {
			t.Fatalf("plain payload: %d %.200s (reached Django: %v): the test proves nothing", status, got, reached)
		}
		refs := "<search><q>1&#39;&#32;UNION&#32;SELECT&#32;password&#32;FROM&#32;auth_user--</q></search>"
		for _, ct := range []string{"application/xml", "text/xml"} {
			if status, got, reached := review9Post(t, d, "/api/echo/", ct, []byte(refs)); status < 400 || reached {
				t.Errorf("%s with character references: %d %.200s (reached Django: %v), want a 4xx before Django", ct, status, got, reached)
			}
		}
	})

	// Finding 1: XML in UTF-16 sent as application/octet-stream is taken
	// for a file (NULs in the sniffed head) and passes uninspected.
	t.Run("finding 1: UTF-16 XML under octet-stream", func(t *testing.T) {
		doc := utf16LE("\uFEFF<?xml version=\"1.0\" encoding=\"UTF-16\"?><order><q>1' UNION SELECT password FROM auth_user--</q></order>")
		if status, got, reached := review9Post(t, d, "/form/body/", "application/octet-stream", doc); status < 400 || reached {
			t.Errorf("UTF-16 XML: %d %.200s (reached Django: %v), want a 4xx before Django", status, got, reached)
		}
	})
}
