package harden

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/bodypeek"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/denypage"
)

// Reason codes of the leak guard: the rule id in the log line and the
// reason on the page that replaces the response.
const (
	RuleLeakDebugPage = "leak-debug-page"
	RuleLeakTraceback = "leak-traceback"
	RuleLeakSecret    = "leak-secret"
	// RuleLeakUninspectable is a textual response the guard cannot read:
	// an encoding it does not decode, codings stacked too deep, a
	// decompression bomb.
	RuleLeakUninspectable = "leak-uninspectable"
)

// Literal markers of Django's DEBUG error pages (technical 404 and 500,
// django/views/templates/technical_*) and of Python tracebacks: plain
// byte searches, no regex on the hot path. Each probe starts with a byte
// rare in HTML (upper case); the check at each hit reads around it.
var (
	tracebackMarker = []byte("Traceback (most recent call last):")
	// debugProbe is the footer of every DEBUG page: "because you have
	// <code>DEBUG = True</code>" (HTML) or "because you have DEBUG = True
	// in your" (the plain-text 500 that API clients get).
	debugProbe = []byte("DEBUG = True")
	// versionProbe starts the technical 500's "Django Version" row: in
	// HTML a table header followed by the Exception Type or Python
	// Executable row, in text a line followed by "Python Executable: ".
	versionProbe = []byte("Django Version:")
	// robotsProbe is in the robots meta tag both technical HTML pages
	// carry in their first few hundred bytes.
	robotsProbe = []byte("NONE,NOARCHIVE")
)

// robotsAt is where robotsProbe is in robotsMeta.
const robotsAt = len(`<meta name="robots" content="`)

// The parts of the technical pages' start (see techState).
var (
	robotsMeta     = []byte(`<meta name="robots" content="NONE,NOARCHIVE">`)
	summaryDiv     = []byte(`<div id="summary">`)
	exceptionValue = []byte(`<pre class="exception_value">`)
	pageNotFound   = []byte(`<h1>Page not found`)
	// notFoundTitle opens the technical 404's title, before the request
	// path (path_info always starts with "/").
	notFoundTitle = []byte(`<title>Page not found at /`)
)

func debugAt(text []byte, i int) bool {
	before, after := text[:i], text[i+len(debugProbe):]
	return bytes.HasSuffix(before, []byte("because you have <code>")) && bytes.HasPrefix(after, []byte("</code>")) ||
		bytes.HasSuffix(before, []byte("because you have ")) && bytes.HasPrefix(after, []byte(" in your"))
}

// versionAt checks text[i:] == "Django Version:" for the technical 500's
// row: "</th>" and, within 512 bytes, the Exception Type or Python
// Executable header (Django 3.2 and later); or, in the text page, " ",
// the version and, on the next line, "Python Executable: ".
func versionAt(text []byte, i int) bool {
	rest := text[i+len(versionProbe):]
	if bytes.HasPrefix(rest, []byte("</th>")) {
		rest = rest[:min(len(rest), 512)]
		return bytes.Contains(rest, []byte("Exception Type:</th>")) || bytes.Contains(rest, []byte("Python Executable:</th>"))
	}
	if len(rest) == 0 || rest[0] != ' ' {
		return false
	}
	nl := bytes.IndexByte(rest[:min(len(rest), 64)], '\n')
	return nl > 0 && bytes.HasPrefix(rest[nl+1:], []byte("Python Executable: "))
}

// A secretShape is one kind of secret that never leaves, whatever the
// config says. Every response the guard reads is searched for each shape's
// probe, a literal every match contains that starts with a byte rare in
// HTML and JSON (upper case, ':'), so a page costs a few vectorised scans;
// at each hit, at checks the exact shape around it. (Regexes over the whole
// page cost 100 µs and more on a page that merely mentions "redis".)
type secretShape struct {
	probe []byte
	at    func(text []byte, i int) bool
}

