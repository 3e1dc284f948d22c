// Package detect is Parapet's attack detection stage: the OWASP Core Rule
// Set (embedded, request side) run by Coraza on each request's URI,
// headers and inspectable body, with a Django exclusion profile and the
// user's exclusions compiled in when the chain is built.
//
// The stage drives Coraza's transaction phases itself and stops at the
// first that decides: request headers (phase 1), then the body, buffered
// up to the inspection limit, with the arguments (phase 2). The buffered bytes are replayed to the
// upstream ahead of the unread rest, so the app gets the body byte for byte.
// With detection.responses on, the transaction stays open for the
// response phases (response.go).
//
// A multipart/form-data body is not handed to Coraza's parser: it is read
// as Django will read it (internal/formdata), streamed whatever its size,
// every text field kept for the rules and every file's content skipped,
// and spooled (memory, then a temporary file) for the upstream. The
// fields, file names and part headers go into Coraza's collections
// (ARGS_POST, FILES, FILES_NAMES, MULTIPART_*) as its own parser would
// put them. What Django would read in a way Parapet cannot follow is
// refused (400); what an RFC 7578 parser would read differently from
// Django raises MULTIPART_STRICT_ERROR (rule 200003).
package detect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/formdata"
	"github.com/parapet-waf/parapet/internal/spool"
)

// Name is the stage's name; an allow rule with bypass: true skips it.
const Name = "detect"

// Rule ids of the stage's own decisions (the CRS rules that matched are
// in Decision.Rules).
const (
	// RuleBodyTooLarge: an inspectable body over detection.body_limit
	// with the reject policy.
	RuleBodyTooLarge = "detect-body-too-large"
	// RuleBadBody: a body Coraza could not parse (malformed JSON,
	// multipart failing strict validation), or one Django would read in a
	// way Parapet cannot follow (a multipart body internal/formdata
	// refuses, a form charset other than UTF-8, ASCII or Latin-1, more
	// than one Content-Type).
	RuleBadBody = "detect-bad-body"
	// RuleBodyUnreadable: the client's body could not be read.
	RuleBodyUnreadable = "detect-body-unreadable"
	// RuleBusy: the client went away while its request waited for one of
	// the detection.max_concurrent inspection slots.
	RuleBusy = "detect-busy"
)

// Stage runs the CRS on requests. It is built once per chain and safe for
// concurrent use.
type Stage struct {
	waf          coraza.WAF
	mode         decision.Mode
	limit        int64 // bodies (multipart: their text fields, names and part headers)
	limitMP      int64 // multipart bodies held in memory (the rest is spooled to a file)
	maxBody      int64 // limits.max_body_bytes: the most read of any body
	rejectOver   bool  // bodies over limit
	rejectOverMP bool  // multipart bodies over limitMP: 413 rather than spooled to a file
	skipPaths    []string
	ownPaths     []string // Parapet's own endpoints (the CSP report collector)
	// Django's DATA_UPLOAD_MAX_MEMORY_SIZE and DATA_UPLOAD_MAX_NUMBER_FIELDS
	// (0: None), which bound the file-like bodies a view can read as a
	// form (readFileBody).
	djangoMaxMemory int64
	djangoMaxFields int64
	// slots bounds the transactions evaluated at once: the work is CPU
	// bound, so more at once only multiplies the memory each one holds
	// (a 10 KB JSON body with ~600 fields costs ~12 MB while evaluated).
	slots chan struct{}

	observe func(types.Transaction) // tests: sees each transaction before it is closed

	// analyzer: the stage decides from the matched rules (verdict.go)
	// against threshold; Coraza's own threshold is out of reach.
	analyzer       bool
	threshold      int
	uploadExcluded func(path, field string) bool // upload.go

	out *outbound // response inspection (response.go); nil when off
}

// New compiles the rule set, the Django profile, the exclusions and the
// raw directives of cfg.Detection. Problems are reported as config.Errors
// at the key that caused them.
func New(cfg *config.Config) (*Stage, error) {
	useRE2()
	memoizeOperators()
	return build(cfg)
}

// build compiles the stage with whichever @rx operator is registered.
func build(cfg *config.Config) (*Stage, error) { return buildWith(cfg, true) }

