// Package analyze is Parapet's second detection stage: it judges whether
// one request value, looked at as the application might decode it, parses
// as code that breaks out of the context it is meant for.
//
// Where the rule set matches patterns, the analyzer parses: a SQL
// tokenizer (libinjection's fingerprints, judged by where the value
// breaks out: a quote, a number), an HTML and JavaScript scanner for XSS,
// a shell grammar for command injection, template syntax, MongoDB
// operators, LDAP filters, CR/LF before a header or mail command, dot
// segments that escape a directory, and URLs that point at internal
// services. Each detector answers with a class and a confidence; natural
// language (words and punctuation) lowers the confidence of code-like
// findings, so prose about SQL is not SQL.
//
// Values are decoded first (decode.go): URL escapes (nested), '+' as a
// space, HTML entities, JavaScript escapes, base64 and base64url when the
// value decodes to text, UTF-16 and overlong UTF-8, full-width and
// circled letters, string concatenation; within fixed bounds of depth and
// bytes. A finding names the decodings it was found after.
//
// The package is pure: no I/O, no global mutable state; an Analyzer is
// safe for concurrent use.
package analyze

import (
	"encoding/json"
	"strings"
)

// Class is an attack class.
type Class uint8

// The attack classes the analyzer recognises.
const (
	None      Class = iota
	SQLi            // SQL injection
	XSS             // cross-site scripting (HTML and JavaScript contexts)
	Shell           // OS command injection
	Code            // code injection (PHP, Python, Java, ASP, Node) and deserialization
	Template        // server-side template injection
	SSI             // server-side includes
	NoSQL           // MongoDB operator and JavaScript injection
	LDAP            // LDAP filter injection
	CRLF            // header, mail and protocol injection after CR/LF
	Traversal       // path traversal and local file inclusion
	SSRF            // URLs aimed at internal services
	Redirect        // open redirects in return-to fields
	XXE             // XML external entities and inclusions
	numClasses
)

var classNames = [numClasses]string{"", "sqli", "xss", "rce", "code", "ssti", "ssi", "nosql", "ldap", "crlf", "lfi", "ssrf", "redirect", "xxe"}

// String is the class's short name ("sqli", "xss", "rce" ...), as used in
// rule ids (detect-sqli) and the operator's argument.
func (c Class) String() string {
	if c < numClasses {
		return classNames[c]
	}
	return "unknown"
}

// ParseClass is the class named s (String's names), or None.
func ParseClass(s string) Class {
	for i, n := range classNames {
		if i > 0 && n == s {
			return Class(i)
		}
	}
	return None
}

// Set is a set of classes.
type Set uint32

// All is every class.
const All = Set(1<<numClasses-1) &^ 1