var secretShapes = []secretShape{
	// AWS access key ids: \b(AKIA|ASIA)[0-9A-Z]{16}\b (one pass for both).
	{[]byte("A"), awsKeyAt},
	// Private keys: -----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED ]PRIVATE KEY-----.
	{[]byte("KEY-----"), privateKeyAt},
	// Database and broker URLs with a password: scheme://user:password@.
	{[]byte("://"), credentialURLAt},
	// A Django settings line: SECRET_KEY = '8+ characters (also DJANGO_SECRET_KEY=...).
	{[]byte("SECRET_KEY"), secretKeyAt},
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// wordStart reports whether a word boundary (regexp \b) precedes text[i].
func wordStart(text []byte, i int) bool { return i == 0 || !isWordByte(text[i-1]) }

func awsKeyAt(text []byte, i int) bool {
	if !bytes.HasPrefix(text[i:], []byte("AKIA")) && !bytes.HasPrefix(text[i:], []byte("ASIA")) {
		return false
	}
	end := i + 20
	if !wordStart(text, i) || end > len(text) || end < len(text) && isWordByte(text[end]) {
		return false
	}
	for _, c := range text[i+4 : end] {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

var privateKeyKinds = []string{"", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "}

func privateKeyAt(text []byte, i int) bool {
	for _, kind := range privateKeyKinds {
		begin := "-----BEGIN " + kind + "PRIVATE "
		if i >= len(begin) && string(text[i-len(begin):i]) == begin {
			return true
		}
	}
	return false
}

// credentialURLAt checks text[i:] == "://" for scheme://user:password@,
// the scheme (postgresql, postgres, mysql, rediss, redis or amqp)
// starting at a word boundary, the user without whitespace, quotes,
// angle brackets, ':', '@' or '/', the password without those except ':'.
func credentialURLAt(text []byte, i int) bool {
	// The letters before "://" (at most 10: the longest scheme's and one
	// more), as one word: one comparison per scheme of that length.
	j := i
	for j > 0 && i-j <= len("postgresql") && (text[j-1] >= 'a' && text[j-1] <= 'z' || text[j-1] >= 'A' && text[j-1] <= 'Z') {
		j--
	}
	switch string(text[j:i]) {
	case "postgresql", "postgres", "mysql", "rediss", "redis", "amqp":
	default:
		return false
	}
	if !wordStart(text, j) {
		return false
	}
	j = i + 3
	user := j
	for j < len(text) && strings.IndexByte(" \t\n\f\r:@/\"'<>", text[j]) < 0 {
		j++
	}
	if j == user || j == len(text) || text[j] != ':' {
		return false
	}
	j++
	pass := j
	for j < len(text) && strings.IndexByte(" \t\n\f\r@/\"'<>", text[j]) < 0 {
		j++
	}
	return j > pass && j < len(text) && text[j] == '@'
}

// secretKeyAt checks text[i:] for SECRET_KEY\s*=\s*['"] and 8 characters
// (not bytes) that are not quotes.
func secretKeyAt(text []byte, i int) bool {
	j := skipSpace(text, i+len("SECRET_KEY"))
	if j >= len(text) || text[j] != '=' {
		return false
	}
	j = skipSpace(text, j+1)
	if j >= len(text) || text[j] != '\'' && text[j] != '"' {
		return false
	}
	j++
	for range 8 { // characters, as the regex counts them (an invalid byte is one)
		if j >= len(text) || text[j] == '\'' || text[j] == '"' {
			return false
		}
		_, size := utf8.DecodeRune(text[j:])
		j += size
	}
	return true
}

func skipSpace(text []byte, j int) int {
	for j < len(text) && strings.IndexByte(" \t\n\f\r", text[j]) >= 0 {
		j++
	}
	return j
}

// eachIndex calls at for each index of probe in text until it says true.
func eachIndex(text, probe []byte, at func(text []byte, i int) bool) bool {
	return eachIndexIn(text, probe, 0, len(text), at)
}

// eachIndexIn is eachIndex for the hits that start in text[lo:hi]; at
// may read all of text around them.
func eachIndexIn(text, probe []byte, lo, hi int, at func(text []byte, i int) bool) bool {
	end := min(len(text), hi+len(probe)-1)
	for off := lo; off < hi; {
		k := bytes.Index(text[off:end], probe)
		if k < 0 {
			return false
		}
		if at(text, off+k) {
			return true
		}
		off += k + 1
	}
	return false
}

// indexIn is the first index of probe in text that starts in [lo, hi),
// or -1.
func indexIn(text, probe []byte, lo, hi int) int {
	if lo >= hi {
		return -1
	}
	k := bytes.Index(text[lo:min(len(text), hi+len(probe)-1)], probe)
	if k < 0 {
		return -1
	}
	return lo + k
}

// A finding is what the guard found: the rule id and the reason for the
// log line; the page says the rule id.
type finding struct{ rule, what string }

var (
	foundTraceback    = finding{RuleLeakTraceback, "the upstream answered with a Python traceback"}
	foundTechnical    = finding{RuleLeakTraceback, "the upstream answered with Django's DEBUG error page (technical 500: traceback, local variables, settings)"}
	foundTechnical404 = finding{RuleLeakDebugPage, "the upstream answered with Django's DEBUG 404 page (technical 404: the URLconf's patterns)"}
	foundDebugPage    = finding{RuleLeakDebugPage, "the upstream answered with a Django DEBUG page (DEBUG = True in production)"}
	foundSecret       = finding{RuleLeakSecret, "the upstream answered with something that looks like a secret"}
	foundCustom       = finding{RuleLeakSecret, "the upstream answered with a configured secret pattern"}
	foundLongDebug    = finding{RuleLeakDebugPage, "the upstream answered with what starts as Django's DEBUG page and is longer than the guard holds back"}
)

type leakGuard struct {
	peek *bodypeek.Peeker
	// custom are the configured secret patterns, as one regex (nil if none).
	custom *regexp.Regexp
	pages  *denypage.Renderer
	// pass lets uninspectable responses through (uninspectable: pass).
	pass    bool
	streams sync.Pool // of *leakStream
}

func newLeakGuard(c config.LeakGuard) (*leakGuard, error) {
	var pats []string
	for i, p := range c.SecretPatterns {
		if _, err := regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("pattern %d is not a valid regex: %v", i, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		pats = append(pats, p)
	}
	limit := int(c.InspectBytes)
	if limit <= 0 {
		limit = 64 << 10
	}
	g := &leakGuard{peek: bodypeek.New(limit), pages: &denypage.Renderer{}, pass: c.Uninspectable == config.UninspectablePass}
	if len(pats) > 0 {
		g.custom = regexp.MustCompile("(?:" + strings.Join(pats, ")|(?:") + ")")
	}
	return g, nil
}

// textual reports whether a body of this type can hold a page or a secret.
func textual(contentType string) bool {
	ct := strings.ToLower(contentType)
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") ||
		strings.Contains(ct, "javascript") || strings.Contains(ct, "xml")
}

// inspect reads the start of a textual body (decoding its content
// codings) and replaces the response with the generic error page when it
// holds a DEBUG page, a traceback or a secret. A body that ends within
// inspect_bytes is read whole; a longer one is held back while it looks
// like Django's DEBUG page (up to holdMax), then streams to the client
// through a search for the same leaks, which cuts it off if one comes
// (see leakStream).
func (g *leakGuard) inspect(resp *http.Response, info *decision.Info) error {
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols ||
		resp.Request.Method == http.MethodHead || !textual(resp.Header.Get("Content-Type")) {
		return nil
	}
	codings, err := bodypeek.ParseCodings(resp.Header)
	if err != nil {
		return g.uninspectable(resp, info, err.Error())
	}
	if codings.Len() == 0 {
		// The common case, a page that fits the window: one search.
		prefix, whole, err := g.peek.Peek(resp)
		if err != nil {
			return err
		}
		if whole {
			if f := g.find(prefix); f.rule != "" {
				g.replace(resp, info, f, 0)
			}
			return nil
		}
	}
	s := g.newStream(resp, codings, info)
	resp.Body = s
	f, err := s.hold(g.peek.Limit())
	switch {
	case err != nil:
		// The caller closes resp.Body after a failed hook (ReverseProxy
		// does): it must not reach s, which is back in the pool and may
		// be another response's by then.
		_ = s.Close()
		resp.Body = http.NoBody
		return err
	case f.rule == RuleLeakUninspectable && g.pass:
		info.AddTag("leak-guard-skipped:bomb")
		s.passRest()
	case f.rule == RuleLeakUninspectable:
		g.replace(resp, info, f, http.StatusBadGateway)
	case f.rule != "":
		g.replace(resp, info, f, 0)
	}
	return nil
}

// readableEncodings drops from a request's Accept-Encoding what the leak
// guard does not decode (compress, dictionary codings such as dcb and
// dcz, "*"), so an app that honours the header answers in a coding the
// guard reads; with nothing left it asks for identity. Cheap when every
// coding is readable, as browsers' lists are.
func readableEncodings(h http.Header) {
	lines := h["Accept-Encoding"]
	if len(lines) == 0 {
		return
	}
	ok := true
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			if !readableCoding(elem) {
				ok = false
			}
		}
	}
	if ok && len(lines) == 1 {
		return
	}
	var kept []string
	for _, line := range lines {
		for elem := range strings.SplitSeq(line, ",") {
			if readableCoding(elem) && strings.TrimSpace(elem) != "" {
				kept = append(kept, strings.TrimSpace(elem))
			}
		}
	}
	if len(kept) == 0 {
		kept = []string{"identity"}
	}
	h["Accept-Encoding"] = []string{strings.Join(kept, ", ")}
}

// readableCoding reports whether an Accept-Encoding element (a coding
// and its parameters) names a coding the guard decodes, or is empty.
func readableCoding(elem string) bool {
	name, _, _ := strings.Cut(elem, ";")
	name = strings.TrimSpace(name)
	for _, c := range [...]string{"gzip", "br", "zstd", "deflate", "identity", "x-gzip", ""} {
		if strings.EqualFold(name, c) {
			return true
		}
	}
	return false
}

// uninspectable answers a textual response the guard cannot read: the
// generic 502 page, or (uninspectable: pass) the response unread, tagged.
func (g *leakGuard) uninspectable(resp *http.Response, info *decision.Info, why string) error {
	if g.pass {
		info.AddTag("leak-guard-skipped:" + strings.ToLower(strings.Join(resp.Header.Values("Content-Encoding"), ",")))
		return nil
	}
	g.replace(resp, info, finding{RuleLeakUninspectable, "the upstream answered with a textual body the leak guard cannot read: " + why}, http.StatusBadGateway)
	return nil
}

// replace swaps the response for the generic error page, which names the
// rule the log line names. The status is the upstream's error status, or
// status (500 when 0) for a response that was no error.
func (g *leakGuard) replace(resp *http.Response, info *decision.Info, f finding, status int) {
	_ = resp.Body.Close() // the upstream's, and the buffers back to their pools
	switch {
	case status != 0:
	case resp.StatusCode >= 400:
		status = resp.StatusCode
	default:
		status = http.StatusInternalServerError
	}
	g.pages.Replace(resp, denypage.Page{Status: status, Reason: f.rule, RequestID: info.ID})
	info.Final = decision.Decision{Action: decision.Block, RuleID: f.rule, Reason: f.what, Critical: f.rule != RuleLeakUninspectable}
}

// find searches a whole body's text (one that fits the window).
func (g *leakGuard) find(text []byte) finding {
	st := techUnknown
	if f := st.step(text, 0, len(text), true); f.rule != "" {
		return f
	}
	return g.findIn(text, 0, len(text))
}

// findIn searches text for leaks that start in text[lo:hi]; the checks
// read up to lookbehind bytes before lo and lookahead bytes after a hit.
func (g *leakGuard) findIn(text []byte, lo, hi int) finding {
	// Django's technical 500 page is the most specific finding (it
	// carries a traceback and the DEBUG footer too), then a traceback.
	technical, debug := djangoMarkersIn(text, lo, hi)
	switch {
	case technical:
		return foundTechnical
	case indexIn(text, tracebackMarker, lo, hi) >= 0:
		return foundTraceback
	case debug:
		return foundDebugPage
	}
	for _, s := range secretShapes {
		if eachIndexIn(text, s.probe, lo, hi, s.at) {
			return foundSecret
		}
	}
	if g.custom != nil && g.custom.Match(text[max(0, lo-lookbehind):min(len(text), hi+lookahead)]) {
		return foundCustom
	}
	return finding{}
}

// djangoMarkersIn looks at each 'D' that starts in text[lo:hi], in one
// pass, for the technical 500's "Django Version" row and the DEBUG
// footer.
func djangoMarkersIn(text []byte, lo, hi int) (technical, debug bool) {
	for off := lo; off < hi; {
		k := bytes.IndexByte(text[off:hi], 'D')
		if k < 0 {
			break
		}
		i := off + k
		switch {
		case bytes.HasPrefix(text[i:], versionProbe) && versionAt(text, i):
			return true, debug
		case !debug && bytes.HasPrefix(text[i:], debugProbe):
			debug = debugAt(text, i)
		}
		off = i + 1
	}
	return false, debug
}

// techState follows the start of a body that may be one of Django's
// technical (DEBUG) pages, which say what they are in their first few
// kilobytes, long before the traceback, local variables and settings:
// the HTML pages' robots meta tag or the 404's title (in the first 2 KB,
// see htmlPageStart), then the summary block, then its exception value
// (500) or "Page not found" heading (404); the text page's first line, "SomeError at /path". A body that
// starts so is held back until it is decided (see leakStream.hold).
type techState uint8

const (
	techUnknown techState = iota // fewer than startBytes seen
	techNo                       // does not start like a technical page
	techRobots                   // HTML: the robots meta tag
	techSummary                  // HTML: then the summary block
	techText                     // text: the first line
)

// startBytes is where the robots meta tag must be (Django puts it at
// about byte 150).
const startBytes = 2048

// suspect says the body started like a technical page.
func (t techState) suspect() bool { return t >= techRobots }

// step advances t over the hits that start in text[lo:hi] (text[0] is
// the body's first byte while t is techUnknown; final: the body ends
// there). It returns a finding once the page is one.
func (t *techState) step(text []byte, lo, hi int, final bool) finding {
	if *t == techUnknown {
		if len(text) < startBytes && !final {
			return finding{}
		}
		*t = techNo
		head := text[:min(len(text), startBytes)]
		if htmlPageStart(text, head) {
			*t = techRobots
		} else if textPageStart(head) {
			*t = techText
		}
	}
	switch *t {
	case techRobots:
		i := indexIn(text, summaryDiv, lo, hi)
		if i < 0 {
			return finding{}
		}
		*t, lo = techSummary, i+len(summaryDiv)
		fallthrough
	case techSummary:
		if indexIn(text, exceptionValue, lo, hi) >= 0 {
			return foundTechnical
		}
		if indexIn(text, pageNotFound, lo, hi) >= 0 {
			return foundTechnical404
		}
	}
	return finding{}
}

// htmlPageStart reports whether head starts as the technical HTML pages
// do, by markers the request cannot forge or move: the whole robots meta
// tag (the path Django echoes is HTML-escaped, so a '<' or '"' of its own
// never appears: "/NONE,NOARCHIVE/" in the title is not the tag), or the
// technical 404's title opening, which comes before the path, so a long
// path (420 "&" escape to 2,100 bytes) cannot push it out of head as it
// pushes the robots tag that follows the title.
func htmlPageStart(text, head []byte) bool {
	for off := 0; ; {
		i := bytes.Index(head[off:], robotsProbe)
		if i < 0 {
			break
		}
		i += off
		if i >= robotsAt && bytes.HasPrefix(text[i-robotsAt:], robotsMeta) {
			return true
		}
		off = i + len(robotsProbe)
	}
	return bytes.Contains(head, notFoundTitle)
}

// textPageStart reports whether head starts as the technical 500's text
// version does: "ExceptionName at /path" on the first line.
func textPageStart(head []byte) bool {
	i := 0
	for i < len(head) && isWordByte(head[i]) {
		i++
	}
	return i > 0 && !(head[0] >= '0' && head[0] <= '9') && bytes.HasPrefix(head[i:], []byte(" at /"))
}
