package detect

// Outbound detection (detection.responses): the CRS response rules
// (RESPONSE-950 to 956: SQL, Java, PHP, IIS and Ruby error leaks, web
// shells; with the Django profile, its PostgreSQL and SQLite error rules;
// RESPONSE-959 scores them against detection.outbound_threshold) run on the upstream's status, headers and a bounded prefix of textual
// bodies, in the same Coraza transaction the request was inspected in.
//
// Lifetime: Check keeps a transaction that passed open (without an
// inspection slot) and CheckResponse takes it back when the upstream
// answers. Whoever takes it closes it: CheckResponse, or, on every path
// where no response comes (a later refusal, an upstream error, the client
// gone), a context.AfterFunc on the request's context, which net/http
// cancels when the handler returns.

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corazawaf/coraza/v3/types"
	"github.com/parapet-waf/parapet/internal/bodypeek"

	"github.com/parapet-waf/parapet/internal/config"
	"github.com/parapet-waf/parapet/internal/decision"
	"github.com/parapet-waf/parapet/internal/denypage"
)

// RuleOutbound prefixes the rule id of a response decision
// ("detect-outbound-disclosure"); the CRS rules are in Decision.Rules.
const RuleOutbound = "detect-outbound"

// outbound is the response side of the stage; nil when
// detection.responses is off.
type outbound struct {
	peek  *bodypeek.Peeker
	types map[string]bool
	pages *denypage.Renderer
	held  sync.Map     // *decision.Info -> *heldTx: transactions waiting for their response
	open  atomic.Int64 // len(held), for tests
}

// heldTx is a transaction kept open for the response phases.
type heldTx struct {
	tx   types.Transaction
	stop func() bool // unregisters the AfterFunc that would close tx
}

func newOutbound(cfg *config.Config) *outbound {
	r := cfg.Detection.Responses
	if !cfg.Detection.Enabled || !r.Enabled {
		return nil
	}
	o := &outbound{peek: bodypeek.New(int(r.BodyLimit)), types: map[string]bool{},
		pages: &denypage.Renderer{Brand: cfg.BlockPage.Brand, Contact: cfg.BlockPage.Contact}}
	for _, t := range r.ContentTypes {
		o.types[t] = true
	}
	return o
}

// outboundDirectives are the engine setup (before the rule set) and the
// CRS response files (after it, before the exclusions, so exclusions by
// id or tag apply to them too) when responses are inspected.
func outboundDirectives(d config.Detection) (setup, rules string) {
	if !d.Responses.Enabled {
		return "", ""
	}
	setup = fmt.Sprintf(`
SecResponseBodyAccess On
SecResponseBodyMimeType %s
SecResponseBodyLimit %d
SecResponseBodyLimitAction ProcessPartial
SecDefaultAction "phase:3,log,pass"
SecDefaultAction "phase:4,log,pass"
SecAction "id:900111,phase:1,pass,t:none,nolog,setvar:tx.outbound_anomaly_score_threshold=%d"
`, strings.Join(d.Responses.ContentTypes, " "), d.Responses.BodyLimit, d.OutboundThreshold)
	rules = `
Include @owasp_crs/RESPONSE-950-DATA-LEAKAGES.conf
Include @owasp_crs/RESPONSE-951-DATA-LEAKAGES-SQL.conf
Include @owasp_crs/RESPONSE-952-DATA-LEAKAGES-JAVA.conf
Include @owasp_crs/RESPONSE-953-DATA-LEAKAGES-PHP.conf
Include @owasp_crs/RESPONSE-954-DATA-LEAKAGES-IIS.conf
Include @owasp_crs/RESPONSE-955-WEB-SHELLS.conf
Include @owasp_crs/RESPONSE-956-DATA-LEAKAGES-RUBY.conf
`
	if d.DjangoProfile {
		rules += djangoDatabaseErrors
	}
	rules += "Include @owasp_crs/RESPONSE-959-BLOCKING-EVALUATION.conf\n"
	return setup, rules
}

