package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Source answers event queries and statistics (a Log does).
type Source interface {
	// Query returns one page of the events matching f, newest first.
	Query(ctx context.Context, f Filter) (Page, error)
	// Stats summarises the window ending now, with the top n of each list.
	Stats(ctx context.Context, window time.Duration, n int) (Stats, error)
}

// EventsHandler serves GET /_parapet/api/events: the events matching the
// query's filter (see ParseFilter), newest first, as
// {"events":[...],"next":"<cursor>"}; "next" is empty on the last page.
// With "Accept: application/x-ndjson" it streams every match, one JSON
// object a line, newest first (an export; limit and cursor still apply to
// where it starts and the page size it reads by). Bad parameters get 400.
// It does no authentication: mount it behind the admin API's.
func EventsHandler(src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "", "use GET")
			return
		}
		f, err := ParseFilter(r.URL.Query(), time.Now())
		if err != nil {
			badRequest(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if wantsNDJSON(r.Header.Get("Accept")) {
			exportNDJSON(r.Context(), w, src, f)
			return
		}
		p, err := src.Query(r.Context(), f)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "", "events unavailable: "+err.Error())
			return
		}
		if p.Events == nil {
			p.Events = []*Record{}
		}
		writeJSON(w, http.StatusOK, struct {
			Events []*Record `json:"events"`
			Next   string    `json:"next"`
		}{p.Events, p.Next})
	})
}

func wantsNDJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(part, ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/x-ndjson") {
			return true
		}
	}
	return false
}

// exportNDJSON writes every event matching f, page after page, flushing
// after each page so a large export starts at once.
func exportNDJSON(ctx context.Context, w http.ResponseWriter, src Source, f Filter) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if f.Limit < MaxLimit {
		f.Limit = MaxLimit
	}
	enc := json.NewEncoder(w)
	rc := http.NewResponseController(w)
	for ctx.Err() == nil {
		p, err := src.Query(ctx, f)
		if err != nil {
			return // the status is sent; a cut export is the client's sign
		}
		for _, e := range p.Events {
			if enc.Encode(e) != nil {
				return
			}
		}
		_ = rc.Flush()
		if p.Next == "" {
			return
		}
		next, err := strconv.ParseUint(p.Next, 10, 64)
		if err != nil {
			return
		}
		f.Cursor = next
	}
}

// StatsHandler serves GET /_parapet/api/stats?window=1h[&top=10]: counts
// of requests by decision in about 60 buckets over the window, counts by
// rule, and the top refused IPs, countries, ASNs, paths and User-Agents
// (see Stats). Bad parameters get 400. It does no authentication: mount
// it behind the admin API's.
func StatsHandler(src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "", "use GET")
			return
		}
		q := r.URL.Query()
		for name := range q {
			if name != "window" && name != "top" {
				badRequest(w, &ParseError{name, "unknown parameter (known: window, top)"})
				return
			}
		}
		window, err := ParseWindow(q.Get("window"))
		if err != nil {
			badRequest(w, err)
			return
		}
		n := DefaultTop
		if v := q.Get("top"); v != "" {
			if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 100 {
				badRequest(w, &ParseError{"top", "must be a number from 1 to 100"})
				return
			}
		}
		st, err := src.Stats(r.Context(), window, n)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "", "stats unavailable: "+err.Error())
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, st)
	})
}

type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func badRequest(w http.ResponseWriter, err error) {
	var pe *ParseError
	if errors.As(err, &pe) {
		writeError(w, http.StatusBadRequest, pe.Field, pe.Reason)
		return
	}
	writeError(w, http.StatusBadRequest, "", err.Error())
}

// writeError answers {"error": ..., "errors": [{"field","reason"}]}, the
// admin API's error shape.
func writeError(w http.ResponseWriter, status int, field, reason string) {
	body := struct {
		Error  string       `json:"error"`
		Errors []fieldError `json:"errors,omitempty"`
	}{Error: reason}
	if field != "" {
		body.Error = field + ": " + reason
		body.Errors = []fieldError{{field, reason}}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
