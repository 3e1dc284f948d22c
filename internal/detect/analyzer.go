package detect

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corazawaf/coraza/v3/experimental/plugins"
	"github.com/corazawaf/coraza/v3/experimental/plugins/plugintypes"

	"github.com/parapet-waf/parapet/internal/analyze"
)

// analyzerOperator is the SecLang operator that runs the analyzer
// (internal/analyze) on each value a rule reads: "@parapetAnalyze
// CLASSES PLACE", CLASSES a comma-separated list of class names or
// "all", "all-xss", PLACE one of arg, name, path, header, return_to.
// It matches when the analyzer's finding is at least Medium, and
// captures the finding into TX.0 (the rule's logdata) as
// "class|confidence|via|why" for the verdict (verdict.go).
const analyzerOperator = "parapetAnalyze"

// Rule ids of the analyzer's rules: 4300000 + 100 x place + group.
const (
	analyzerFirstID = 4300001
	analyzerLastID  = 4300999
)

// analyzerGroups are the analyzer's classes by the CRS tag of the same
// attack class, one rule each: an exclusion by tag (attack-xss, the
// admin's rich text) covers both engines.
var analyzerGroups = []struct {
	tag     string
	classes []analyze.Class
}{
	{"attack-sqli", []analyze.Class{analyze.SQLi}},
	{"attack-xss", []analyze.Class{analyze.XSS}},
	{"attack-rce", []analyze.Class{analyze.Shell}},
	{"attack-injection-generic", []analyze.Class{analyze.Code, analyze.SSI, analyze.NoSQL, analyze.LDAP, analyze.XXE}},
	{"attack-ssti", []analyze.Class{analyze.Template}},
	{"attack-protocol", []analyze.Class{analyze.CRLF}},
	{"attack-lfi", []analyze.Class{analyze.Traversal}},
	{"attack-ssrf", []analyze.Class{analyze.SSRF}},
	{"attack-redirect", []analyze.Class{analyze.Redirect}},
}

// analyzerPlaces are the values the analyzer reads, in the phase they
// are known, and the groups that apply to each.
var analyzerPlaces = []struct {
	place, phase, targets string
	groups                []string // tags; nil: all but redirect
}{
	{"path", "1", "REQUEST_FILENAME", nil},
	// Headers apps read and log (the client's software, where it came
	// from, what proxies add) and any custom X- header; not those the
	// browser structures, credentials, or cookies (read as
	// REQUEST_COOKIES).
	// Authorization for its bearer tokens: the analyzer reads a JWT's
	// header and claims (a Basic credential has a space in it and is
	// not decoded).
	{"header", "1", "REQUEST_HEADERS:user-agent|REQUEST_HEADERS:referer|REQUEST_HEADERS:origin|REQUEST_HEADERS:forwarded|REQUEST_HEADERS:authorization|" +
		"REQUEST_HEADERS:/^x-/|!REQUEST_HEADERS:x-csrftoken|!REQUEST_HEADERS:x-requested-with",
		[]string{"attack-sqli", "attack-xss", "attack-rce", "attack-injection-generic", "attack-ssti", "attack-protocol", "attack-lfi"}},
	// FILES are the uploaded files' names, as Django hands them to the
	// app (and to the file system, when a view keeps the name).
	{"arg", "2", "ARGS|REQUEST_COOKIES|XML:/*|FILES", nil},
	// Names: JSON keys, query keys (user[$ne]), and the body of a type
	// read as a form (an XML body arrives as one long name).
	{"name", "2", "ARGS_NAMES|REQUEST_COOKIES_NAMES", nil},
	// Where to go next: Django's next, and the names other apps use.
	{"return_to", "2", `ARGS:/(?i)^(?:next|return_?to|returnurl|return_url|redirect|redirect_?to|redirect_?uri|redirect_url|continue|goto|dest|destination|success_url|callback|back|came_from)$/`, []string{"attack-redirect"}},
}

// analyzerRules are the SecLang rules that run the analyzer beside the
// CRS: one per place and class group. They carry the OWASP_CRS tag so
// that every exclusion written for the rule set (the Django profile's,
// the user's detection.exclusions, ctl actions of raw directives)
// applies to them too, their group's attack-* tag so that class-scoped
// exclusions do, and parapet-analyze to name them all. They match, log
// and pass: the stage decides (verdict.go).
func analyzerRules() string {
	var b strings.Builder
	for pi, p := range analyzerPlaces {
		for gi, g := range analyzerGroups {
			if p.groups == nil && g.tag == "attack-redirect" || p.groups != nil && !slices.Contains(p.groups, g.tag) {
				continue
			}
			names := make([]string, len(g.classes))
			for i, c := range g.classes {
				names[i] = c.String()
			}
			fmt.Fprintf(&b, "SecRule %s \"@%s %s %s\" \"id:%d,phase:%s,pass,capture,log,msg:'Parapet analyzer: %s',logdata:'%%{TX.0}',severity:'NOTICE',tag:'parapet-analyze',tag:'%s',tag:'OWASP_CRS'\"\n",
				p.targets, analyzerOperator, strings.Join(names, ","), p.place, 4300000+100*pi+gi+1, p.phase, strings.TrimPrefix(g.tag, "attack-"), g.tag)
		}
	}
	return b.String()
}

// unreachableScore is Coraza's inbound threshold with the analyzer on:
// the CRS scores and never interrupts; the stage decides.
const unreachableScore = 1 << 30

var analyzerOnce sync.Once

// registerAnalyzer makes the @parapetAnalyze operator known to every
// WAF built from now on.
func registerAnalyzer() {
	analyzerOnce.Do(func() {
		plugins.RegisterOperator(analyzerOperator, newAnalyzerOp)
	})
}

