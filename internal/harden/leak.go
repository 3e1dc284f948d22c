package harden

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/andybalholm/brotli"

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

// debugMarkers are what Django's DEBUG error pages (technical 404 and 500)
// and Python tracebacks always contain.
var debugMarkers = regexp.MustCompile(`because you have <code>DEBUG = True</code>|(Traceback \(most recent call last\):)`)

// builtinSecrets never leave, whatever the config says.
var builtinSecrets = []string{
	`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,                                                   // AWS access key id
	`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----`,               // private keys
	`\b(?:postgres|postgresql|mysql|redis|rediss|amqp)://[^\s:@/"'<>]+:[^\s@/"'<>]+@`, // URLs with passwords
	`\bSECRET_KEY\s*=\s*['"][^'"]{8,}`,                                                // a Django settings line
}

type leakGuard struct {
	limit   int
	secrets *regexp.Regexp
	pages   *denypage.Renderer
}

func newLeakGuard(c config.LeakGuard) (*leakGuard, error) {
	pats := append([]string(nil), builtinSecrets...)
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
	return &leakGuard{limit: limit, secrets: regexp.MustCompile("(?:" + strings.Join(pats, ")|(?:") + ")"), pages: &denypage.Renderer{}}, nil
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
	switch enc {
	case "", "identity", "gzip", "x-gzip", "br", "deflate":
	default:
		info.AddTag("leak-guard-skipped:" + enc)
		return nil
	}
	prefix := make([]byte, g.limit)
	n, err := io.ReadFull(resp.Body, prefix)
	prefix = prefix[:n]
	rest := resp.Body
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading upstream body: %w", err)
	}
	text := decode(prefix, enc, g.limit*4)
	if rule, what := g.find(text); rule != "" {
		_ = rest.Close()
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
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(prefix), rest), rest}
	return nil
}

func (g *leakGuard) find(text []byte) (rule, what string) {
	if m := debugMarkers.FindSubmatchIndex(text); m != nil {
		if m[2] >= 0 {
			return RuleLeakTraceback, "the upstream answered with a Python traceback"
		}
		return RuleLeakDebugPage, "the upstream answered with a Django DEBUG page (DEBUG = True in production)"
	}
	if g.secrets.Match(text) {
		return RuleLeakSecret, "the upstream answered with something that looks like a secret"
	}
	return "", ""
}

// decode returns what can be decompressed from a (possibly truncated)
// prefix of a compressed body, at most max bytes.
func decode(prefix []byte, enc string, max int) []byte {
	var r io.Reader
	switch enc {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(prefix))
		if err != nil {
			return prefix
		}
		r = zr
	case "br":
		r = brotli.NewReader(bytes.NewReader(prefix))
	case "deflate":
		r = flate.NewReader(bytes.NewReader(prefix))
	default:
		return prefix
	}
	out, _ := io.ReadAll(io.LimitReader(r, int64(max))) // a truncated stream ends in an error: keep what came out
	return out
}