// buildWith is build, with the value filter (valuefilter.go) or without
// it (tests compare the two).
func buildWith(cfg *config.Config, filter bool) (*Stage, error) {
	d := cfg.Detection
	mode, _ := decision.ParseMode(d.Mode)
	s := &Stage{
		mode:            mode,
		limit:           int64(d.BodyLimit),
		limitMP:         int64(d.MultipartLimit),
		maxBody:         int64(cfg.Limits.MaxBodyBytes),
		rejectOver:      d.BodyOverLimit == config.OverLimitReject,
		rejectOverMP:    d.MultipartOverLimit == config.OverLimitReject,
		skipPaths:       d.SkipPaths,
		djangoMaxMemory: int64(d.DataUploadMaxMemorySize),
		djangoMaxFields: int64(d.DataUploadMaxNumberFields),
		slots:           make(chan struct{}, inspectSlots(d.MaxConcurrent)),
		out:             newOutbound(cfg),
		analyzer:        d.Analyzer,
		threshold:       d.InboundThreshold,
	}
	s.uploadExcluded = uploadExclusions(d.Exclusions)
	if cfg.Harden.Enabled && cfg.Harden.CSP.ReportPath != "" {
		// Parapet's own collector parses its small JSON bodies itself.
		s.ownPaths = append(s.ownPaths, cfg.Harden.CSP.ReportPath)
	}
	threshold := d.InboundThreshold
	if s.analyzer {
		registerAnalyzer()
		threshold = unreachableScore
	}
	setup := fmt.Sprintf(base, max(d.BodyLimit, d.MultipartLimit), d.BodyLimit, d.ParanoiaLevel, threshold, strings.Join(cfg.Edge.AllowedMethods, " "))
	id := 4200000
	nextID := func() int { id++; return id }
	before, after := exclusionRules(d.Exclusions, nextID)
	var pre, post strings.Builder
	pre.WriteString(setup)
	if s.analyzer {
		post.WriteString(analyzerRules()) // first: the exclusions below apply to them
	}
	outSetup, outRules := outboundDirectives(d)
	pre.WriteString(outSetup)
	post.WriteString(outRules)
	if d.DjangoProfile {
		pre.WriteString(djangoBefore(d.AdminPaths, d.PasswordPaths))
		post.WriteString(djangoAfter)
	}
	if !d.WindowsHost {
		post.WriteString(windowsShellRules)
	}
	post.WriteString(constantLogData)
	post.WriteString(proxyRules)
	pre.WriteString(before)
	post.WriteString(after)

	wcfg := coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(pre.String()).
		WithDirectives(crsFiles).
		WithDirectives(post.String())
	if strings.TrimSpace(d.Directives) != "" {
		wcfg = wcfg.WithDirectives(d.Directives)
	}
	waf, err := coraza.NewWAF(wcfg)
	if err != nil {
		return nil, config.Errors{directiveError(cfg, pre.String(), post.String(), err)}
	}
	if filter {
		useValueFilter(waf)
	}
	s.waf = waf
	return s, nil
}

// directiveError places a Coraza compile error. The generated parts are
// Parapet's own and come from validated keys, so the user's raw directives
// are the suspect: they are added one by one after the rule set until one
// is refused, to find its line.
func directiveError(cfg *config.Config, pre, post string, err error) *config.Error {
	raw := cfg.Detection.Directives
	if strings.TrimSpace(raw) == "" {
		return cfg.Errorf("detection", "building the rule set: %v", err)
	}
	var sofar strings.Builder
	for _, dir := range splitDirectives(raw) {
		sofar.WriteString(dir.text + "\n")
		try := coraza.NewWAFConfig().WithRootFS(coreruleset.FS).
			WithDirectives(pre).WithDirectives(crsFiles).WithDirectives(post).WithDirectives(sofar.String())
		if _, derr := coraza.NewWAF(try); derr != nil {
			e := cfg.Errorf("detection.directives", "%s: %v", shorten(dir.text), unwrapCoraza(derr))
			if e.Line > 0 && e.Env == "" {
				if strings.Contains(raw, "\n") {
					e.Line++ // a block scalar starts on the line after the key
				}
				e.Line += dir.line
			}
			return e
		}
	}
	return cfg.Errorf("detection.directives", "refused: %v", unwrapCoraza(err))
}

func unwrapCoraza(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "invalid WAF config from string: ")
	return msg
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// Name is "detect".
func (s *Stage) Name() string { return Name }

