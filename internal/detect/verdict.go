package detect

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/corazawaf/coraza/v3/collection"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/parapet-waf/parapet/internal/analyze"
	"github.com/parapet-waf/parapet/internal/decision"
)

// The verdict: with the analyzer on, Coraza scores without ever
// interrupting (its threshold is out of reach) and the stage decides
// from the rules that matched, field by field:
//
//   - the analyzer alone blocks on a High finding (a value that breaks
//     out of its context as code);
//   - the CRS and the analyzer together block when a CRS attack rule and
//     an analyzer finding (Medium or High) name the same field;
//   - the CRS alone blocks as before, when its anomaly score reaches
//     detection.inbound_threshold, except that an attack rule matching
//     natural-language text (analyze.Prose: words, punctuation, an
//     apostrophe) counts only with the analyzer's agreement on that
//     field. libinjection's rule (942100) always needs it: the analyzer
//     runs the same tokenizer and keeps the fingerprints that break out.
//
// Each decision says which engine decided, on which field, after which
// decodings.

// fieldRef names one field: the variable (ARGS for query, form, JSON
// and multipart fields; the names of those as NAMES) and its key.
type fieldRef struct {
	variable string
	key      string
}

func (f fieldRef) String() string {
	if f.key == "" {
		return f.variable
	}
	return f.variable + ":" + f.key
}

// fieldOf normalizes a matched variable to the field the analyzer names.
func fieldOf(md types.MatchData) (fieldRef, bool) {
	v := md.Variable().Name()
	switch v {
	case "ARGS", "ARGS_GET", "ARGS_POST":
		v = "ARGS"
	case "ARGS_NAMES", "ARGS_GET_NAMES", "ARGS_POST_NAMES":
		v = "ARGS_NAMES"
	case "REQUEST_BASENAME", "REQUEST_FILENAME":
		v = "REQUEST_FILENAME"
	case "REQUEST_COOKIES", "REQUEST_COOKIES_NAMES", "REQUEST_HEADERS", "XML", "FILES", "FILES_NAMES":
	case "MATCHED_VAR", "MATCHED_VARS", "MATCHED_VAR_NAME", "TX":
		return fieldRef{}, false // chained rules re-reading what the first part matched
	default:
		// Whole-request variables (REQUEST_URI, QUERY_STRING,
		// REQUEST_BODY ...): no one field.
		return fieldRef{variable: v}, true
	}
	key := md.Key()
	if v == "REQUEST_HEADERS" {
		key = strings.ToLower(key)
	}
	return fieldRef{variable: v, key: key}, true
}

// wholeRequest reports a variable that is the whole request line or
// body rather than one field.
func (f fieldRef) wholeRequest() bool {
	switch f.variable {
	case "ARGS", "ARGS_NAMES", "REQUEST_FILENAME", "REQUEST_COOKIES", "REQUEST_COOKIES_NAMES", "REQUEST_HEADERS", "XML", "FILES", "FILES_NAMES":
		return false
	}
	return true
}

// fieldFinding is the analyzer's strongest finding on a field.
type fieldFinding struct {
	field fieldRef
	analyze.Finding
}

// crsHit is one matched CRS rule that scores.
type crsHit struct {
	ruleHit
	points int
	fields []fieldRef
	// confirmed by the analyzer on one of its fields; unconfirmed when
	// every field it matched is prose the analyzer found nothing in.
	confirmed, unconfirmed bool
}

// severityPoints are the CRS's anomaly scores by severity.
func severityPoints(s types.RuleSeverity) int {
	switch s {
	case types.RuleSeverityEmergency, types.RuleSeverityAlert, types.RuleSeverityCritical:
		return 5
	case types.RuleSeverityError:
		return 4
	case types.RuleSeverityWarning:
		return 3
	case types.RuleSeverityNotice:
		return 2
	}
	return 0
}

