package csppolicy

import (
	"cmp"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Violation is one kind of violation a collector saw: the directive the
// browser reported (its effective directive: script-src-elem, img-src),
// the blocked URI as browsers report it ("inline", "eval", "data", a
// URL), the page it happened on, and how many reports said so.
type Violation struct {
	Directive   string
	BlockedURI  string
	DocumentURI string
	Count       int
}

// Addition is a source Suggest added to a directive of the policy.
type Addition struct {
	Directive string
	Source    string
	// Count is the number of reports behind it.
	Count int
	// Example is the page most of those reports came from.
	Example string
	// Reported are the directives browsers reported it under (e.g.
	// style-src-attr: style= attributes, not <style> elements).
	Reported []string
}

// Skipped is a kind of violation Suggest did not turn into a source.
type Skipped struct {
	Directive  string
	BlockedURI string
	Count      int
	Why        string
}

// Risk is a source of the suggested policy that weakens it.
type Risk struct {
	Directive string
	Source    string
	Why       string
	// New says Suggest added it (it is not in the base policy).
	New bool
}

// Suggestion is a policy that allows what the violations show, on top of
// a base policy, and how it was made.
type Suggestion struct {
	Policy  Policy
	Added   []Addition // in the order of Policy's directives, most reported first
	Skipped []Skipped  // most reported first
	Risks   []Risk     // in the order of Policy's directives
	// Reports is the number of reports behind the violations.
	Reports int
}

// Suggest returns base with a source added for each violation it does not
// allow yet: the blocked URL's origin ('self' when it is the page's own),
// 'unsafe-inline' for inline code, 'unsafe-eval', data:, blob:. Violations
// of script-src-elem/-attr and style-src-elem/-attr are allowed in
// script-src and style-src (browsers that know no -elem/-attr read those).
// A directive the base lacks starts as a copy of the one it fell back to.
// Violations that are no source (browser extensions, Trusted Types,
// reports without a blocked URI) are listed in Skipped. Suggest never
// widens a source into a wildcard.
func Suggest(base Policy, seen []Violation) Suggestion {
	s := Suggestion{Policy: base.Without()}
	type key struct{ directive, source string }
	adds := map[key]*Addition{}
	best := map[key]int{} // the count of Example's violation
	type skipKey struct{ directive, blocked, why string }
	skips := map[skipKey]*Skipped{}
	skip := func(v Violation, why string) {
		k := skipKey{v.Directive, v.BlockedURI, why}
		if sk := skips[k]; sk != nil {
			sk.Count += v.Count
			return
		}
		skips[k] = &Skipped{Directive: v.Directive, BlockedURI: v.BlockedURI, Count: v.Count, Why: why}
	}
	for _, v := range seen {
		v.Count = max(v.Count, 1)
		s.Reports += v.Count
		directive, why := target(v.Directive)
		if directive == "" {
			skip(v, why)
			continue
		}
		src, why := sourceFor(v.BlockedURI, v.DocumentURI)
		if src == "" {
			skip(v, why)
			continue
		}
		have, governed := base.effective(directive)
		switch {
		case !governed:
			skip(v, "the policy does not restrict "+directive+" (reported under an earlier policy)")
			continue
		case hasSource(have, src):
			skip(v, "already allowed by the policy (reported under an earlier policy)")
			continue
		}
		k := key{directive, src}
		a := adds[k]
		if a == nil {
			a = &Addition{Directive: directive, Source: src}
			adds[k] = a
		}
		a.Count += v.Count
		if !slices.Contains(a.Reported, v.Directive) {
			a.Reported = append(a.Reported, v.Directive)
		}
		if v.Count > best[k] {
			best[k], a.Example = v.Count, v.DocumentURI
		}
	}

	all := make([]*Addition, 0, len(adds))
	for _, a := range adds {
		slices.Sort(a.Reported)
		all = append(all, a)
	}
	// Sources in a stable order: keywords, then schemes, then hosts.
	slices.SortFunc(all, func(a, b *Addition) int {
		return cmp.Or(cmp.Compare(directiveRank(a.Directive), directiveRank(b.Directive)), cmp.Compare(a.Directive, b.Directive),
			cmp.Compare(sourceRank(a.Source), sourceRank(b.Source)), cmp.Compare(a.Source, b.Source))
	})
	for _, a := range all {
		s.Policy.allow(base, a.Directive, a.Source)
	}
	// Reported: in the policy's order, most reported first.
	for _, d := range s.Policy.Directives {
		var in []Addition
		for _, a := range all {
			if a.Directive == d.Name {
				in = append(in, *a)
			}
		}
		slices.SortStableFunc(in, func(a, b Addition) int { return cmp.Compare(b.Count, a.Count) })
		s.Added = append(s.Added, in...)
	}
	for _, sk := range skips {
		s.Skipped = append(s.Skipped, *sk)
	}
	slices.SortFunc(s.Skipped, func(a, b Skipped) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Directive, b.Directive), cmp.Compare(a.BlockedURI, b.BlockedURI))
	})
	s.Risks = Risks(s.Policy, base)
	return s
}