// Check runs the CRS on the request. It reads the body up to the
// inspection limit and replaces it with a replay of the same bytes.
func (s *Stage) Check(ctx context.Context, r *http.Request, info *decision.Info) (out decision.Decision) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && s.skipped(r.URL.Path) {
		return decision.Pass
	}
	for _, p := range s.ownPaths {
		if r.URL.Path == p {
			return decision.Pass
		}
	}
	// The body is received before a slot is taken: a slow client must not
	// hold one while it trickles.
	var over, refuse decision.Decision
	switch cts := r.Header.Values("Content-Type"); {
	case len(cts) > 1:
		// gunicorn gives Django the last, Coraza reads the first.
		refuse = s.badBody("more than one Content-Type header")
	case len(cts) == 1:
		// Django decodes the query string, and form bodies, with the
		// charset of any Content-Type, with or without a body.
		if err := formdata.CheckCharset(cts[0]); err != nil {
			refuse = s.badBody(err.Error())
		}
	}
	var inspect []byte
	var fm *parsedForm
	var ff *fileForm // a file-like body's fields
	if hasBody(r) && !refuse.Decided() {
		// Every body is inspected, whatever its Content-Type says: a view
		// may json.loads(request.body) without looking. Coraza parses
		// forms and JSON into fields (CRS parses unknown types as forms)
		// and matches the raw body too; multipart bodies are read here.
		var d decision.Decision
		ct := r.Header.Get("Content-Type")
		switch {
		case isMultipart(ct):
			d, fm = s.readMultipart(r, ct)
			defer func() {
				if out.Decided() {
					_ = r.Body.Close() // releases a spool's temporary file
				}
			}()
		default:
			if binaryBody(r) {
				// A file of its declared type: read as a form only as
				// far as QueryDict(request.body) can read it.
				d, ff = s.readFileBody(r)
				if ff == nil && d.RuleID == "" {
					info.AddTag("body-binary")
				} else if ff != nil {
					info.AddTag("body-file-form")
				}
			} else {
				d, inspect = s.readBody(r)
			}
		}
		switch {
		case d.Decided() && d.RuleID == RuleBadBody:
			refuse = d // after the headers' rules, which may name the attack
		case d.Decided():
			return d
		case d.RuleID != "":
			over = d // passed uninspected (or monitored): recorded
		}
	}
	done, ok := s.inspect(ctx, info)
	defer done()
	if !ok {
		return decision.Decision{Action: decision.Block, Mode: decision.Enforce, RuleID: RuleBusy, Status: http.StatusServiceUnavailable,
			Reason: "the client went away while waiting for inspection", RetryAfter: time.Second}
	}
	tx := s.waf.NewTransactionWithID(info.ID)
	defer func() { s.release(ctx, tx, info, out) }() // closes tx, or holds it for the response (response.go)
	if s.observe != nil {
		defer s.observe(tx)
	}

	tx.ProcessConnection(info.ClientIP.String(), 0, "", 0)
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	tx.ProcessURI(uri, r.Method, r.Proto)
	// Header names go in lower case, as HTTP/2 sends them: Coraza
	// compares names in lower case and would otherwise lower-case each
	// one again for every rule that reads the headers.
	tx.AddRequestHeader("host", r.Host)
	for k, vs := range r.Header {
		k = lowerHeaderName(k)
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.ContentLength > 0 && r.Header.Get("Content-Length") == "" {
		tx.AddRequestHeader("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
	if len(r.TransferEncoding) > 0 {
		tx.AddRequestHeader("transfer-encoding", strings.Join(r.TransferEncoding, ","))
	}
	if dc := djangoCookies(r.Header["Cookie"]); dc != nil {
		// Quoted, escaped or split cookies: also as Django reads them.
		if st, ok := tx.(plugintypes.TransactionState); ok {
			for _, kv := range dc {
				st.Variables().RequestCookies().Add(kv[0], kv[1])
			}
		}
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return s.decide(tx, it)
	}
	if s.analyzer {
		// Coraza never interrupts on the score: the verdict names the
		// attack before a bad body's refusal does.
		if d := s.decideVerdict(judge(tx)); d.Decided() {
			return d
		}
	}
	if refuse.Decided() {
		return refuse
	}

	var unreadable decision.Decision // a body refused after its rules had their say
	if tx.IsRequestBodyAccessible() {
		d, ok := s.writeBody(tx, r, fm, inspect, ff)
		if !ok {
			return d
		}
		unreadable = d
	}
	it, err := tx.ProcessRequestBody()
	if it != nil {
		d := s.decide(tx, it)
		if fm != nil && fm.anomaly != "" && slices.Contains(d.Rules, "200003") {
			d.Reason += ": " + fm.anomaly
		}
		return d
	}
	if err != nil {
		return decision.Decision{Action: decision.Block, Mode: s.mode, RuleID: RuleBadBody, Status: http.StatusBadRequest, Reason: "inspecting body: " + err.Error()}
	}
	if s.analyzer {
		if d := s.decideVerdict(judge(tx)); d.Action != decision.Allow {
			return d
		}
	}
	if unreadable.Decided() {
		return unreadable
	}
	if s.analyzer {
		if d := s.checkUploads(r, fm); d.Action != decision.Allow {
			return d
		}
	}
	if over.RuleID != "" {
		info.AddTag("body-uninspected")
		return over
	}
	return decision.Pass
}

// lowerHeaderName is strings.ToLower(k) for a header name in Go's
// canonical form, without an allocation for the names browsers send on
// every request.
func lowerHeaderName(k string) string {
	switch k {
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept-encoding"
	case "Accept-Language":
		return "accept-language"
	case "Cache-Control":
		return "cache-control"
	case "Connection":
		return "connection"
	case "Content-Length":
		return "content-length"
	case "Content-Type":
		return "content-type"
	case "Cookie":
		return "cookie"
	case "Origin":
		return "origin"
	case "Referer":
		return "referer"
	case "Sec-Fetch-Dest":
		return "sec-fetch-dest"
	case "Sec-Fetch-Mode":
		return "sec-fetch-mode"
	case "Sec-Fetch-Site":
		return "sec-fetch-site"
	case "Upgrade-Insecure-Requests":
		return "upgrade-insecure-requests"
	case "User-Agent":
		return "user-agent"
	case "X-Forwarded-For":
		return "x-forwarded-for"
	case "X-Requested-With":
		return "x-requested-with"
	}
	return strings.ToLower(k)
}

// inspect takes an inspection slot, waiting for one unless ctx ends
// first (ok false). done gives the slot back, if one was taken, and adds
// the time since the wait began to info.Inspection; the caller defers it
// either way.
func (s *Stage) inspect(ctx context.Context, info *decision.Info) (done func(), ok bool) {
	start := time.Now()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots; info.Inspection += time.Since(start) }, true
	case <-ctx.Done():
		return func() { info.Inspection += time.Since(start) }, false
	}
}