// djangoDatabaseErrors are the Django profile's response rules: the
// database errors a Django view shows when it puts an exception into its
// answer (str(e) of a failed query), in the words of the two databases
// Django apps on Heroku run on and the CRS does not catch at paranoia
// level 1. CRS 951240 wants "PostgreSQL" or a driver's name near the
// error, and psycopg2's text names neither; 951250 wants PHP's or .NET's
// SQLite wording, not Python's sqlite3. Each pattern is the message's own
// shape (the quoted token, raw, JSON-escaped or HTML-escaped as a Django
// template writes it; an identifier that ends the message), not a word an
// article about databases would use; a page quoting a real error message
// is blocked, as the CRS blocks one quoting MySQL's. Scored like the CRS
// leak rules (critical, paranoia level 1), so one match passes the default
// outbound threshold.
const djangoDatabaseErrors = `
SecRule RESPONSE_BODY "@rx (?:(?:syntax error|unterminated quoted (?:string|identifier)|unterminated dollar-quoted string|zero-length delimited identifier) at or near (?:\x5c?\x22|&quot;|&#34;|&#x22;)|syntax error at end of input|invalid input syntax for (?:type )?[a-z][a-z ]{0,30}: (?:\x5c?\x22|&quot;|&#34;|&#x22;)|(?:column|relation) (?:\x5c?\x22|&quot;|&#34;|&#x22;)(?:[^\x22\x5c&<]|&#?[A-Za-z0-9]{1,6};){1,128}(?:\x5c?\x22|&quot;|&#34;|&#x22;) does not exist|operator does not exist: [a-z][a-z ]{0,30} [<>=!~]+ [a-z])" \
    "id:4100101,phase:4,block,capture,t:none,msg:'PostgreSQL error in the response (psycopg wording)',\
    tag:'parapet-django',tag:'platform-pgsql',tag:'attack-disclosure',tag:'paranoia-level/1',severity:'CRITICAL',\
    setvar:'tx.outbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}'"
SecRule RESPONSE_BODY "@rx (?:near (?:\x5c?\x22|&quot;|&#34;|&#x22;)(?:[^\x22\x5c&<]|&#?[A-Za-z0-9]{1,6};){1,128}(?:\x5c?\x22|&quot;|&#34;|&#x22;): syntax error|unrecognized token: (?:\x5c?\x22|&quot;|&#34;|&#x22;)|no such (?:column|table): [A-Za-z_][A-Za-z0-9_.]*(?:$|[<\r\n\x22\x5c&]))" \
    "id:4100102,phase:4,block,capture,t:none,msg:'SQLite error in the response (Python sqlite3 wording)',\
    tag:'parapet-django',tag:'platform-sqlite',tag:'attack-disclosure',tag:'paranoia-level/1',severity:'CRITICAL',\
    setvar:'tx.outbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}'"
`

// release ends Check's use of tx: it is closed, unless responses are
// inspected and the request goes on to the upstream, in which case it is
// held for CheckResponse.
func (s *Stage) release(ctx context.Context, tx types.Transaction, info *decision.Info, d decision.Decision) {
	if s.out == nil || d.Decided() || tx.IsInterrupted() {
		// An interrupted transaction (a monitor-mode match) cannot run
		// further phases: Coraza answers them with the old interruption.
		_ = tx.Close()
		return
	}
	h := &heldTx{tx: tx}
	s.out.open.Add(1)
	s.out.held.Store(info, h)
	// Stored before the AfterFunc is registered: on a context already
	// done it runs at once and must find the transaction.
	h.stop = context.AfterFunc(ctx, func() {
		if h := s.out.take(info); h != nil {
			_ = h.tx.Close()
		}
	})
}

// Held is how many transactions are open waiting for their responses
// (requests in flight at the app, with detection.responses on).
func (s *Stage) Held() int64 {
	if s.out == nil {
		return 0
	}
	return s.out.open.Load()
}

// take hands the request's held transaction to exactly one caller, who
// must close it; nil if there is none (or it was taken).
func (o *outbound) take(info *decision.Info) *heldTx {
	v, ok := o.held.LoadAndDelete(info)
	if !ok {
		return nil
	}
	o.open.Add(-1)
	return v.(*heldTx)
}

