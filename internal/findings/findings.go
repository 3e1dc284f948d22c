// Package findings is what parapet audit and parapet scan report: rules
// with an id, a severity and a short doc, findings against them (pass,
// warn, fail or cannot tell, with file and line), the Parapet config that
// enforces a finding at the edge, and the report as terminal text, JSON or
// SARIF 2.1.0.
package findings

import (
	"fmt"
	"sort"
	"strings"
)

// Severity ranks how much a failed rule matters.
type Severity int

// Severities. None is only a --fail-on value (never fail).
const (
	None Severity = iota
	Low
	Medium
	High
)

func (s Severity) String() string {
	return [...]string{"none", "low", "medium", "high"}[s]
}

// ParseSeverity reads "low", "medium", "high" or "none".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(s) {
	case "none", "never":
		return None, nil
	case "low":
		return Low, nil
	case "medium":
		return Medium, nil
	case "high":
		return High, nil
	}
	return None, fmt.Errorf("severity %q: want low, medium, high or none", s)
}

// Status is a finding's outcome.
type Status string

// Statuses.
const (
	Pass    Status = "pass"
	Warn    Status = "warn"
	Fail    Status = "fail"
	Unknown Status = "cannot tell"
)

// Rule is one checklist item.
type Rule struct {
	ID       string   `json:"id"`
	Group    string   `json:"group"`
	Title    string   `json:"title"`
	Severity Severity `json:"-"`
	// Doc says what the rule checks and why, in a sentence or two.
	Doc string `json:"doc"`
	// Fix says what to change in the project.
	Fix string `json:"fix"`
}

// NewRule returns a rule.
func NewRule(id, group, title string, sev Severity, doc, fix string) *Rule {
	return &Rule{ID: id, Group: group, Title: title, Severity: sev, Doc: doc, Fix: fix}
}

// Enforce is the Parapet config that covers a finding at the edge.
type Enforce struct {
	// Summary says what Parapet does, in words.
	Summary string `json:"summary"`
	// Changes are the config keys to set, merged by --write-config.
	Changes []Change `json:"changes,omitempty"`
	// Advice is config to adapt by hand (placeholders to fill in), printed
	// but never written.
	Advice string `json:"advice,omitempty"`
}

// Change sets one config key: Path is the key's path
// (["harden", "hsts", "enabled"]); Value a scalar or list. With AppendKey
// set, Value is a map appended to the list at Path unless an item with the
// same AppendKey value is there.
type Change struct {
	Path      []string `json:"path"`
	Value     any      `json:"value"`
	AppendKey string   `json:"append_key,omitempty"`
}

// Finding is a rule's outcome at one place.
type Finding struct {
	Rule    *Rule    `json:"-"`
	Status  Status   `json:"status"`
	Message string   `json:"message"`
	File    string   `json:"file,omitempty"`
	Line    int      `json:"line,omitempty"`
	Parapet *Enforce `json:"parapet,omitempty"`
}

// Report is the outcome of a run.
type Report struct {
	// Tool is "audit" or "scan"; Target the project directory or URL.
	Tool   string
	Target string
	Rules  []*Rule
	// Findings in rule order.
	Findings []Finding
	// Notes are what could not be read or followed.
	Notes []string
}

// Add records a finding.
func (r *Report) Add(rule *Rule, st Status, file string, line int, format string, a ...any) *Finding {
	r.Findings = append(r.Findings, Finding{Rule: rule, Status: st, File: file, Line: line, Message: fmt.Sprintf(format, a...)})
	return &r.Findings[len(r.Findings)-1]
}

// Sort orders the findings as the rules are listed (stable within a rule).
func (r *Report) Sort() {
	order := map[*Rule]int{}
	for i, rule := range r.Rules {
		order[rule] = i
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		return order[r.Findings[i].Rule] < order[r.Findings[j].Rule]
	})
}

// Failed reports whether a finding failed at or above severity min (never
// for None).
func (r *Report) Failed(min Severity) bool {
	if min == None {
		return false
	}
	for _, f := range r.Findings {
		if f.Status == Fail && f.Rule.Severity >= min {
			return true
		}
	}
	return false
}

// Count returns how many findings have each status.
func (r *Report) Count() map[Status]int {
	n := map[Status]int{}
	for _, f := range r.Findings {
		n[f.Status]++
	}
	return n
}

// Enforcements returns the distinct config changes of the findings that
// failed or warned, in order.
func (r *Report) Enforcements() []Change {
	var out []Change
	seen := map[string]bool{}
	for _, f := range r.Findings {
		if f.Parapet == nil || f.Status == Pass {
			continue
		}
		for _, c := range f.Parapet.Changes {
			k := fmt.Sprint(c.Path, c.Value, c.AppendKey)
			if !seen[k] {
				seen[k] = true
				out = append(out, c)
			}
		}
	}
	return out
}
