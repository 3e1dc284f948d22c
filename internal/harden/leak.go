package harden

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/parapet-waf/parapet/internal/bodypeek"
	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/denypage"
)

// Reason codes of the leak guard.
const (
	RuleLeakDebugPage = "leak-debug-page"
	RuleLeakTraceback = "leak-traceback"
	RuleLeakSecret    = "leak-secret"
)

// Literal markers of Django's DEBUG error pages (technical 404 and 500)
// and of Python tracebacks: plain byte searches, no regex on the hot path.
// The DEBUG page is found by its rarer tail, then its whole sentence.
var (
	debugMarkerHead = []byte("because you have <code>")
	debugMarkerTail = []byte("DEBUG = True</code>")
	tracebackMarker = []byte("Traceback (most recent call last):")
)

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
	// AWS access key ids: \b(AKIA|ASIA)[0-9A-Z]{16}\b.
	{[]byte("AKIA"), awsKeyAt},
	{[]byte("ASIA"), awsKeyAt},
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

// credentialSchemes are the URL schemes whose user:password@ is a leak.
var credentialSchemes = []string{"postgresql", "postgres", "mysql", "rediss", "redis", "amqp"}

// credentialURLAt checks text[i:] == "://" for scheme://user:password@,
// the scheme starting at a word boundary, the user without whitespace,
// quotes, angle brackets, ':', '@' or '/', the password without those
// except ':'.
func credentialURLAt(text []byte, i int) bool {
	scheme := false
	for _, s := range credentialSchemes {
		if i >= len(s) && string(text[i-len(s):i]) == s && wordStart(text, i-len(s)) {
			scheme = true
			break
		}
	}
	if !scheme {
		return false
	}
	j := i + 3
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
	for off := 0; ; {
		k := bytes.Index(text[off:], probe)
		if k < 0 {
			return false
		}
		if at(text, off+k) {
			return true
		}
		off += k + 1
	}
}

func debugPageAt(text []byte, i int) bool { return bytes.HasSuffix(text[:i], debugMarkerHead) }

type leakGuard struct {
	peek *bodypeek.Peeker
	// custom are the configured secret patterns, as one regex (nil if none).
	custom *regexp.Regexp
	pages  *denypage.Renderer
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
	g := &leakGuard{peek: bodypeek.New(limit), pages: &denypage.Renderer{}}
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

// inspect reads at most limit bytes of the body (decompressing gzip, br
// and deflate), and replaces the response with a generic error page when
// they hold a DEBUG page, a traceback or a secret. Otherwise the bytes
// read are put back in front of the rest, which streams unread.
func (g *leakGuard) inspect(resp *http.Response, info *decision.Info) error {
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols ||
		resp.Request.Method == http.MethodHead || !textual(resp.Header.Get("Content-Type")) {
		return nil
	}
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if !bodypeek.Decodable(enc) {
		info.AddTag("leak-guard-skipped:" + enc)
		return nil
	}
	prefix, err := g.peek.Peek(resp)
	if err != nil {
		return err
	}
	text, ok := bodypeek.Decode(prefix, enc, g.peek.Limit()*4)
	if !ok {
		text = prefix // not gzip after all: inspect the bytes as they are
	}
	if rule, what := g.find(text); rule != "" {
		_ = resp.Body.Close() // the upstream's, and the prefix buffer back to the pool
		status := resp.StatusCode
		if status < 400 {
			status = http.StatusInternalServerError
		}
		ct, body := g.pages.Body(resp.Request, denypage.Page{Status: status, Reason: "server-error", RequestID: info.ID})
		resp.StatusCode = status
		resp.Status = fmt.Sprintf("%d %s", status, http.StatusText(status))
		for _, h := range []string{"Content-Encoding", "Content-Length", "Etag", "Last-Modified", "Content-Disposition", "Set-Cookie"} {
			resp.Header.Del(h)
		}
		resp.Header.Set("Content-Type", ct)
		resp.Header.Set("Cache-Control", "no-store")
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		info.Final = decision.Decision{Action: decision.Block, RuleID: rule, Reason: what, Critical: true}
		return nil
	}
	return nil
}

func (g *leakGuard) find(text []byte) (rule, what string) {
	// A traceback is the more specific finding: Django's technical 500
	// page carries one as well as the DEBUG footer.
	if bytes.Contains(text, tracebackMarker) {
		return RuleLeakTraceback, "the upstream answered with a Python traceback"
	}
	if eachIndex(text, debugMarkerTail, debugPageAt) {
		return RuleLeakDebugPage, "the upstream answered with a Django DEBUG page (DEBUG = True in production)"
	}
	for _, s := range secretShapes {
		if eachIndex(text, s.probe, s.at) {
			return RuleLeakSecret, "the upstream answered with something that looks like a secret"
		}
	}
	if g.custom != nil && g.custom.Match(text) {
		return RuleLeakSecret, "the upstream answered with a configured secret pattern"
	}
	return "", ""
}