// scoredMatches is how many times a matched rule added its score: Coraza
// runs a rule's actions (the CRS's setvar of the anomaly score) for each
// value it matched, at the level of the chain that holds them (the last).
func scoredMatches(m types.MatchedRule) int {
	deepest, n := -1, 0
	for _, md := range m.MatchedDatas() {
		switch l := md.ChainLevel(); {
		case l > deepest:
			deepest, n = l, 1
		case l == deepest:
			n++
		}
	}
	return max(n, 1)
}

// scoringRule reports whether a matched rule adds to the inbound anomaly
// score: the CRS's detection rules (not its set-up and blocking
// evaluation), Parapet's profile rules excepted.
func scoringRule(id int) bool {
	return id >= 910000 && id < 949000 && !unscoredRules[id]
}

// unscoredRules match but do not count towards a block: 920350, a
// numeric Host (local testing, health checks, load balancers' probes)
// is no attack, and its 3 points pushed borderline requests over.
// 920120 ("multipart/form-data bypass") matches a quote, ';' or '=' in
// an uploaded file's name ("O'Reilly - Learning SQL.pdf"): it guards
// against a WAF and the app splitting Content-Disposition differently,
// and Parapet parses multipart bodies as Django does (internal/formdata,
// strict validation refuses what Django would read otherwise), so the
// name it inspects is the one the app gets; the analyzer judges that
// name like any field (FILES).
var unscoredRules = map[int]bool{920350: true, 920120: true}

// needsConfirmation reports the CRS rules that judge a value's content
// (protocol attacks, 921, and application attacks, 930 to 944): on
// natural-language text they need the analyzer's agreement. The
// protocol enforcement (920) and scanner (913) rules judge the request's
// form and keep counting alone.
func needsConfirmation(id int) bool {
	return id >= 921000 && id < 922000 || id >= 930000 && id < 945000
}

// judgedRules are CRS rules whose match the analyzer judges again on the
// value the rule matched, with the parser of the same class; they count
// only when it finds at least Medium (whatever exclusions apply to the
// analyzer's own rules). 942100 runs libinjection, whose fingerprint the
// analyzer judges by where it breaks out ("john or@var.es" is words
// joined by an operator); 930120 matches names of system files anywhere
// ("C:\Program Files"), and the analyzer judges a path by where it
// leads.
var judgedRules = map[int]*analyze.Analyzer{
	942100: analyze.New(analyze.Of(analyze.SQLi), analyze.Arg),
	930120: analyze.New(analyze.Of(analyze.Traversal), analyze.Arg),
}

// verdict is what the matched rules of a transaction add up to.
type verdict struct {
	findings []fieldFinding
	hits     []crsHit
	score    int // CRS points that count
	raw      int // CRS points before confirmation
}

// judge computes the verdict over every rule matched so far.
func judge(tx types.Transaction) verdict {
	var v verdict
	type fieldClass struct {
		fieldRef
		analyze.Class
	}
	byField := map[fieldClass]int{} // index in findings
	for _, m := range tx.MatchedRules() {
		id := m.Rule().ID()
		if id < analyzerFirstID || id > analyzerLastID {
			continue
		}
		for _, md := range m.MatchedDatas() {
			f, ok := decodeFinding(md.Data())
			ref, ok2 := fieldOf(md)
			if !ok || !ok2 {
				continue
			}
			k := fieldClass{ref, f.Class}
			if i, seen := byField[k]; seen {
				if f.Confidence > v.findings[i].Confidence {
					v.findings[i].Finding = f
				}
				continue
			}
			byField[k] = len(v.findings)
			v.findings = append(v.findings, fieldFinding{field: ref, Finding: f})
		}
	}
	for _, m := range tx.MatchedRules() {
		rule := m.Rule()
		id := rule.ID()
		if m.Message() == "" || !scoringRule(id) {
			continue
		}
		h := crsHit{ruleHit: ruleHit{id: id, severity: rule.Severity(), msg: m.Message(), matched: m}, points: severityPoints(rule.Severity()) * scoredMatches(m)}
		for _, t := range rule.Tags() {
			if c, ok := strings.CutPrefix(t, "attack-"); ok {
				h.class = c
				break
			}
		}
		check := needsConfirmation(id)
		prose, judged := 0, 0
		for _, md := range m.MatchedDatas() {
			ref, ok := fieldOf(md)
			if !ok {
				continue
			}
			h.fields = append(h.fields, ref)
			if v.agrees(ref, h.class) {
				h.confirmed = true
			} else if check && isText(tx, md) {
				prose++
			}
			if a := judgedRules[id]; a != nil && a.Inspect(md.Value()).Confidence >= analyze.Medium {
				judged++
			}
		}
		h.unconfirmed = check && !h.confirmed && prose > 0 && prose == len(h.fields)
		if judgedRules[id] != nil && judged == 0 {
			h.unconfirmed = true
		}
		v.raw += h.points
		if !h.unconfirmed {
			v.score += h.points
		}
		v.hits = append(v.hits, h)
	}
	sort.SliceStable(v.hits, func(i, j int) bool { return v.hits[i].severity < v.hits[j].severity })
	return v
}

