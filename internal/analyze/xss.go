package analyze

import (
	"strings"

	"github.com/corazawaf/libinjection-go"
)

// xss judges cross-site scripting: the value read by an HTML tokenizer
// (tags and their attributes as a browser parses them), as the rest of
// an attribute it was pasted into, as a URL, and as JavaScript. Markup
// that only formats text (<b>, <a href="https://...">, <img src=...>) is
// not a finding; script, event handlers, script URLs, srcdoc and
// framing elements are.
func xss(t *text, place Place) Finding {
	s := t.s
	var best Finding
	keep := func(f Finding) {
		if f.better(best) {
			best = f
		}
	}
	hasLT := strings.IndexByte(s, '<') >= 0
	if hasLT {
		keep(htmlTags(s))
		if strings.IndexByte(s, '&') >= 0 && escapedCodeSample(s) {
			// Formatting tags around entity-escaped code: the browser
			// shows the code as text; only the real tags count.
			return best
		}
	}
	if best.Confidence < High && strings.ContainsAny(s, "=") {
		keep(handlerAssignment(t))
	}
	if best.Confidence < High && strings.IndexByte(s, ':') >= 0 {
		keep(inDocument(t, scriptURL(t)))
	}
	if best.Confidence < High && strings.ContainsAny(s, "(`=") {
		keep(inDocument(t, jsSink(t)))
	}
	if best.Confidence < Medium && (hasLT || strings.ContainsAny(s, "\"'`")) && !t.isText() && libinjection.IsXSS(s) {
		keep(Finding{Confidence: Medium, Why: "libinjection html5"})
	}
	return best
}

// inDocument caps a finding of script outside markup at Medium in a
// document (code quoted in an article).
func inDocument(t *text, f Finding) Finding {
	if f.Confidence == High && t.isDocument() {
		f.Confidence = Medium
		f.Why += " in a document"
	}
	return f
}

// htmlTags tokenizes s as HTML and judges each start tag.
func htmlTags(s string) Finding {
	var best Finding
	for i := 0; i < len(s) && best.Confidence < High; i++ {
		if s[i] != '<' || i+1 >= len(s) {
			continue
		}
		c := s[i+1]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			continue
		}
		tag, end := parseTag(s, i+1)
		f := judgeTag(&tag)
		if tag.name == "script" && !hasAttr(&tag, "src") && proseScript(s[end:]) {
			// "<script>" named in a sentence ("a comment containing
			// <script> shows up as text"): what follows is no script.
			f = Finding{Confidence: Low, Why: "script tag named in text"}
		}
		if f.better(best) {
			best = f
		}
		i = end - 1
	}
	return best
}

func hasAttr(t *tag, name string) bool {
	for _, a := range t.attrs {
		if a.name == name {
			return true
		}
	}
	return false
}

// proseScript reports whether what follows a script tag, up to its end
// tag, is prose rather than script.
func proseScript(rest string) bool {
	if end := strings.Index(asciiLower(rest[:min(len(rest), 1024)]), "</script"); end >= 0 {
		rest = rest[:end]
	}
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl] // the sentence's line
	}
	if len(rest) > 300 {
		rest = rest[:300]
	}
	return looksLikeProse(rest) && !strings.ContainsAny(rest, "();=`")
}

// tag is a start tag as a browser reads it.
type tag struct {
	name  string // lower case
	attrs []attr
}

type attr struct {
	name  string // lower case
	value string // character references decoded
}

// parseTag reads a start tag whose name begins at s[i] and returns it
// with the index after it (the '>' or the end of s: a tag left open at
// the end of a value is closed by whatever markup follows it in the
// page).
func parseTag(s string, i int) (tag, int) {
	j := i
	for j < len(s) && !isTagSpace(s[j]) && s[j] != '/' && s[j] != '>' {
		j++
	}
	t := tag{name: asciiLower(s[i:j])}
	end := parseAttrs(s, j, &t.attrs)
	return t, end
}

func isTagSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0
}