// Of is the set holding cs.
func Of(cs ...Class) Set {
	var s Set
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// Has reports whether c is in s.
func (s Set) Has(c Class) bool { return s&(1<<c) != 0 }

// Confidence is how sure a detector is that a value is an attack.
type Confidence uint8

const (
	// NoFinding: nothing that parses as code of the class.
	NoFinding Confidence = iota
	// Low: code of the class, but not breaking out of its context (a SQL
	// statement quoted in an article, "{{ name }}" in a template snippet).
	// Informational: it neither blocks nor confirms.
	Low
	// Medium: a break-out, but in natural-language text or in a form
	// real users also type: it confirms a rule-set match on the same
	// field and does not block alone.
	Medium
	// High: a value that breaks out of its context as code: blocks alone.
	High
)

var confidenceNames = [...]string{"none", "low", "medium", "high"}

// String is "none", "low", "medium" or "high".
func (c Confidence) String() string {
	if int(c) < len(confidenceNames) {
		return confidenceNames[c]
	}
	return "unknown"
}

// Finding is what the analyzer found in one value.
type Finding struct {
	Class      Class
	Confidence Confidence
	// Via names the decodings of the value the finding was made in, in
	// order ("base64", "url>html"); empty for the value as received.
	Via string
	// Why is a short description of the evidence (a SQL fingerprint, a
	// tag and attribute, a command word); never the value itself, which
	// may be a secret.
	Why string
}

// String is "sqli/high via base64: why".
func (f Finding) String() string {
	if f.Confidence == NoFinding {
		return "none"
	}
	var b strings.Builder
	b.WriteString(f.Class.String())
	b.WriteByte('/')
	b.WriteString(f.Confidence.String())
	if f.Via != "" {
		b.WriteString(" via ")
		b.WriteString(f.Via)
	}
	if f.Why != "" {
		b.WriteString(": ")
		b.WriteString(f.Why)
	}
	return b.String()
}

// better reports whether f outranks g (higher confidence; the first
// found wins a tie).
func (f Finding) better(g Finding) bool { return f.Confidence > g.Confidence }

// Place is where in the request a value was found: it decides which
// decodings apply and how a detector reads the value.
type Place uint8

const (
	// Arg is a query, form, JSON or multipart field value, or a cookie.
	Arg Place = iota
	// Name is an argument's name (JSON keys are dotted paths).
	Name
	// Path is the request's path, URL-decoded once.
	Path
	// Header is a request header's value.
	Header
	// ReturnTo is a field that holds where to send the user next
	// (Django's next): also judged for open redirects.
	ReturnTo
)

// Analyzer inspects values for a set of classes at one place.
type Analyzer struct {
	classes Set
	place   Place
}

// New is an analyzer for classes at place.
func New(classes Set, place Place) *Analyzer {
	return &Analyzer{classes: classes, place: place}
}

// Limits of the work done for one value.
const (
	// maxInspect is the most bytes of a value that are inspected; a longer
	// value is inspected in its first maxInspect bytes (the rule set reads
	// all of it).
	maxInspect = 1 << 20
	// maxViews is the most decoded forms of one value.
	maxViews = 8
	// maxDepth is the most decodings applied one after the other.
	maxDepth = 3
)

// Report is the strongest finding of each class in one value.
type Report struct {
	byClass [numClasses]Finding
}

// Best is the strongest finding of the classes in set (the first class
// wins a tie), or NoFinding.
func (r *Report) Best(set Set) Finding {
	var best Finding
	for c := Class(1); c < numClasses; c++ {
		if set.Has(c) && r.byClass[c].better(best) {
			best = r.byClass[c]
		}
	}
	return best
}

// AtLeast is the set of classes whose finding has confidence c or more:
// Best(set).Confidence >= c exactly when set holds one of them (for c
// above NoFinding's), answered for many sets with one pass.
func (r *Report) AtLeast(c Confidence) Set {
	var s Set
	for k := Class(1); k < numClasses; k++ {
		if r.byClass[k].Confidence >= c {
			s |= 1 << k
		}
	}
	return s
}

// Inspect returns the strongest finding in v (NoFinding when none).
func (a *Analyzer) Inspect(v string) Finding {
	var r Report
	a.InspectAll(v, &r)
	return r.Best(a.classes)
}

// InspectAll fills r with the strongest finding of each of the
// analyzer's classes in v, each over every decoded view of v.
func (a *Analyzer) InspectAll(v string, r *Report) {
	*r = Report{}
	if len(v) > maxInspect {
		v = v[:maxInspect]
	}
	if a.place == Path {
		v = strings.TrimLeft(v, "/")
	}
	if !mayCarryCode(v) {
		return
	}
	a.inspectValue(v, r, 0)
}

// maxJSONDepth is how many decoded JSON documents deep values are
// judged (a JWT's claims holding base64 JSON is two).
const maxJSONDepth = 2

// inspectValue fills r with the findings in v's views; depth counts the
// decoded JSON documents v was found in.
func (a *Analyzer) inspectValue(v string, r *Report, depth int) {
	var buf [maxViews]view
	views := decodeViews(v, a.place, buf[:0])
	first := 0
	if !hasSyntax(v) {
		first = 1 // letters, digits and . , - _ only: nothing to parse but its decodings
	}
	for i := first; i < len(views); i++ {
		if views[i].via != "" && depth < maxJSONDepth && isJSONDocument(views[i].s) {
			a.inspectJSON(&views[i], r, depth+1)
			continue
		}
		a.inspectView(&views[i], r)
	}
}

// isJSONDocument reports a JSON object or array.
func isJSONDocument(s string) bool {
	t := strings.TrimSpace(s)
	return len(t) >= 2 && (t[0] == '{' && t[len(t)-1] == '}' || t[0] == '[' && t[len(t)-1] == ']') && json.Valid([]byte(t))
}

// maxJSONStrings is the most strings of one decoded JSON document judged.
const maxJSONStrings = 64

// inspectJSON judges a decoded JSON document (a state token, a JWT's
// header and claims) as the application reads it: each string, key or
// value, on its own, and the document as a whole for MongoDB operators
// only (they are its structure). Read as one string, JSON's quotes and
// colons look like SQL ("sksos").
func (a *Analyzer) inspectJSON(v *view, r *Report, depth int) {
	if a.classes.Has(NoSQL) {
		(&Analyzer{classes: Of(NoSQL), place: a.place}).inspectView(v, r)
	}
	dec := json.NewDecoder(strings.NewReader(v.s))
	dec.UseNumber()
	for n := 0; n < maxJSONStrings; {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		str, ok := tok.(string)
		if !ok || !mayCarryCode(str) {
			continue
		}
		n++
		var sub Report
		a.inspectValue(str, &sub, depth)
		for c := Class(1); c < numClasses; c++ {
			f := sub.byClass[c]
			if f.Confidence == NoFinding {
				continue
			}
			if f.Via == "" {
				f.Via = v.via + ">json"
			} else {
				f.Via = v.via + ">json>" + f.Via
			}
			if f.better(r.byClass[c]) {
				r.byClass[c] = f
			}
		}
	}
}

// hasSyntax reports whether v has a character other than letters,
// digits and . , - _ (a space included).
func hasSyntax(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ',') {
			return true
		}
	}
	return false
}