// isText reports whether the field a rule matched holds natural-language
// text (analyze.Text): the value as the rule read it (URL-decoded, say),
// or as received, before transformations that may hide it (lower-casing
// is harmless, stripping spaces is not); every value under the field's
// name, when the name comes more than once.
func isText(tx types.Transaction, md types.MatchData) bool {
	if textOrInert(md.Value()) {
		return true
	}
	st, ok := tx.(plugintypes.TransactionState)
	if !ok {
		return false
	}
	var values []string
	switch c := st.Collection(md.Variable()).(type) {
	case collection.Single:
		values = []string{c.Get()}
	case collection.Keyed:
		if md.Key() == "" {
			return false
		}
		values = c.Get(md.Key())
	}
	if len(values) == 0 {
		return false
	}
	for _, v := range values {
		if !textOrInert(v) {
			return false
		}
	}
	return true
}

// textOrInert is natural-language text, or data on which the CRS's
// patterns match without meaning (analyze.Inert: a data: URI of an
// image, an escaped code sample in rich text, a GraphQL query).
func textOrInert(v string) bool { return analyze.Text(v) || analyze.Inert(v) }

// agrees reports whether the analyzer found an attack of a class that
// agrees with the CRS class crsClass on ref (on any field for a
// whole-request variable).
func (v *verdict) agrees(ref fieldRef, crsClass string) bool {
	for _, f := range v.findings {
		if (f.field == ref || ref.wholeRequest()) && classesAgree(crsClass, f.Class) {
			return true
		}
	}
	return false
}

// crsClasses are the analyzer's classes that agree with a CRS rule's
// class (its attack-* tag): a CRS command-injection rule and the
// analyzer's SQL finding on the same article are two weak signs of
// different things, not a confirmation.
var crsClasses = map[string]analyze.Set{
	"sqli":              analyze.Of(analyze.SQLi),
	"xss":               analyze.Of(analyze.XSS),
	"rce":               analyze.Of(analyze.Shell, analyze.Code),
	"injection-php":     analyze.Of(analyze.Code),
	"php":               analyze.Of(analyze.Code),
	"injection-java":    analyze.Of(analyze.Code, analyze.Template),
	"java":              analyze.Of(analyze.Code, analyze.Template),
	"injection-generic": analyze.Of(analyze.Code, analyze.Template, analyze.NoSQL, analyze.LDAP, analyze.SSI, analyze.XXE),
	"generic":           analyze.Of(analyze.Code, analyze.Template, analyze.NoSQL, analyze.LDAP, analyze.SSI, analyze.XXE),
	"ssti":              analyze.Of(analyze.Template),
	"lfi":               analyze.Of(analyze.Traversal),
	"rfi":               analyze.Of(analyze.SSRF, analyze.Traversal, analyze.Code),
	"ssrf":              analyze.Of(analyze.SSRF),
	"protocol":          analyze.Of(analyze.CRLF),
	"fixation":          analyze.Of(analyze.XSS, analyze.CRLF),
}