// parseAttrs reads attributes from s[i] to the end of the tag, appending
// them to attrs (at most 32), and returns the index after the tag.
func parseAttrs(s string, i int, attrs *[]attr) int {
	for i < len(s) {
		for i < len(s) && (isTagSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '>' {
			return i + 1
		}
		j := i + 1 // a name may start with '=' (HTML tokenizer rule)
		for j < len(s) && !isTagSpace(s[j]) && s[j] != '/' && s[j] != '>' && s[j] != '=' {
			j++
		}
		a := attr{name: asciiLower(s[i:j])}
		i = j
		for i < len(s) && isTagSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isTagSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				k := strings.IndexByte(s[i+1:], q)
				if k < 0 {
					a.value, i = s[i+1:], len(s)
				} else {
					a.value, i = s[i+1:i+1+k], i+2+k
				}
			} else {
				k := i
				for k < len(s) && !isTagSpace(s[k]) && s[k] != '>' {
					k++
				}
				a.value, i = s[i:k], k
			}
			if strings.IndexByte(a.value, '&') >= 0 {
				if d, ok := htmlDecode(a.value, Arg); ok {
					a.value = d
				}
			}
		}
		if len(*attrs) < 32 {
			*attrs = append(*attrs, a)
		}
	}
	return len(s)
}

// judgeTag decides on one start tag.
func judgeTag(t *tag) Finding {
	switch t.name {
	case "script":
		return Finding{Confidence: High, Why: "script tag"}
	case "iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal":
		for _, a := range t.attrs {
			if a.name == "srcdoc" || scriptScheme(a.value) {
				return Finding{Confidence: High, Why: t.name + " " + a.name}
			}
		}
		if t.name == "base" {
			return Finding{Confidence: Medium, Why: "base tag"}
		}
		return Finding{Confidence: Medium, Why: t.name + " tag"}
	case "meta":
		for _, a := range t.attrs {
			if a.name == "http-equiv" && (strings.EqualFold(a.value, "refresh") || strings.EqualFold(a.value, "set-cookie")) {
				return Finding{Confidence: High, Why: "meta " + asciiLower(a.value)}
			}
		}
	}
	var best Finding
	for _, a := range t.attrs {
		var f Finding
		switch {
		case eventHandlers[a.name]:
			f = Finding{Confidence: High, Why: t.name + " " + a.name}
		case len(a.name) > 3 && strings.HasPrefix(a.name, "on") && isLowerWord(a.name[2:]) && a.value != "":
			f = Finding{Confidence: Medium, Why: t.name + " " + a.name}
		case urlAttrs[a.name] && scriptScheme(a.value):
			f = Finding{Confidence: High, Why: t.name + " " + a.name + " script URL"}
		case (a.name == "values" || a.name == "to" || a.name == "from") && scriptScheme(a.value):
			f = Finding{Confidence: High, Why: t.name + " " + a.name + " script URL"}
		case a.name == "style" && dangerousStyle(a.value):
			f = Finding{Confidence: High, Why: t.name + " style script"}
		}
		if f.better(best) {
			best = f
		}
	}
	return best
}

func isLowerWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// urlAttrs are attributes whose value a browser loads or navigates to.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "data": true, "xlink:href": true,
	"background": true, "poster": true, "lowsrc": true, "dynsrc": true, "codebase": true, "code": true,
	"cite": true, "ping": true, "srcset": true, "archive": true, "longdesc": true, "usemap": true,
	"manifest": true, "icon": true, "profile": true, "classid": true, "xml:base": true, "content": true,
}