// allow adds src to the directive named name, creating the directive from
// the one it falls back to in base (worker-src starts from base's
// script-src, not from what was added to it); 'none' goes once something
// is allowed.
func (p *Policy) allow(base Policy, name, src string) {
	i := p.index(name)
	if i < 0 {
		have, _ := base.effective(name)
		p.Directives = append(p.Directives, Directive{Name: name, Sources: slices.Clone(have)})
		i = len(p.Directives) - 1
	}
	d := &p.Directives[i]
	if hasSource(d.Sources, src) {
		return
	}
	d.Sources = slices.DeleteFunc(d.Sources, func(s string) bool { return strings.EqualFold(s, "'none'") })
	d.Sources = append(d.Sources, src)
}

func hasSource(sources []string, src string) bool {
	return slices.ContainsFunc(sources, func(s string) bool { return strings.EqualFold(strings.TrimRight(s, "/"), src) })
}

// target is the directive a reported one is allowed in, or "" and why
// none is.
func target(reported string) (directive, why string) {
	d := strings.ToLower(strings.TrimSpace(reported))
	if i := strings.IndexAny(d, " \t"); i >= 0 {
		d = d[:i] // "script-src 'self'": older browsers send the directive with its value
	}
	switch d {
	case "script-src-elem", "script-src-attr":
		return "script-src", ""
	case "style-src-elem", "style-src-attr":
		return "style-src", ""
	case "default-src", "script-src", "style-src", "img-src", "font-src", "connect-src", "media-src", "object-src",
		"manifest-src", "child-src", "frame-src", "worker-src", "prefetch-src", "fenced-frame-src",
		"base-uri", "form-action", "frame-ancestors", "navigate-to":
		return d, ""
	case "require-trusted-types-for", "trusted-types":
		return "", "a Trusted Types violation: code to change, not a source to allow"
	case "":
		return "", "the report named no directive"
	}
	return "", "not a directive that takes sources"
}

// sourceFor is the source that allows what a report says was blocked on
// document, or "" and why there is none.
func sourceFor(blocked, document string) (src, why string) {
	b := strings.TrimSpace(blocked)
	lb := strings.ToLower(b)
	switch lb {
	case "inline":
		return "'unsafe-inline'", ""
	case "eval":
		return "'unsafe-eval'", ""
	case "wasm-eval":
		return "'wasm-unsafe-eval'", ""
	case "data", "blob", "filesystem", "mediastream":
		return lb + ":", "" // Chromium reports the scheme alone
	case "":
		return "", "no blocked URI in the report (browsers leave out some, e.g. after a cross-origin redirect)"
	case "trusted-types-policy", "trusted-types-sink":
		return "", "a Trusted Types violation: code to change, not a source to allow"
	}
	scheme, _, ok := strings.Cut(lb, ":")
	if !ok {
		return "", "neither a URL nor a keyword browsers report"
	}
	switch scheme {
	case "data", "blob", "filesystem", "mediastream":
		return scheme + ":", ""
	case "http", "https", "ws", "wss":
		u, err := url.Parse(b)
		if err != nil || u.Hostname() == "" {
			return "", "not a URL"
		}
		if !hostSource(u.Hostname()) || strings.Trim(u.Port(), "0123456789") != "" {
			return "", "not a host a policy can name (ASCII letters, digits, dots and dashes, or an IP address)"
		}
		if doc, err := url.Parse(document); err == nil && sameOrigin(doc, u) {
			return "'self'", ""
		}
		return origin(u), ""
	case "chrome-extension", "moz-extension", "safari-extension", "safari-web-extension", "ms-browser-extension", "edge-extension":
		return "", "a browser extension's, not the site's"
	case "about":
		return "", "an about: URL, not one a site serves"
	}
	return "", "a " + scheme + ": URL, not one a site serves"
}