func classesAgree(crsClass string, c analyze.Class) bool {
	set, ok := crsClasses[crsClass]
	return !ok || set.Has(c)
}

// decideVerdict turns the verdict into a decision: Pass, a block (or its
// monitored form), or, when the CRS alone would have blocked on text the
// analyzer found nothing in, a Log decision in monitor mode.
func (s *Stage) decideVerdict(v verdict) decision.Decision {
	var high *fieldFinding
	for i := range v.findings {
		if v.findings[i].Confidence == analyze.High && (high == nil || v.findings[i].Class < high.Class) {
			high = &v.findings[i]
		}
	}
	var agreed *crsHit
	var agreedOn *fieldFinding
	for i := range v.hits {
		h := &v.hits[i]
		if !h.confirmed {
			continue
		}
		for _, f := range h.fields {
			for j := range v.findings {
				if (v.findings[j].field == f || f.wholeRequest()) && classesAgree(h.class, v.findings[j].Class) {
					agreed, agreedOn = h, &v.findings[j]
					break
				}
			}
			if agreed != nil {
				break
			}
		}
		if agreed != nil {
			break
		}
	}
	crsBlocks := v.score >= s.threshold
	var engine string
	var lead *fieldFinding
	switch {
	case agreed != nil:
		engine, lead = "crs+analyzer", agreedOn
	case high != nil:
		engine, lead = "analyzer", high
	case crsBlocks:
		engine = "crs"
	case v.raw >= s.threshold && s.mode == decision.Monitor:
		return decision.Decision{Action: decision.Log, Mode: s.mode, RuleID: "detect-unconfirmed",
			Reason: "the CRS alone would block (" + strconv.Itoa(v.raw) + " points) on text the analyzer found no attack in: " + describeHits(v.hits, true),
			Rules:  hitIDs(v.hits, true)}
	default:
		return decision.Pass
	}
	d := decision.Decision{Action: decision.Block, Mode: s.mode, Status: http.StatusForbidden}
	class := ""
	if lead != nil {
		class = lead.Class.String()
		if lead.Class == analyze.Code {
			class = "rce"
		}
	} else {
		for _, h := range v.hits {
			if !h.unconfirmed && h.class != "" {
				class = h.class
				break
			}
		}
	}
	d.RuleID = "detect-anomaly"
	if class != "" {
		d.RuleID = "detect-" + class
	}
	var reason strings.Builder
	reason.WriteString(engine)
	reason.WriteString(": ")
	if engine != "analyzer" {
		fmt.Fprintf(&reason, "CRS score %d of %d", v.score, s.threshold)
		if v.raw != v.score {
			fmt.Fprintf(&reason, " (%d before confirmation)", v.raw)
		}
		reason.WriteString("; ")
		reason.WriteString(describeHits(v.hits, false))
	}
	if lead != nil {
		if engine != "analyzer" {
			reason.WriteString("; analyzer ")
		}
		fmt.Fprintf(&reason, "%s on %s", lead.Finding, lead.field)
	}
	d.Reason = reason.String()
	d.Rules = hitIDs(v.hits, false)
	for _, f := range v.findings {
		d.Rules = append(d.Rules, "analyzer-"+f.Class.String())
	}
	d.Rules = dedupe(d.Rules)
	return d
}

// describeHits names up to five CRS hits (the unconfirmed ones, or the
// others) with the fields they matched.
func describeHits(hits []crsHit, unconfirmed bool) string {
	var parts []string
	for _, h := range hits {
		if h.unconfirmed != unconfirmed {
			continue
		}
		if len(parts) == 5 {
			parts = append(parts, "...")
			break
		}
		p := strconv.Itoa(h.id) + " " + h.msg
		if vars := matchedVariables(h.matched); vars != "" {
			p += " [" + vars + "]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func hitIDs(hits []crsHit, unconfirmed bool) []string {
	var ids []string
	for _, h := range hits {
		if h.unconfirmed == unconfirmed {
			ids = append(ids, strconv.Itoa(h.id))
		}
	}
	return ids
}
