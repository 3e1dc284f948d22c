package harden

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Violation is one kind of CSP violation and how often it was reported.
type Violation struct {
	Directive   string `json:"directive"`
	BlockedURI  string `json:"blocked_uri"`
	DocumentURI string `json:"document_uri"`
	Count       int    `json:"count"`
}

// CSPCollector deduplicates and counts CSP violation reports, keeping at
// most max distinct kinds (later new kinds are counted as dropped).
type CSPCollector struct {
	mu      sync.Mutex
	max     int
	seen    map[[3]string]*Violation
	dropped int
}

// NewCSPCollector keeps at most max distinct violations.
func NewCSPCollector(max int) *CSPCollector {
	return &CSPCollector{max: max, seen: map[[3]string]*Violation{}}
}

// cspReport is the body of both report formats: the classic
// application/csp-report {"csp-report": {...}} and the Reporting API's
// application/reports+json [{"type": "csp-violation", "body": {...}}].
type cspReport struct {
	Directive          string `json:"violated-directive"`
	EffectiveDirective string `json:"effective-directive"`
	BlockedURI         string `json:"blocked-uri"`
	DocumentURI        string `json:"document-uri"`
	// Reporting API spelling.
	EffectiveDirective2 string `json:"effectiveDirective"`
	BlockedURL          string `json:"blockedURL"`
	DocumentURL         string `json:"documentURL"`
}

// Parse reads one report body (64 KB at most) in either format.
func Parse(r io.Reader) ([]Violation, error) {
	body, err := io.ReadAll(io.LimitReader(r, 64<<10))
	if err != nil {
		return nil, err
	}
	var out []Violation
	add := func(c cspReport) {
		v := Violation{Directive: first(c.EffectiveDirective, c.EffectiveDirective2, c.Directive), BlockedURI: first(c.BlockedURI, c.BlockedURL), DocumentURI: stripQuery(first(c.DocumentURI, c.DocumentURL))}
		if v.Directive != "" || v.BlockedURI != "" {
			out = append(out, v)
		}
	}
	var classic struct {
		Report *cspReport `json:"csp-report"`
	}
	if err := json.Unmarshal(body, &classic); err == nil && classic.Report != nil {
		add(*classic.Report)
		return out, nil
	}
	var batch []struct {
		Type string    `json:"type"`
		Body cspReport `json:"body"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		return nil, err
	}
	for _, b := range batch {
		if b.Type == "csp-violation" {
			add(b.Body)
		}
	}
	return out, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// Record counts violations and returns each one's count so far.
func (c *CSPCollector) Record(vs []Violation) []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Violation, 0, len(vs))
	for _, v := range vs {
		k := [3]string{v.Directive, v.BlockedURI, v.DocumentURI}
		cur, ok := c.seen[k]
		if !ok {
			if len(c.seen) >= c.max {
				c.dropped++
				continue
			}
			cur = &Violation{Directive: v.Directive, BlockedURI: v.BlockedURI, DocumentURI: v.DocumentURI}
			c.seen[k] = cur
		}
		cur.Count++
		out = append(out, *cur)
	}
	return out
}

// Snapshot lists the violations seen, most frequent first.
func (c *CSPCollector) Snapshot() []Violation {
	c.mu.Lock()
	out := make([]Violation, 0, len(c.seen))
	for _, v := range c.seen {
		out = append(out, *v)
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}

// Serve handles a report POST: it answers 204 (400 for a body that is no
// report) and returns the violations with their counts so far.
func (c *CSPCollector) Serve(w http.ResponseWriter, r *http.Request) []Violation {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return nil
	}
	vs, err := Parse(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return c.Record(vs)
}