// hostSource reports whether a URL's host can be written in a policy as
// it is (CSP's host-char is ALPHA / DIGIT / "-"; an IDN must be given in
// punycode): anything else in a report is made up, and could break the
// policy's syntax (";" starts a new directive).
func hostSource(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return true
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// origin is u's scheme://host[:port], lower case, without a default port.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if p := u.Port(); p != "" && p != defaultPort(scheme) {
		host = net.JoinHostPort(strings.Trim(host, "[]"), p)
	}
	return scheme + "://" + host
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}

// sameOrigin reports whether 'self' on doc's page matches u (CSP Level
// 3, "does url match expression in origin with redirect count"): the same
// origin, or the same host over a secure or WebSocket scheme of the
// page's, on the same port or both on their schemes' defaults.
func sameOrigin(doc, u *url.URL) bool {
	if doc.Hostname() == "" || !strings.EqualFold(doc.Hostname(), u.Hostname()) {
		return false
	}
	ds, us := strings.ToLower(doc.Scheme), strings.ToLower(u.Scheme)
	dp, up := cmp.Or(doc.Port(), defaultPort(ds)), cmp.Or(u.Port(), defaultPort(us))
	if ds == us {
		return dp == up
	}
	upgrade := ds == "http" && (us == "https" || us == "ws" || us == "wss") || ds == "https" && us == "wss"
	return upgrade && (dp == up || dp == defaultPort(ds) && up == defaultPort(us))
}

// directiveRank orders new directives as policies are usually written.
func directiveRank(d string) int {
	order := []string{"default-src", "script-src", "style-src", "img-src", "font-src", "connect-src", "media-src",
		"object-src", "frame-src", "child-src", "worker-src", "manifest-src", "prefetch-src", "fenced-frame-src",
		"base-uri", "form-action", "frame-ancestors", "navigate-to"}
	if i := slices.Index(order, d); i >= 0 {
		return i
	}
	return len(order)
}

func sourceRank(s string) int {
	switch {
	case strings.HasPrefix(s, "'"):
		return 0
	case strings.HasSuffix(s, ":"):
		return 1
	}
	return 2
}

// Risks lists the sources of p that weaken it, each with why; New marks
// the ones base does not have.
func Risks(p, base Policy) []Risk {
	var out []Risk
	for _, d := range p.Directives {
		old, _ := base.Get(d.Name)
		for _, src := range d.Sources {
			why := riskOf(d.Name, strings.ToLower(src))
			if why == "" {
				continue
			}
			out = append(out, Risk{Directive: d.Name, Source: src, Why: why, New: !hasSource(old.Sources, strings.ToLower(src))})
		}
	}
	return out
}

// scriptLike are the directives that decide what runs as the site's code
// or where its pages go.
var scriptLike = map[string]bool{"default-src": true, "script-src": true, "script-src-elem": true, "script-src-attr": true,
	"object-src": true, "worker-src": true, "child-src": true, "frame-src": true, "base-uri": true, "form-action": true}

func riskOf(directive, src string) string {
	script := scriptLike[directive]
	switch {
	case src == "'unsafe-inline'" && (directive == "style-src" || strings.HasPrefix(directive, "style-src-")):
		return "inline styles apply: injected markup can restyle the page or read it out through CSS; move style= attributes and <style> blocks into static CSS, or use nonces or hashes"
	case src == "'unsafe-inline'":
		return "inline scripts and event handlers (onclick=) run: so does an injected <script> or onerror=, which is most of what CSP stops; move the code into static files, or use nonces or hashes"
	case src == "'unsafe-eval'":
		return "eval() and new Function() turn strings into code, a script-injection sink; usually a library option or a newer version avoids it"
	case src == "'unsafe-hashes'":
		return "event-handler attributes run when their hash matches; move them into static files"
	case src == "data:" && script:
		return "data: URLs carry their content in the URL: a script, object or frame from data: is as good as inline, and an injected one too"
	case src == "data:" && (directive == "style-src" || directive == "connect-src"):
		return "data: URLs carry their content in the URL: an injected one needs no host of its own"
	case src == "blob:" && (directive == "script-src" || directive == "default-src"):
		return "blob: scripts are made by the page's own code: injected code can make and run them too"
	case src == "*":
		return "any host at all (http, https, ws, wss)"
	case src == "http:" || src == "https:" || src == "ws:" || src == "wss:":
		return "any host over " + strings.TrimSuffix(src, ":")
	case strings.Contains(src, "*"):
		return "a wildcard host: every matching host (any subdomain serving user content, or one taken over) can serve this"
	case (strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "ws://")) && (script || directive == "style-src" || directive == "connect-src"):
		return "over plain HTTP: anyone on the network path can change what is loaded"
	}
	return ""
}
