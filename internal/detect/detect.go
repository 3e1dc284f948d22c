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
package detect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
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
	// multipart failing strict validation).
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
	limit        int64 // urlencoded / JSON bodies
	limitMP      int64 // multipart bodies
	rejectOver   bool  // urlencoded / JSON bodies over the limit
	rejectOverMP bool  // multipart bodies over the limit
	skipPaths    []string
	ownPaths     []string // Parapet's own endpoints (the CSP report collector)
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
func build(cfg *config.Config) (*Stage, error) {
	d := cfg.Detection
	mode, _ := decision.ParseMode(d.Mode)
	s := &Stage{
		mode:         mode,
		limit:        int64(d.BodyLimit),
		limitMP:      int64(d.MultipartLimit),
		rejectOver:   d.BodyOverLimit == config.OverLimitReject,
		rejectOverMP: d.MultipartOverLimit == config.OverLimitReject,
		skipPaths:    d.SkipPaths,
		slots:        make(chan struct{}, inspectSlots(d.MaxConcurrent)),
		out:          newOutbound(cfg),
		analyzer:     d.Analyzer,
		threshold:    d.InboundThreshold,
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
		pre.WriteString(djangoBefore(d.AdminPaths))
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
	var over decision.Decision
	var inspect []byte
	if hasBody(r) {
		// Every body is inspected, whatever its Content-Type says: a view
		// may json.loads(request.body) without looking. Coraza parses
		// forms, multipart and JSON into fields (CRS parses unknown types
		// as forms) and matches the raw body too.
		var d decision.Decision
		d, inspect = s.readBody(r, isMultipart(r.Header.Get("Content-Type")))
		switch {
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
		k = strings.ToLower(k)
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
	if it := tx.ProcessRequestHeaders(); it != nil {
		return s.decide(tx, it)
	}
	if s.analyzer {
		if d := s.decideVerdict(judge(tx)); d.Decided() {
			return d
		}
	}

	if inspect != nil && tx.IsRequestBodyAccessible() {
		if it, _, err := tx.WriteRequestBody(inspect); it != nil {
			return s.decide(tx, it)
		} else if err != nil {
			return decision.Decision{Action: decision.Block, Mode: s.mode, RuleID: RuleBodyUnreadable, Status: http.StatusBadRequest, Reason: "buffering body for inspection: " + err.Error()}
		}
	}
	it, err := tx.ProcessRequestBody()
	if it != nil {
		return s.decide(tx, it)
	}
	if err != nil {
		return decision.Decision{Action: decision.Block, Mode: s.mode, RuleID: RuleBadBody, Status: http.StatusBadRequest, Reason: "inspecting body: " + err.Error()}
	}
	if s.analyzer {
		if d := s.decideVerdict(judge(tx)); d.Action != decision.Allow {
			return d
		}
		if d := s.checkUploads(r, inspect); d.Action != decision.Allow {
			return d
		}
	}
	if over.RuleID != "" {
		info.AddTag("body-uninspected")
		return over
	}
	return decision.Pass
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

// isMultipart reports whether a body is multipart/form-data, which has its
// own inspection limit (its file contents are not matched).
func isMultipart(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	return mt == "multipart/form-data"
}

func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// readBody buffers up to the inspection limit and puts the body back for
// the upstream. It returns the bytes to inspect (nil: pass uninspected),
// or a decision when the body is over the limit or unreadable.
func (s *Stage) readBody(r *http.Request, isMultipart bool) (decision.Decision, []byte) {
	reject, limit, key := s.rejectOver, s.limit, "body_limit"
	if isMultipart {
		reject, limit, key = s.rejectOverMP, s.limitMP, "multipart_limit"
	}
	overLimit := decision.Decision{Mode: s.mode, RuleID: RuleBodyTooLarge,
		Reason: "body over detection." + key + " (" + strconv.FormatInt(limit, 10) + " bytes)"}
	if reject {
		overLimit.Action, overLimit.Status = decision.Block, http.StatusRequestEntityTooLarge
	} else {
		overLimit.Action = decision.Log
		overLimit.Reason += ": passed uninspected"
	}
	if r.ContentLength > limit {
		// Known too large: decide without reading a byte.
		return overLimit, nil
	}
	size := limit + 1
	if r.ContentLength > 0 {
		size = r.ContentLength + 1 // room to see EOF without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decision.Decision{Action: decision.Block, Mode: decision.Enforce, RuleID: RuleBodyTooLarge, Status: http.StatusRequestEntityTooLarge, Reason: err.Error()}, nil
		}
		return decision.Decision{Action: decision.Block, Mode: decision.Enforce, RuleID: RuleBodyUnreadable, Status: http.StatusBadRequest, Reason: "reading body: " + err.Error()}, nil
	}
	body := buf.Bytes()
	r.Body = replay(body, r.Body)
	if int64(len(body)) > limit {
		return overLimit, nil
	}
	if isMultipart && int64(len(body)) > s.limit {
		// Coraza matches multipart form fields like any other field (not
		// file contents), so their total is held to body_limit: megabytes
		// of text fields would cost seconds of CPU.
		if n := multipartFieldBytes(body, r.Header.Get("Content-Type"), s.limit); n > s.limit {
			d := decision.Decision{Mode: s.mode, RuleID: RuleBodyTooLarge,
				Reason: "multipart form fields over detection.body_limit (" + strconv.FormatInt(s.limit, 10) + " bytes)"}
			if s.rejectOver {
				d.Action, d.Status = decision.Block, http.StatusRequestEntityTooLarge
			} else {
				d.Action = decision.Log
				d.Reason += ": passed uninspected"
			}
			return d, nil
		}
	}
	return decision.Pass, body
}

// multipartFieldBytes adds up the sizes of the parts of a multipart body
// that are not files, stopping once past limit. A body it cannot parse
// counts 0: Coraza's strict multipart checks judge it.
func multipartFieldBytes(body []byte, contentType string, limit int64) int64 {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return 0
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var total int64
	for total <= limit {
		part, err := mr.NextRawPart()
		if err != nil {
			break
		}
		if part.FileName() == "" {
			n, _ := io.Copy(io.Discard, part)
			total += n
		}
		part.Close()
	}
	return total
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
	for _, md := range m.MatchedDatas() {
		v := md.Variable().Name()
		if strings.HasPrefix(v, "MATCHED_VAR") || v == "TX" {
			continue // chained rules re-matching what the first part found
		}
		if k := md.Key(); k != "" {
			v += ":" + k
		}
		vars = append(vars, v)
	}
	return strings.Join(dedupe(vars), ",")
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