// CheckResponse runs the CRS response phases on the upstream's answer
// when detection.responses is on: phase 3 on the status and headers,
// phase 4 on a prefix of the body (decompressed) when its type is
// listed (its content codings undone as the leak guard undoes them:
// bodypeek). A response over the outbound threshold is replaced by the
// generic error page (enforce) or recorded (monitor). The bytes read are
// put back in front of the rest, so a passing body reaches the client
// unchanged. HEAD answers and protocol switches (WebSockets) are not
// inspected.
func (s *Stage) CheckResponse(ctx context.Context, resp *http.Response, info *decision.Info) error {
	if s.out == nil {
		return nil
	}
	h := s.out.take(info)
	if h == nil {
		return nil // not inspected on the way in (skipped, bypassed, blocked)
	}
	h.stop()
	tx := h.tx
	defer func() { _ = tx.Close() }()
	if info.Final.Decided() || resp.Request == nil || resp.StatusCode == http.StatusSwitchingProtocols || resp.Request.Method == http.MethodHead {
		return nil // the leak guard replaced it already, or nothing to inspect
	}
	mt, text, decoded, err := s.out.readPrefix(resp, info)
	if err != nil {
		return err
	}
	// The body has arrived (or is not inspected): only now take a slot,
	// so waiting on the app never holds one.
	done, ok := s.inspect(ctx, info)
	defer done()
	if !ok {
		return nil // the client went away: nobody to protect
	}
	for k, vs := range resp.Header {
		switch {
		case decoded && k == "Content-Encoding":
			continue // inspected decompressed: the CRS would skip the body
		case k == "Content-Type" && mt != "":
			tx.AddResponseHeader(k, mt) // lower case, without parameters, as SecResponseBodyMimeType lists it
			continue
		}
		for _, v := range vs {
			tx.AddResponseHeader(k, v)
		}
	}
	it := tx.ProcessResponseHeaders(resp.StatusCode, resp.Proto)
	if it == nil && text != nil {
		it, _, _ = tx.WriteResponseBody(text) // errors only from disk buffers; bodies are in memory
	}
	if it == nil {
		it, _ = tx.ProcessResponseBody()
	}
	if it == nil {
		return nil
	}
	d := s.decideOutbound(tx, it, resp.StatusCode)
	if d.Mode == decision.Monitor {
		info.Matched = append(info.Matched, d)
		return nil
	}
	s.out.replace(resp, info, d)
	return nil
}

// readPrefix reads up to the limit of an inspectable body and puts it
// back in front of the rest. It returns the response's media type (""
// when not listed), the text to inspect (decompressed; nil when the body
// is not inspected) and whether it was decompressed.
func (o *outbound) readPrefix(resp *http.Response, info *decision.Info) (mt string, text []byte, decoded bool, err error) {
	mt, _, perr := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if perr != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(resp.Header.Get("Content-Type"), ";", 2)[0]))
	}
	if !o.types[mt] {
		return "", nil, false, nil
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		return mt, nil, false, nil
	}
	codings, cerr := bodypeek.ParseCodings(resp.Header)
	if cerr != nil {
		// Headers and status are still checked; the CRS skips bodies
		// it cannot read too. (The leak guard answers such a textual
		// body itself, by default with the generic page.)
		info.AddTag("detect-response-uninspected:" + strings.ToLower(strings.Join(resp.Header.Values("Content-Encoding"), ",")))
		return mt, nil, false, nil
	}
	prefix, _, err := o.peek.Peek(resp)
	if err != nil {
		return "", nil, false, fmt.Errorf("inspecting the response: %w", err)
	}
	if codings.Len() == 0 {
		return mt, prefix, false, nil
	}
	text, _ = bodypeek.Decode(prefix, codings, o.peek.Limit()) // not what it says it is: nothing to inspect
	return mt, text, true, nil
}

// decideOutbound turns a response-phase interruption into a block
// decision: the generic page's status (500, or the upstream's own 5xx),
// the CRS response rules that matched in Rules.
func (s *Stage) decideOutbound(tx types.Transaction, it *types.Interruption, upstreamStatus int) decision.Decision {
	d := decision.Decision{Action: decision.Block, Mode: s.mode, RuleID: RuleOutbound, Status: http.StatusInternalServerError, Critical: true}
	if upstreamStatus >= 500 && upstreamStatus <= 599 {
		d.Status = upstreamStatus
	}
	verdict, hits := scoringHits(tx, it.RuleID, func(id int, phase types.RulePhase) bool {
		// The response rules that scored (the CRS's and the Django
		// profile's), not set-up or evaluation rules, nor request rules
		// that matched below the inbound threshold.
		return phase >= types.PhaseResponseHeaders && (id >= 950000 && id < 959000 || id == 4100101 || id == 4100102)
	})
	if len(hits) > 0 && hits[0].class != "" {
		d.RuleID += "-" + hits[0].class
	}
	var reason strings.Builder
	fmt.Fprintf(&reason, "response: CRS rule %d %s", it.RuleID, verdict)
	for i, h := range hits {
		d.Rules = append(d.Rules, strconv.Itoa(h.id))
		if i < 5 {
			fmt.Fprintf(&reason, "; %d %s", h.id, h.msg)
		}
	}
	if len(d.Rules) == 0 {
		d.Rules = []string{strconv.Itoa(it.RuleID)}
	}
	d.Reason = reason.String()
	return d
}

// replace swaps the response for the generic error page: the request id
// and the rule the log line names (as every deny page does), nothing of
// what the upstream said.
func (o *outbound) replace(resp *http.Response, info *decision.Info, d decision.Decision) {
	_ = resp.Body.Close()
	o.pages.Replace(resp, denypage.Page{Status: d.Status, Reason: d.RuleID, RequestID: info.ID})
	info.Final = d
}