// analyzerOp runs the analyzer for one class group at one place. The
// analysis of a value covers every class at once and is shared with the
// other groups' rules through reports; each op remembers the short
// values its classes found nothing in, as @rx does.
type analyzerOp struct {
	a       *analyze.Analyzer // every class, at the op's place
	place   analyze.Place
	classes analyze.Set
	noMatch missCache
}

func newAnalyzerOp(opts plugintypes.OperatorOptions) (plugintypes.Operator, error) {
	classes, place, err := parseAnalyzerArgs(opts.Arguments)
	if err != nil {
		return nil, err
	}
	o := &analyzerOp{a: analyze.New(analyze.All, place), place: place, classes: classes}
	o.noMatch.seed = maphash.MakeSeed()
	return o, nil
}

// reports remembers the latest analyses (all classes of a value at a
// place), so the rules of the other class groups, which read the same
// values right after, find them done. An analysis depends on the value
// and place alone, so sharing it between requests and WAFs is exact,
// like the compiled patterns of rx_re2.go.
var reports = newReportCache()

// reportCache is a fixed set of slots, picked by the value's hash:
// short values (most) in many slots, long ones (a 20 KB article) in a
// few, so its memory stays bounded (about 3 MB at worst).
type reportCache struct {
	seed  maphash.Seed
	short [1024]atomic.Pointer[cachedReport]
	long  [8]atomic.Pointer[cachedReport]
}

type cachedReport struct {
	place  analyze.Place
	value  string
	report *analyze.Report // &noFindings when the analysis found nothing
}

// noFindings is the report of every value the analysis finds nothing in:
// most values, so their entries share it instead of holding a Report
// each (a finding per class, ~700 bytes). Read only, never written.
var noFindings analyze.Report

const (
	shortReport = 2 << 10
	longReport  = 128 << 10
)

func newReportCache() *reportCache { return &reportCache{seed: maphash.MakeSeed()} }

// get returns the analysis of v at place, made now or remembered.
func (c *reportCache) get(a *analyze.Analyzer, place analyze.Place, v string) *analyze.Report {
	var slot *atomic.Pointer[cachedReport]
	if len(v) <= longReport {
		h := maphash.String(c.seed, v) + uint64(place)
		if len(v) <= shortReport {
			slot = &c.short[h%uint64(len(c.short))]
		} else {
			slot = &c.long[h%uint64(len(c.long))]
		}
		if r := slot.Load(); r != nil && r.place == place && r.value == v {
			return r.report
		}
	}
	var found analyze.Report
	a.InspectAll(v, &found)
	rep := &noFindings
	if found != (analyze.Report{}) {
		rep = new(analyze.Report)
		*rep = found
	}
	if slot != nil {
		slot.Store(&cachedReport{place: place, value: strings.Clone(v), report: rep})
	}
	return rep
}

// parseAnalyzerArgs reads "CLASSES PLACE".
func parseAnalyzerArgs(args string) (analyze.Set, analyze.Place, error) {
	f := strings.Fields(args)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("@%s wants CLASSES PLACE, got %q", analyzerOperator, args)
	}
	var set analyze.Set
	for _, c := range strings.Split(f[0], ",") {
		switch {
		case c == "all":
			set |= analyze.All
		case strings.HasPrefix(c, "all-"):
			x := analyze.ParseClass(c[4:])
			if x == analyze.None {
				return 0, 0, fmt.Errorf("@%s: unknown class %q", analyzerOperator, c[4:])
			}
			set |= analyze.All &^ analyze.Of(x)
		default:
			x := analyze.ParseClass(c)
			if x == analyze.None {
				return 0, 0, fmt.Errorf("@%s: unknown class %q", analyzerOperator, c)
			}
			set |= analyze.Of(x)
		}
	}
	places := map[string]analyze.Place{"arg": analyze.Arg, "name": analyze.Name, "path": analyze.Path, "header": analyze.Header, "return_to": analyze.ReturnTo}
	p, ok := places[f[1]]
	if !ok {
		return 0, 0, fmt.Errorf("@%s: unknown place %q", analyzerOperator, f[1])
	}
	return set, p, nil
}

// Evaluate reports a finding of at least Medium confidence in the op's
// classes, captured.
func (o *analyzerOp) Evaluate(tx plugintypes.TransactionState, value string) bool {
	short := value != "" && len(value) <= noMatchMaxLen
	var h uint64
	if short {
		var known bool
		if known, h = o.noMatch.has(value); known {
			return false
		}
	}
	f := reports.get(o.a, o.place, value).Best(o.classes)
	if f.Confidence < analyze.Medium {
		if short {
			o.noMatch.add(value, h, tx.ID())
		}
		return false
	}
	if tx.Capturing() {
		tx.CaptureField(0, encodeFinding(f))
	}
	return true
}

// encodeFinding and decodeFinding carry a finding through the rule's
// logdata: "class|confidence|via|why".
func encodeFinding(f analyze.Finding) string {
	return f.Class.String() + "|" + f.Confidence.String() + "|" + f.Via + "|" + f.Why
}

func decodeFinding(s string) (analyze.Finding, bool) {
	parts := strings.SplitN(s, "|", 4)
	if len(parts) != 4 {
		return analyze.Finding{}, false
	}
	f := analyze.Finding{Class: analyze.ParseClass(parts[0]), Via: parts[2], Why: parts[3]}
	switch parts[1] {
	case "medium":
		f.Confidence = analyze.Medium
	case "high":
		f.Confidence = analyze.High
	default:
		return analyze.Finding{}, false
	}
	return f, f.Class != analyze.None
}
