// Package csppolicy reads and writes Content Security Policies and turns
// the violations a CSP collector saw into a policy that would allow them
// (Suggest), saying which of the sources it allows are risky.
package csppolicy

import (
	"strings"
)

// Directive is one directive of a policy: its name (lower case) and its
// sources, as written.
type Directive struct {
	Name    string
	Sources []string
}

// Policy is a parsed policy: its directives in the order written. Parse
// keeps the first of a repeated directive, as browsers do.
type Policy struct {
	Directives []Directive
}

// Parse reads a serialized policy ("default-src 'self'; img-src data:").
// Empty directives are skipped; a repeated directive after its first is
// ignored, as browsers ignore it.
func Parse(text string) Policy {
	var p Policy
	seen := map[string]bool{}
	for _, part := range strings.Split(text, ";") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		name := strings.ToLower(fields[0])
		if seen[name] {
			continue
		}
		seen[name] = true
		p.Directives = append(p.Directives, Directive{Name: name, Sources: fields[1:]})
	}
	return p
}

// String serializes the policy: "name source source; name ...".
func (p Policy) String() string {
	var b strings.Builder
	for i, d := range p.Directives {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.Name)
		for _, s := range d.Sources {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	return b.String()
}

// Get returns the directive named name (lower case), if the policy has it.
func (p Policy) Get(name string) (Directive, bool) {
	for _, d := range p.Directives {
		if d.Name == name {
			return d, true
		}
	}
	return Directive{}, false
}

// Without returns the policy without the named directives (e.g. the
// report-uri and report-to a server adds itself).
func (p Policy) Without(names ...string) Policy {
	var out Policy
	for _, d := range p.Directives {
		drop := false
		for _, n := range names {
			if d.Name == n {
				drop = true
			}
		}
		if !drop {
			out.Directives = append(out.Directives, Directive{Name: d.Name, Sources: append([]string(nil), d.Sources...)})
		}
	}
	return out
}

// index is the position of the directive named name, or -1.
func (p Policy) index(name string) int {
	for i, d := range p.Directives {
		if d.Name == name {
			return i
		}
	}
	return -1
}

// fallbacks are the directives a fetch directive falls back to, nearest
// first, when a policy does not have it (CSP Level 3, section 6.8.3).
var fallbacks = map[string][]string{
	"script-src":   {"default-src"},
	"style-src":    {"default-src"},
	"img-src":      {"default-src"},
	"font-src":     {"default-src"},
	"connect-src":  {"default-src"},
	"media-src":    {"default-src"},
	"object-src":   {"default-src"},
	"manifest-src": {"default-src"},
	"child-src":    {"default-src"},
	"frame-src":    {"child-src", "default-src"},
	"worker-src":   {"child-src", "script-src", "default-src"},
	"prefetch-src": {"default-src"},
}

// effective returns the sources that govern directive name in p: its
// own, or those of the directive it falls back to; ok is false when
// nothing governs it.
func (p Policy) effective(name string) (sources []string, ok bool) {
	if d, ok := p.Get(name); ok {
		return d.Sources, true
	}
	for _, f := range fallbacks[name] {
		if d, ok := p.Get(f); ok {
			return d.Sources, true
		}
	}
	return nil, false
}