// A path is skipped only when it is plainly under a skip prefix: no dot
// segments, empty segments or backslashes, which the app or a server
// behind Parapet may resolve out of the prefix (/static/../admin/).
func (s *Stage) skipped(p string) bool {
	if len(s.skipPaths) == 0 || strings.ContainsRune(p, '\\') {
		return false
	}
	if clean := path.Clean(p); clean != p && clean+"/" != p {
		return false
	}
	for _, prefix := range s.skipPaths {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// isMultipart reports whether Coraza would parse a body as multipart
// (REQBODY_PROCESSOR MULTIPART): the Content-Type, trimmed and lower
// case, starts with multipart/form-data. Every body Django parses as
// multipart is one of these (its media type must be exactly that).
func isMultipart(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "multipart/form-data")
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// badBody refuses a body Django would read in a way Parapet cannot
// follow.
func (s *Stage) badBody(reason string) decision.Decision {
	return decision.Decision{Action: decision.Block, Mode: s.mode, RuleID: RuleBadBody, Status: http.StatusBadRequest, Reason: reason}
}

// overLimit is the decision for a body over body_limit (key names the
// limit): 413 with the reject policy, else passed uninspected and logged.
func (s *Stage) overLimit(what, key string, limit int64, reject bool) decision.Decision {
	d := decision.Decision{Mode: s.mode, RuleID: RuleBodyTooLarge,
		Reason: what + " over detection." + key + " (" + strconv.FormatInt(limit, 10) + " bytes)"}
	if reject {
		d.Action, d.Status = decision.Block, http.StatusRequestEntityTooLarge
	} else {
		d.Action = decision.Log
		d.Reason += ": passed uninspected"
	}
	return d
}

// readError is the decision for a body that could not be read.
func readError(err error) decision.Decision {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return decision.Decision{Action: decision.Block, Mode: decision.Enforce, RuleID: RuleBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Reason: err.Error()}
	}
	return decision.Decision{Action: decision.Block, Mode: decision.Enforce, RuleID: RuleBodyUnreadable, Status: http.StatusBadRequest, Reason: "reading body: " + err.Error()}
}

// readBody buffers up to the inspection limit and puts the body back for
// the upstream. It returns the bytes to inspect (nil: pass uninspected),
// or a decision when the body is over the limit or unreadable.
// unknownLengthStart is the first buffer for a request body of unknown
// length (readBody).
const unknownLengthStart = 16 << 10

func (s *Stage) readBody(r *http.Request) (decision.Decision, []byte) {
	limit := s.limit
	overLimit := s.overLimit("body", "body_limit", limit, s.rejectOver)
	if r.ContentLength > limit {
		// Known too large: decide without reading a byte.
		return overLimit, nil
	}
	size := limit + 1
	if r.ContentLength > 0 {
		// Room to see EOF without growing: ReadFrom asks for MinRead
		// free bytes before each read, so ContentLength+1 made it copy
		// the whole body into a buffer twice the size at the end.
		size = r.ContentLength + bytes.MinRead
	} else if size > unknownLengthStart {
		// A body of unknown length (chunked) starts small and grows as
		// it comes, instead of body_limit bytes (128 KB by default) for
		// every such request.
		size = unknownLengthStart
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return readError(err), nil
	}
	body := buf.Bytes()
	r.Body = replay(body, r.Body)
	if int64(len(body)) > limit {
		return overLimit, nil
	}
	return decision.Pass, body
}

// errFormOverLimit: a multipart body's text (field names and values,
// file names, part headers) is over body_limit.
var errFormOverLimit = errors.New("multipart form fields over the limit")

// parsedForm is what Django will read from a multipart body: its fields and its
// files' names, with each part's header lines.
type parsedForm struct {
	parts   []formPart
	anomaly string // formdata.Reader.Anomaly
}

type formPart struct {
	name   string
	value  string // a field's value
	isFile bool
	file   string // a file's name as Django keeps it
	raw    string // the filename parameter, before Django's clean-up
	size   int64
	header []string
	markup string // a markup file's first bytes (upload.go)
}

// readForm reads a multipart body with formdata: every field's value and
// every file's name (its content skipped). Their text, with names and part
// headers, is held to budget bytes (errFormOverLimit).
func readForm(body io.Reader, contentType string, budget int64) (*parsedForm, error) {
	fr, err := formdata.NewReader(body, contentType)
	if err != nil {
		return nil, err
	}
	f := &parsedForm{}
	for {
		p, err := fr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		fp := formPart{name: p.Name, isFile: p.IsFile, header: p.Header}
		budget -= int64(len(p.Name))
		for _, h := range p.Header {
			budget -= int64(len(h))
		}
		if p.IsFile {
			budget -= int64(len(p.FileName) + len(p.RawFileName))
			// The content as Django saves it, skipped but for markup
			// the analyzer reads (upload.go).
			if fp.size, fp.markup, err = readUpload(p.File(), p.FileName, p.Header); err != nil {
				return nil, err
			}
			fp.file, fp.raw = p.FileName, p.RawFileName
		} else if budget >= 0 {
			fp.value, err = p.Value(budget)
			if errors.Is(err, formdata.ErrTooLong) {
				return nil, errFormOverLimit
			}
			if err != nil {
				return nil, err
			}
			budget -= p.Size()
		}
		if budget < 0 {
			return nil, errFormOverLimit
		}
		f.parts = append(f.parts, fp)
	}
	f.anomaly = fr.Anomaly()
	return f, nil
}

// readMultipart reads a multipart/form-data body as Django will read it,
// to its end whatever its size (up to limits.max_body_bytes): every text
// field is kept for inspection, every file's content skipped. The body is
// spooled for the upstream, in memory up to multipart_limit and then in a
// temporary file (413 instead with multipart_over_limit: reject). A body
// spooled by the upload checks is read from their spool. It returns the
// form to inspect (nil: the body passes uninspected, or is refused).
func (s *Stage) readMultipart(r *http.Request, ct string) (decision.Decision, *parsedForm) {
	tooBig := s.overLimit("multipart body", "multipart_limit", s.limitMP, true)
	if s.rejectOverMP && r.ContentLength > s.limitMP {
		return tooBig, nil
	}
	var src io.Reader
	var sp *spool.Spool
	if b, ok := r.Body.(*spool.Body); ok && b.Unread() {
		if s.rejectOverMP && b.Size() > s.limitMP {
			return tooBig, nil
		}
		src = b.Content()
	} else {
		// Chunked bodies reach the stages uncapped: limits.max_body_bytes
		// is applied here. With the reject policy (enforced), reading
		// stops at multipart_limit.
		c := &capped{r: r.Body, left: s.maxBody, over: &http.MaxBytesError{Limit: s.maxBody}}
		if s.rejectOverMP && s.mode == decision.Enforce {
			c.left, c.over = s.limitMP, errOverMultipartLimit
		}
		sp = spool.New(int(s.limitMP))
		if r.ContentLength > 0 && r.ContentLength <= s.limitMP {
			sp.Grow(int(r.ContentLength))
		}
		src = io.TeeReader(c, sp)
	}
	f, err := readForm(src, ct, s.limit)
	d := s.formDecision(err, tooBig)
	if sp == nil {
		return d, f
	}
	if !d.Decided() {
		// Passing (inspected, uninspected or monitored): the rest of the
		// body is spooled too, for the upstream.
		if _, err := io.Copy(io.Discard, src); err != nil {
			d, f = s.formDecision(err, tooBig), nil
		}
	}
	if !d.Decided() && d.RuleID == "" && s.rejectOverMP && sp.Len() > s.limitMP {
		d = tooBig // monitored
	}
	_ = r.Body.Close()
	if d.Decided() {
		sp.Discard()
		r.Body = http.NoBody
		return d, nil
	}
	r.Body = sp.Body()
	return d, f
}

// formDecision is the decision for what reading a multipart body ended
// with (nil: none).
func (s *Stage) formDecision(err error, tooBig decision.Decision) decision.Decision {
	var fe *formdata.Error
	switch {
	case err == nil:
		return decision.Pass
	case errors.As(err, &fe):
		return s.badBody(fe.Error())
	case errors.Is(err, errFormOverLimit):
		return s.overLimit("multipart form fields", "body_limit", s.limit, s.rejectOver)
	case errors.Is(err, errOverMultipartLimit):
		return tooBig
	}
	return readError(err)
}

// errOverMultipartLimit: a multipart body went past multipart_limit with
// multipart_over_limit: reject.
var errOverMultipartLimit = errors.New("multipart body over the limit")

// capped reads at most left bytes of r, then fails with over.
type capped struct {
	r    io.Reader
	left int64
	over error
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		if n, err := c.r.Read(one[:]); n > 0 {
			return 0, c.over
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// maxFormArgs is how many multipart fields go into ARGS_POST: the base
// configuration's SecArgumentsLimit, which Coraza applies to the bodies it
// parses itself. More fields than Django accepts are refused by CRS
// 920380 (tx.max_num_args 1000).
const maxFormArgs = 1001

// writeBody gives Coraza the body: a multipart form into its
// collections, other bodies as the bytes buffered. ok is false when d
// decides at once; with ok true, a d that decides (an XML body
// addXMLArgs refuses) is the answer if the body's rules pass.
//
// A file-like body's fields (ff, readFileBody) go into ARGS_POST
// (addFileFields); its bytes are not matched.
func (s *Stage) writeBody(tx types.Transaction, r *http.Request, fm *parsedForm, inspect []byte, ff *fileForm) (d decision.Decision, ok bool) {
	if ff != nil {
		if st, _ := tx.(plugintypes.TransactionState); st != nil {
			addFileFields(tx, st, ff)
		}
		return decision.Pass, true
	}
	if fm == nil && inspect == nil {
		return decision.Pass, true
	}
	st, _ := tx.(plugintypes.TransactionState)
	multipart := st != nil && strings.EqualFold(st.Variables().RequestBodyProcessor().Get(), "MULTIPART")
	switch {
	case fm != nil && multipart:
		fillForm(st.Variables(), fm)
		return decision.Pass, true
	case fm != nil:
		// A rule picked another body processor for this multipart body
		// (ctl:requestBodyProcessor): it gets the raw bytes, up to
		// body_limit.
		if b, isSpool := r.Body.(*spool.Body); isSpool {
			inspect, _ = io.ReadAll(io.LimitReader(b.Content(), s.limit))
		}
	case inspect != nil && multipart && st != nil:
		// A rule picked the multipart processor for another type: read
		// as Django would (it refuses what is not multipart/form-data).
		f, err := readForm(bytes.NewReader(inspect), r.Header.Get("Content-Type"), s.limit)
		if err != nil {
			return s.formDecision(err, decision.Decision{}), false
		}
		fillForm(st.Variables(), f)
		return decision.Pass, true
	}
	if inspect == nil {
		return decision.Pass, true
	}
	// JSON strings are read as json.loads reads them (a copy, if at all:
	// the upstream gets the bytes as sent).
	inspect = surrogateEscapesPaired(inspect)
	if st != nil && !strings.EqualFold(st.Variables().RequestBodyProcessor().Get(), "JSON") {
		// A view may json.loads(request.body) whatever the Content-Type,
		// or hand it to an XML parser.
		addJSONArgs(st.Variables().ArgsPost(), inspect)
		if err := addXMLArgs(st.Variables().ArgsPost(), inspect, isXMLType(r.Header.Get("Content-Type"))); err != nil {
			// Refused once the rules have run on what can be read: a
			// rule that names the attack (an external entity) decides.
			d = s.badBody(err.Error())
		}
	}
	if it, _, err := tx.WriteRequestBody(inspect); it != nil {
		return s.decide(tx, it), false
	} else if err != nil {
		return decision.Decision{Action: decision.Block, Mode: s.mode, RuleID: RuleBodyUnreadable, Status: http.StatusBadRequest, Reason: "buffering body for inspection: " + err.Error()}, false
	}
	return d, true
}

// fillForm puts a multipart form into the collections Coraza's multipart
// body processor fills: ARGS_POST (the fields), FILES (each file's name as
// Django keeps it, and the filename parameter as sent when that differs),
// FILES_NAMES, FILES_SIZES, FILES_COMBINED_SIZE, MULTIPART_NAME,
// MULTIPART_FILENAME, MULTIPART_PART_HEADERS ("Name: value" lines, keyed
// by the part's name) and MULTIPART_STRICT_ERROR.
func fillForm(v plugintypes.TransactionVariables, f *parsedForm) {
	args := 0
	var total int64
	for _, p := range f.parts {
		v.MultipartName().Add(p.name, p.name)
		for _, h := range p.header {
			v.MultipartPartHeaders().Add(p.name, h)
		}
		if !p.isFile {
			if args < maxFormArgs {
				v.ArgsPost().Add(p.name, p.value)
				args++
			}
			total += int64(len(p.value))
			continue
		}
		v.MultipartFilename().Add(p.name, p.raw)
		v.Files().Add("", p.file)
		if p.raw != p.file {
			v.Files().Add("", p.raw)
		}
		v.FilesNames().Add("", p.name)
		v.FilesSizes().SetIndex(p.file, 0, strconv.FormatInt(p.size, 10))
		total += p.size
	}
	setSingle(v.FilesCombinedSize(), strconv.FormatInt(total, 10))
	if f.anomaly != "" {
		setSingle(v.MultipartStrictError(), "1")
	}
}

// setSingle sets a single-valued variable (Coraza's collection.Single has
// no setter in its interface; its implementation does).
func setSingle(c collection.Single, value string) {
	if s, ok := c.(interface{ Set(string) }); ok {
		s.Set(value)
	}
}

// replayBody gives the upstream the buffered prefix, then the rest of the
// client's body; closing it closes the client's body.
type replayBody struct {
	io.Reader
	rest io.Closer
}

func (b *replayBody) Close() error { return b.rest.Close() }

func replay(prefix []byte, rest io.ReadCloser) io.ReadCloser {
	return &replayBody{Reader: io.MultiReader(bytes.NewReader(prefix), rest), rest: rest}
}

// decide turns Coraza's interruption into a decision naming the attack
// class, with the CRS rules that matched in Rules.
func (s *Stage) decide(tx types.Transaction, it *types.Interruption) decision.Decision {
	d := decision.Decision{Action: decision.Block, Mode: s.mode, Status: http.StatusForbidden}
	if it.Status == http.StatusBadRequest {
		d.Status = http.StatusBadRequest
	}
	verdict, hits := scoringHits(tx, it.RuleID, func(id int, _ types.RulePhase) bool {
		// Only the detection rules (and the body parse checks) count,
		// not the CRS's set-up and scoring rules.
		return id >= 910000 && (id < 949000 || id >= 950000) || id == 200002 || id == 200003
	})
	for i := range hits {
		if hits[i].id == 200002 || hits[i].id == 200003 {
			hits[i].class = "bad-body"
		}
	}
	d.RuleID = "detect-anomaly"
	if len(hits) > 0 && hits[0].class != "" {
		d.RuleID = "detect-" + hits[0].class
	}
	var reason strings.Builder
	if len(hits) == 0 || hits[0].id != it.RuleID {
		// The anomaly score verdict (949110), then what added to it.
		fmt.Fprintf(&reason, "CRS rule %d %s", it.RuleID, verdict)
	}
	for i, h := range hits {
		d.Rules = append(d.Rules, strconv.Itoa(h.id))
		if i >= 5 {
			continue // all ids are in Rules; the reason names the first five
		}
		if reason.Len() > 0 {
			reason.WriteString("; ")
		}
		fmt.Fprintf(&reason, "%d %s", h.id, h.msg)
		if vars := matchedVariables(h.matched); vars != "" {
			fmt.Fprintf(&reason, " [%s]", vars)
		}
	}
	if len(d.Rules) == 0 {
		d.Rules = []string{strconv.Itoa(it.RuleID)}
	}
	d.Reason = reason.String()
	return d
}

// ruleHit is a matched rule that scored: what names a decision.
type ruleHit struct {
	id       int
	severity types.RuleSeverity
	class    string // the rule's attack-* tag, without "attack-"
	msg      string
	matched  types.MatchedRule
}

// scoringHits returns the message of the rule that interrupted
// (verdictID) and the matched rules with a message that scores admits,
// the most severe first (CRS severities: 2 critical ... 5 notice; lower
// is worse).
func scoringHits(tx types.Transaction, verdictID int, scores func(id int, phase types.RulePhase) bool) (verdict string, hits []ruleHit) {
	for _, m := range tx.MatchedRules() {
		rule := m.Rule()
		if rule.ID() == verdictID {
			verdict = m.Message()
		}
		if m.Message() == "" || !scores(rule.ID(), rule.Phase()) {
			continue
		}
		h := ruleHit{id: rule.ID(), severity: rule.Severity(), msg: m.Message(), matched: m}
		for _, t := range rule.Tags() {
			if c, ok := strings.CutPrefix(t, "attack-"); ok {
				h.class = c
				break
			}
		}
		hits = append(hits, h)
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].severity < hits[j].severity })
	return verdict, hits
}

// matchedVariables names the variables a rule matched ("ARGS:q"), once
// each.
func matchedVariables(m types.MatchedRule) string {
	var vars []string
	mds := m.MatchedDatas()
	picked := chainPicked(mds)
	for _, md := range mds {
		v := md.Variable().Name()
		if strings.HasPrefix(v, "MATCHED_VAR") || v == "TX" {
			continue // chained rules re-matching what the first part found
		}
		if picked != nil && md.ChainLevel() == 0 && !picked[strings.ToLower(md.Key())] {
			continue // captured by the first link, not what the chain matched
		}
		if k := md.Key(); k != "" {
			v += ":" + k
		}
		vars = append(vars, v)
	}
	return strings.Join(dedupe(vars), ",")
}

// chainPicked returns, for a chained rule whose first link captures every
// value into a TX variable named after it and whose later link matches
// some of those (CRS 920450 and 920451: each header name is captured into
// tx.header_name_920450_<name>, then the restricted ones match), the keys
// of the first link's values the later link matched. Nil when the rule is
// not of that shape: then every value it matched is named.
func chainPicked(mds []types.MatchData) map[string]bool {
	var picked map[string]bool
	for _, md := range mds {
		if md.ChainLevel() == 0 || md.Variable().Name() != "TX" {
			continue
		}
		key := strings.ToLower(md.Key())
		for _, first := range mds {
			if first.ChainLevel() != 0 || first.Key() == "" {
				continue
			}
			k := strings.ToLower(first.Key())
			if strings.HasSuffix(key, "_"+k) {
				if picked == nil {
					picked = map[string]bool{}
				}
				picked[k] = true
			}
		}
	}
	return picked
}

func dedupe(s []string) []string {
	out := s[:0]
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// inspectSlots is how many requests are evaluated at once: configured, or
// twice the CPUs Go may use (enough to keep every core busy while one
// transaction waits on the scheduler).
func inspectSlots(configured int) int {
	if configured > 0 {
		return configured
	}
	return 2 * runtime.GOMAXPROCS(0)
}