// inspectView runs the detector of each of the analyzer's classes that
// has not found a High yet on one view.
func (a *Analyzer) inspectView(v *view, r *Report) {
	t := &text{s: v.s}
	for c := Class(1); c < numClasses; c++ {
		if !a.classes.Has(c) || r.byClass[c].Confidence == High {
			continue
		}
		var f Finding
		switch c {
		case SQLi:
			f = sqli(t, a.place)
		case XSS:
			f = xss(t, a.place)
		case Shell:
			f = shell(t, a.place)
		case Code:
			f = code(t)
		case Template:
			f = template(t)
		case SSI:
			f = ssi(t)
		case NoSQL:
			f = nosql(t, a.place)
		case LDAP:
			f = ldap(t)
		case CRLF:
			f = crlf(t, a.place)
		case Traversal:
			f = traversal(t, a.place)
		case SSRF:
			f = ssrf(t, a.place)
		case Redirect:
			if a.place == ReturnTo {
				f = redirect(t)
			}
		case XXE:
			f = xxe(t)
		}
		if f.Confidence == NoFinding {
			continue
		}
		if c == SSRF && f.Confidence == Medium && strings.Contains(v.via, "fold") && !t.isText() {
			// 127.0.0.1 in circled or full-width digits: no one types
			// an internal address so but to get past a filter.
			f.Confidence, f.Why = High, f.Why+" in look-alike characters"
		}
		if f.Confidence == High && c != XSS && c != SSI && c != XXE && t.isDocument() {
			f.Confidence = Medium
			f.Why += " in a document"
		}
		f.Class, f.Via = c, v.via
		if f.better(r.byClass[c]) {
			r.byClass[c] = f
		}
	}
}

// mayCarryCode is the cheap first scan: a value made only of letters,
// digits and a few separators, without a space, cannot carry code of any
// class unless it is base64 (which decodeViews tries when it is long
// enough). Numbers, UUIDs, slugs, short identifiers stop here.
func mayCarryCode(v string) bool {
	return v != "" && (hasSyntax(v) || len(v) >= minBase64)
}

// text is one view being judged, with what detectors compute about it
// once and share.
type text struct {
	s     string
	prose int8 // 0 unknown, 1 prose, -1 not
	doc   int8 // the same for isDocument
	txt   int8 // and isText
	lower string
}

// isDocument reports whether the view is a document rather than a
// field's value: several lines, or long prose. Commands, queries and
// code quoted in a document (an article's shell one-liner, a README's
// install steps, a SQL tutorial) are text, not a break-out of the field:
// findings in one are at most Medium (a CRS match on the same field
// confirms them), but for markup that runs script (a stored <script>,
// an event handler) and server-side includes.
func (t *text) isDocument() bool {
	if t.doc == 0 {
		t.doc = -1
		if linesOutsideTemplates(t.s) >= 3 || len(t.s) > 300 && t.isProse() {
			t.doc = 1
		}
	}
	return t.doc == 1
}

// linesOutsideTemplates counts the line breaks of s that are not inside
// a template expression or statement ({{ ... }}, {% ... %}): an
// expression split over lines is one expression, not a document.
func linesOutsideTemplates(s string) int {
	n := strings.Count(s, "\n")
	if n < 3 || !strings.Contains(s, "{{") && !strings.Contains(s, "{%") {
		return n
	}
	depth := 0
	n = 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '{' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '%'):
			depth++
			i++
		case (s[i] == '}' || s[i] == '%') && i+1 < len(s) && s[i+1] == '}' && depth > 0:
			depth--
			i++
		case s[i] == '\n' && depth == 0:
			n++
		}
	}
	return n
}

// isText reports whether the view is natural-language text or a
// document of it (Text, prose.go).
func (t *text) isText() bool {
	if t.txt == 0 {
		t.txt = -1
		if t.isProse() || Text(t.s) {
			t.txt = 1
		}
	}
	return t.txt == 1
}

// isProse reports whether the view reads as natural language (prose.go).
func (t *text) isProse() bool {
	if t.prose == 0 {
		t.prose = -1
		if looksLikeProse(t.s) {
			t.prose = 1
		}
	}
	return t.prose == 1
}

// lc is the view in ASCII lower case.
func (t *text) lc() string {
	if t.lower == "" && t.s != "" {
		t.lower = asciiLower(t.s)
	}
	return t.lower
}

// asciiLower lower-cases ASCII letters only (no allocation when there
// are none to change).
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