// scriptScheme reports whether a URL, read as a browser does (control
// characters and spaces inside the scheme ignored, any case), runs
// script: javascript:, vbscript:, livescript:, or a data: URL of HTML,
// SVG or XML.
func scriptScheme(v string) bool {
	var b [24]byte
	n := 0
	for i := 0; i < len(v) && n < len(b); i++ {
		c := v[i]
		if c <= ' ' {
			continue // browsers strip tabs, line breaks and leading controls
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[n] = c
		n++
		if c == ':' {
			break
		}
	}
	scheme := string(b[:n])
	switch scheme {
	case "javascript:", "vbscript:", "livescript:", "mocha:":
		return true
	case "data:":
		rest := asciiLower(strings.TrimSpace(v[strings.IndexByte(v, ':')+1:]))
		return strings.HasPrefix(rest, "text/html") || strings.HasPrefix(rest, "image/svg") ||
			strings.HasPrefix(rest, "application/xhtml") || strings.HasPrefix(rest, "text/xml") ||
			strings.HasPrefix(rest, "application/x-shockwave") || strings.HasPrefix(rest, "text/javascript")
	}
	return false
}

// dangerousStyle reports CSS that runs script in some browser.
func dangerousStyle(v string) bool {
	lc := asciiLower(v)
	return strings.Contains(lc, "expression(") || strings.Contains(lc, "javascript:") ||
		strings.Contains(lc, "behavior:") || strings.Contains(lc, "-moz-binding")
}

// handlerAssignment finds an event handler set outside a tag: the value
// pasted into an attribute closes it with a quote and adds a handler
// ("\" onmouseover=\"alert(1)") or sits in an unquoted one
// ("x onfocus=alert(1) autofocus").
func handlerAssignment(t *text) Finding {
	lc := t.lc()
	for i := 0; i+2 < len(lc); i++ {
		if lc[i] != 'o' || lc[i+1] != 'n' {
			continue
		}
		if i > 0 {
			p := lc[i-1]
			if !(isTagSpace(p) || p == '"' || p == '\'' || p == '/' || p == '`' || p == ';') {
				continue
			}
		}
		j := i + 2
		for j < len(lc) && lc[j] >= 'a' && lc[j] <= 'z' {
			j++
		}
		name := lc[i:j]
		k := j
		for k < len(lc) && isTagSpace(lc[k]) {
			k++
		}
		if k >= len(lc) || lc[k] != '=' || !eventHandlers[name] {
			continue
		}
		k++
		for k < len(lc) && isTagSpace(lc[k]) {
			k++
		}
		if k >= len(lc) {
			continue
		}
		// The handler's value must read as script, not a word.
		if !looksLikeJS(t.s[k:]) {
			continue
		}
		if t.isProse() {
			return Finding{Confidence: Medium, Why: name + " handler in prose"}
		}
		return Finding{Confidence: High, Why: name + " handler"}
	}
	return Finding{}
}

// looksLikeJS reports whether v starts with a JavaScript expression that
// does something: a call, a tagged template, an assignment, a property
// access, or a quoted or parenthesized expression.
func looksLikeJS(v string) bool {
	v = strings.TrimLeft(v, "\"'` \t")
	if v == "" {
		return false
	}
	switch v[0] {
	case '(', '[', '{', '!', '~', '+', '-', '/':
		return true
	}
	i := 0
	for i < len(v) && isIdentByte(v[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	if i >= len(v) {
		return false
	}
	switch v[i] {
	case '(', '`', '.', '[', '=':
		return true
	}
	return false
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

// scriptURL finds a javascript: (or vbscript:) URL: the whole value, or
// one after = or a quote, followed by script (so "JavaScript: Basics of
// JavaScript" is prose, not a URL).
func scriptURL(t *text) Finding {
	lc := t.lc()
	for _, scheme := range []string{"javascript", "vbscript", "livescript"} {
		from := 0
		for {
			i := indexSchemeLoose(lc[from:], scheme)
			if i < 0 {
				break
			}
			i += from
			start, end := i, i+len(scheme)
			// allow control characters and spaces between the letters
			// (java\tscript:) as browsers do
			for end < len(lc) && lc[end] != ':' && lc[end] <= ' ' {
				end++
			}
			from = end
			if end >= len(lc) || lc[end] != ':' {
				continue
			}
			before := byte(0)
			if start > 0 {
				before = lc[start-1]
			}
			if start > 0 && !(before == '=' || before == '"' || before == '\'' || before == '(' || before <= ' ' || before == '`') {
				continue
			}
			if !looksLikeJS(t.s[end+1:]) {
				continue
			}
			if start == 0 || !t.isProse() {
				return Finding{Confidence: High, Why: scheme + ": URL"}
			}
			return Finding{Confidence: Medium, Why: scheme + ": URL in prose"}
		}
	}
	if strings.HasPrefix(strings.TrimSpace(lc), "data:") && scriptScheme(strings.TrimSpace(t.s)) {
		return Finding{Confidence: High, Why: "data: URL of HTML"}
	}
	return Finding{}
}

// indexSchemeLoose finds scheme in lc, allowing control characters and
// spaces between its letters.
func indexSchemeLoose(lc, scheme string) int {
	for i := 0; i < len(lc); i++ {
		if lc[i] != scheme[0] {
			continue
		}
		j, k := i+1, 1
		for j < len(lc) && k < len(scheme) {
			switch {
			case lc[j] == scheme[k]:
				k++
			case lc[j] <= ' ':
			default:
				k = -1
			}
			if k < 0 {
				break
			}
			j++
		}
		if k == len(scheme) {
			return i
		}
	}
	return -1
}

// jsSinks are the functions and properties a JavaScript injection calls
// or reads to show or do harm.
var jsSinks = []string{
	"alert", "prompt", "confirm", "eval", "settimeout", "setinterval", "function", "execscript",
	"fetch", "importscripts", "atob", "fromcharcode", "constructor", "xmlhttprequest", "sendbeacon",
}

// jsStrongReads are expressions only an exploit writes.
var jsStrongReads = []string{"document.cookie", "document.domain", "document.write", "document.location", "window.location",
	"window.open(", "document.body", "document.forms", "window.eval",
	"location.href", "location.hash", "localstorage.", "sessionstorage.", "innerhtml", "outerhtml", ".constructor(",
	"string.fromcharcode", "__proto__", "window.name", "top.location", "self.location", "eval(", "atob("}

// jsSink finds a JavaScript injection: a call of a sink (alert(1),
// prompt`1`, (confirm)(1), alert.call(null,1), [1].find(alert)),
// a read of cookies or the location, or a break-out of a string into
// code ("';alert(1)//").
func jsSink(t *text) Finding {
	lc := t.lc()
	if strings.Contains(lc, "?.") {
		lc = strings.ReplaceAll(lc, "?.", ".") // optional chaining: alert?.(1)
	}
	why := ""
	for _, r := range jsStrongReads {
		if strings.Contains(lc, r) {
			why = r
			break
		}
	}
	call := ""
	for _, name := range jsSinks {
		for from := 0; from < len(lc); {
			i := strings.Index(lc[from:], name)
			if i < 0 {
				break
			}
			i += from
			from = i + len(name)
			if i > 0 && isIdentByte(lc[i-1]) {
				continue
			}
			j := i + len(name)
			if j < len(lc) && isIdentByte(lc[j]) {
				continue
			}
			k := j
			for k < len(lc) && (lc[k] == ' ' || lc[k] == '\t') {
				k++
			}
			if k >= len(lc) {
				continue
			}
			switch {
			case lc[k] == '(' || lc[k] == '`':
			case lc[k] == '.' && k+1 < len(lc) && lc[k+1] == '(':
			case lc[k] == ')' && k+1 < len(lc) && lc[k+1] == '(' && i > 0 && lc[i-1] == '(':
			case strings.HasPrefix(lc[k:], ".call(") || strings.HasPrefix(lc[k:], ".apply(") || strings.HasPrefix(lc[k:], ".bind("):
			case lc[k] == ')' && i > 0 && (lc[i-1] == '(' || lc[i-1] == ','):
				// passed as a callback: [1].find(alert), setTimeout(alert)
			default:
				continue
			}
			if name == "function" && why == "" {
				// Function(...) builds code from a string; function(...)
				// is any callback: only with a strong read.
				continue
			}
			call = name
			break
		}
		if call != "" {
			break
		}
	}
	if call == "" && why == "" {
		return Finding{}
	}
	if call == "" {
		call = why
	} else if why != "" {
		call += " " + why
	}
	if t.isProse() {
		// In prose a call is named ("use eval() with care"); it is script
		// when it also reads what an exploit reads (document.cookie).
		if why != "" && !strings.HasPrefix(call, strings.TrimSuffix(why, "(")) && !strings.HasPrefix(why, strings.SplitN(call, " ", 2)[0]) {
			return Finding{Confidence: Medium, Why: "script " + call + " in prose"}
		}
		return Finding{Confidence: Low, Why: "script " + call + " in prose"}
	}
	if strings.HasPrefix(call, "document.") || strings.HasPrefix(call, "window.") || call == why {
		// A read alone (document.cookie in a value) is a sign, not a run.
		if !strings.ContainsAny(lc, "(=`") {
			return Finding{Confidence: Medium, Why: "script " + call}
		}
	}
	return Finding{Confidence: High, Why: "script " + call}
}

// eventHandlers are the event handler attributes of HTML, SVG and old
// Internet Explorer.
var eventHandlers = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`onabort onactivate onafterprint onafterscriptexecute onafterupdate onanimationcancel
	onanimationend onanimationiteration onanimationstart onauxclick onbeforeactivate onbeforecopy onbeforecut
	onbeforedeactivate onbeforeeditfocus onbeforeinput onbeforematch onbeforepaste onbeforeprint onbeforescriptexecute
	onbeforetoggle onbeforeunload onbeforeupdate onbegin onblur onbounce oncancel oncanplay oncanplaythrough
	onchange onclick onclose oncontentvisibilityautostatechange oncontextlost oncontextmenu oncontextrestored
	oncontrolselect oncopy oncuechange oncut ondataavailable ondatasetchanged ondatasetcomplete ondblclick
	ondeactivate ondrag ondragend ondragenter ondragexit ondragleave ondragover ondragstart ondrop ondurationchange
	onemptied onend onended onerror onerrorupdate onfilterchange onfinish onfocus onfocusin onfocusout onformdata
	onfullscreenchange onfullscreenerror ongesturechange ongestureend ongesturestart onhashchange onhelp oninput
	oninvalid onkeydown onkeypress onkeyup onlayoutcomplete onload onloadeddata onloadedmetadata onloadend
	onloadstart onlosecapture onmessage onmessageerror onmousedown onmouseenter onmouseleave onmousemove
	onmouseout onmouseover onmouseup onmousewheel onmove onmoveend onmovestart onoffline ononline onpagehide
	onpagereveal onpageshow onpageswap onpaste onpause onplay onplaying onpointercancel onpointerdown
	onpointerenter onpointerleave onpointerlockchange onpointermove onpointerout onpointerover onpointerrawupdate
	onpointerup onpopstate onprogress onpropertychange onratechange onreadystatechange onrepeat onreset onresize
	onrowenter onrowexit onrowsdelete onrowsinserted onscroll onscrollend onscrollsnapchange onscrollsnapchanging
	onsearch onsecuritypolicyviolation onseeked onseeking onselect onselectionchange onselectstart onshow
	onslotchange onstalled onstart onstop onstorage onsubmit onsuspend ontimeupdate ontoggle ontouchcancel
	ontouchend ontouchmove ontouchstart ontransitioncancel ontransitionend ontransitionrun ontransitionstart
	onunhandledrejection onunload onvolumechange onwaiting onwebkitanimationend onwebkitanimationiteration
	onwebkitanimationstart onwebkitmouseforcechanged onwebkitmouseforcedown onwebkitmouseforceup
	onwebkitmouseforcewillbegin onwebkitplaybacktargetavailabilitychanged onwebkittransitionend onwheel onzoom`) {
		eventHandlers[n] = true
	}
}
